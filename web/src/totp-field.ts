import { h } from './dom.ts';

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
