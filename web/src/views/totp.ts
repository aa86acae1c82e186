import { ApiError } from '../api-error.ts';
import type { ViewContext } from '../context.ts';
import { errorBox, h, replace } from '../dom.ts';

/**
 * Where the one-time link of a TOTP enrolment lands (`/totp-confirmation#token=…`,
 * emailed when an admin enrols an authenticator app). The token stays in the
 * fragment, which no server or access log sees; the page sends it with a code from
 * the app, which proves the person holding the email also holds the new secret.
 * Until then restores refuse codes from that app.
 */
export async function renderTotpConfirmation(context: ViewContext): Promise<void> {
  const { api, main, session } = context;
  const token = new URLSearchParams(location.hash.slice(1)).get('token') ?? '';
  if (!token) {
    replace(main, h('h1', {}, 'Confirm your authenticator app'), errorBox('This link is incomplete: open the whole link from the email again, or enrol again for a new one.'));
    return;
  }
  const code = h('input', { type: 'text', id: 'totp', inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: 6, required: true, 'aria-describedby': 'totp-help' });
  const confirm = h('button', { type: 'submit', id: 'confirm-totp' }, 'Confirm');
  const status = h('div', { 'aria-live': 'polite' });
  const submit = async (event: Event) => {
    event.preventDefault();
    confirm.disabled = true;
    replace(status, h('p', {}, 'Confirming…'));
    try {
      const confirmed = await api.post<{ replacedEarlier?: boolean }>('/v1/me/totp-enrolment/confirmation', { token, totp: code.value.trim() });
      // The link has done its work: take the token out of the address bar and history.
      history.replaceState(null, '', location.pathname);
      replace(
        main,
        h('h1', {}, 'Authenticator app confirmed'),
        h('p', { id: 'totp-confirmed' }, confirmed.replacedEarlier
          ? 'Restores now accept codes from this app when you sign in with your password, and no longer from the one it replaced.'
          : 'Restores now accept codes from this app when you sign in with your password.'),
        h('p', {}, h('a', { href: '/restore' }, 'Go to restores'), ' · ', h('a', { href: '/authenticator' }, 'Your authenticator app')),
      );
    } catch (error) {
      confirm.disabled = false;
      replace(status, errorBox((error as Error).message));
      // A wrong code may be retried; a used, replaced or expired link may not.
      if (error instanceof ApiError && error.status !== 401) form.hidden = true;
      else code.focus();
    }
  };
  const form = h('form', { onsubmit: submit },
    h('p', {}, h('label', { for: 'totp' }, 'Code from your authenticator app'), h('br'), code, h('br'), h('span', { id: 'totp-help', class: 'muted' }, 'The six digits the app shows for crm-backup now.')),
    confirm,
  );
  replace(
    main,
    h('h1', {}, 'Confirm your authenticator app'),
    h('p', {}, `You (${session.email}) asked to enrol an authenticator app for restores, or to replace yours. Enter a code from the new app to confirm. If you did not ask for this, do not confirm: change your password and tell your operator.`),
    form,
    status,
  );
}
