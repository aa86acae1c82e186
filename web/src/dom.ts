/**
 * The page's only "framework": build elements from plain calls. Text always goes in
 * as text nodes, never as HTML, so values from the API (CRM data holds `<`, quotes,
 * formula triggers) can never inject markup.
 */

type Child = Node | string | number | null | undefined | false | Child[];
type Attrs = Record<string, string | number | boolean | null | undefined | ((event: Event) => void)>;

/** `h('button', {type: 'button', onclick: go}, 'Back up now')`. */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (value === true) element.setAttribute(name, '');
    else element.setAttribute(name, String(value));
  }
  append(element, children);
  return element;
}

function append(parent: Node, children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(parent, child);
    else parent.appendChild(typeof child === 'string' || typeof child === 'number' ? document.createTextNode(String(child)) : child);
  }
}

/** Replaces an element's children. */
export function replace(parent: Element, ...children: Child[]): void {
  parent.replaceChildren();
  append(parent, children);
}

/** A table that becomes stacked cards on a phone (each cell labelled by its header). */
export function table(headers: Array<string | { label: string; num?: boolean }>, rows: Child[][], options: { caption?: string; stack?: boolean } = {}): HTMLElement {
  const heads = headers.map((head) => (typeof head === 'string' ? { label: head, num: false } : head));
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      { class: options.stack === false ? '' : 'stack' },
      options.caption ? h('caption', { class: 'sr-only' }, options.caption) : null,
      h('thead', {}, h('tr', {}, heads.map((head) => h('th', { scope: 'col', class: head.num ? 'num' : '' }, head.label)))),
      h('tbody', {}, rows.map((cells) => h('tr', {}, cells.map((cell, index) => h('td', { 'data-label': heads[index]?.label ?? '', class: heads[index]?.num ? 'num' : '' }, cell))))),
    ),
  );
}

/** An error sentence, announced to screen readers as soon as it appears. */
export function errorBox(message: string): HTMLElement {
  return h('div', { class: 'error', role: 'alert' }, message);
}
