import type { ViewContext } from '../context.ts';
import { errorBox, h, replace } from '../dom.ts';
import { dateTime } from '../format.ts';
import { qrCode } from '../qr-code.ts';
import type { PendingTotpEnrolment, TotpEnrolmentStatus } from '../types.ts';

const ENROLMENT = '/v1/me/totp-enrolment';

/**
 * The signed-in admin's authenticator app, which restores (and downloads, where the
 * deployment asks) take codes from when the admin signs in with a password.
 * Primary course: 1. show whether an app is confirmed, or waits for its emailed link.
 * 2. enrol (or reset): the API answers a new secret once; show it as a QR code and as
 * text, and say that the link we emailed confirms it (`/totp-confirmation`). Until then
 * the new app counts for nothing, and after a reset the current app keeps working.
 * SSO sign-ins are told they need no code.
 */
export async function renderAuthenticator(context: ViewContext): Promise<void> {
  const { api, main, signal } = context;
  const status = await api.get<TotpEnrolmentStatus>(ENROLMENT, signal);
  const action = h('div', { 'aria-live': 'polite' });

  const enrol = async (reset: boolean, button: HTMLButtonElement) => {
    button.disabled = true;
    replace(action, h('p', {}, reset ? 'Resetting…' : 'Enrolling…'));
    try {
      const enrolment = await api.post<PendingTotpEnrolment>(ENROLMENT, reset ? { replace: true } : {});
      showSecret(main, enrolment);
    } catch (error) {
      button.disabled = false;
      replace(action, errorBox((error as Error).message));
    }
  };
  const button = (label: string, reset: boolean, secondary = false) => {
    const element: HTMLButtonElement = h('button', { type: 'button', id: reset ? 'reset-authenticator' : 'enrol-authenticator', class: secondary ? 'secondary' : '', onclick: () => void enrol(reset, element) }, label);
    return element;
  };

  replace(main, h('h1', {}, 'Authenticator app'), ...statusSection(status, button), action);
}

type ButtonMaker = (label: string, reset: boolean, secondary?: boolean) => HTMLButtonElement;

/** What the admin has now, and the one action that fits. */
function statusSection(status: TotpEnrolmentStatus, button: ButtonMaker): Array<HTMLElement | null> {
  if (!status.required) {
    return [
      h('p', { id: 'authenticator-status' }, 'You signed in through single sign-on: restores and downloads ask you for no code. Your identity provider confirms who you are.'),
    ];
  }
  const why = h('p', { class: 'muted' }, 'Restores, and downloads where this service asks, need a fresh six-digit code from an authenticator app (Google Authenticator, Microsoft Authenticator, 1Password, …) when you sign in with a password.');
  const pending = status.pendingConfirmation;
  if (status.status === 'NONE') {
    return [
      h('p', { id: 'authenticator-status', class: 'note' }, 'You have no authenticator app yet.'),
      why,
      h('p', {}, 'Enrolling shows a QR code to scan, and emails you a link that confirms the app: it counts only once you open that link and enter a code from it.'),
      button('Enrol an authenticator app', false),
    ];
  }
  if (status.status === 'PENDING_CONFIRMATION') {
    return [
      h('p', { id: 'authenticator-status', class: 'note' }, pending && !pending.expired
        ? `Your authenticator app waits for confirmation: open the link we emailed to ${pending.sentTo} (valid until ${dateTime(pending.expiresAt)}) and enter a code from the app there.`
        : `Your authenticator app was never confirmed, and the link we emailed${pending ? ` expired at ${dateTime(pending.expiresAt)}` : ' expired'}. Enrol again for a new QR code and a new link.`),
      why,
      h('p', {}, 'Lost the QR code, or the email? Enrolling again replaces the secret and the link; the earlier link stops working.'),
      button('Enrol again', false),
    ];
  }
  return [
    h('p', { id: 'authenticator-status' }, h('strong', {}, 'Your authenticator app is confirmed'), ` (since ${dateTime(status.confirmedAt)}). Restores accept its codes.`),
    pending
      ? h('p', { class: 'note', id: 'authenticator-reset-pending' }, pending.expired
          ? `A reset was asked for, but its link expired at ${dateTime(pending.expiresAt)} unconfirmed: your current app still counts.`
          : `A reset waits for confirmation: open the link we emailed to ${pending.sentTo} (valid until ${dateTime(pending.expiresAt)}) and enter a code from the new app. Until then your current app keeps working.`)
      : null,
    h('h2', {}, 'Reset'),
    h('p', {}, 'Lost or replaced your phone? Resetting shows a new QR code and emails you a link. Your current app keeps working until you confirm the new one from that link; then only the new one does.'),
    button('Reset the authenticator app', true, true),
  ];
}

/** The new secret, shown once: as a QR code to scan and as a key to type, and what comes next. */
function showSecret(main: HTMLElement, enrolment: PendingTotpEnrolment): void {
  const grouped = enrolment.secret.replace(/(.{4})(?=.)/g, '$1 ');
  replace(
    main,
    h('h1', { tabindex: -1, id: 'authenticator-heading' }, enrolment.replacesConfirmed ? 'Scan your new authenticator app' : 'Scan with your authenticator app'),
    h('ol', { class: 'enrol-steps' },
      h('li', {},
        h('p', {}, 'In your authenticator app, add an account and scan this code:'),
        qrCode(enrolment.otpauthUri, 'QR code of the authenticator secret for crm-backup'),
        h('p', {}, 'Cannot scan? Type this key instead (spaces do not matter; time-based, 6 digits, every 30 seconds):'),
        h('p', {}, h('code', { id: 'authenticator-secret', class: 'secret' }, grouped)),
      ),
      h('li', {},
        h('p', { id: 'authenticator-next' }, `Confirm it: we emailed a link to ${enrolment.confirmationSentTo}, valid until ${dateTime(enrolment.confirmationExpiresAt)}. Open it and enter a code from the app.`),
      ),
    ),
    h('p', { class: 'note' }, enrolment.replacesConfirmed
      ? 'Until you confirm, nothing changes: restores keep accepting codes from your current app. Once confirmed, only the new app counts.'
      : 'Until you confirm, restores do not accept codes from this app.'),
    h('p', { class: 'muted' }, 'This key is shown only now. Anyone who sees it can make codes: do not share it or keep a screenshot.'),
    h('p', {}, h('a', { href: '/authenticator' }, 'Back to the authenticator status')),
  );
  document.getElementById('authenticator-heading')?.focus();
}
