import type { Email } from '../ports/mailer.ts';
import { FAILURES_KEPT, importName, type StoredRestore } from '../restore-model.ts';
import { describeCounts, describeRun } from './restore-policy.ts';

/** How an object type is named in sentences: "Deal" and "deals". */
export interface ObjectTypeNames {
  label: string;
  plural: string;
}

/** Failed records an email names (the restore's page lists up to FAILURES_KEPT). */
const FAILURES_EMAILED = 20;

/** The email to the requester when a restore ended, either way, with a link to its page. */
export function restoreEndedEmail(restore: StoredRestore, names: ObjectTypeNames, appUrl: string): Email {
  const done = restore.status === 'SUCCEEDED';
  const what = describeRun(restore, names.plural);
  const noun = { RESTORE: 'restore', UNDO: 'restore undo', REVERT: 'revert' }[restore.kind ?? 'RESTORE'];
  return {
    to: [restore.requestedBy],
    subject: done ? `Your ${noun} of ${names.plural} is complete` : `Your ${noun} of ${names.plural} failed`,
    text: [
      done ? `${what} is complete.` : `${what} failed: ${restore.error ?? 'unknown error'}.`,
      '',
      `Records: ${describeCounts(restore.counts)}.`,
      ...failureLines(restore),
      ...conflictLines(restore),
      done ? `It is listed in your imports as "${importName(restore.kind ?? 'RESTORE', names.label)}".` : 'Changes applied before it stopped stay in place; you can run the same plan again.',
      // Every run keeps a ledger of what it changed, kept as long as the backup it came from.
      ...(restore.backupId && restore.counts.updated + (restore.counts.conflicting ?? 0) > 0 ? [`You can undo it from its page for as long as backup ${restore.backupId} is kept.`] : []),
      '',
      `Details: ${appUrl}/restores/${restore.id}`,
    ].join('\n'),
  };
}

/** The properties left alone because they were edited since, the first few of them. */
function conflictLines(restore: StoredRestore): string[] {
  const conflicts = restore.conflicts ?? [];
  if (!conflicts.length) return [];
  return [
    '',
    `Records edited since, whose edits were kept (${restore.counts.conflicting}):`,
    ...conflicts.slice(0, FAILURES_EMAILED).map((conflict) => `  - ${conflict.recordId} ${conflict.property}: "${conflict.now}" kept (the change taken back wrote "${conflict.wrote}")`),
  ];
}

/** The records that could not be restored, with why, the first few of them. */
function failureLines(restore: StoredRestore): string[] {
  const failures = restore.failures ?? [];
  if (!failures.length) return [];
  const more = restore.counts.failed - Math.min(failures.length, FAILURES_EMAILED);
  return [
    '',
    'Records that could not be restored, and why:',
    ...failures.slice(0, FAILURES_EMAILED).map((failure) => `  - ${failure.recordId}: ${failure.reason}`),
    ...(more > 0 ? [`  and ${more} more (the restore's page lists the first ${FAILURES_KEPT}).`] : []),
  ];
}
