import { ApiError, messageOf } from '../api';
import type { Access, AccessItem, ActionAnswer } from '../api-types';
import type { View, ViewContext } from '../context';
import { h, notice, table } from '../dom';
import { kindLabel, tidy } from '../labels';
import { button, inputField, loading, textareaField, viewHeader } from '../widgets';

type Action = 'activate' | 'extend' | 'renew' | 'end';

const ACTION_LABEL: Record<Action, string> = { activate: 'Activate', extend: 'Extend', renew: 'Renew', end: 'End now' };

/** My access: eligible, active and recently expired assignments, with the actions PIM allows on each. */
export const accessView: View = {
  id: 'access',
  label: 'My access',
  render: (panel, ctx) => show(panel, ctx, null),
};

async function show(panel: HTMLElement, ctx: ViewContext, flash: HTMLElement | null): Promise<void> {
  const reload = (n: HTMLElement | null) => void show(panel, ctx, n);
  panel.replaceChildren(
    viewHeader(accessView.label, () => reload(null)),
    flash ?? '',
    loading(),
  );
  let access: Access;
  try {
    access = await ctx.api.get<Access>('/api/tab/access');
  } catch (err) {
    panel.querySelector('.loading')?.replaceWith(notice('error', messageOf(err)));
    return;
  }
  panel.querySelector('.loading')?.remove();
  const formSlot = h('div', { class: 'form-slot' });
  const sections: Array<[string, string, AccessItem[], string]> = [
    ['eligible', 'Eligible', access.eligible, 'You have no eligible assignments.'],
    ['active', 'Active', access.active, 'Nothing is active now.'],
    ['expired', 'Expired in the last 30 days', access.expired, 'Nothing expired in the last 30 days.'],
  ];
  for (const [id, title, items, empty] of sections) {
    panel.append(
      h(
        'section',
        { 'aria-labelledby': `access-${id}`, 'data-testid': `access-${id}` },
        h('h3', { id: `access-${id}` }, title),
        table(
          `${title} assignments`,
          ['Name', 'Type', 'Scope', 'Membership', 'Starts', 'Ends', 'Actions'],
          items.map((item) => [
            item.name,
            kindLabel(item.kind),
            item.scopeName || item.scope,
            item.memberType ? tidy(item.memberType) : '',
            ctx.fmt.when(item.start) || 'Now',
            item.end ? ctx.fmt.when(item.end) : 'Permanent',
            actionButtons(ctx, item, formSlot, reload),
          ]),
          { empty },
        ),
      ),
    );
  }
  panel.append(formSlot);
}

function actionButtons(ctx: ViewContext, item: AccessItem, formSlot: HTMLElement, reload: (n: HTMLElement | null) => void): HTMLElement {
  const cell = h('div', { class: 'row-actions', 'data-key': item.key });
  for (const action of ['activate', 'extend', 'renew', 'end'] as const) {
    if (!item.actions[action]) continue;
    const b = button(
      ACTION_LABEL[action],
      () => {
        if (action === 'end') void endNow(ctx, item, reload);
        else openForm(ctx, item, action, formSlot, reload);
      },
      { appearance: action === 'activate' ? 'primary' : 'outline', testid: `access-${action}` },
    );
    b.setAttribute('aria-label', `${ACTION_LABEL[action]} ${item.name}`);
    cell.append(b);
  }
  return cell;
}

async function endNow(ctx: ViewContext, item: AccessItem, reload: (n: HTMLElement | null) => void): Promise<void> {
  try {
    const answer = await ctx.api.post<ActionAnswer>('/api/tab/access/end', { key: item.key });
    reload(notice('success', answer.message));
  } catch (err) {
    reload(notice(err instanceof ApiError && err.status === 409 ? 'info' : 'error', messageOf(err)));
  }
}

/** The small form for Activate (justification, duration, ticket), Extend and Renew (justification). */
function openForm(ctx: ViewContext, item: AccessItem, action: Exclude<Action, 'end'>, slot: HTMLElement, reload: (n: HTMLElement | null) => void): void {
  const why = textareaField('Justification (required)', { required: true, testid: 'access-justification' });
  const hours =
    action === 'activate' ? inputField('Duration in hours (optional; the role’s maximum if empty)', { testid: 'access-duration', inputmode: 'decimal' }) : null;
  const ticketSystem = action === 'activate' ? inputField('Ticket system (optional)', { testid: 'access-ticket-system' }) : null;
  const ticketNumber = action === 'activate' ? inputField('Ticket number (optional)', { testid: 'access-ticket-number' }) : null;
  const messages = h('div', { class: 'messages', 'aria-live': 'polite' });
  const title = `${ACTION_LABEL[action]} ${item.name}`;
  const submit = async () => {
    messages.replaceChildren();
    const justification = why.value();
    if (!justification) {
      messages.append(notice('error', 'Write a justification first.'));
      why.focus();
      return;
    }
    const body: Record<string, unknown> = { key: item.key, justification };
    if (hours?.value()) {
      const n = Number(hours.value().replace(',', '.'));
      if (!Number.isFinite(n) || n <= 0) {
        messages.append(notice('error', 'Give the duration as a number of hours, for example 2 or 1.5.'));
        return;
      }
      body.durationMinutes = Math.round(n * 60);
    }
    if (ticketNumber?.value()) body.ticket = { system: ticketSystem?.value() || '', number: ticketNumber.value() };
    try {
      const answer = await ctx.api.post<ActionAnswer>(`/api/tab/access/${action}`, body);
      reload(notice('success', answer.message));
    } catch (err) {
      if (err instanceof ApiError && err.status === 409) reload(notice('info', err.message));
      else messages.append(notice('error', messageOf(err)));
    }
  };
  const heading = h('h3', { tabindex: '-1' }, title);
  slot.replaceChildren(
    h(
      'section',
      { class: 'card access-form', 'aria-label': title, 'data-testid': 'access-form' },
      heading,
      why.field,
      hours?.field,
      ticketSystem?.field,
      ticketNumber?.field,
      h(
        'div',
        { class: 'actions' },
        button(ACTION_LABEL[action], () => void submit(), { appearance: 'primary', testid: 'access-submit' }),
        button('Close', () => slot.replaceChildren(), { testid: 'access-close' }),
      ),
      messages,
    ),
  );
  heading.focus();
}
