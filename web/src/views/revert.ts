import { ApiError } from '../api-error.ts';
import { sleep, type ViewContext } from '../context.ts';
import { errorBox, h, replace, table } from '../dom.ts';
import { count, dateTime } from '../format.ts';
import { isReauthRefusal, reauthRefusal, totpField } from '../totp-field.ts';
import type { ObjectTypeInfo, Restore, RevertPlan } from '../types.ts';
import { changeSample, stat } from './restore.ts';

const SOURCES = ['USER', 'IMPORT', 'INTEGRATION', 'RESTORE'];

/**
 * "Revert changes": set back what one person, integration or source changed in a time
 * window, from the change history, without a backup.
 * Primary course: 1. choose the object type, whose changes (an actor, a source, or
 * both) and the window (the last 24 hours to start with). 2. review the plan the API
 * computed, with the records changed since by someone else, which are left alone.
 * 3. acknowledge and give a TOTP code (not for SSO sign-ins), then watch it run on
 * the restore's page.
 */
export async function renderRevert(context: ViewContext): Promise<void> {
  const { api, main, signal } = context;
  const objectPage = await api.get<{ items: ObjectTypeInfo[] }>('/v1/objects', signal);
  const types = objectPage.items.filter((type) => type.restorable && type.name !== 'conversations');

  const objectType = h('select', { id: 'revert-object', required: true }, types.map((type) => h('option', { value: type.name }, type.pluralLabel)));
  const actor = h('input', { id: 'revert-actor', type: 'text', autocomplete: 'off', placeholder: 'ops@example.com', 'aria-describedby': 'revert-actor-hint' });
  const source = h('select', { id: 'revert-source' }, h('option', { value: '' }, 'Any source'), SOURCES.map((name) => h('option', { value: name }, name)));
  const now = new Date();
  const from = h('input', { id: 'revert-from', type: 'datetime-local', required: true, value: localInput(new Date(now.getTime() - 86_400_000)) });
  // The next minute: a minute's input would otherwise end the window before this minute's changes (the API ends it now).
  const to = h('input', { id: 'revert-to', type: 'datetime-local', required: true, value: localInput(new Date(now.getTime() + 60_000)) });
  const review = h('div');
  const status = h('div', { 'aria-live': 'assertive' });

  const fail = (error: unknown) => {
    if (error instanceof ApiError && error.status === 403) return context.forbidden(error.message);
    if (isReauthRefusal(error)) return replace(status, reauthRefusal(error));
    replace(status, errorBox((error as Error).message));
  };

  const makePlan = async (event: Event) => {
    event.preventDefault();
    replace(review);
    replace(status, h('p', {}, 'Reading the change history… nothing is changed yet.'));
    try {
      let plan = await api.post<RevertPlan>('/v1/revert-plans', {
        objectType: objectType.value,
        ...(actor.value.trim() ? { actor: actor.value.trim() } : {}),
        ...(source.value ? { source: source.value } : {}),
        from: isoOf(from.value),
        to: isoOf(to.value),
      });
      // A big window is planned in the background: follow the plan until it is ready.
      while (plan.status === 'PLANNING') {
        replace(status, h('p', { id: 'plan-progress' }, `Reading the change history: ${count(plan.progress?.done ?? 0)} changes so far… nothing is changed yet.`));
        await sleep(1000, signal);
        if (signal.aborted) return;
        plan = await api.get<RevertPlan>(`/v1/restore-plans/${encodeURIComponent(plan.id)}`, signal);
      }
      if (plan.status === 'FAILED') return fail(new Error(plan.error ?? 'The plan could not be made; make a new plan.'));
      replace(status);
      replace(review, reviewPlan(plan, types.find((type) => type.name === plan.objectType)!, context, status, fail));
      review.querySelector<HTMLElement>('h2')?.focus();
    } catch (error) {
      fail(error);
    }
  };

  replace(main,
    h('h1', {}, 'Revert changes'),
    h('p', {}, 'Set back what one person, integration or source changed in a time window, from the change history: no backup needed. Where a record was changed again since by someone else, that change is kept.'),
    h('form', { onsubmit: makePlan, id: 'revert-form' },
      h('fieldset', {},
        h('legend', {}, 'Whose changes, and when?'),
        h('p', {}, h('label', { for: 'revert-object' }, 'Object type'), h('br'), objectType),
        h('p', {}, h('label', { for: 'revert-actor' }, 'Changed by'), h('br'), actor, h('br'),
          h('span', { id: 'revert-actor-hint', class: 'muted' }, 'The email (or user id) the changes are signed with. Leave it empty to revert a whole source.')),
        h('p', {}, h('label', { for: 'revert-source' }, 'Through'), h('br'), source),
        h('p', { class: 'row' },
          h('span', {}, h('label', { for: 'revert-from' }, 'From'), h('br'), from),
          h('span', {}, h('label', { for: 'revert-to' }, 'To'), h('br'), to)),
        h('p', { class: 'muted' }, 'Times are in your time zone. A window is at most 31 days.'),
      ),
      h('div', { class: 'row' }, h('button', { type: 'submit', id: 'revert-review' }, 'Review the plan')),
    ),
    status,
    review,
  );
}

function reviewPlan(plan: RevertPlan, type: ObjectTypeInfo, context: ViewContext, status: HTMLElement, fail: (error: unknown) => void): HTMLElement {
  const labels = new Map(type.properties.map((property) => [property.name, property.label]));
  const label = (name: string) => labels.get(name) ?? name;
  const shown = (value: string) => (value === '' ? h('em', {}, '(blank)') : value);
  const who = [plan.actor, plan.source && `through ${plan.source}`].filter(Boolean).join(' ');
  return h('section', { 'aria-labelledby': 'plan-heading', id: 'plan' },
    h('h2', { id: 'plan-heading', tabindex: -1 }, 'What this revert will change'),
    h('p', {}, `Setting back the changes to ${type.pluralLabel.toLowerCase()} made by ${who} from ${dateTime(plan.from)} to ${dateTime(plan.to)}. Nothing has been changed yet.`),
    h('dl', { class: 'stats' },
      stat('Changed in the window', plan.recordsChanged, 'plan-changed'),
      stat('Will be set back', plan.recordsToChange, 'plan-to-change'),
      stat('Changed since (left alone)', plan.recordsConflicting, 'plan-conflicting'),
      stat('Already back', plan.recordsUnchanged, 'plan-unchanged'),
      stat('No longer exist', plan.recordsMissing, 'plan-missing'),
    ),
    h('h3', {}, 'Per property'),
    plan.perProperty.length
      ? table(
          ['Property', { label: 'Set back', num: true }, { label: 'Cleared', num: true }, { label: 'Left alone', num: true }],
          plan.perProperty.map((row) => [label(row.name), count(row.toChange), count(row.toClear), count(row.conflicting ?? 0)]),
          { caption: 'Changes per property' },
        )
      : h('p', { class: 'muted' }, 'No property to set back.'),
    h('h3', {}, 'Sample of the changes'),
    changeSample(plan.sample, 'After the revert', label),
    h('h3', {}, 'Changed since, left alone'),
    plan.conflictSample.length
      ? table(
          ['Record', 'Property', 'They left', 'It holds now'],
          plan.conflictSample.map((conflict) => [conflict.recordId, label(conflict.property), shown(conflict.wrote), shown(conflict.now)]),
          { caption: 'Properties changed again since, which the revert keeps' },
        )
      : h('p', {}, 'No record was changed again since.'),
    plan.recordsToChange > 0
      ? confirmRevert(plan, type, context, status, fail)
      : h('p', { class: 'note' }, 'There is nothing to set back: no record still holds these changes.'),
  );
}

function confirmRevert(plan: RevertPlan, type: ObjectTypeInfo, context: ViewContext, status: HTMLElement, fail: (error: unknown) => void): HTMLElement {
  const changes = h('input', { type: 'checkbox', id: 'ack-changes' });
  const undo = h('input', { type: 'checkbox', id: 'ack-undo' });
  const code = context.session.sso ? undefined : totpField('totp', 'A revert, like a restore, asks you to confirm who you are again.');
  const start = h('button', { type: 'submit', id: 'start-revert' }, `Revert ${count(plan.recordsToChange)} ${plan.recordsToChange === 1 ? 'record' : 'records'}`);
  const submit = async (event: Event) => {
    event.preventDefault();
    start.disabled = true;
    replace(status, h('p', {}, 'Starting the revert…'));
    try {
      const restore = await context.api.post<Restore>('/v1/restores', {
        planId: plan.id,
        acknowledge: { changesData: changes.checked, cannotBeUndone: undo.checked },
        ...(code ? { totp: code.input.value.trim() } : {}),
      });
      context.navigate(`/restores/${encodeURIComponent(restore.id)}`);
    } catch (error) {
      start.disabled = false;
      fail(error);
      if (code && error instanceof ApiError && error.status === 401) code.input.focus();
    }
  };
  return h('form', { onsubmit: submit },
    h('fieldset', {},
      h('legend', {}, 'Confirm'),
      h('p', {}, `${count(plan.recordsToChange)} ${(plan.recordsToChange === 1 ? type.label : type.pluralLabel).toLowerCase()} will be set back; the ones changed since stay as they are.`),
      h('p', {}, h('label', {}, changes, ' I understand that this revert changes CRM data, and may trigger workflows that re-enrol records.')),
      h('p', {}, h('label', {}, undo, ' I understand that its own changes are signed RESTORE by me, and can be set back only by another revert of them.')),
      code ? code.field : h('p', { class: 'muted' }, 'You signed in through single sign-on: no code is needed.'),
    ),
    h('div', { class: 'row' }, start),
  );
}

/** A `datetime-local` value (the browser's time zone) for a time. */
function localInput(time: Date): string {
  const local = new Date(time.getTime() - time.getTimezoneOffset() * 60_000);
  return local.toISOString().slice(0, 16);
}

/** The ISO time of a `datetime-local` value; an empty or broken one is sent as is for the API to refuse. */
function isoOf(value: string): string {
  const time = new Date(value);
  return Number.isNaN(time.getTime()) ? value : time.toISOString();
}
