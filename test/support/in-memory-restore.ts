import type { Caller } from '#core/caller.ts';
import type { CrmRecord, ObjectType, PropertyDefinition } from '#core/model.ts';
import type { SecretCipher, TotpSecrets } from '#core/ports/totp-secrets.ts';
import type { RestoreView, StoredPlan } from '#core/restore-model.ts';
import { applyRestoreBatch, type ApplyBatchOutput } from '#core/restores/apply-restore-batch.ts';
import { finalizeRestore } from '#core/restores/finalize-restore.ts';
import { planRestore } from '#core/restores/plan-restore.ts';
import { startRestore } from '#core/restores/start-restore.ts';
import { backUpInMemory } from './in-memory-backup.ts';
import { memoryDeps, type TestDeps } from './in-memory-ports.ts';

/**
 * Restore core tests start here: the acme account with ten deals, backed up through
 * the real backup steps over in-memory ports, then changed the way people change data.
 */

/** A super admin who signed in through SSO: restores need no TOTP code. */
export const ADMIN: Caller = { userId: 'u_admin', email: 'admin@acme.example', accountId: 'acme', superAdmin: true, sso: true };

/** The properties the tests restore. */
export const CHOSEN = ['dealname', 'amount', 'dealstage'];

export function property(name: string, flags: Partial<PropertyDefinition> = {}): PropertyDefinition {
  return { name, label: name, type: 'string', readOnly: false, calculated: false, sensitive: false, ...flags };
}

export const DEALS: ObjectType = {
  name: 'deals',
  label: 'Deal',
  pluralLabel: 'Deals',
  custom: false,
  properties: [property('dealname'), property('amount'), property('dealstage'), property('description'), property('hs_score', { calculated: true })],
};

/** d01..d10; d05 has no amount when backed up. */
export function backedUpDeals(): CrmRecord[] {
  return Array.from({ length: 10 }, (_, i) => {
    const id = `d${String(i + 1).padStart(2, '0')}`;
    return { id, properties: { dealname: `Deal ${i + 1}`, ...(id === 'd05' ? {} : { amount: String((i + 1) * 100) }), dealstage: 'open', description: `About deal ${i + 1}` } };
  });
}

/**
 * The deals backed up, then: d02's amount and d03's name and stage changed, d04
 * deleted, d05 given an amount (the backup's blank clears it). Answers the backup id.
 * A plan of CHOSEN counts 3 to change (amount 1 + 1 clear, dealname 1, dealstage 1),
 * 1 missing, 6 unchanged.
 */
export async function changedSinceBackup(deps: TestDeps): Promise<string> {
  const backupId = await backedUp(deps, backedUpDeals());
  await edit(deps, 'd02', { amount: '250' });
  await edit(deps, 'd03', { dealname: 'Renamed', dealstage: 'won' });
  await deps.records.deleteRecord('acme', 'deals', 'd04');
  await edit(deps, 'd05', { amount: '999' });
  return backupId;
}

/** acme's deals (of the type given) as `deals`, backed up; answers the backup id. */
export async function backedUp(deps: TestDeps, deals: CrmRecord[], type: ObjectType = DEALS): Promise<string> {
  deps.records.accounts.set('acme', { id: 'acme', name: 'Acme', tier: 'enterprise' });
  deps.records.types.set('deals', type);
  await deps.records.putRecords('acme', 'deals', deals);
  return backUpInMemory(deps);
}

/** A person's edit of a record (no restore stamp). */
export async function edit(deps: TestDeps, id: string, values: Record<string, string>): Promise<void> {
  await deps.records.updateRecord('acme', 'deals', id, { set: values });
}

/** The live deals by id, blanks as "". */
export async function liveDeals(deps: TestDeps): Promise<Map<string, Record<string, string>>> {
  const page = await deps.records.listRecords('acme', 'deals', { limit: 1000 });
  return new Map(page.items.map((record) => [record.id, Object.fromEntries(DEALS.properties.map((p) => [p.name, record.properties[p.name] ?? '']))]));
}

/** A fresh account changed since its backup, with the tuning given. */
export async function restoreSetUp(tuning: TestDeps['config']['restoreTuning'] = {}): Promise<{ deps: TestDeps; backupId: string }> {
  const deps = memoryDeps();
  deps.config.restoreTuning = tuning;
  const backupId = await changedSinceBackup(deps);
  return { deps, backupId };
}

/** Plans a restore of `properties` in one go; answers the stored plan. */
export async function readyPlan(deps: TestDeps, backupId: string, properties = CHOSEN): Promise<StoredPlan> {
  const outcome = await planRestore(ADMIN, backupId, { objectType: 'deals', properties }, deps, { keepGoing: () => true });
  if (!outcome.ready) throw new Error('The plan did not finish in one go');
  return (await deps.restores.getPlan('acme', outcome.plan.id))!;
}

/** Starts a restore of a READY plan as the SSO admin (no TOTP: the TOTP ports must stay unused). */
export async function startedRestore(deps: TestDeps, planId: string): Promise<RestoreView> {
  const unused = new Proxy({}, { get: (_, name) => { throw new Error(`An SSO restore used the TOTP port (${String(name)})`); } });
  return startRestore(ADMIN, { planId, acknowledge: { changesData: true, cannotBeUndone: true } }, { ...deps, totp: unused as TotpSecrets, secrets: unused as SecretCipher });
}

/** Applies one segment as the state machine's loop does, until done; answers the invocations it took. */
export async function applySegment(deps: TestDeps, restoreId: string, segment: number, remainingMs = () => 900_000): Promise<ApplyBatchOutput[]> {
  const outputs: ApplyBatchOutput[] = [];
  do outputs.push(await applyRestoreBatch({ accountId: 'acme', restoreId, segment }, deps, { remainingMs }));
  while (!outputs.at(-1)!.done);
  return outputs;
}

/** Runs a started restore to its end: every segment, then the final step. */
export async function runRestore(deps: TestDeps, restoreId: string): Promise<void> {
  const restore = (await deps.restores.getRestore('acme', restoreId))!;
  for (let segment = 0; segment < restore.segmentCount; segment += 1) await applySegment(deps, restoreId, segment);
  await finalizeRestore({ accountId: 'acme', restoreId }, deps);
}
