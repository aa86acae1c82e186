import { ApiError } from '../api-error.ts';
import type { ViewContext } from '../context.ts';
import { errorBox, h, replace } from '../dom.ts';
import { count, dateTime } from '../format.ts';
import { isReauthRefusal, reauthRefusal, totpField } from '../totp-field.ts';
import type { DataSource, ObjectTypeInfo } from '../types.ts';

/**
 * Where the account's CRM data is: the built-in CRM, or a HubSpot portal connected with
 * a private app's access token. Primary course: 1. show the source (and the scopes its
 * token lacks); 2. test it: list its object types through the stored token; 3. connect
 * a portal (the token is checked live and never shown again) or disconnect it, each
 * re-authenticated like a restore.
 */
export async function renderDataSource(context: ViewContext): Promise<void> {
  const { api, main, signal, session } = context;
  let source: DataSource;
  try {
    source = await api.get<DataSource>('/v1/source', signal);
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return context.forbidden('Only super admins can see and change the data source.');
    throw error;
  }
  const status = h('div', { 'aria-live': 'polite', id: 'source-status' });
  const fail = (error: unknown) => replace(status, isReauthRefusal(error) ? reauthRefusal(error) : errorBox((error as Error).message));
  const code = () => (session.sso ? undefined : totpField(`totp-${Math.random().toString(36).slice(2, 8)}`, 'Changing the data source asks you to confirm who you are again.'));

  const test = async (button: HTMLButtonElement) => {
    button.disabled = true;
    replace(status, h('p', {}, 'Asking the data source for its object types…'));
    try {
      const types = await api.get<{ items: ObjectTypeInfo[] }>('/v1/objects', signal);
      replace(status, h('p', { class: 'note', id: 'source-test-result' }, `It answered: ${count(types.items.length)} object types (${types.items.map((type) => type.pluralLabel).join(', ')}).`));
    } catch (error) {
      fail(error);
    } finally {
      button.disabled = false;
    }
  };

  const connectCode = code();
  const token = h('input', { type: 'password', id: 'hubspot-token', autocomplete: 'off', spellcheck: 'false', required: true, minlength: 8, 'aria-describedby': 'hubspot-token-help' });
  const connectButton = h('button', { type: 'submit', id: 'connect-source' }, source.type === 'builtin' ? 'Connect HubSpot' : 'Reconnect with this token');
  const connect = async (event: Event) => {
    event.preventDefault();
    connectButton.disabled = true;
    replace(status, h('p', {}, 'Checking the token with HubSpot…'));
    try {
      await api.put<DataSource>('/v1/source', { type: 'hubspot', accessToken: token.value.trim(), ...(connectCode ? { totp: connectCode.input.value.trim() } : {}) });
      token.value = '';
      await renderDataSource(context);
    } catch (error) {
      connectButton.disabled = false;
      fail(error);
    }
  };
  const connectForm = h('form', { onsubmit: connect },
    h('fieldset', {},
      h('legend', {}, source.type === 'builtin' ? 'Connect a HubSpot portal' : 'Reconnect (a new or rotated token)'),
      h('p', {}, h('label', { for: 'hubspot-token' }, "Your private app's access token"), h('br'), token, h('br'),
        h('span', { id: 'hubspot-token-help', class: 'muted' }, 'In HubSpot: Settings → Integrations → Private apps (or Service Keys), with the scopes the documentation lists. It is checked with HubSpot now, stored encrypted, and never shown again.')),
      connectCode ? connectCode.field : h('p', { class: 'muted' }, 'You signed in through single sign-on: no code is needed.'),
    ),
    connectButton,
  );

  const disconnectCode = source.type === 'builtin' ? undefined : code();
  const disconnectButton = h('button', { type: 'submit', class: 'secondary', id: 'disconnect-source' }, 'Disconnect HubSpot');
  const disconnect = async (event: Event) => {
    event.preventDefault();
    disconnectButton.disabled = true;
    try {
      await api.delete<DataSource>('/v1/source', disconnectCode ? { totp: disconnectCode.input.value.trim() } : {});
      await renderDataSource(context);
    } catch (error) {
      disconnectButton.disabled = false;
      fail(error);
    }
  };

  const testButton: HTMLButtonElement = h('button', { type: 'button', class: 'secondary', id: 'test-source', onclick: () => void test(testButton) }, 'Test the connection');
  replace(
    main,
    h('h1', {}, 'Data source'),
    source.type === 'builtin'
      ? h('p', { id: 'source-summary' }, 'Backups read, and restores write, the built-in CRM.')
      : h('div', { id: 'source-summary' },
          h('p', {}, h('strong', {}, `HubSpot portal ${source.portalId}`), ` (${source.timeZone}), connected by ${source.connectedBy} on ${dateTime(source.connectedAt)}. Backups read it, and restores write it, through HubSpot's API.`),
          source.missingScopes.length
            ? h('p', { class: 'note', id: 'source-missing-scopes' }, `The token lacks ${source.missingScopes.join(', ')}: backups or restores that need them stop and say so. Grant them to the private app, then reconnect below.`)
            : h('p', { class: 'muted' }, 'The token has every scope a backup and a restore need.'),
        ),
    h('div', { class: 'row' }, testButton),
    status,
    connectForm,
    source.type === 'builtin'
      ? null
      : h('form', { onsubmit: disconnect },
          h('fieldset', {},
            h('legend', {}, 'Disconnect'),
            h('p', {}, 'The built-in CRM becomes the data source again and the stored token is deleted. Backups already made from HubSpot stay.'),
            disconnectCode ? disconnectCode.field : null,
          ),
          disconnectButton,
        ),
  );
}
