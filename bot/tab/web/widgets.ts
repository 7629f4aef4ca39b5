import { h } from './dom';
import { statusColor, statusLabel, statusSymbol } from './labels';

/** A Fluent button; `appearance` as Fluent names it (primary, outline, subtle). */
export function button(text: string, onClick: (ev: Event) => void, opts: { appearance?: string; testid?: string; type?: string } = {}): HTMLElement {
  // The role is also given as an attribute: Fluent sets it through ElementInternals only, which some assistive
  // technology and test tools (Playwright's getByRole) do not read yet.
  const b = h('fluent-button', { role: 'button', appearance: opts.appearance, 'data-testid': opts.testid, type: opts.type ?? 'button' }, text);
  b.addEventListener('click', onClick);
  return b;
}

/** A status as Fluent badge: a symbol and the word, colour only as a third cue. */
export function statusBadge(status: string): HTMLElement {
  return h(
    'fluent-badge',
    { appearance: 'tint', color: statusColor(status), 'data-status': status, class: 'status' },
    h('span', { 'aria-hidden': 'true' }, `${statusSymbol(status)} `),
    statusLabel(status),
  );
}

/*
 * Fluent's textarea and text input carry their own <label for> around a slot (the textarea's `label` slot,
 * the text input's default slot), so the label text goes in that slot (wrapping them in fluent-field instead leaves that inner label empty and puts aria-labelledby
 * on an element without a role, which screen readers and axe reject).
 */

/** A labelled Fluent textarea; returns it and a way to read the value. */
export function textareaField(label: string, opts: { required?: boolean; testid?: string } = {}) {
  const area = h(
    'fluent-textarea',
    { required: opts.required, resize: 'vertical', 'data-testid': opts.testid, class: 'field' },
    h('span', { slot: 'label' }, label),
  ) as HTMLElement & { value: string };
  return { field: area, value: () => (area.value ?? '').trim(), clear: () => (area.value = ''), focus: () => area.focus() };
}

/** A labelled Fluent text input. */
export function inputField(label: string, opts: { testid?: string; inputmode?: string } = {}) {
  const input = h('fluent-text-input', { 'data-testid': opts.testid, inputmode: opts.inputmode, class: 'field' }, h('span', {}, label)) as HTMLElement & {
    value: string;
  };
  return { field: input, value: () => (input.value ?? '').trim() };
}

/** A heading with a Refresh button beside it. */
export function viewHeader(title: string, onRefresh: () => void): HTMLElement {
  return h('div', { class: 'view-header' }, h('h2', { tabindex: '-1' }, title), button('Refresh', onRefresh, { appearance: 'subtle' }));
}

export function loading(text = 'Loading…'): HTMLElement {
  return h('p', { class: 'loading', role: 'status' }, text);
}
