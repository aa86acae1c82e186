import type { ViewContext } from '../context.ts';
import { errorBox, h, replace, table } from '../dom.ts';
import { count, dateTime } from '../format.ts';
import type { AuditEntry, ImportEntry, Page } from '../types.ts';

/** A paged list screen: the first page, then "Show more" while the API has a next cursor. */
async function pagedList<T>(context: ViewContext, options: { title: string; intro: string; path: string; empty: string; draw(items: T[]): HTMLElement }): Promise<void> {
  const { api, main, signal } = context;
  let page = await api.get<Page<T>>(`${options.path}?limit=50`, signal);
  let items = page.items;
  const list = h('div');
  const more = h('div');
  const draw = () => {
    replace(list, items.length ? options.draw(items) : h('p', { class: 'muted' }, options.empty));
    replace(more, page.nextCursor ? h('button', { type: 'button', class: 'secondary', onclick: loadMore }, 'Show more') : null);
  };
  const loadMore = async () => {
    try {
      page = await api.get<Page<T>>(`${options.path}?limit=50&cursor=${encodeURIComponent(page.nextCursor ?? '')}`, signal);
      items = [...items, ...page.items];
      draw();
    } catch (error) {
      replace(more, errorBox((error as Error).message));
    }
  };
  replace(main, h('h1', {}, options.title), h('p', { class: 'muted' }, options.intro), list, more);
  draw();
}

/** Completed imports: every restore appears here as "Data restore - Deal" with its counts. */
export function renderImports(context: ViewContext): Promise<void> {
  return pagedList<ImportEntry>(context, {
    title: 'Imports',
    intro: 'Completed imports of the account. Each restore appears here with its counts.',
    path: '/v1/imports',
    empty: 'No imports yet.',
    draw: (items) =>
      table(
        ['Name', 'Status', 'Completed', 'Counts', 'Restore'],
        items.map((item) => [
          h('strong', {}, item.name),
          typeof item.status === 'string' ? h('span', { class: `status status-${item.status}` }, item.status === 'SUCCEEDED' ? 'Completed' : item.status === 'FAILED' ? 'Failed' : item.status) : '—',
          dateTime(item.completedAt ?? item.createdAt),
          countsText(item.counts ?? pickCounts(item)),
          item.restoreId ? h('a', { href: `/restores/${encodeURIComponent(item.restoreId)}` }, 'Details') : '—',
        ]),
        { caption: 'Completed imports' },
      ),
  });
}

/** Who did what, when. */
export function renderAuditLog(context: ViewContext): Promise<void> {
  return pagedList<AuditEntry>(context, {
    title: 'Audit log',
    intro: 'Backups requested, completed and downloaded; restores planned, started and finished.',
    path: '/v1/audit-log',
    empty: 'Nothing has happened yet.',
    draw: (items) =>
      table(
        ['When', 'Who', 'What', 'Details'],
        items.map((entry) => [dateTime(entry.occurredAt), entry.actor, entry.action.replace(/_/g, ' ').toLowerCase(), entry.summary]),
        { caption: 'Audit log, newest first' },
      ),
  });
}

function pickCounts(item: ImportEntry): Record<string, number> {
  return Object.fromEntries(Object.entries(item).filter((entry): entry is [string, number] => typeof entry[1] === 'number'));
}

function countsText(counts: Record<string, number>): string {
  const parts = Object.entries(counts).map(([name, value]) => `${count(value)} ${name}`);
  return parts.length ? parts.join(', ') : '—';
}
