import type { AnomalyFinding } from '../alert-model.ts';
import type { Backup } from '../model.ts';
import type { Email } from '../ports/mailer.ts';

/**
 * The alert's email: what the backup found, with the numbers, and a link to each
 * comparison in the app (never to data: a signed-in super admin sees it there).
 */
export function anomalyEmail(input: {
  to: string[];
  accountName: string;
  backup: Backup;
  previous: Backup;
  lines: Array<{ finding: AnomalyFinding; sentence: string; link: string }>;
  settingsUrl: string;
}): Email {
  const { backup, previous } = input;
  const text = [
    `The backup of ${input.accountName}'s CRM data taken ${backup.completedAt} shows unusual changes since the previous backup (${previous.completedAt}):`,
    '',
    ...input.lines.flatMap(({ sentence, link }) => [`  - ${sentence}`, `    See what changed: ${link}`]),
    '',
    'If these changes were not intended (a bad import, an integration gone wrong), the previous backup can restore',
    `the values until ${previous.expiresAt}. Deleted records come back through an import or the recycle bin.`,
    '',
    `Backups: ${backup.id} compared with ${previous.id}.`,
    `Alert thresholds: ${input.settingsUrl}`,
  ].join('\n');
  return { to: input.to, subject: `Unusual changes in your CRM data (${input.accountName})`, text };
}
