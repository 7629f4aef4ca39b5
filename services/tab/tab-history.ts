import { z } from 'zod';
import { parseDisplay } from '../approvals/request-display';
import type { RequestRangeReads, RequestStore } from '../store/requests';
import type { ApprovalRequestRow } from '../store/store';
import { TabError } from './tab-api';

/**
 * The tab's "History": the caller's activation requests of the last `days` days (1 to 90), and the requests
 * they decided as an approver, from the bot's database. Bounded: at most HISTORY_MAX of each, newest first.
 */

export const HISTORY_MAX = 500;
const PAGE = 200;

export const historyQuery = z
  .object({
    days: z.coerce.number().int('days must be a whole number').min(1, 'days must be at least 1').max(90, 'days is at most 90').default(90),
  })
  .strict();

export interface TabHistoryDeps {
  requests: Pick<RequestStore, 'byPrincipalPage'>;
  ranges: Pick<RequestRangeReads, 'decidedBy'>;
  now?: () => Date;
}

export class TabHistory {
  constructor(private readonly deps: TabHistoryDeps) {}

  async history(caller: string, query: unknown) {
    const parsed = historyQuery.safeParse(query);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const field = issue.path.join('.') || undefined;
      throw new TabError(400, 'invalid_query', `${field ? `${field}: ` : ''}${issue.message}`, field);
    }
    const now = (this.deps.now ?? (() => new Date()))();
    const since = new Date(now.getTime() - parsed.data.days * 86_400_000).toISOString();
    const mine: ApprovalRequestRow[] = [];
    let before: { at: string; id: string } | null = null;
    for (;;) {
      const rows = await this.deps.requests.byPrincipalPage(caller, before, PAGE);
      const inRange = rows.filter((r) => r.created_at >= since);
      mine.push(...inRange);
      if (rows.length < PAGE || inRange.length < rows.length || mine.length >= HISTORY_MAX) break;
      const last = rows[rows.length - 1]!;
      before = { at: last.created_at, id: last.id };
    }
    const decided = await this.deps.ranges.decidedBy(caller, since, HISTORY_MAX);
    return {
      days: parsed.data.days,
      activations: mine.slice(0, HISTORY_MAX).map((r) => {
        const closed = r.status !== 'pending' && r.status !== 'recording';
        return {
          requestId: r.id,
          role: parseDisplay(r).roleDisplayName,
          kind: r.kind,
          scope: r.scope,
          status: r.status,
          createdAt: r.created_at,
          decidedAt: closed ? r.decided_at : null,
          decidedBy: closed ? r.decided_by_name : null,
        };
      }),
      approvals: decided.map((r) => {
        const d = parseDisplay(r);
        return {
          requestId: r.id,
          role: d.roleDisplayName,
          requester: d.requester.displayName,
          result: r.status,
          decidedAt: r.decided_at,
          justification: r.decision_justification,
        };
      }),
    };
  }
}
