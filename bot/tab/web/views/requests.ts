import { ApiError, messageOf } from '../api';
import type { ActionAnswer, MyRequest, Page } from '../api-types';
import type { View, ViewContext } from '../context';
import { facts, h, notice } from '../dom';
import { kindLabel, personName, scopeLabel } from '../labels';
import { button, loading, statusBadge, viewHeader } from '../widgets';

/** My requests: each with its status and who decided; Remind and Cancel while it is pending. */
export const requestsView: View = {
  id: 'requests',
  label: 'My requests',
  render: (panel, ctx) => show(panel, ctx, null),
};

/** Draws the list; `flash` (the outcome of an action that reloaded it) shows above it. */
async function show(panel: HTMLElement, ctx: ViewContext, flash: HTMLElement | null): Promise<void> {
  panel.replaceChildren(
    viewHeader(requestsView.label, () => void show(panel, ctx, null)),
    flash ?? '',
    loading(),
  );
  const list = h('div', { class: 'cards', 'data-testid': 'requests-list' });
  await loadPage(ctx, list, panel, null, (n) => void show(panel, ctx, n));
}

async function loadPage(ctx: ViewContext, list: HTMLElement, panel: HTMLElement, cursor: string | null, reload: (flash: HTMLElement) => void): Promise<void> {
  let page: Page<MyRequest>;
  try {
    page = await ctx.api.get<Page<MyRequest>>(`/api/tab/requests?limit=25${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
  } catch (err) {
    panel.querySelector('.loading')?.replaceWith(notice('error', messageOf(err)));
    return;
  }
  panel.querySelector('.loading')?.remove();
  panel.querySelector('[data-testid="requests-more"]')?.remove();
  if (!cursor) panel.append(list);
  if (!cursor && page.items.length === 0) list.append(h('p', { class: 'empty' }, 'You have no PIM requests yet.'));
  for (const item of page.items) list.append(requestItem(ctx, item, reload));
  if (page.nextCursor) {
    const next = page.nextCursor;
    panel.append(
      h(
        'div',
        { 'data-testid': 'requests-more' },
        button('Show more', () => void loadPage(ctx, list, panel, next, reload)),
      ),
    );
  }
}

function requestItem(ctx: ViewContext, item: MyRequest, reload: (flash: HTMLElement) => void): HTMLElement {
  const { fmt } = ctx;
  const decided = item.decidedBy
    ? `${personName(item.decidedBy)}${item.decidedAt ? `, ${fmt.when(item.decidedAt)}` : ''}`
    : item.decidedAt
      ? fmt.when(item.decidedAt)
      : '';
  const el = h(
    'article',
    { class: 'card', 'data-request-id': item.requestId, 'data-status': item.status, 'aria-labelledby': `rq-${item.requestId}` },
    h('div', { class: 'card-title' }, h('h3', { id: `rq-${item.requestId}` }, item.role), statusBadge(item.status)),
    facts([
      ['Type', kindLabel(item.kind)],
      ['Scope', scopeLabel(item.scope)],
      ['Duration', fmt.duration(item.durationMinutes, item.duration)],
      ['Your justification', item.justification],
      ['Ticket', item.ticket ? `${item.ticket.system} ${item.ticket.number}` : ''],
      ['Requested', fmt.when(item.createdAt)],
      ['Expires', item.status === 'pending' ? fmt.when(item.expiresAt) : ''],
      ['Decided by', decided],
      ['Their reason', item.decisionJustification ?? ''],
    ]),
  );
  if (item.status === 'pending') {
    const messages = h('div', { class: 'messages', 'aria-live': 'polite' });
    const act = async (what: 'remind' | 'cancel') => {
      messages.replaceChildren();
      try {
        const answer = await ctx.api.post<ActionAnswer>(`/api/tab/requests/${encodeURIComponent(item.requestId)}/${what}`);
        if (what === 'cancel') reload(notice('success', answer.message));
        else messages.append(notice('success', answer.message));
      } catch (err) {
        // The request changed under us (decided, expired): show it as it is now, with why.
        if (err instanceof ApiError && err.status === 409) reload(notice('info', err.message));
        else messages.append(notice('error', messageOf(err)));
      }
    };
    el.append(
      h(
        'div',
        { class: 'actions' },
        button('Remind approvers', () => void act('remind'), { testid: 'remind' }),
        button('Cancel request', () => void act('cancel'), { testid: 'cancel' }),
      ),
      messages,
    );
  }
  return el;
}
