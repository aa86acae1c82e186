import { ApiError } from './api-error.ts';
import { Api } from './api.ts';
import { CognitoSessions, LocalSessions, isSignInCallback, loadConfig, rememberReturnTo, takeReturnTo, type Sessions, type WebConfig } from './auth.ts';
import { sleep, type ViewContext } from './context.ts';
import { errorBox, h, replace } from './dom.ts';
import { renderAuthenticator } from './views/authenticator.ts';
import { renderBackup, renderBackups } from './views/backups.ts';
import { renderDataSource } from './views/data-source.ts';
import { renderAlertSettings, renderCompare } from './views/compare.ts';
import { renderAuditLog, renderImports } from './views/lists.ts';
import { renderRestore, renderRestoreWizard } from './views/restore.ts';
import { renderRevert } from './views/revert.ts';
import { renderForbidden, renderSignIn } from './views/sign-in.ts';
import { renderTotpConfirmation } from './views/totp.ts';

/**
 * The admin page: a small client-side router over the History API. Every address
 * (`/backups/{id}` from an email link too) is served index.html; this picks the
 * screen. Each screen gets an AbortSignal that stops its polling when the user leaves.
 */

type View = (context: ViewContext) => Promise<void>;

const ROUTES: Array<{ pattern: RegExp; view: View; title: string; nav?: string }> = [
  { pattern: /^\/backups\/?$/, view: renderBackups, title: 'Backups', nav: '/backups' },
  { pattern: /^\/backups\/(?<id>[^/]+)$/, view: renderBackup, title: 'Backup', nav: '/backups' },
  // The anomaly email links here, with `with` and `objectType`.
  { pattern: /^\/backups\/(?<id>[^/]+)\/compare\/?$/, view: renderCompare, title: 'Compare', nav: '/backups' },
  { pattern: /^\/alert-settings\/?$/, view: renderAlertSettings, title: 'Alerts', nav: '/alert-settings' },
  { pattern: /^\/restore\/?$/, view: renderRestoreWizard, title: 'Restore', nav: '/restore' },
  { pattern: /^\/restores\/(?<id>[^/]+)$/, view: renderRestore, title: 'Restore', nav: '/restore' },
  { pattern: /^\/revert\/?$/, view: renderRevert, title: 'Revert changes', nav: '/revert' },
  { pattern: /^\/imports\/?$/, view: renderImports, title: 'Imports', nav: '/imports' },
  { pattern: /^\/audit-log\/?$/, view: renderAuditLog, title: 'Audit log', nav: '/audit-log' },
  { pattern: /^\/authenticator\/?$/, view: renderAuthenticator, title: 'Authenticator', nav: '/authenticator' },
  { pattern: /^\/data-source\/?$/, view: renderDataSource, title: 'Data source', nav: '/data-source' },
  // The emailed link of a TOTP enrolment; its token is in the fragment.
  { pattern: /^\/totp-confirmation\/?$/, view: renderTotpConfirmation, title: 'Confirm authenticator' },
];

const main = document.getElementById('main')!;
let config: WebConfig;
let sessions: LocalSessions | CognitoSessions;
let current: AbortController | undefined;
// The first screen after the page loads (through the sign-in if needed) is where an
// email link pointed: the backup page starts the download only then, not on in-app clicks.
let landingPending = true;

let api: Api;
const startApi = (signIn: Sessions) => new Api(
  config,
  async () => (await signIn.current())?.token,
  () => {
    // The API refused the token (expired, revoked): sign in again and come back here.
    void signIn.end().then(() => {
      rememberReturnTo(location.pathname + location.search + location.hash);
      navigate('/sign-in', true);
    });
  },
);

function navigate(path: string, replaceState = false): void {
  if (replaceState) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  void render();
  // Screen readers and keyboards start at the new screen, not at the clicked link.
  main.focus({ preventScroll: true });
  scrollTo(0, 0);
}

async function render(): Promise<void> {
  current?.abort();
  const controller = new AbortController();
  current = controller;
  const path = location.pathname;
  const query = new URLSearchParams(location.search);

  if (sessions instanceof CognitoSessions && path === '/' && isSignInCallback(query)) {
    try {
      await sessions.finishSignIn();
      return navigate(takeReturnTo(), true);
    } catch (error) {
      return show('Sign-in failed', errorBox((error as Error).message), h('p', {}, h('a', { href: '/sign-in' }, 'Sign in again')));
    }
  }

  // Renews the ID token first when it is about to expire; undefined once the session is over.
  const session = await sessions.current();
  if (controller.signal.aborted) return;
  updateHeader(session?.email);
  if (path === '/sign-in' || !session) {
    // Keep where the user was going (an email link, its fragment too) for after the sign-in.
    if (path !== '/sign-in') rememberReturnTo(path + location.search + location.hash);
    document.title = 'Sign in · CRM backups';
    return renderSignIn({ main, sessions, ended: sessions.takeEnded(), onSignedIn: () => navigate(takeReturnTo(), true) });
  }
  if (path === '/') return navigate('/backups', true);

  const route = ROUTES.find((candidate) => candidate.pattern.test(path));
  highlightNav(route?.nav);
  if (!route) return show('Page not found', h('p', {}, 'There is nothing at this address. ', h('a', { href: '/backups' }, 'Go to the backups')));
  document.title = `${route.title} · CRM backups`;
  const landing = landingPending;
  landingPending = false;
  const context: ViewContext = {
    api,
    config,
    session,
    main,
    params: (route.pattern.exec(path)?.groups ?? {}) as Record<string, string>,
    query,
    signal: controller.signal,
    landing,
    navigate: (to) => navigate(to),
    forbidden: (message) => renderForbidden(main, message),
  };
  try {
    await route.view(context);
  } catch (error) {
    if (controller.signal.aborted) return;
    if (error instanceof ApiError && error.status === 403) return renderForbidden(main, error.message);
    if (error instanceof ApiError && error.status === 401) return;
    if (error instanceof ApiError && typeof error.details.retryAfterSeconds === 'number') return retryLater(error, error.details.retryAfterSeconds, controller.signal);
    show(route.title, errorBox((error as Error).message));
  }
}

/** The service cannot answer yet (the local runtime is starting): say so, then try the screen again. */
function retryLater(error: ApiError, seconds: number, signal: AbortSignal): void {
  document.title = 'Starting · CRM backups';
  show('One moment', h('p', { role: 'status' }, error.message), h('p', { class: 'muted' }, 'This page tries again by itself.'));
  void sleep(seconds * 1000, signal).then(() => {
    if (!signal.aborted) void render();
  });
}

function show(title: string, ...content: Node[]): void {
  replace(main, h('h1', {}, title), ...content);
}

function updateHeader(email: string | undefined): void {
  document.getElementById('nav')!.hidden = !email;
  const who = document.getElementById('who')!;
  if (!email) return replace(who);
  replace(
    who,
    h('span', {}, `Signed in as ${email}`),
    h('button', {
      type: 'button',
      class: 'secondary',
      onclick: async () => {
        const url = await sessions.signOut();
        if (url) location.assign(url);
        else navigate('/sign-in');
      },
    }, 'Sign out'),
  );
}

function highlightNav(active: string | undefined): void {
  for (const link of Array.from(document.querySelectorAll<HTMLAnchorElement>('#nav a'))) {
    if (link.getAttribute('href') === active) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
}

// Same-origin links are handled here, without a page load (modifier clicks keep their meaning).
document.addEventListener('click', (event) => {
  const link = (event.target as Element).closest?.('a');
  if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
  const url = new URL(link.href, location.href);
  if (url.origin !== location.origin || link.target || link.hasAttribute('download')) return;
  event.preventDefault();
  navigate(url.pathname + url.search);
});
window.addEventListener('popstate', () => void render());

try {
  config = await loadConfig();
  sessions = config.mode === 'aws' ? new CognitoSessions(config) : new LocalSessions(config.apiUrl);
  api = startApi(sessions);
  await render();
} catch (error) {
  show('The page could not start', errorBox((error as Error).message));
}
