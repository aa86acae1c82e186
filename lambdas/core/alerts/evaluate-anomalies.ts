import type { AnomalyCheck, AnomalyFinding } from '../alert-model.ts';
import { StepFailedError } from '../errors.ts';
import type { Backup } from '../model.ts';
import type { StoredComparison } from '../compare-model.ts';
import { comparisonPageUrl } from '../compare/compare-policy.ts';
import type { AlertDeps } from './alert-deps.ts';
import { describeFinding, findAnomalies, settingsInForce } from './alert-policy.ts';
import type { AnomalyCheckJob } from './anomaly-check.ts';
import { anomalyEmail } from './anomaly-emails.ts';

/**
 * Last step of the `anomaly-check` state machine: what the comparisons reveal, and the
 * alert if anything.
 *
 * Primary course:
 *  1. Every comparison READY (a failed one fails the check, never the backup).
 *  2. The findings per object type against the account's thresholds (alert-policy.ts).
 *  3. None: the check is CLEAR.
 *  4. Some: the check becomes ALERTED with the findings in one conditional write, so of
 *     two evaluations one raises the alert. The alert: an email to the account's super
 *     admins with the numbers and a link to each comparison, an audit entry, and a
 *     `crm-backup.anomaly` event; then `alertedAt`. A retry after a crash in between
 *     sends what may not have gone out (the audit entry's id makes it one entry).
 */
export async function evaluateAnomalies(job: AnomalyCheckJob & { comparisons: string[] }, deps: AlertDeps): Promise<{ status: AnomalyCheck['status'] | 'NONE' }> {
  const backup = await deps.backups.getBackup(job.accountId, job.backupId);
  if (!backup || backup.status !== 'SUCCEEDED') return { status: 'NONE' };
  const current = backup.anomalyCheck;
  if (current?.status === 'ALERTED' && !current.alertedAt) return raise(backup, current, deps);
  if (current?.status !== 'CHECKING' || !current.previousBackupId) return { status: current?.status ?? 'NONE' };

  const comparisons = await Promise.all(job.comparisons.map((id) => deps.comparisons.getComparison(job.accountId, id)));
  const unfinished = comparisons.find((comparison) => comparison?.status !== 'READY');
  if (unfinished !== undefined) {
    throw new StepFailedError(`The comparison of ${unfinished?.objectType ?? 'an object type'} with the previous backup did not finish${unfinished?.error ? `: ${unfinished.error}` : '.'}`);
  }
  const settings = settingsInForce(await deps.alertSettings.getAlertSettings(job.accountId));
  const findings: AnomalyFinding[] = [];
  const source = await deps.sources.forAccount(job.accountId);
  for (const comparison of comparisons as StoredComparison[]) {
    findings.push(...findAnomalies(settings, comparison, await source.getObjectType(comparison.objectType)));
  }
  const checkedAt = deps.clock.now().toISOString();
  if (findings.length === 0) {
    await deps.backups.setAnomalyCheck(job.accountId, job.backupId, { status: 'CLEAR', previousBackupId: current.previousBackupId, checkedAt }, ['CHECKING']);
    return { status: 'CLEAR' };
  }
  const alerted: AnomalyCheck = { status: 'ALERTED', previousBackupId: current.previousBackupId, findings, checkedAt };
  if (!(await deps.backups.setAnomalyCheck(job.accountId, job.backupId, alerted, ['CHECKING']))) {
    const now = (await deps.backups.getBackup(job.accountId, job.backupId))?.anomalyCheck;
    return now?.status === 'ALERTED' && !now.alertedAt ? raise(backup, now, deps) : { status: now?.status ?? 'NONE' };
  }
  return raise(backup, alerted, deps);
}

/** The alert itself: email, audit entry, event, then `alertedAt`. */
async function raise(backup: Backup, check: AnomalyCheck, deps: AlertDeps): Promise<{ status: 'ALERTED' }> {
  const previous = await deps.backups.getBackup(backup.accountId, check.previousBackupId!);
  const findings = check.findings ?? [];
  const account = await deps.records.getAccount(backup.accountId);
  const labels = new Map<string, string>();
  const source = await deps.sources.forAccount(backup.accountId);
  for (const type of new Set(findings.map((finding) => finding.objectType))) {
    labels.set(type, (await source.getObjectType(type))?.pluralLabel ?? type);
  }
  const link = (finding: AnomalyFinding) => comparisonPageUrl(deps.config.appUrl, { backupId: check.previousBackupId!, with: backup.id, objectType: finding.objectType });
  const lines = findings.map((finding) => ({ finding, sentence: describeFinding(finding, labels.get(finding.objectType)!), link: link(finding) }));

  const recipients = await alertRecipients(backup, deps);
  if (recipients.length > 0 && previous) {
    await deps.mailer.send(
      anomalyEmail({ to: recipients, accountName: account?.name ?? backup.accountId, backup, previous, lines, settingsUrl: `${deps.config.appUrl.replace(/\/$/, '')}/alert-settings` }),
    );
  }
  await deps.audit.append({
    id: `${backup.id}-anomaly`,
    accountId: backup.accountId,
    action: 'ANOMALY_DETECTED',
    actor: 'system',
    resourceId: backup.id,
    occurredAt: check.checkedAt!,
    summary: `Backup ${backup.id} shows unusual changes since backup ${check.previousBackupId}: ${lines.map((line) => line.sentence).join(' ')}`,
    details: { previousBackupId: check.previousBackupId, findings, recipients },
  });
  await deps.events.publishAnomaly({
    accountId: backup.accountId,
    backupId: backup.id,
    previousBackupId: check.previousBackupId!,
    findings,
    links: [...new Set(lines.map((line) => line.link))],
    detectedAt: check.checkedAt!,
  });
  await deps.backups.setAnomalyCheck(backup.accountId, backup.id, { ...check, alertedAt: deps.clock.now().toISOString() }, ['ALERTED']);
  return { status: 'ALERTED' };
}

/** The account's super admins; should none be found, whoever the backup reports to (its requester). */
async function alertRecipients(backup: Backup, deps: Pick<AlertDeps, 'directory' | 'backups'>): Promise<string[]> {
  const admins = await deps.directory.superAdminEmails(backup.accountId);
  if (admins.length > 0) return [...new Set(admins)].sort();
  const schedule = backup.trigger === 'schedule' ? await deps.backups.getSchedule(backup.accountId) : undefined;
  const fallback = backup.trigger === 'schedule' ? schedule?.email : backup.requestedBy;
  return fallback?.includes('@') ? [fallback] : [];
}
