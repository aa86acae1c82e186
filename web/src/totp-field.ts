import { ApiError } from './api-error.ts';
import { errorBox, h } from './dom.ts';

/**
 * The six-digit code from the authenticator app that restores, and downloads when the
 * deployment lets a password alone sign in, ask for (the API answers 401
 * REAUTH_REQUIRED without it). One field, labelled the same everywhere.
 */
export function totpField(id: string, why: string): { input: HTMLInputElement; field: HTMLElement } {
  const input = h('input', { type: 'text', id, inputmode: 'numeric', autocomplete: 'one-time-code', pattern: '[0-9]{6}', maxlength: 6, required: true, 'aria-describedby': `${id}-help` });
  const field = h('p', {}, h('label', { for: id }, 'Code from your authenticator app'), h('br'), input, h('br'), h('span', { id: `${id}-help`, class: 'muted' }, `Six digits. ${why}`));
  return { input, field };
}

/**
 * A refused re-authentication as the page shows it: the API's sentence, then a link to
 * the Authenticator screen: to enrol or confirm an app when the caller has none that
 * counts (the 401 names it in `authenticator`), or to reset a lost one.
 */
export function reauthRefusal(error: ApiError): HTMLElement {
  const noneConfirmed = typeof error.details.authenticator === 'string';
  return h('div', {},
    errorBox(error.message),
    h('p', {}, h('a', { href: '/authenticator', id: 'authenticator-link' }, noneConfirmed ? 'Set up your authenticator app' : 'Lost your authenticator app? Reset it')),
  );
}

/** Whether an API refusal is about re-authentication (a missing, wrong or refused code). */
export function isReauthRefusal(error: unknown): error is ApiError {
  return error instanceof ApiError && (error.code === 'REAUTH_REQUIRED' || error.code === 'REAUTH_FAILED');
}
