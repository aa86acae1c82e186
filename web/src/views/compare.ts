import { ApiError } from '../api-error.ts';
import { sleep, type ViewContext } from '../context.ts';
import { errorBox, h, replace, table } from '../dom.ts';
import { count, dateTime } from '../format.ts';
import type { AlertSettings, Backup, Comparison, Page } from '../types.ts';

const POLL_MS = 1000;
const LIVE = 'live';

/**
 * Compare: how a backup differs from today's data or another backup (issue 16).
 * Also the page the anomaly email links to (`/backups/{id}/compare?with=…&objectType=…`).
 *
 * Primary course: 1. the admin picks the other side (today's data, or another ready
 * backup) and an object type, or every type. 2. each type is compared (big ones go on
 * in the background: their progress shows). 3. every type: a table of the counts, each
 * row opening that type; one type: the counts, the properties that changed, and a
 * sample of records with their values on each side. 4. "Download every difference"
 * exports them as a CSV (record, kind, property, from, to).
 */
export async function renderCompare(context: ViewContext): Promise<void> {
  const { api, main, signal, params, query } = context;
  const backupId = params.id ?? '';
  const [backup, listed] = await Promise.all([
    api.get<Backup>(`/v1/backups/${encodeURIComponent(backupId)}`, signal),
    api.get<Page<Backup>>('/v1/backups?limit=50', signal),
  ]);
  const others = listed.items.filter((candidate) => candidate.id !== backup.id && candidate.status === 'SUCCEEDED');
  const types = (backup.objects ?? []).map((object) => object.objectType);

  const withSelect = h('select', { id: 'compare-with', name: 'with' },
    h('option', { value: LIVE }, "Today's data"),
    others.map((other) => h('option', { value: other.id }, `Backup of ${dateTime(other.createdAt)}${other.createdAt > backup.createdAt ? ' (later)' : ' (earlier)'}`)),
  );
  const typeSelect = h('select', { id: 'compare-type', name: 'objectType' },
    h('option', { value: '' }, 'Every object type'),
    types.map((type) => h('option', { value: type }, type)),
  );
  const wanted = { with: query.get('with') ?? LIVE, objectType: query.get('objectType') ?? '' };
  if (wanted.with !== LIVE && !others.some((other) => other.id === wanted.with)) withSelect.append(h('option', { value: wanted.with }, `Backup ${wanted.with}`));
  withSelect.value = wanted.with;
  typeSelect.value = types.includes(wanted.objectType) ? wanted.objectType : '';

  const results = h('div', { id: 'compare-results', 'aria-live': 'polite' });
  const run = (event?: Event) => {
    event?.preventDefault();
    const chosen = { with: withSelect.value, objectType: typeSelect.value };
    // The address says what is shown: it can be bookmarked, and the email's link lands on it.
    history.replaceState(null, '', `/backups/${encodeURIComponent(backupId)}/compare?${new URLSearchParams({ with: chosen.with, ...(chosen.objectType ? { objectType: chosen.objectType } : {}) })}`);
    void (chosen.objectType ? showOneType(context, backupId, chosen.with, chosen.objectType, results) : showEveryType(context, backupId, chosen.with, types, results, (type) => {
      typeSelect.value = type;
      run();
    }));
  };

  replace(
    main,
    h('p', {}, h('a', { href: `/backups/${encodeURIComponent(backupId)}` }, '← This backup')),
    h('h1', {}, `Compare the backup of ${dateTime(backup.createdAt)}`),
    h('p', { class: 'muted' }, 'Shows what was added, removed and changed since this backup (or between two backups). Nothing is changed.'),
    h('form', { class: 'card row', id: 'compare-form', onsubmit: run },
      h('label', { for: 'compare-with' }, 'With ', withSelect),
      h('label', { for: 'compare-type' }, 'Object type ', typeSelect),
      h('button', { type: 'submit', id: 'compare-run' }, 'Compare'),
    ),
    results,
  );
  if (query.has('objectType') || query.has('with')) run();
}

/** Asks for a comparison and follows it while it runs in the background; answers it once READY or FAILED. */
async function settled(context: ViewContext, path: string, onProgress: (comparison: Comparison) => void): Promise<Comparison> {
  let comparison = await context.api.get<Comparison>(path, context.signal);
  while (comparison.status === 'COMPARING' && !context.signal.aborted) {
    onProgress(comparison);
    await sleep(POLL_MS, context.signal);
    // The same address answers the comparison under way (the latest for this backup, side and type).
    comparison = await context.api.get<Comparison>(path, context.signal);
  }
  return comparison;
}

function comparePath(backupId: string, other: string, objectType: string): string {
  return `/v1/backups/${encodeURIComponent(backupId)}/compare?${new URLSearchParams({ with: other, objectType })}`;
}

function otherSide(other: string): string {
  return other === LIVE ? "today's data" : `backup ${other}`;
}

async function showEveryType(context: ViewContext, backupId: string, other: string, types: string[], into: HTMLElement, open: (type: string) => void): Promise<void> {
  const rows = new Map<string, Comparison | string>();
  const draw = () =>
    replace(
      into,
      h('h2', {}, `Every object type, compared with ${otherSide(other)}`),
      table(
        ['Object type', { label: 'Added', num: true }, { label: 'Removed', num: true }, { label: 'Changed', num: true }, { label: 'Unchanged', num: true }, ''],
        types.map((type) => {
          const row = rows.get(type);
          if (row === undefined) return [type, 'Comparing…', '', '', '', ''];
          if (typeof row === 'string') return [type, h('span', { class: 'error-text' }, row), '', '', '', ''];
          if (row.status === 'COMPARING') return [type, `Comparing: ${count(row.progress?.done)} of ${count(row.progress?.total)}`, '', '', '', ''];
          if (row.status === 'FAILED') return [type, h('span', { class: 'error-text' }, row.error ?? 'The comparison failed.'), '', '', '', ''];
          return [
            type,
            count(row.added),
            count(row.removed),
            count(row.changed),
            count(row.unchanged),
            h('button', { type: 'button', class: 'secondary', onclick: () => open(type), 'aria-label': `Details of ${type}` }, 'Details'),
          ];
        }),
        { caption: 'Differences per object type' },
      ),
    );
  draw();
  await Promise.all(
    types.map(async (type) => {
      try {
        rows.set(type, await settled(context, comparePath(backupId, other, type), (comparison) => {
          rows.set(type, comparison);
          draw();
        }));
      } catch (error) {
        rows.set(type, (error as Error).message);
      }
      if (!context.signal.aborted) draw();
    }),
  );
}

async function showOneType(context: ViewContext, backupId: string, other: string, objectType: string, into: HTMLElement): Promise<void> {
  const progress = h('p', { id: 'compare-progress', role: 'status' }, `Comparing ${objectType} with ${otherSide(other)}…`);
  replace(into, progress);
  let comparison: Comparison;
  try {
    comparison = await settled(context, comparePath(backupId, other, objectType), (running) =>
      replace(progress, `Comparing ${objectType} with ${otherSide(other)}: ${count(running.progress?.done)} of ${count(running.progress?.total)} records read and merged so far. This goes on if you leave the page.`),
    );
  } catch (error) {
    if (error instanceof ApiError && error.status === 403) return context.forbidden(error.message);
    return replace(into, errorBox((error as Error).message));
  }
  if (context.signal.aborted) return;
  if (comparison.status === 'FAILED') return replace(into, errorBox(comparison.error ?? 'The comparison failed; nothing was changed. Compare again.'));
  const quote = (value: string) => (value === '' ? h('em', { class: 'muted' }, 'blank') : value);
  const changedProperties = comparison.perProperty.filter((property) => property.changed > 0);
  const exportStatus = h('div', { 'aria-live': 'polite' });
  replace(
    into,
    h('h2', {}, `${objectType} compared with ${otherSide(other)}`),
    h('dl', { class: 'stats' },
      stat('Added', 'compare-added', comparison.added),
      stat('Removed', 'compare-removed', comparison.removed),
      stat('Changed', 'compare-changed', comparison.changed),
      stat('Unchanged', 'compare-unchanged', comparison.unchanged),
    ),
    h('p', { class: 'muted' }, `"Added" records exist only in ${otherSide(other)}; "removed" ones only in the backup. Compared ${dateTime(comparison.completedAt)}.`),
    h('h3', {}, 'Properties that changed'),
    changedProperties.length
      ? table(['Property', { label: 'Records changed', num: true }], changedProperties.map((property) => [property.name, count(property.changed)]), { caption: 'Records changed per property' })
      : h('p', { class: 'muted' }, 'No property changed on records present on both sides.'),
    h('h3', {}, `A sample (${comparison.sample.length} records)`),
    comparison.sample.length
      ? table(
          ['Record', 'Kind', 'Property', 'In the backup', `In ${otherSide(other)}`],
          comparison.sample.flatMap((item) =>
            (item.changes.length ? item.changes : [{ property: '', from: '', to: '' }]).map((change, index) => [
              index === 0 ? item.recordId : '',
              index === 0 ? { ADDED: 'Added', REMOVED: 'Removed', CHANGED: 'Changed' }[item.kind] : '',
              change.property,
              quote(change.from),
              quote(change.to),
            ]),
          ),
          { caption: 'A sample of the differences' },
        )
      : h('p', { class: 'muted' }, 'Nothing differs.'),
    h('div', { class: 'card row' },
      h('button', { type: 'button', id: 'compare-export', onclick: () => void exportDifferences(context, backupId, other, objectType, exportStatus) }, 'Download every difference (CSV)'),
    ),
    exportStatus,
  );
}

/** Writes every difference to a CSV (in the background for big types), then downloads it. */
async function exportDifferences(context: ViewContext, backupId: string, other: string, objectType: string, into: HTMLElement): Promise<void> {
  const { api, signal } = context;
  replace(into, h('p', { role: 'status' }, 'Writing every difference to a CSV…'));
  try {
    let exported = await api.post<Comparison>(`/v1/backups/${encodeURIComponent(backupId)}/compare-exports`, { with: other, objectType });
    while (exported.status === 'COMPARING' && !signal.aborted) {
      replace(into, h('p', { role: 'status' }, `Writing every difference to a CSV: ${count(exported.progress?.done)} of ${count(exported.progress?.total)}…`));
      await sleep(POLL_MS, signal);
      exported = await api.get<Comparison>(`/v1/compare-exports/${encodeURIComponent(exported.id)}`, signal);
    }
    if (signal.aborted) return;
    if (exported.status === 'FAILED') return replace(into, errorBox(exported.error ?? 'The export failed.'));
    const link = await api.get<{ url: string; expiresAt: string }>(`/v1/compare-exports/${encodeURIComponent(exported.id)}/download?redirect=false`);
    replace(
      into,
      h('p', { id: 'compare-export-ready' },
        `${count(exported.export?.rows)} rows. Your download has started. If it does not, `,
        h('a', { href: link.url, id: 'compare-export-link' }, 'use this link'),
        ` (valid until ${dateTime(link.expiresAt)}). It holds CRM data: keep it somewhere safe.`,
      ),
    );
    location.assign(link.url);
  } catch (error) {
    replace(into, errorBox((error as Error).message));
  }
}

function stat(label: string, id: string, value: number): HTMLElement {
  return h('div', {}, h('dt', {}, label), h('dd', { id }, count(value)));
}

/**
 * Alert settings: when a backup's comparison with the previous one raises an alert
 * (GET/PUT /v1/alert-settings). The anomaly email links here.
 */
export async function renderAlertSettings(context: ViewContext): Promise<void> {
  const { api, main, signal } = context;
  const settings = await api.get<AlertSettings & { updatedAt?: string; updatedBy?: string }>('/v1/alert-settings', signal);
  const number = (id: string, value: number, attrs: Record<string, number>) => h('input', { type: 'number', id, value, required: true, ...attrs });
  const enabled = h('input', { type: 'checkbox', role: 'switch', id: 'alerts-enabled', checked: settings.enabled });
  const removedPercent = number('removed-percent', settings.removedRecords.percent, { min: 0, max: 100, step: 0.1 });
  const removedAtLeast = number('removed-at-least', settings.removedRecords.atLeast, { min: 0, step: 1 });
  const changedPercent = number('changed-percent', settings.changedProperty.percent, { min: 0, max: 100, step: 0.1 });
  const changedAtLeast = number('changed-at-least', settings.changedProperty.atLeast, { min: 0, step: 1 });
  const emptied = h('input', { type: 'checkbox', id: 'emptied-type', checked: settings.emptiedType });
  const status = h('div', { 'aria-live': 'polite' });
  const save = async (event: Event) => {
    event.preventDefault();
    replace(status, 'Saving…');
    try {
      const saved = await api.put<AlertSettings & { updatedAt?: string }>('/v1/alert-settings', {
        enabled: enabled.checked,
        removedRecords: { percent: Number(removedPercent.value), atLeast: Number(removedAtLeast.value) },
        changedProperty: { percent: Number(changedPercent.value), atLeast: Number(changedAtLeast.value) },
        emptiedType: emptied.checked,
      });
      replace(status, h('p', { id: 'alerts-saved' }, saved.enabled ? 'Saved. The next backup is checked against these thresholds.' : 'Saved. Alerts are off: backups are not checked.'));
    } catch (error) {
      replace(status, errorBox((error as Error).message));
    }
  };
  replace(
    main,
    h('h1', {}, 'Alerts'),
    h('p', {}, 'After every backup, each object type is compared with the previous backup. The super admins are emailed when:'),
    h('form', { class: 'card', id: 'alert-settings', onsubmit: save },
      h('p', {}, h('label', { class: 'switch', for: 'alerts-enabled' }, enabled, 'Check every backup and alert on unusual changes')),
      h('fieldset', {}, h('legend', {}, 'Records removed'),
        h('label', { for: 'removed-percent' }, 'More than (% of the type) ', removedPercent),
        h('label', { for: 'removed-at-least' }, ' and at least (records) ', removedAtLeast),
      ),
      h('fieldset', {}, h('legend', {}, 'One property changed'),
        h('label', { for: 'changed-percent' }, 'On more than (% of the records) ', changedPercent),
        h('label', { for: 'changed-at-least' }, ' and at least (records) ', changedAtLeast),
      ),
      h('p', {}, h('label', { for: 'emptied-type' }, emptied, ' A type that had records has none')),
      h('button', { type: 'submit', id: 'alerts-save' }, 'Save'),
      status,
    ),
    settings.updatedAt ? h('p', { class: 'muted' }, `Last changed by ${settings.updatedBy} on ${dateTime(settings.updatedAt)}.`) : h('p', { class: 'muted' }, 'These are the defaults.'),
  );
}
