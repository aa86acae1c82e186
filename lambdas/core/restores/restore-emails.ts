import type { Email } from '../ports/mailer.ts';
import type { StoredRestore } from '../restore-model.ts';
import { describeCounts, describeProperties } from './restore-policy.ts';

/** How an object type is named in sentences: "Deal" and "deals". */
export interface ObjectTypeNames {
  label: string;
  plural: string;
}

/** The email to the requester when a restore ended, either way, with a link to its page. */
export function restoreEndedEmail(restore: StoredRestore, names: ObjectTypeNames, appUrl: string): Email {
  const done = restore.status === 'SUCCEEDED';
  const what = `The restore of ${describeProperties(restore.properties)} of ${names.plural} from backup ${restore.backupId}`;
  return {
    to: [restore.requestedBy],
    subject: done ? `Your restore of ${names.plural} is complete` : `Your restore of ${names.plural} failed`,
    text: [
      done ? `${what} is complete.` : `${what} failed: ${restore.error ?? 'unknown error'}.`,
      '',
      `Records: ${describeCounts(restore.counts)}.`,
      done ? `It is listed in your imports as "Data restore - ${names.label}".` : 'Changes applied before it stopped stay in place; you can run the same plan again.',
      '',
      `Details: ${appUrl}/restores/${restore.id}`,
    ].join('\n'),
  };
}
