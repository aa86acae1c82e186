import type { Email } from '../ports/mailer.ts';
import { FAILURES_KEPT, type StoredRestore } from '../restore-model.ts';
import { describeCounts, describeOrigin, describeProperties, runNoun } from './restore-policy.ts';

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
  const noun = runNoun(restore);
  const what = `The ${noun} of ${describeProperties(restore.properties)} of ${names.plural} ${describeOrigin(restore)}`;
  return {
    to: [restore.requestedBy],
    subject: done ? `Your ${noun} of ${names.plural} is complete` : `Your ${noun} of ${names.plural} failed`,
    text: [
      done ? `${what} is complete.` : `${what} failed: ${restore.error ?? 'unknown error'}.`,
      '',
      `Records: ${describeCounts(restore.counts)}.`,
      ...failureLines(restore),
      done ? `It is listed in your imports as "${importName(restore, names)}".` : 'Changes applied before it stopped stay in place; you can run the same plan again.',
      '',
      `Details: ${appUrl}/restores/${restore.id}`,
    ].join('\n'),
  };
}

/** "Data restore - Deal", "Data revert - Deal": the run's entry in the account's imports. */
export function importName(restore: StoredRestore, names: ObjectTypeNames): string {
  return `Data ${runNoun(restore)} - ${names.label}`;
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
