import { ApiError } from '../api-error.ts';
import { sleep, type ViewContext } from '../context.ts';
import { errorBox, h, replace, table } from '../dom.ts';
import { bytes, count, dateTime, timeLeft } from '../format.ts';
import { isReauthRefusal, reauthRefusal, totpField } from '../totp-field.ts';
import type { Backup, BackupQuota, Page } from '../types.ts';

const RUNNING = new Set(['QUEUED', 'RUNNING']);
const POLL_MS = 1000;

/**
 * Backups: "Back up now", the scheduled-backup switch and the history.
 * Primary course: 1. load the history, the schedule and the quota (a spent quota
 * disables "Back up now" with the reason and the next allowed time). 2. the admin
 * backs up now and lands on the backup's page to watch it. 3. while any backup runs,
 * the history refreshes itself; once none runs, the quota is read again (a failed
 * backup gives it back).
 */
export async function renderBackups(context: ViewContext): Promise<void> {
  const { api, main, signal } = context;
  const [first, schedule, initialQuota] = await Promise.all([
    api.get<Page<Backup>>('/v1/backups?limit=50', signal),
    api.get<{ enabled: boolean }>('/v1/backup-schedule', signal),
    api.get<BackupQuota>('/v1/backup-quota', signal),
  ]);
  let quota = initialQuota;
  let backups = first.items;
  let nextCursor = first.nextCursor;

  const actionStatus = h('div', { 'aria-live': 'polite' });
  const backUpNow = h('button', { type: 'button', 'aria-describedby': 'quota-reason' }, 'Back up now');
  const reason = h('p', { id: 'quota-reason', class: 'muted' });
  const showQuota = () => {
    // The browser's clock may pass nextAllowedAt before the next read: enable the button then.
    const spent = !quota.allowed && quota.nextAllowedAt !== undefined && Date.parse(quota.nextAllowedAt) > Date.now();
    backUpNow.disabled = spent;
    // The page words the refusal itself: the API's sentence carries the time as an ISO
    // timestamp, and the reader wants it once, in their own locale and time zone.
    const tier = `${quota.tier.charAt(0).toUpperCase()}${quota.tier.slice(1)}`;
    replace(reason, spent ? [`${tier} accounts can create one backup every ${quota.period}. `, h('strong', {}, `Next backup allowed: ${dateTime(quota.nextAllowedAt)}.`)] : 'Backs up every object type of the account into one zip of CSV files.');
  };
  const refreshQuota = async () => {
    const fresh = await api.get<BackupQuota>('/v1/backup-quota', signal).catch(() => undefined);
    if (fresh) quota = fresh;
    showQuota();
  };
  backUpNow.addEventListener('click', async () => {
    backUpNow.disabled = true;
    replace(actionStatus, h('p', {}, 'Starting a backup…'));
    try {
      const backup = await api.post<Backup>('/v1/backups', {});
      context.navigate(`/backups/${encodeURIComponent(backup.id)}`);
    } catch (error) {
      if (error instanceof ApiError && error.status === 429 && typeof error.details.nextAllowedAt === 'string') {
        // Spent in between (another admin, the schedule): the refusal says until when.
        quota = { ...quota, allowed: false, nextAllowedAt: error.details.nextAllowedAt };
        replace(actionStatus);
        showQuota();
        backUpNow.focus();
        return;
      }
      if (error instanceof ApiError && error.status === 403) return context.forbidden(error.message);
      replace(actionStatus, errorBox((error as Error).message));
      showQuota();
    }
  });
  showQuota();

  const scheduleSwitch = scheduleToggle(context, schedule.enabled);
  const history = h('div', { 'aria-live': 'off' });
  const more = h('div');
  const drawHistory = () => {
    replace(history, backups.length ? historyTable(backups) : h('p', { class: 'muted' }, 'No backups yet. The first one takes a minute or two for an ordinary account.'));
    replace(more, nextCursor ? h('button', { type: 'button', class: 'secondary', onclick: loadMore }, 'Show older backups') : null);
  };
  const loadMore = async () => {
    try {
      const page = await api.get<Page<Backup>>(`/v1/backups?limit=50&cursor=${encodeURIComponent(nextCursor ?? '')}`, signal);
      backups = [...backups, ...page.items];
      nextCursor = page.nextCursor;
      drawHistory();
    } catch (error) {
      replace(more, errorBox((error as Error).message));
    }
  };

  replace(
    main,
    h('h1', {}, 'Backups'),
    h('section', { class: 'card', 'aria-labelledby': 'now-heading' },
      h('h2', { id: 'now-heading' }, 'Back up now'),
      h('div', { class: 'row' }, backUpNow),
      reason,
      actionStatus,
    ),
    h('section', { class: 'card', 'aria-labelledby': 'schedule-heading' },
      h('h2', { id: 'schedule-heading' }, 'Scheduled backups'),
      scheduleSwitch,
    ),
    h('section', { 'aria-labelledby': 'history-heading' },
      h('h2', { id: 'history-heading' }, 'History'),
      h('p', { class: 'muted' }, 'Backups can be downloaded and restored from for 14 days. They hold sensitive data: keep downloads somewhere safe.'),
      history,
      more,
    ),
  );
  drawHistory();

  // Refresh while a backup runs, so its status and counts move without a reload.
  while (!signal.aborted && backups.some((backup) => RUNNING.has(backup.status))) {
    await sleep(POLL_MS * 2, signal);
    if (signal.aborted) return;
    const page = await api.get<Page<Backup>>('/v1/backups?limit=50', signal).catch(() => undefined);
    if (!page) continue;
    // Keep the older pages the admin loaded; the first page is replaced by the fresh one.
    const fresh = new Set(page.items.map((backup) => backup.id));
    backups = [...page.items, ...backups.filter((backup) => !fresh.has(backup.id))];
    drawHistory();
    if (!backups.some((backup) => RUNNING.has(backup.status))) await refreshQuota();
  }
  // Keep the expiry countdowns and the quota notice current while the page stays open.
  while (!signal.aborted) {
    await sleep(60_000, signal);
    if (signal.aborted) return;
    drawHistory();
    await refreshQuota();
  }
}

function scheduleToggle(context: ViewContext, enabled: boolean): HTMLElement {
  const status = h('span', { 'aria-live': 'polite', class: 'muted' });
  const input = h('input', { type: 'checkbox', role: 'switch', id: 'schedule', checked: enabled });
  input.addEventListener('change', async () => {
    const wanted = input.checked;
    input.disabled = true;
    replace(status, 'Saving…');
    try {
      const saved = await context.api.put<{ enabled: boolean }>('/v1/backup-schedule', { enabled: wanted });
      input.checked = saved.enabled;
      replace(status, saved.enabled ? 'On: backups are taken as often as your plan allows.' : 'Off.');
    } catch (error) {
      input.checked = !wanted;
      replace(status, errorBox((error as Error).message));
    } finally {
      input.disabled = false;
    }
  });
  return h('div', {},
    h('label', { class: 'switch', for: 'schedule' }, input, 'Back up automatically, as often as the plan allows'),
    h('p', {}, status),
  );
}

function totalRecords(backup: Backup): number | undefined {
  return backup.objects?.reduce((sum, object) => sum + object.records, 0);
}

function historyTable(backups: Backup[]): HTMLElement {
  return table(
    ['Started', 'Status', 'Requested by', { label: 'Size', num: true }, { label: 'Records', num: true }, 'Download until', ''],
    backups.map((backup) => [
      h('a', { href: `/backups/${encodeURIComponent(backup.id)}` }, dateTime(backup.createdAt)),
      h('span', {}, h('span', { class: `status status-${backup.status}` }, statusLabel(backup.status)), anomalyBadge(backup)),
      backup.trigger === 'schedule' ? 'Schedule' : backup.requestedBy,
      bytes(backup.sizeBytes),
      backup.objects ? `${count(totalRecords(backup))} in ${backup.objects.filter((object) => object.records > 0).length} types` : '—',
      backup.status === 'SUCCEEDED' && backup.expiresAt ? h('span', { title: dateTime(backup.expiresAt) }, timeLeft(backup.expiresAt)) : '—',
      h('a', { href: `/backups/${encodeURIComponent(backup.id)}`, 'aria-label': `Details of the backup started ${dateTime(backup.createdAt)}` }, 'Details'),
    ]),
    { caption: 'Backup history, newest first' },
  );
}

/**
 * The anomaly check's outcome beside a backup's status: "Unusual changes" (linking to
 * the comparison that found them) once an alert was raised, a quieter note when the
 * check could not run. Nothing for a clear or skipped check.
 */
function anomalyBadge(backup: Backup): HTMLElement | null {
  const check = backup.anomalyCheck;
  if (check?.status === 'ALERTED' && check.previousBackupId) {
    const first = check.findings?.[0];
    const query = new URLSearchParams({ with: backup.id, ...(first ? { objectType: first.objectType } : {}) });
    return h('a', { class: 'badge badge-alert', href: `/backups/${encodeURIComponent(check.previousBackupId)}/compare?${query}`, title: 'Compared with the previous backup' }, 'Unusual changes');
  }
  if (check?.status === 'FAILED') return h('span', { class: 'badge', title: check.reason ?? '' }, 'Not checked');
  return null;
}

/** The findings of an alert, in words, each with a link to its comparison. */
function anomalyNote(backup: Backup): HTMLElement | null {
  const check = backup.anomalyCheck;
  if (check?.status !== 'ALERTED' || !check.previousBackupId) return null;
  const link = (objectType: string) => `/backups/${encodeURIComponent(check.previousBackupId!)}/compare?${new URLSearchParams({ with: backup.id, objectType })}`;
  const sentence = (finding: NonNullable<typeof check.findings>[number]) => {
    if (finding.kind === 'RECORDS_REMOVED') return `${count(finding.removed)} of ${count(finding.before)} ${finding.objectType} records are gone since the previous backup.`;
    if (finding.kind === 'PROPERTY_CHANGED') return `${finding.property} changed on ${count(finding.changed)} of ${count(finding.compared)} ${finding.objectType} records.`;
    return `${finding.objectType} is empty; the previous backup had ${count(finding.before)} records.`;
  };
  return h('div', { class: 'note', id: 'anomaly-note', role: 'note' },
    h('strong', {}, 'Unusual changes since the previous backup. '),
    h('ul', {}, (check.findings ?? []).map((finding) => h('li', {}, sentence(finding), ' ', h('a', { href: link(finding.objectType) }, 'See what changed')))),
    h('p', { class: 'muted' }, 'The super admins were emailed. ', h('a', { href: '/alert-settings' }, 'Alert thresholds')),
  );
}

function statusLabel(status: string): string {
  return { QUEUED: 'Queued', RUNNING: 'Running', SUCCEEDED: 'Ready', FAILED: 'Failed', EXPIRED: 'Expired' }[status] ?? status;
}

/**
 * One backup: live progress per object type while it runs, then the download.
 * Opened from the email link (`landing`), a ready backup starts downloading at once.
 * Where the deployment lets a password alone sign in, the API asks for a code from the
 * authenticator app first (401 REAUTH_REQUIRED): the page asks for it, then downloads.
 */
export async function renderBackup(context: ViewContext): Promise<void> {
  const { api, main, signal, params } = context;
  const path = `/v1/backups/${encodeURIComponent(params.id ?? '')}`;
  let backup = await api.get<Backup>(path, signal);
  const heading = h('h1', {}, `Backup of ${dateTime(backup.createdAt)}`);
  const body = h('div');
  const downloadStatus = h('div', { 'aria-live': 'polite' });
  replace(main, h('p', {}, h('a', { href: '/backups' }, '← All backups')), heading, body, downloadStatus);

  const download = async (totp?: string) => {
    replace(downloadStatus, h('p', {}, 'Preparing the download…'));
    try {
      const query = new URLSearchParams({ redirect: 'false', ...(totp ? { totp } : {}) });
      const link = await api.get<{ url: string; expiresAt: string }>(`${path}/download?${query}`);
      replace(downloadStatus, h('p', {}, 'Your download has started. If it does not, ', h('a', { href: link.url, id: 'download-link' }, 'use this link'), ` (valid until ${dateTime(link.expiresAt)}).`));
      // The presigned URL lives for minutes: follow it now rather than keeping it around.
      location.assign(link.url);
    } catch (error) {
      // Without a confirmed authenticator there is no code to ask for: say so, and where to get one.
      if (isReauthRefusal(error) && error.details.authenticator) replace(downloadStatus, reauthRefusal(error));
      else if (isReauthRefusal(error)) askForCode(totp ? error : undefined);
      else replace(downloadStatus, errorBox((error as Error).message));
    }
  };
  /** `refusal`: why the code just sent was refused (wrong, used, locked out, none enrolled). */
  const askForCode = (refusal?: ApiError) => {
    const code = totpField('download-totp', 'A backup holds every record of the account: downloads ask you to confirm who you are again.');
    const submit = (event: Event) => {
      event.preventDefault();
      void download(code.input.value.trim());
    };
    replace(
      downloadStatus,
      h('form', { id: 'download-reauth', onsubmit: submit },
        refusal ? reauthRefusal(refusal) : null,
        code.field,
        h('button', { type: 'submit', id: 'download-with-code' }, 'Download'),
      ),
    );
    code.input.focus();
  };

  let announced = backup.status;
  for (;;) {
    replace(body, backupDetails(backup, download));
    if (!RUNNING.has(backup.status) || signal.aborted) break;
    await sleep(POLL_MS, signal);
    if (signal.aborted) return;
    const fresh = await api.get<Backup>(path, signal).catch((error: unknown) => (error instanceof ApiError ? error : undefined));
    if (fresh instanceof ApiError) {
      replace(body, errorBox(fresh.message));
      return;
    }
    if (fresh) backup = fresh;
    if (backup.status !== announced) announced = backup.status;
  }
  if (context.landing && backup.status === 'SUCCEEDED') await download();
}

function backupDetails(backup: Backup, download: () => Promise<void>): HTMLElement {
  const objects = backup.objects ?? [];
  const exported = objects.filter((object) => object.status === 'EXPORTED' || backup.status === 'SUCCEEDED').length;
  const running = RUNNING.has(backup.status);
  const expired = backup.status === 'EXPIRED' || (backup.expiresAt !== undefined && Date.parse(backup.expiresAt) <= Date.now());
  return h('div', {},
    h('dl', { class: 'stats' },
      stat('Status', h('span', { class: `status status-${backup.status}`, id: 'backup-status' }, statusLabel(expired && backup.status === 'SUCCEEDED' ? 'EXPIRED' : backup.status))),
      stat('Size', bytes(backup.sizeBytes)),
      stat('Records', count(totalRecords(backup))),
      stat('Download until', backup.expiresAt ? timeLeft(backup.expiresAt) : '—'),
    ),
    running
      ? h('div', { class: 'card', role: 'status', 'aria-live': 'polite' },
          h('p', {}, `Backing up: ${exported} of ${objects.length || '…'} object types exported.`),
          h('progress', { max: objects.length || 1, value: exported, 'aria-label': 'Object types exported' }),
        )
      : null,
    backup.status === 'FAILED' ? errorBox(backup.error ?? 'The backup failed; nothing was kept. The quota was given back: try again.') : null,
    backup.status === 'SUCCEEDED' && !expired
      ? h('div', { class: 'card row' },
          h('button', { type: 'button', onclick: () => void download(), id: 'download' }, 'Download'),
          h('a', { class: 'button secondary', href: `/restore?backup=${encodeURIComponent(backup.id)}` }, 'Restore from this backup'),
          h('a', { class: 'button secondary', id: 'compare', href: `/backups/${encodeURIComponent(backup.id)}/compare` }, 'Compare'),
        )
      : null,
    anomalyNote(backup),
    expired ? h('div', { class: 'note' }, 'This backup has expired: backups can be downloaded for 14 days after they complete.') : null,
    h('h2', {}, 'Object types'),
    objects.length
      ? table(
          ['Object type', 'Progress', { label: 'Records', num: true }, 'File', 'SHA-256'],
          objects.map((object) => [
            object.objectType,
            backup.status === 'SUCCEEDED' ? 'Exported' : { PENDING: 'Waiting', EXPORTING: 'Exporting', EXPORTED: 'Exported' }[object.status ?? 'PENDING'] ?? '—',
            count(object.records),
            object.file ?? (backup.status === 'SUCCEEDED' ? 'no records, no file' : '—'),
            object.sha256 ? h('code', { title: object.sha256 }, `${object.sha256.slice(0, 12)}…`) : '—',
          ]),
          { caption: 'Object types in this backup' },
        )
      : h('p', { class: 'muted' }, 'Waiting for the backup to start…'),
    h('p', { class: 'muted' }, `Requested by ${backup.trigger === 'schedule' ? 'the schedule' : backup.requestedBy} · started ${dateTime(backup.createdAt)}${backup.completedAt ? ` · finished ${dateTime(backup.completedAt)}` : ''}`),
  );
}

function stat(label: string, value: Node | string): HTMLElement {
  return h('div', {}, h('dt', {}, label), h('dd', {}, value));
}
