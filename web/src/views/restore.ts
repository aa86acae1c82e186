import { ApiError } from '../api-error.ts';
import { sleep, type ViewContext } from '../context.ts';
import { errorBox, h, replace, table } from '../dom.ts';
import { count, dateTime } from '../format.ts';
import { isReauthRefusal, reauthRefusal, totpField } from '../totp-field.ts';
import type { Backup, Conflict, ObjectTypeInfo, Page, Restore, RestorePlan } from '../types.ts';

const STEPS = ['Backup', 'Object type', 'Properties', 'Review the plan', 'Confirm'];

/**
 * The restore wizard.
 * Primary course: 1. pick a ready backup. 2. pick one object type (conversations are
 * not offered). 3. pick properties (read-only and calculated ones shown, disabled).
 * 4. review the plan the API computed, changing nothing. 5. acknowledge both
 * warnings and give a TOTP code (not for SSO sign-ins), then watch it run.
 */
export async function renderRestoreWizard(context: ViewContext): Promise<void> {
  const { api, main, signal, session } = context;
  const [backupPage, objectPage] = await Promise.all([
    api.get<Page<Backup>>('/v1/backups?limit=100', signal),
    api.get<{ items: ObjectTypeInfo[] }>('/v1/objects', signal),
  ]);
  const backups = backupPage.items.filter((backup) => backup.status === 'SUCCEEDED' && (!backup.expiresAt || Date.parse(backup.expiresAt) > Date.now()));
  const types = objectPage.items.filter((type) => type.restorable && type.name !== 'conversations');

  const state: { step: number; backup?: Backup; objectType?: ObjectTypeInfo; properties: Set<string>; plan?: RestorePlan } = { step: 0, properties: new Set() };
  const preselected = backups.find((backup) => backup.id === context.query.get('backup'));
  if (preselected) {
    state.backup = preselected;
    state.step = 1;
  }

  const stepList = h('ol', { class: 'steps', 'aria-label': 'Restore steps' });
  const panel = h('div');
  const status = h('div', { 'aria-live': 'assertive' });
  replace(main, h('h1', {}, 'Restore CRM data'), stepList, panel, status);

  const go = (step: number) => {
    state.step = step;
    replace(status);
    draw();
    panel.querySelector<HTMLElement>('legend, h2')?.focus();
  };
  const fail = (error: unknown) => {
    if (error instanceof ApiError && error.status === 403) return context.forbidden(error.message);
    if (isReauthRefusal(error)) return replace(status, reauthRefusal(error));
    replace(status, errorBox((error as Error).message));
  };
  const nav = (options: { next?: () => void; nextLabel?: string; nextDisabled?: boolean }) =>
    h('div', { class: 'row' },
      state.step > 0 ? h('button', { type: 'button', class: 'secondary', onclick: () => go(state.step - 1) }, 'Back') : null,
      options.next ? h('button', { type: 'button', id: 'next', onclick: options.next, disabled: options.nextDisabled }, options.nextLabel ?? 'Next') : null,
    );

  const draw = () => {
    replace(stepList, STEPS.map((label, index) => h('li', { 'aria-current': index === state.step ? 'step' : undefined }, `${index + 1}. ${label}`)));
    if (state.step === 0) return replace(panel, chooseBackup());
    if (state.step === 1) return replace(panel, chooseObjectType());
    if (state.step === 2) return replace(panel, chooseProperties());
    if (state.step === 3) return replace(panel, reviewPlan());
    replace(panel, confirm());
  };

  const enableNext = () => {
    const next = panel.querySelector<HTMLButtonElement>('#next');
    if (next) next.disabled = false;
  };

  const chooseBackup = () => {
    if (!backups.length) return h('p', {}, 'There is no ready backup to restore from. ', h('a', { href: '/backups' }, 'Back up now'), ' first.');
    return h('form', { onsubmit: (event: Event) => event.preventDefault() },
      h('fieldset', {},
        h('legend', { tabindex: -1 }, 'Step 1 of 5: which backup?'),
        h('div', { class: 'choices' }, backups.map((backup) =>
          radio('backup', backup.id, state.backup?.id === backup.id, () => {
            // No re-render: arrow keys must keep moving through the radio group.
            state.backup = backup;
            enableNext();
          }, `${dateTime(backup.completedAt ?? backup.createdAt)}`, `${count(backup.objects?.reduce((sum, o) => sum + o.records, 0))} records · by ${backup.trigger === 'schedule' ? 'the schedule' : backup.requestedBy}`),
        )),
      ),
      nav({ next: () => go(1), nextDisabled: !state.backup }),
    );
  };

  const chooseObjectType = () =>
    h('form', { onsubmit: (event: Event) => event.preventDefault() },
      h('fieldset', {},
        h('legend', { tabindex: -1 }, 'Step 2 of 5: which object type?'),
        h('p', { class: 'muted' }, 'One object type per restore. Conversations cannot be restored.'),
        h('div', { class: 'choices' }, types.map((type) => {
          const inBackup = state.backup?.objects?.find((object) => object.objectType === type.name)?.records ?? 0;
          return radio('objectType', type.name, state.objectType?.name === type.name, () => {
            if (state.objectType?.name !== type.name) state.properties = new Set();
            state.objectType = type;
            enableNext();
          }, type.pluralLabel, inBackup ? `${count(inBackup)} records in the backup` : 'no records in this backup', inBackup === 0);
        })),
      ),
      nav({ next: () => go(2), nextDisabled: !state.objectType }),
    );

  const chooseProperties = () => {
    const type = state.objectType!;
    const restorable = type.properties.filter((property) => !property.readOnly && !property.calculated);
    const next = h('button', { type: 'button', id: 'next', onclick: () => void makePlan(), disabled: state.properties.size === 0 }, 'Review the plan');
    const boxes = type.properties.map((property) => {
      const blocked = property.readOnly ? 'read-only' : property.calculated ? 'calculated' : undefined;
      const input = h('input', { type: 'checkbox', name: 'property', value: property.name, checked: state.properties.has(property.name), disabled: blocked !== undefined, 'aria-describedby': blocked ? `why-${property.name}` : undefined });
      input.addEventListener('change', () => {
        if (input.checked) state.properties.add(property.name);
        else state.properties.delete(property.name);
        next.disabled = state.properties.size === 0;
      });
      return h('label', { class: blocked ? 'disabled' : '' }, input,
        h('span', {}, property.label, ' ', h('code', { class: 'muted' }, property.name),
          blocked ? h('span', { id: `why-${property.name}`, class: 'muted' }, ` (${blocked}: cannot be restored)`) : null,
          property.sensitive ? h('span', { class: 'muted' }, ' · sensitive') : null));
    });
    return h('form', { onsubmit: (event: Event) => event.preventDefault() },
      h('fieldset', {},
        h('legend', { tabindex: -1 }, `Step 3 of 5: which properties of ${type.pluralLabel.toLowerCase()}?`),
        h('p', {}, h('button', { type: 'button', class: 'secondary', onclick: () => {
          restorable.forEach((property) => state.properties.add(property.name));
          for (const box of boxes) {
            const input = box.querySelector('input')!;
            if (!input.disabled) input.checked = true;
          }
          next.disabled = state.properties.size === 0;
        } }, 'Select all restorable properties')),
        h('div', { class: 'choices' }, boxes),
      ),
      h('div', { class: 'row' }, h('button', { type: 'button', class: 'secondary', onclick: () => go(1) }, 'Back'), next),
    );
  };

  const makePlan = async () => {
    replace(status, h('p', {}, 'Comparing the backup with the current data… nothing is changed yet.'));
    try {
      let plan = await api.post<RestorePlan>(`/v1/backups/${encodeURIComponent(state.backup!.id)}/restore-plans`, {
        objectType: state.objectType!.name,
        properties: [...state.properties],
      });
      // Big object types are compared in the background: follow the plan until it is ready.
      while (plan.status === 'PLANNING') {
        const { done, total } = plan.progress ?? { done: 0, total: 0 };
        replace(status, h('p', { id: 'plan-progress' }, `Comparing the backup with the current data: ${count(done)} of ${count(total)} records so far… nothing is changed yet.`));
        await sleep(1000, signal);
        if (signal.aborted) return;
        plan = await api.get<RestorePlan>(`/v1/restore-plans/${encodeURIComponent(plan.id)}`, signal);
      }
      if (plan.status === 'FAILED') return fail(new Error(plan.error ?? 'The plan could not be made; make a new plan.'));
      state.plan = plan;
      go(3);
    } catch (error) {
      fail(error);
    }
  };

  const reviewPlan = () => {
    const plan = state.plan!;
    const labels = new Map(state.objectType!.properties.map((property) => [property.name, property.label]));
    const label = (name: string) => labels.get(name) ?? name;
    return h('section', { 'aria-labelledby': 'plan-heading', id: 'plan' },
      h('h2', { id: 'plan-heading', tabindex: -1 }, `Step 4 of 5: what this restore will change`),
      h('p', {}, `Restoring ${plan.properties.length} ${plan.properties.length === 1 ? 'property' : 'properties'} of ${state.objectType!.pluralLabel.toLowerCase()} from the backup of ${dateTime(state.backup!.completedAt ?? state.backup!.createdAt)}. Nothing has been changed yet.`),
      h('dl', { class: 'stats' },
        stat('In the backup', plan.recordsInBackup, 'plan-in-backup'),
        stat('Will change', plan.recordsToChange, 'plan-to-change'),
        stat('Already the same', plan.recordsUnchanged, 'plan-unchanged'),
        stat('No longer exist', plan.recordsMissing, 'plan-missing'),
      ),
      h('h3', {}, 'Per property'),
      table(
        ['Property', { label: 'Values changed', num: true }, { label: 'Values cleared', num: true }],
        plan.perProperty.map((row) => [label(row.name), count(row.toChange), count(row.toClear)]),
        { caption: 'Changes per property' },
      ),
      h('p', { class: 'muted' }, 'Changed: set to a different value from the backup. Cleared: the backup holds a blank, so the current value is removed.'),
      h('h3', {}, 'Sample of the changes'),
      changeSample(plan.sample, 'After the restore', label),
      h('h3', {}, 'Records that no longer exist'),
      h('p', {}, plan.recordsMissing
        ? `${count(plan.recordsMissing)} records in the backup no longer exist. A restore does not re-create them: bring deleted records back from the recycle bin or by importing the backup's CSV.`
        : 'Every record in the backup still exists.'),
      nav({ next: () => go(4), nextLabel: 'Continue', nextDisabled: plan.recordsToChange === 0 }),
      plan.recordsToChange === 0 ? h('p', { class: 'note' }, 'There is nothing to restore: the current data already matches the backup for these properties.') : null,
    );
  };

  const confirm = () => {
    const plan = state.plan!;
    const changes = h('input', { type: 'checkbox', id: 'ack-changes' });
    const undo = h('input', { type: 'checkbox', id: 'ack-undo' });
    const code = session.sso ? undefined : totpField('totp', 'Restores ask you to confirm who you are again.');
    const totp = code?.input;
    const start = h('button', { type: 'submit', id: 'start-restore' }, `Restore ${count(plan.recordsToChange)} ${plan.recordsToChange === 1 ? 'record' : 'records'}`);
    const submit = async (event: Event) => {
      event.preventDefault();
      start.disabled = true;
      replace(status, h('p', {}, 'Starting the restore…'));
      try {
        const answer = await api.post<Restore | { restore: Restore }>('/v1/restores', {
          planId: plan.id,
          acknowledge: { changesData: changes.checked, cannotBeUndone: undo.checked },
          ...(totp ? { totp: totp.value.trim() } : {}),
        });
        const restore = 'restore' in answer ? answer.restore : answer;
        context.navigate(`/restores/${encodeURIComponent(restore.id)}`);
      } catch (error) {
        start.disabled = false;
        fail(error);
        if (totp && error instanceof ApiError && error.status === 401) totp.focus();
      }
    };
    return h('form', { onsubmit: submit },
      h('fieldset', {},
        h('legend', { tabindex: -1 }, 'Step 5 of 5: confirm'),
        h('p', {}, `${count(plan.recordsToChange)} ${(plan.recordsToChange === 1 ? state.objectType!.label : state.objectType!.pluralLabel).toLowerCase()} will be changed.`),
        h('p', {}, h('label', {}, changes, ' I understand that this restore changes CRM data, and may trigger workflows that re-enrol records.')),
        h('p', {}, h('label', {}, undo, ' I understand that a restore can be undone only for as long as its backup is kept.')),
        code ? code.field : h('p', { class: 'muted' }, 'You signed in through single sign-on: no code is needed.'),
      ),
      h('div', { class: 'row' }, h('button', { type: 'button', class: 'secondary', onclick: () => go(3) }, 'Back'), start),
    );
  };

  draw();
}

function radio(name: string, value: string, checked: boolean, onPick: () => void, label: string, hint: string, disabled = false): HTMLElement {
  const input = h('input', { type: 'radio', name, value, checked, disabled });
  input.addEventListener('change', onPick);
  return h('label', { class: disabled ? 'disabled' : '' }, input, h('span', {}, label, h('br'), h('span', { class: 'muted' }, hint)));
}

export function stat(label: string, value: number, id: string): HTMLElement {
  return h('div', {}, h('dt', {}, label), h('dd', { id }, count(value)));
}

/** A plan's sample of changes: each property's value now (struck out) and after (`after`: the column's heading). */
export function changeSample(sample: RestorePlan['sample'], after: string, label: (property: string) => string, caption = 'Sample of the changes, before and after'): HTMLElement {
  if (!sample.length) return h('p', { class: 'muted' }, 'No record would change.');
  return table(
    ['Record', 'Property', 'Now', after],
    sample.flatMap((record) => record.changes.map((change) => [record.recordId, label(change.property), change.from === '' ? h('em', {}, '(blank)') : h('del', {}, change.from), change.to === '' ? h('em', {}, '(cleared)') : h('ins', {}, change.to)])),
    { caption },
  );
}

/**
 * A running or finished restore: progress while it runs, then the result with links
 * to the import entry and the audit log.
 */
export async function renderRestore(context: ViewContext): Promise<void> {
  const { api, main, signal, params } = context;
  const path = `/v1/restores/${encodeURIComponent(params.id ?? '')}`;
  let restore = await api.get<Restore>(path, signal);
  const body = h('div');
  replace(main, h('h1', {}, restore.kind === 'UNDO' ? 'Restore undo' : 'Restore'), body);
  for (;;) {
    replace(body, restoreDetails(restore));
    if (restore.status !== 'RUNNING' && restore.counts.updated + (restore.counts.conflicting ?? 0) > 0) body.append(undoPanel(context, restore));
    if (restore.status !== 'RUNNING' || signal.aborted) return;
    await sleep(1000, signal);
    if (signal.aborted) return;
    const fresh = await api.get<Restore>(path, signal).catch((error: unknown) => (error instanceof ApiError ? error : undefined));
    if (fresh instanceof ApiError) return replace(body, errorBox(fresh.message));
    if (fresh) restore = fresh;
  }
}

function restoreDetails(restore: Restore): HTMLElement {
  const { progress, counts } = restore;
  return h('div', {},
    restore.kind === 'UNDO'
      ? h('p', {}, `Undoing restore `, h('a', { href: `/restores/${encodeURIComponent(restore.undoOf ?? '')}` }, restore.undoOf ?? ''), ` of ${restore.objectType} · started by ${restore.requestedBy} at ${dateTime(restore.startedAt)}`)
      : restore.backupId
        ? h('p', {}, `Restoring ${restore.objectType} from backup `, h('a', { href: `/backups/${encodeURIComponent(restore.backupId)}` }, restore.backupId), ` · started by ${restore.requestedBy} at ${dateTime(restore.startedAt)}`)
        : h('p', {}, `Reverting ${restore.objectType}: ${revertSelection(restore.revert)} · started by ${restore.requestedBy} at ${dateTime(restore.startedAt)}`),
    h('div', { class: 'card', role: 'status', 'aria-live': 'polite' },
      h('p', {}, h('span', { class: `status status-${restore.status}`, id: 'restore-status' }, { RUNNING: 'Running', SUCCEEDED: 'Finished', FAILED: 'Failed' }[restore.status] ?? restore.status),
        ` · ${count(progress?.done)} of ${count(progress?.total)} records processed`),
      h('progress', { max: progress?.total || 1, value: progress?.done ?? 0, 'aria-label': 'Records processed' }),
    ),
    h('dl', { class: 'stats' },
      stat('Updated', counts?.updated ?? 0, 'restore-updated'),
      stat('Unchanged', counts?.unchanged ?? 0, 'restore-unchanged'),
      stat('No longer exist', counts?.missing ?? 0, 'restore-missing'),
      stat('Failed', counts?.failed ?? 0, 'restore-failed'),
      ...(counts?.conflicting ? [stat('Edited since, kept', counts.conflicting, 'restore-conflicting')] : []),
    ),
    restore.conflicts?.length ? conflictTable(restore.conflicts, counts.conflicting, 'restore-conflicts') : null,
    restore.failures?.length
      ? table(['Record', 'Why it was not restored'], restore.failures.map((failure) => [failure.recordId, failure.reason]), {
          caption: restore.counts.failed > restore.failures.length ? `The first ${count(restore.failures.length)} of ${count(restore.counts.failed)} records that failed` : 'Records that failed',
        })
      : null,
    restore.status === 'FAILED' ? errorBox(restore.error ?? 'The restore failed. The records already updated keep their restored values; run it again to finish.') : null,
    restore.status !== 'RUNNING'
      ? h('p', { class: 'row' }, h('a', { href: '/imports' }, 'See it in the imports'), h('a', { href: '/audit-log' }, 'Open the audit log'))
      : null,
  );
}

/** Properties left alone because they were edited since the change being taken back. */
function conflictTable(conflicts: Conflict[], total: number, id: string): HTMLElement {
  const value = (text: string) => (text === '' ? h('em', {}, '(blank)') : text);
  const caption = total > conflicts.length ? `The first ${count(conflicts.length)} records of ${count(total)} edited since, kept as they are` : 'Records edited since, kept as they are';
  return h('div', { id }, table(['Record', 'Property', 'The restore wrote', 'Now (kept)'], conflicts.map((conflict) => [conflict.recordId, conflict.property, value(conflict.wrote), value(conflict.now)]), { caption }));
}

/**
 * "Undo this restore": plans the undo (nothing changes yet), shows what it would set back
 * and which records were edited since (kept), then runs it like a restore: both
 * acknowledgements and a TOTP code unless signed in through SSO.
 */
function undoPanel(context: ViewContext, restore: Restore): HTMLElement {
  const { api, signal, session } = context;
  const panel = h('section', { 'aria-labelledby': 'undo-heading', id: 'undo' });
  const status = h('div', { 'aria-live': 'assertive' });
  const fail = (error: unknown) => {
    if (error instanceof ApiError && error.status === 403) return context.forbidden(error.message);
    if (isReauthRefusal(error)) return replace(status, reauthRefusal(error));
    replace(status, errorBox((error as Error).message));
  };
  const plan = async () => {
    replace(status, h('p', {}, 'Comparing what the restore wrote with the current data… nothing is changed yet.'));
    try {
      let undo = await api.post<RestorePlan>(`/v1/restores/${encodeURIComponent(restore.id)}/undo-plan`, {});
      while (undo.status === 'PLANNING') {
        const { done, total } = undo.progress ?? { done: 0, total: 0 };
        replace(status, h('p', {}, `Comparing: ${count(done)} of ${count(total)} records so far… nothing is changed yet.`));
        await sleep(1000, signal);
        if (signal.aborted) return;
        undo = await api.get<RestorePlan>(`/v1/restore-plans/${encodeURIComponent(undo.id)}`, signal);
      }
      if (undo.status === 'FAILED') return fail(new Error(undo.error ?? 'The undo could not be planned.'));
      replace(status);
      replace(panel, heading, review(undo), status);
    } catch (error) {
      fail(error);
    }
  };
  const review = (undo: RestorePlan) => {
    const changes = h('input', { type: 'checkbox', id: 'undo-ack-changes' });
    const again = h('input', { type: 'checkbox', id: 'undo-ack-undo' });
    const code = session.sso ? undefined : totpField('undo-totp', 'Undoing a restore asks you to confirm who you are again, as a restore does.');
    const start = h('button', { type: 'submit', id: 'start-undo', disabled: undo.recordsToChange === 0 }, `Undo on ${count(undo.recordsToChange)} ${undo.recordsToChange === 1 ? 'record' : 'records'}`);
    const submit = async (event: Event) => {
      event.preventDefault();
      start.disabled = true;
      replace(status, h('p', {}, 'Starting the undo…'));
      try {
        const answer = await api.post<Restore | { restore: Restore }>('/v1/restores', {
          planId: undo.id,
          acknowledge: { changesData: changes.checked, cannotBeUndone: again.checked },
          ...(code ? { totp: code.input.value.trim() } : {}),
        });
        context.navigate(`/restores/${encodeURIComponent(('restore' in answer ? answer.restore : answer).id)}`);
      } catch (error) {
        start.disabled = false;
        fail(error);
      }
    };
    return h('div', {},
      h('p', {}, `Sets back what this restore changed, only where a record still holds the value the restore wrote. Nothing has been changed yet.`),
      h('dl', { class: 'stats' },
        stat('Will be set back', undo.recordsToChange, 'undo-to-change'),
        stat('Already back', undo.recordsUnchanged, 'undo-unchanged'),
        stat('Edited since, kept', undo.recordsConflicting ?? 0, 'undo-conflicting'),
        stat('No longer exist', undo.recordsMissing, 'undo-missing'),
      ),
      undo.conflictSample?.length ? conflictTable(undo.conflictSample, undo.recordsConflicting ?? 0, 'undo-conflicts') : null,
      undo.sample.length ? changeSample(undo.sample, 'After the undo', (name) => name, 'Sample of what the undo sets back') : null,
      h('form', { onsubmit: submit },
        h('fieldset', {},
          h('legend', {}, 'Confirm the undo'),
          h('p', {}, h('label', {}, changes, ' I understand that this undo changes CRM data, and may trigger workflows that re-enrol records.')),
          h('p', {}, h('label', {}, again, ' I understand that the undo itself can be undone only for as long as the backup is kept.')),
          code ? code.field : h('p', { class: 'muted' }, 'You signed in through single sign-on: no code is needed.'),
        ),
        h('div', { class: 'row' }, start),
      ),
    );
  };
  const heading = h('h2', { id: 'undo-heading' }, 'Undo this restore');
  replace(panel, heading,
    h('p', {}, `Every restore keeps what it changed for as long as its backup is kept. An undo sets those values back, except on records edited since: their edits are kept.`),
    h('div', { class: 'row' }, h('button', { type: 'button', id: 'plan-undo', onclick: plan }, 'Undo this restore')),
    status,
  );
  return panel;
}

/** "changes by ada@example.com from … to …": whose changes a revert takes back. */
export function revertSelection(selection: Restore['revert']): string {
  if (!selection) return 'changes';
  const who = selection.actor ? `${selection.actor}${selection.source ? ` (${selection.source})` : ''}` : `source ${selection.source}`;
  return `changes by ${who} from ${dateTime(selection.from)} to ${dateTime(selection.to)}`;
}
