import { assertNever, found, isRecord, noted } from './findings';
import { basicAuth, HttpJsonClient, type FetchFn, type RetryPolicy } from './http-json';
import type { ActivationWindow, Evidence, Finding, FindingStatus, Requester, TicketCheck, TicketFinding, TicketQuestion, TicketSystem } from './ports';

/**
 * One Table API read. Three run per check (ticket and user in parallel, then group membership), so
 * each must leave room inside the decision budget (3 s by default) for one retry.
 */
const SERVICENOW_READ_TIMEOUT_MS = 1200;

export interface ServiceNowSettings {
  /** `https://<instance>.service-now.com` */
  baseUrl: string;
  auth: { kind: 'basic'; username: string; password: string } | { kind: 'bearer'; token: string };
  names?: string[];
  retry?: Partial<RetryPolicy>;
}

type Pair = { display_value?: string; value?: string };
interface TicketRecord {
  sys_id?: Pair;
  number?: Pair;
  short_description?: Pair;
  state?: Pair;
  active?: Pair;
  assigned_to?: Pair;
  assignment_group?: Pair;
  approval?: Pair;
  start_date?: Pair;
  end_date?: Pair;
  priority?: Pair;
}

const TABLES: Record<string, 'incident' | 'change_request'> = { INC: 'incident', CHG: 'change_request' };
/** Choice values that mean the ticket is finished (incident: Resolved, Closed, Canceled; change: Closed, Canceled). */
const CLOSED_STATES: Record<'incident' | 'change_request', string[]> = { incident: ['6', '7', '8'], change_request: ['3', '4'] };
const CLOSED_LABELS = /^(resolved|closed|cancell?ed)\b/i;

/** ServiceNow Table API: an incident (INC) or change (CHG) looked up by number. */
export class ServiceNowTickets implements TicketSystem {
  readonly names: string[];
  private readonly http: HttpJsonClient;

  constructor(settings: ServiceNowSettings, deps: { fetch?: FetchFn } = {}) {
    this.names = settings.names ?? ['ServiceNow', 'SNOW'];
    this.http = new HttpJsonClient({
      system: 'ServiceNow',
      baseUrl: settings.baseUrl,
      headers: { Authorization: settings.auth.kind === 'basic' ? basicAuth(settings.auth.username, settings.auth.password) : `Bearer ${settings.auth.token}` },
      retry: settings.retry,
      fetch: deps.fetch,
    });
  }

  async check(q: TicketQuestion, signal: AbortSignal): Promise<TicketCheck> {
    const number = q.number.trim().toUpperCase();
    const table = /^[A-Z]+/.exec(number)?.[0];
    if (!table || !TABLES[table] || !/^[A-Z]+\d+$/.test(number)) {
      return only(
        number,
        'fail',
        `${number} is not a ServiceNow incident (INC...) or change (CHG...) number; cite one of those.`,
        noted(`ticket ${number}`, 'ServiceNow', 'not an INC or CHG number'),
      );
    }
    const tableName = TABLES[table]!;
    const isChange = tableName === 'change_request';
    const what = isChange ? 'change' : 'incident';
    // The user lookup does not depend on the ticket: start it now to save a round trip.
    const user = q.assignment ? this.findUser(q.requester, signal) : null;
    const fields = [
      'sys_id',
      'number',
      'short_description',
      'state',
      'active',
      'assigned_to',
      'assignment_group',
      ...(isChange ? ['approval', 'start_date', 'end_date'] : ['priority']),
    ];
    const res = await this.http.ask<{ result?: unknown }>({
      path: `/api/now/table/${tableName}`,
      query: {
        sysparm_query: `number=${escapeQuery(number)}`,
        sysparm_display_value: 'all',
        sysparm_exclude_reference_link: 'true',
        sysparm_fields: fields.join(','),
        sysparm_limit: 1,
      },
      timeoutMs: SERVICENOW_READ_TIMEOUT_MS,
      signal,
      what: `looking up ${number}`,
      asked: `${what} ${number}`,
    });
    if (!res.ok) return only(number, 'unknown', `${number} could not be read from ServiceNow (${res.evidence.answer}).`, res.evidence);
    const list = isRecord(res.body) ? res.body.result : undefined;
    if (!Array.isArray(list))
      return only(number, 'unknown', `ServiceNow's answer about ${number} had no result list.`, {
        ...res.evidence,
        answer: `${res.evidence.answer}, no result list`,
      });
    const first: unknown = list[0];
    if (!isRecord(first))
      return only(number, 'fail', `Ticket ${number} was not found in ServiceNow. Check the number.`, {
        ...res.evidence,
        answer: `${res.evidence.answer}, no such ${what}`,
      });

    const t = first as TicketRecord;
    const ev = res.evidence;
    const stateValue = t.state?.value;
    const activeValue = t.active?.value;
    const stateLabel = t.state?.display_value || stateValue || 'state unknown';
    const summary = `${t.number?.value ?? number} "${t.short_description?.value ?? ''}" (${stateLabel})`;
    const findings: TicketFinding[] = [{ aspect: 'exists', ...found.pass(`${number} exists`, ev) }];

    let open: FindingStatus;
    if ((activeValue !== 'true' && activeValue !== 'false') || typeof stateValue !== 'string') {
      open = 'unknown';
      findings.push({
        aspect: 'open',
        ...found.unknown(`ServiceNow did not say whether ${number} is open (fields active/state missing).`, {
          ...ev,
          answer: `${ev.answer}, active/state missing`,
        }),
      });
    } else {
      const isOpen = activeValue === 'true' && !CLOSED_STATES[tableName].includes(stateValue) && !CLOSED_LABELS.test(stateLabel);
      open = isOpen ? 'pass' : 'fail';
      findings.push({
        aspect: 'open',
        ...(isOpen ? found.pass(`${number} is open (${stateLabel})`, ev) : found.fail(`Ticket ${number} is closed. Reopen it or cite an open ticket.`, ev)),
      });
    }

    if (isChange && open !== 'fail') {
      findings.push({ aspect: 'changeApproved', ...changeApproval(number, t, ev) }, { aspect: 'changeWindow', ...changeWindow(number, t, q.window, ev) });
    }
    if (user) findings.push({ aspect: 'assignment', ...(await this.assignment(number, t, ev, await user, signal)) });
    const priority = !isChange && typeof t.priority?.value === 'string' && t.priority.value ? t.priority.value : null;
    return {
      summary,
      findings,
      facts: { kind: isChange ? 'change' : 'incident', priority, priorityLabel: priority ? t.priority?.display_value || priority : null },
    };
  }

  /** The requester's sys_user sys_id, matched by user_name or email. */
  private async findUser(r: Requester, signal: AbortSignal): Promise<UserLookup> {
    const ids = [...new Set([r.userPrincipalName, r.mail].filter((x): x is string => Boolean(x)))];
    const query = ids.flatMap((id, i) => [`${i === 0 ? '' : '^OR'}user_name=${escapeQuery(id)}`, `^ORemail=${escapeQuery(id)}`]).join('');
    const res = await this.http.ask<{ result?: unknown }>({
      path: '/api/now/table/sys_user',
      query: { sysparm_query: query, sysparm_fields: 'sys_id', sysparm_limit: 1 },
      timeoutMs: SERVICENOW_READ_TIMEOUT_MS,
      signal,
      what: 'looking up the requester',
      asked: "the requester's ServiceNow user",
    });
    if (!res.ok) return { status: 'unknown', detail: `the requester's ServiceNow user could not be read (${res.evidence.answer})`, evidence: res.evidence };
    const list = isRecord(res.body) ? res.body.result : undefined;
    if (!Array.isArray(list))
      return {
        status: 'unknown',
        detail: "ServiceNow's answer about the requester had no result list",
        evidence: { ...res.evidence, answer: `${res.evidence.answer}, no result list` },
      };
    const first = list[0];
    if (!isRecord(first))
      return { status: 'none', detail: 'the requester has no ServiceNow user', evidence: { ...res.evidence, answer: `${res.evidence.answer}, no such user` } };
    if (typeof first.sys_id !== 'string' || !first.sys_id)
      return {
        status: 'unknown',
        detail: "ServiceNow's answer about the requester had no sys_id",
        evidence: { ...res.evidence, answer: `${res.evidence.answer}, sys_id missing` },
      };
    return { status: 'found', sysId: first.sys_id, evidence: res.evidence };
  }

  /** Assigned to the requester, or to a group they belong to. A lookup that failed is unknown, never a pass or a fail. */
  private async assignment(number: string, t: TicketRecord, ticketEv: Evidence, user: UserLookup, signal: AbortSignal): Promise<Finding> {
    const notYours = `Ticket ${number} is not assigned to you or your group. Ask for it to be assigned, or cite your own ticket.`;
    if (typeof t.assigned_to?.value !== 'string' || typeof t.assignment_group?.value !== 'string') {
      return found.unknown(`ServiceNow did not say who ${number} is assigned to (fields assigned_to/assignment_group missing).`, {
        ...ticketEv,
        answer: `${ticketEv.answer}, assigned_to/assignment_group missing`,
      });
    }
    const assignee = t.assigned_to.value;
    const group = t.assignment_group.value;
    if (!assignee && !group)
      return found.fail(`Ticket ${number} is not assigned to anyone. Ask for it to be assigned to you, or cite your own ticket.`, ticketEv);
    switch (user.status) {
      case 'unknown':
        return found.unknown(`The assignment of ${number} could not be checked: ${user.detail}.`, user.evidence);
      case 'none':
        return found.fail(notYours, user.evidence);
      case 'found':
        break;
      default:
        return assertNever(user);
    }
    if (assignee && assignee === user.sysId) return found.pass(`${number} is assigned to the requester`, user.evidence);
    if (!group) return found.fail(notYours, user.evidence);
    const res = await this.http.ask<{ result?: unknown }>({
      path: '/api/now/table/sys_user_grmember',
      query: { sysparm_query: `user=${escapeQuery(user.sysId)}^group=${escapeQuery(group)}`, sysparm_fields: 'sys_id', sysparm_limit: 1 },
      timeoutMs: SERVICENOW_READ_TIMEOUT_MS,
      signal,
      what: 'checking the assignment group',
      asked: "membership of the ticket's assignment group",
    });
    if (!res.ok)
      return found.unknown(
        `The assignment of ${number} could not be checked: the group membership could not be read (${res.evidence.answer}).`,
        user.evidence,
        res.evidence,
      );
    const list = isRecord(res.body) ? res.body.result : undefined;
    if (!Array.isArray(list))
      return found.unknown(`The assignment of ${number} could not be checked: ServiceNow's answer about the group had no result list.`, user.evidence, {
        ...res.evidence,
        answer: `${res.evidence.answer}, no result list`,
      });
    return list.length > 0
      ? found.pass(`${number} is assigned to the requester's group`, user.evidence, res.evidence)
      : found.fail(notYours, user.evidence, res.evidence);
  }
}

type UserLookup = { status: 'found'; sysId: string; evidence: Evidence } | { status: 'none' | 'unknown'; detail: string; evidence: Evidence };

function only(number: string, status: 'fail' | 'unknown', detail: string, evidence: Evidence): TicketCheck {
  return { summary: number, findings: [{ aspect: 'exists', status, detail, evidence: [evidence] }] };
}

function changeApproval(number: string, t: TicketRecord, ev: Evidence): Finding {
  const approval = t.approval?.value;
  if (typeof approval !== 'string' || !approval)
    return found.unknown(`ServiceNow did not say whether change ${number} is approved (field approval missing).`, {
      ...ev,
      answer: `${ev.answer}, approval missing`,
    });
  if (approval === 'approved') return found.pass(`change ${number} is approved`, ev);
  return found.fail(`Change ${number} is not approved yet (${t.approval?.display_value || approval}); wait for its approval or cite an approved change.`, ev);
}

function changeWindow(number: string, t: TicketRecord, window: ActivationWindow, ev: Evidence): Finding {
  if (typeof t.start_date?.value !== 'string' || typeof t.end_date?.value !== 'string')
    return found.unknown(`ServiceNow did not give change ${number}'s planned window (fields start_date/end_date missing).`, {
      ...ev,
      answer: `${ev.answer}, start_date/end_date missing`,
    });
  const start = parseGlideDateTime(t.start_date.value);
  const end = parseGlideDateTime(t.end_date.value);
  if (!start || !end) return found.fail(`Change ${number} has no planned start and end dates; ask the change manager to plan it.`, ev);
  if (!window.end)
    return found.fail(
      `The activation has no end, so change ${number}'s planned window (${utc(start)} to ${utc(end)}) cannot cover it; ask for a duration inside the change window.`,
      ev,
    );
  const covered = start.getTime() <= window.start.getTime() && end.getTime() >= window.end.getTime();
  return covered
    ? found.pass(`change ${number}'s planned window covers the activation`, ev)
    : found.fail(
        `Change ${number} is planned for ${utc(start)} to ${utc(end)}, which does not cover the activation (${utc(window.start)} to ${utc(window.end)}); activate inside the change window.`,
        ev,
      );
}

/** `^` separates encoded-query terms; a literal one is doubled. */
function escapeQuery(v: string): string {
  return v.replace(/\^/g, '^^');
}

/** The Table API's stored value for date-times: `yyyy-MM-dd HH:mm:ss` in UTC. */
export function parseGlideDateTime(v: string | undefined): Date | null {
  const m = v ? /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})$/.exec(v) : null;
  if (!m) return null;
  return new Date(Date.UTC(+m[1]!, +m[2]! - 1, +m[3]!, +m[4]!, +m[5]!, +m[6]!));
}

function utc(d: Date): string {
  return `${d.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
