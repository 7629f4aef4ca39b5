import { messageOf } from '../api';
import type { History } from '../api-types';
import type { View } from '../context';
import { h, notice, table } from '../dom';
import { kindLabel, personName, scopeLabel } from '../labels';
import { loading, statusBadge, viewHeader } from '../widgets';

/** History: the caller's activations and the approvals they gave, last 90 days. */
export const historyView: View = {
  id: 'history',
  label: 'History',
  async render(panel, ctx) {
    panel.replaceChildren(
      viewHeader(this.label, () => void this.render(panel, ctx)),
      h('p', {}, 'The last 90 days.'),
      loading(),
    );
    let history: History;
    try {
      history = await ctx.api.get<History>('/api/tab/history?days=90');
    } catch (err) {
      panel.querySelector('.loading')?.replaceWith(notice('error', messageOf(err)));
      return;
    }
    panel.querySelector('.loading')?.remove();
    const { fmt } = ctx;
    panel.append(
      h(
        'section',
        { 'aria-labelledby': 'history-activations', 'data-testid': 'history-activations' },
        h('h3', { id: 'history-activations' }, 'My activations'),
        table(
          'My activations, newest first',
          ['Role', 'Type', 'Scope', 'Status', 'Requested', 'Decided', 'Decided by'],
          history.activations.map((a) => [
            a.role,
            kindLabel(a.kind),
            scopeLabel(a.scope),
            statusBadge(a.status),
            fmt.when(a.createdAt),
            fmt.when(a.decidedAt),
            personName(a.decidedBy),
          ]),
          { empty: 'No activations in the last 90 days.' },
        ),
      ),
      h(
        'section',
        { 'aria-labelledby': 'history-approvals', 'data-testid': 'history-approvals' },
        h('h3', { id: 'history-approvals' }, 'My approval decisions'),
        table(
          'My approval decisions, newest first',
          ['Role', 'Requester', 'Decision', 'When', 'Justification'],
          history.approvals.map((a) => [a.role, personName(a.requester), statusBadge(a.result), fmt.when(a.decidedAt), a.justification]),
          { empty: 'No approval decisions in the last 90 days.' },
        ),
      ),
    );
  },
};
