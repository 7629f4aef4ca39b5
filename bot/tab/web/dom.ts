/**
 * A small element builder (no framework): attributes, properties for `on*` listeners, children as nodes or
 * text. Text always goes in as text nodes, never as HTML, so API data cannot inject markup.
 */
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | EventListener>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs?: Attrs, ...children: Child[]): HTMLElementTagNameMap[K];
export function h(tag: string, attrs?: Attrs, ...children: Child[]): HTMLElement;
export function h(tag: string, attrs: Attrs = {}, ...children: Child[]): HTMLElement {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (typeof value === 'function') el.addEventListener(name.replace(/^on/, '').toLowerCase(), value);
    else el.setAttribute(name, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

export function append(el: Element, children: Child[]): void {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    el.append(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

/** A table with a caption, header row and rows of cells; `empty` shown as one row when there are none. */
export function table(caption: string, headers: string[], rows: Child[][], opts: { empty?: string; testid?: string } = {}): HTMLTableElement {
  return h(
    'table',
    { class: 'data', 'data-testid': opts.testid },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, ...headers.map((x) => h('th', { scope: 'col' }, x)))),
    h(
      'tbody',
      {},
      ...(rows.length
        ? rows.map((r) => h('tr', {}, ...r.map((cell) => h('td', {}, cell))))
        : [h('tr', {}, h('td', { colspan: headers.length }, opts.empty ?? 'Nothing to show.'))]),
    ),
  );
}

/** A message region: `alert` for failures (read out at once), `status` for outcomes. */
export function notice(kind: 'error' | 'success' | 'info', text: string): HTMLElement {
  const prefix = kind === 'error' ? 'Error: ' : kind === 'success' ? 'Done: ' : '';
  return h('div', { class: `notice notice-${kind}`, role: kind === 'error' ? 'alert' : 'status' }, h('strong', {}, prefix), text);
}

/** A definition list of label/value pairs, skipping empty values. */
export function facts(pairs: Array<[string, Child | Child[]]>): HTMLElement {
  const dl = h('dl', { class: 'facts' });
  for (const [label, value] of pairs) {
    if (value === null || value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) continue;
    dl.append(h('dt', {}, label));
    const dd = h('dd');
    append(dd, Array.isArray(value) ? value : [value]);
    dl.append(dd);
  }
  return dl;
}
