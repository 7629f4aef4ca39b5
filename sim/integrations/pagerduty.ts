import type { SimContext } from '../context';
import { json, type SimRequest, type SimResponse } from '../http';
import type { Router } from '../router';
import { DEMO_INTEGRATION_CREDENTIALS } from '../seed';
import { authorization, integrationsOf, resolveTime } from './common';

/** PagerDuty REST API v2 `GET /users` and `GET /oncalls` under `/pagerduty`, `Authorization: Token token=<key>`. */

export const PAGERDUTY_PREFIX = '/pagerduty';

export function pagerDutyError(status: number, code: number, message: string, errors?: string[]): SimResponse {
  return json(status, { error: { message, code, ...(errors ? { errors } : {}) } });
}

const pdTime = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

function paging(req: SimRequest, defaultLimit: number): { limit: number; offset: number } | SimResponse {
  const limit = Number(req.query.get('limit') ?? defaultLimit);
  const offset = Number(req.query.get('offset') ?? 0);
  if (!Number.isInteger(limit) || limit < 1 || limit > 100 || !Number.isInteger(offset) || offset < 0) {
    return pagerDutyError(400, 2001, 'Invalid Input Provided', ['limit must be 1..100 and offset a non-negative integer.']);
  }
  return { limit, offset };
}

export function registerPagerDuty(router: Router, ctx: SimContext): void {
  const authorized = (req: SimRequest) => authorization(req) === `Token token=${DEMO_INTEGRATION_CREDENTIALS.pagerDuty.apiKey}`;
  const denied = () => pagerDutyError(401, 2006, 'Authentication failed');
  const ref = (req: SimRequest, type: string, collection: string, id: string, summary: string) => ({
    id,
    type: `${type}_reference`,
    summary,
    self: `${req.origin}${PAGERDUTY_PREFIX}/${collection}/${id}`,
    html_url: `https://contoso.pagerduty.example/${collection}/${id}`,
  });

  router.add('GET', `${PAGERDUTY_PREFIX}/users`, (req) => {
    if (!authorized(req)) return denied();
    const page = paging(req, 25);
    if ('status' in page) return page;
    const q = (req.query.get('query') ?? '').toLowerCase();
    const hits = integrationsOf(ctx).pagerDuty.users.filter((u) => !q || u.name.toLowerCase().includes(q) || u.email.toLowerCase().includes(q));
    const users = hits.slice(page.offset, page.offset + page.limit).map((u) => ({
      id: u.id,
      type: 'user',
      summary: u.name,
      self: `${req.origin}${PAGERDUTY_PREFIX}/users/${u.id}`,
      html_url: `https://contoso.pagerduty.example/users/${u.id}`,
      name: u.name,
      email: u.email,
      time_zone: 'Etc/UTC',
      role: 'user',
      description: null,
      invitation_sent: false,
      job_title: null,
      teams: [],
      contact_methods: [],
      notification_rules: [],
    }));
    return json(200, { users, limit: page.limit, offset: page.offset, total: null, more: page.offset + page.limit < hits.length });
  });

  router.add('GET', `${PAGERDUTY_PREFIX}/oncalls`, (req) => {
    if (!authorized(req)) return denied();
    const page = paging(req, 25);
    if ('status' in page) return page;
    const now = ctx.state.now();
    const since = req.query.get('since') ? new Date(req.query.get('since')!) : now;
    const until = req.query.get('until') ? new Date(req.query.get('until')!) : since;
    if (Number.isNaN(since.getTime()) || Number.isNaN(until.getTime()) || until < since) {
      return pagerDutyError(400, 2004, "Invalid 'since' or 'until' Parameter Values", ['since and until must be ISO 8601 dates with since before until.']);
    }
    const userIds = req.query.getAll('user_ids[]');
    const policyIds = req.query.getAll('escalation_policy_ids[]');
    const scheduleIds = req.query.getAll('schedule_ids[]');
    const pd = integrationsOf(ctx).pagerDuty;
    const hits = pd.oncalls
      .map((o) => ({ o, start: o.start ? resolveTime(ctx, o.start) : null, end: o.end ? resolveTime(ctx, o.end) : null }))
      .filter(
        ({ o, start, end }) =>
          (!userIds.length || userIds.includes(o.userId)) &&
          (!policyIds.length || policyIds.includes(o.escalationPolicyId)) &&
          (!scheduleIds.length || (o.scheduleId !== null && scheduleIds.includes(o.scheduleId))) &&
          (start === null || start <= until) &&
          (end === null || end > since),
      );
    const oncalls = hits.slice(page.offset, page.offset + page.limit).map(({ o, start, end }) => {
      const user = pd.users.find((u) => u.id === o.userId);
      const policy = pd.escalationPolicies.find((p) => p.id === o.escalationPolicyId);
      const schedule = o.scheduleId ? pd.schedules.find((s) => s.id === o.scheduleId) : undefined;
      return {
        escalation_policy: ref(req, 'escalation_policy', 'escalation_policies', o.escalationPolicyId, policy?.name ?? o.escalationPolicyId),
        escalation_level: o.level,
        schedule: schedule ? ref(req, 'schedule', 'schedules', schedule.id, schedule.name) : null,
        user: ref(req, 'user', 'users', o.userId, user?.name ?? o.userId),
        start: start ? pdTime(start) : null,
        end: end ? pdTime(end) : null,
      };
    });
    return json(200, { oncalls, limit: page.limit, offset: page.offset, total: null, more: page.offset + page.limit < hits.length });
  });
}
