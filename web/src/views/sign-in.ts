import { CognitoSessions, type LocalSessions } from '../auth.ts';
import { errorBox, h, replace } from '../dom.ts';

/** The local runtime's demo users (docs/API.md, "Only in the local runtime"). */
const DEMO_USERS = [
  { email: 'admin@acme.example', who: 'Super admin of Acme (Enterprise), signs restores with a TOTP code' },
  { email: 'sso-admin@acme.example', who: 'Super admin of Acme, signed in through SSO' },
  { email: 'user@acme.example', who: 'A user of Acme, not a super admin' },
  { email: 'admin@globex.example', who: 'Super admin of Globex (Professional)' },
  { email: 'admin@initech.example', who: 'Super admin of Initech (Professional), whose data source is the demo HubSpot portal; signs with a TOTP code' },
  { email: 'sso-admin@initech.example', who: 'Super admin of Initech, signed in through SSO' },
];

/**
 * Sign-in: demo users locally, the Cognito hosted UI in AWS. `ended`: the previous
 * session ran out (or was refused) rather than being signed out, which the page says.
 */
export async function renderSignIn(options: { main: HTMLElement; sessions: LocalSessions | CognitoSessions; ended: boolean; onSignedIn(): void }): Promise<void> {
  const { main, sessions } = options;
  const status = h('div', { 'aria-live': 'polite' });
  const ended = options.ended ? h('div', { class: 'note', role: 'status' }, 'Your session has ended. Sign in again to continue where you were.') : null;
  if (sessions instanceof CognitoSessions) {
    replace(
      main,
      h('h1', {}, 'Sign in'),
      ended,
      h('p', {}, 'Sign in with your CRM account. Super admins can back up and restore the account’s CRM data.'),
      h('button', {
        type: 'button',
        onclick: () => sessions.signIn().catch((error: Error) => replace(status, errorBox(error.message))),
      }, 'Sign in'),
      status,
    );
    return;
  }
  const pick = async (email: string) => {
    replace(status, h('p', {}, `Signing in as ${email}…`));
    try {
      await sessions.signIn(email);
      options.onSignedIn();
    } catch (error) {
      replace(status, errorBox((error as Error).message));
    }
  };
  replace(
    main,
    h('h1', {}, 'Sign in'),
    ended,
    h('p', {}, 'This is the local runtime: pick a demo user.'),
    h('div', { class: 'users', role: 'list' }, DEMO_USERS.map((user) =>
      h('div', { role: 'listitem' }, h('button', { type: 'button', class: 'secondary', onclick: () => pick(user.email) }, h('strong', {}, user.email), h('br'), h('span', { class: 'muted' }, user.who))),
    )),
    status,
  );
}

/** What non-admins see instead of a broken screen. */
export function renderForbidden(main: HTMLElement, message: string): void {
  replace(
    main,
    h('h1', {}, 'Only super admins can back up or restore'),
    h('div', { class: 'note', role: 'alert' }, message),
    h('p', {}, 'Backups hold every record of the account, including sensitive data, so only the account’s super admins may create, download or restore them. Ask a super admin of your account if you need a backup.'),
  );
}
