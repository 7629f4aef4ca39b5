import { ApiError, messageOf } from '../api';
import type { Approval, DecisionAnswer, MyRequest, Page } from '../api-types';
import type { View, ViewContext } from '../context';
import { facts, h, notice } from '../dom';
import { kindLabel, personName, scopeLabel, tidy } from '../labels';
import { button, loading, statusBadge, textareaField, viewHeader } from '../widgets';

/** Awaiting my approval: what the approval card shows, a required justification, Approve and Deny. */
export const approvalsView: View = {
  id: 'approvals',
  label: 'Awaiting my approval',
  async render(panel, ctx) {
    panel.replaceChildren(
      viewHeader(this.label, () => void this.render(panel, ctx)),
      loading(),
    );
    const list = h('div', { class: 'cards', 'data-testid': 'approvals-list' });
    await loadPage(ctx, list, panel, null);
  },
};

async function loadPage(ctx: ViewContext, list: HTMLElement, panel: HTMLElement, cursor: string | null): Promise<void> {
  let page: Page<Approval>;
  try {
    page = await ctx.api.get<Page<Approval>>(`/api/tab/approvals?limit=25${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
  } catch (err) {
    panel.querySelector('.loading')?.replaceWith(notice('error', messageOf(err)));
    return;
  }
  panel.querySelector('.loading')?.remove();
  panel.querySelector('[data-testid="approvals-more"]')?.remove();
  if (!cursor) panel.append(list);
  if (!cursor && page.items.length === 0) list.append(h('p', { class: 'empty' }, 'Nothing is waiting for your approval.'));
  for (const item of page.items) list.append(approvalItem(ctx, item));
  if (page.nextCursor) {
    const next = page.nextCursor;
    panel.append(
      h(
        'div',
        { 'data-testid': 'approvals-more' },
        button('Show more', () => void loadPage(ctx, list, panel, next)),
      ),
    );
  }
}

function approvalItem(ctx: ViewContext, item: Approval): HTMLElement {
  const { fmt } = ctx;
  const el = h('article', { class: 'card', 'data-request-id': item.requestId, 'aria-labelledby': `ap-${item.requestId}` });
  const flags = item.riskFlags.length
    ? h('ul', { class: 'flags' }, ...item.riskFlags.map((f) => h('li', {}, h('span', { 'aria-hidden': 'true' }, '⚠ '), tidy(f))))
    : null;
  const reasons = item.reasons.length ? h('ul', {}, ...item.reasons.map((r) => h('li', {}, r))) : null;
  const timed = (l: { text: string; at?: string | null }) => h('li', {}, l.at ? `${l.text} (${fmt.when(l.at)})` : l.text);
  // The pre-approval checks: a symbol and a word for each result, never colour alone.
  const checks = item.checks.length
    ? h('ul', { class: 'checks' }, ...item.checks.map((c) => h('li', { 'data-result': c.result }, `${c.word} · ${c.title}: ${c.summary}`)))
    : null;
  const risk = item.identityRisk
    ? [
        h('p', {}, item.identityRisk.headline),
        item.identityRisk.facts.length
          ? h('ul', {}, ...item.identityRisk.facts.map((f) => h('li', {}, `${f.title}: ${f.at ? fmt.when(f.at) : f.value}`)))
          : null,
        item.identityRisk.detections.length ? h('ul', { 'aria-label': 'Recent risk detections' }, ...item.identityRisk.detections.map(timed)) : null,
      ]
    : null;
  const history = item.history
    ? [
        item.history.firstActivation ? h('p', {}, h('strong', {}, 'First activation of this role')) : null,
        h('p', {}, item.history.line),
        item.history.details.length ? h('ul', {}, ...item.history.details.map(timed)) : null,
      ]
    : null;
  const requester = [item.requester.jobTitle, item.requester.department].filter(Boolean).join(', ');
  el.append(
    h('h3', { id: `ap-${item.requestId}` }, `${personName(item.requester)} asks for ${item.role}`),
    facts([
      [
        'Requester',
        `${personName(item.requester)}${item.requester.upn && item.requester.upn !== item.requester.name ? ` (${item.requester.upn})` : ''}${requester ? ` · ${requester}` : ''}`,
      ],
      ['Role', `${item.role} (${kindLabel(item.kind)})`],
      ['Scope', scopeLabel(item.scope)],
      ['Duration', ctx.fmt.duration(item.durationMinutes, item.duration)],
      ['Justification', item.justification],
      ['Ticket', item.ticket ? `${item.ticket.system} ${item.ticket.number}` : 'None given'],
      ['Risk flags', flags ?? 'None'],
      ['Why it needs a person', reasons],
      ['Checks', checks],
      ['Identity risk', risk],
      ['History with this role', history],
      ['Requested', fmt.when(item.createdAt)],
      ['Expires', item.expiresAt ? `${fmt.when(item.expiresAt)} (${fmt.fromNow(item.expiresAt)})` : ''],
      ['Approvers', item.approverNames.join(', ')],
    ]),
  );
  el.append(decisionForm(ctx, item));
  return el;
}

function decisionForm(ctx: ViewContext, item: Approval): HTMLElement {
  const why = textareaField('Your justification (required)', { required: true, testid: 'decision-justification' });
  const messages = h('div', { class: 'messages', 'aria-live': 'polite' });
  let busy = false;
  const decide = async (reviewResult: 'Approve' | 'Deny') => {
    if (busy) return;
    const justification = why.value();
    messages.replaceChildren();
    if (!justification) {
      messages.append(notice('error', `Write why you ${reviewResult === 'Approve' ? 'approve' : 'deny'} this request before you decide.`));
      why.focus();
      return;
    }
    busy = true;
    form.setAttribute('aria-busy', 'true');
    try {
      const answer = await ctx.api.post<DecisionAnswer>(`/api/tab/approvals/${encodeURIComponent(item.requestId)}/decision`, {
        reviewResult,
        justification,
        version: item.version,
      });
      form.replaceWith(outcome(ctx, answer.message, answer.request, 'success'));
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) {
        // Someone else decided, or the request changed: show where it stands now.
        form.replaceWith(outcome(ctx, err.message, err.request as Partial<MyRequest> | undefined, 'info'));
        return;
      }
      messages.append(notice('error', messageOf(err)));
    } finally {
      busy = false;
      form.removeAttribute('aria-busy');
    }
  };
  const form = h(
    'div',
    { class: 'decision', role: 'group', 'aria-label': `Decide on ${item.role} for ${personName(item.requester)}` },
    why.field,
    h(
      'div',
      { class: 'actions' },
      button('Approve', () => void decide('Approve'), { appearance: 'primary', testid: 'approve' }),
      button('Deny', () => void decide('Deny'), { testid: 'deny' }),
    ),
    messages,
  );
  return form;
}

/** After a decision (or a 409): the message, then who decided, when and why when the answer says. */
function outcome(ctx: ViewContext, message: string, request: Partial<MyRequest> | undefined, kind: 'success' | 'info'): HTMLElement {
  return h(
    'div',
    { class: 'outcome', 'data-testid': 'decision-outcome' },
    notice(kind, message),
    request?.status ? h('p', {}, statusBadge(request.status)) : null,
    request
      ? facts([
          ['Decided by', personName(request.decidedBy)],
          ['When', ctx.fmt.when(request.decidedAt)],
          ['Why', request.decisionJustification ?? ''],
        ])
      : null,
  );
}
