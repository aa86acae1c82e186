import { createHash } from 'node:crypto';
import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { AppliedChange } from '../ports/data-source.ts';
import type { BlobStore } from '../ports/blob-store.ts';
import type { PlannedChange, StoredRestore } from '../restore-model.ts';
import { planPrefix } from './restore-policy.ts';

/**
 * A restore's ledger: what it changed, per record and property, value before and after.
 * It is what an undo is planned from. Written by the apply step as each round settles,
 * before the round's progress is saved, under the plan's prefix (the bucket's KMS key,
 * and its retention rule: kept as long as a backup is), one NDJSON file per round that
 * changed something: a restore that changed nothing leaves nothing.
 *
 * A round's file is named after its batch id and the records it lists, so a retried
 * round that settles the same records rewrites the same file, and one that settles
 * others (a retry of a round that failed part-way) writes a second file beside it; the
 * reader keeps a record's first entry. One restore segment's files are at most its
 * records (10,000), which is what a reader holds at once.
 */

/** One line of a ledger file: a record the restore changed, and how. */
export interface LedgerEntry {
  id: string;
  changes: PlannedChange[];
}

/** Where a restore's ledger is: beside its plan's segment files. */
export function ledgerPrefix(restore: Pick<StoredRestore, 'accountId' | 'planId' | 'id'>): string {
  return `${planPrefix(restore.accountId, restore.planId)}ledger/${restore.id}/`;
}

function ledgerSegmentPrefix(restore: Pick<StoredRestore, 'accountId' | 'planId' | 'id'>, segment: number): string {
  return `${ledgerPrefix(restore)}segment-${String(segment).padStart(5, '0')}/`;
}

/**
 * Records the changes a round made (records `updated`, and the properties still written
 * on `conflicting` ones); writes nothing when the round changed nothing.
 */
export async function recordChanges(blobs: BlobStore, restore: StoredRestore, segment: number, firstIndex: number, applied: AppliedChange[]): Promise<void> {
  const entries: LedgerEntry[] = [];
  for (const change of applied) {
    if ((change.outcome === 'updated' || change.outcome === 'conflicting') && change.changes.length) entries.push({ id: change.id, changes: change.changes });
  }
  if (!entries.length) return;
  const ids = createHash('sha256').update(entries.map((entry) => entry.id).join('\n')).digest('hex').slice(0, 16);
  const key = `${ledgerSegmentPrefix(restore, segment)}${String(firstIndex).padStart(7, '0')}-${ids}.ndjson`;
  const body = entries.map((entry) => `${JSON.stringify(entry)}\n`).join('');
  await blobs.upload(key, Readable.from([Buffer.from(body, 'utf8')]), { contentType: 'application/x-ndjson' });
}

/** Whether the restore left a ledger at all (restores that changed nothing, or ran before ledgers existed, have none). */
export async function hasLedger(blobs: BlobStore, restore: StoredRestore): Promise<boolean> {
  for await (const _key of blobs.listKeys(ledgerPrefix(restore))) return true;
  return false;
}

/** What the restore changed in one of its plan segments, each record once (its first entry), in the order written. */
export async function readLedgerSegment(blobs: BlobStore, restore: StoredRestore, segment: number): Promise<LedgerEntry[]> {
  const entries = new Map<string, LedgerEntry>();
  for await (const key of blobs.listKeys(ledgerSegmentPrefix(restore, segment))) {
    const lines = createInterface({ input: await blobs.read(key), crlfDelay: Infinity });
    for await (const line of lines) {
      if (!line) continue;
      const entry = JSON.parse(line) as LedgerEntry;
      if (!entries.has(entry.id)) entries.set(entry.id, entry);
    }
  }
  return [...entries.values()];
}
