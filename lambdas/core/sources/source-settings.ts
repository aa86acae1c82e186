import { requireSuperAdmin, type Caller } from '../caller.ts';
import { SourceInUseError, ValidationError } from '../errors.ts';
import type { AuditLog } from '../ports/audit-log.ts';
import type { BackupRepository } from '../ports/backup-repository.ts';
import type { Clock } from '../ports/clock.ts';
import type { IdGenerator } from '../ports/ids.ts';
import type { RestoreLock } from '../ports/restore-lock.ts';
import { sourceCipherContext, type SourceConnection, type SourceConnections, type SourceInspector } from '../ports/source-connections.ts';
import { reauthenticate, type ReauthDeps } from '../totp/reauthenticate.ts';

export interface SourceSettingsDeps extends ReauthDeps {
  connections: SourceConnections;
  inspector: SourceInspector;
  backups: Pick<BackupRepository, 'listBackups'>;
  lock: Pick<RestoreLock, 'get'>;
  audit: AuditLog;
  clock: Clock;
  ids: IdGenerator;
}

/** The account's data source as the API answers it (API.md, `/v1/source`): never the token. */
export type SourceView =
  | { type: 'builtin' }
  | { type: string; portalId: number; timeZone: string; connectedAt: string; connectedBy: string; scopes: string[]; missingScopes: string[] };

/** The CRMs an account can connect. */
export const CONNECTABLE_TYPES = ['hubspot'] as const;

/** Backups a change of source checks for (newest first): a running one is always among the latest. */
const RECENT_BACKUPS = 10;

/** The caller's account's data source. Super admins only. */
export async function getSource(caller: Caller, deps: Pick<SourceSettingsDeps, 'connections'>): Promise<SourceView> {
  requireSuperAdmin(caller);
  const connection = await deps.connections.get(caller.accountId);
  return connection ? toView(connection) : { type: 'builtin' };
}

/**
 * Connects a CRM as the account's data source (PUT /v1/source), replacing any other.
 *
 * Primary course:
 *  1. Require a super admin, re-authenticated like a restore (TOTP unless SSO).
 *  2. Refuse while a backup or restore of the account runs (it would read or write two sources).
 *  3. Ask the CRM, live, which account the token opens and which scopes it lacks
 *     (400 when the CRM refuses the token).
 *  4. Store the token encrypted (bound to the account), audit, answer the source with
 *     its missing scopes: a backup needs the read scopes, a restore the write ones.
 */
export async function connectSource(caller: Caller, request: { type: string; accessToken: string; totp?: string }, deps: SourceSettingsDeps): Promise<SourceView> {
  requireSuperAdmin(caller);
  if (!(CONNECTABLE_TYPES as readonly string[]).includes(request.type)) {
    throw new ValidationError(`type: crm-backup connects ${CONNECTABLE_TYPES.join(', ')}; to use the built-in CRM, disconnect the source (DELETE /v1/source).`, { field: 'type' });
  }
  await reauthenticate(caller, request.totp, deps, 'Connecting a data source');
  await requireIdle(caller.accountId, deps);
  const inspection = await deps.inspector.inspect(request.type, request.accessToken);
  const connection: SourceConnection = {
    accountId: caller.accountId,
    type: request.type,
    ...inspection,
    encryptedToken: await deps.secrets.encrypt(request.accessToken, sourceCipherContext(caller.accountId)),
    connectedAt: deps.clock.now().toISOString(),
    connectedBy: caller.email || caller.userId,
  };
  await deps.connections.put(connection);
  await deps.audit.append({
    id: deps.ids.next('au'),
    accountId: caller.accountId,
    action: 'SOURCE_CONNECTED',
    actor: connection.connectedBy,
    occurredAt: connection.connectedAt,
    summary: `Connected HubSpot portal ${connection.portalId} as the data source${connection.missingScopes.length ? `; the token lacks ${connection.missingScopes.join(', ')}` : ''}.`,
    details: { type: connection.type, portalId: connection.portalId, missingScopes: connection.missingScopes },
  });
  return toView(connection);
}

/**
 * Disconnects the account's CRM (DELETE /v1/source): its token is deleted, and the
 * account's source is the built-in CRM again. Backups made from the CRM stay. Same
 * checks as connecting.
 */
export async function disconnectSource(caller: Caller, request: { totp?: string }, deps: SourceSettingsDeps): Promise<SourceView> {
  requireSuperAdmin(caller);
  await reauthenticate(caller, request.totp, deps, 'Disconnecting a data source');
  await requireIdle(caller.accountId, deps);
  const existing = await deps.connections.get(caller.accountId);
  if (existing && (await deps.connections.delete(caller.accountId))) {
    await deps.audit.append({
      id: deps.ids.next('au'),
      accountId: caller.accountId,
      action: 'SOURCE_DISCONNECTED',
      actor: caller.email || caller.userId,
      occurredAt: deps.clock.now().toISOString(),
      summary: `Disconnected HubSpot portal ${existing.portalId}; the built-in CRM is the data source again.`,
      details: { type: existing.type, portalId: existing.portalId },
    });
  }
  return { type: 'builtin' };
}

async function requireIdle(accountId: string, deps: Pick<SourceSettingsDeps, 'backups' | 'lock' | 'clock'>): Promise<void> {
  const lock = await deps.lock.get(accountId);
  if (lock && lock.leaseExpiresAt > deps.clock.now().getTime()) {
    throw new SourceInUseError('A restore of this account is running; change the data source once it has finished.', { restoreId: lock.holder });
  }
  const recent = await deps.backups.listBackups(accountId, { limit: RECENT_BACKUPS });
  const running = recent.items.find((backup) => backup.status === 'QUEUED' || backup.status === 'RUNNING');
  if (running) throw new SourceInUseError(`Backup ${running.id} is running; change the data source once it has finished.`, { backupId: running.id });
}

function toView(connection: SourceConnection): SourceView {
  const { type, portalId, timeZone, connectedAt, connectedBy, scopes, missingScopes } = connection;
  return { type, portalId, timeZone, connectedAt, connectedBy, scopes, missingScopes };
}
