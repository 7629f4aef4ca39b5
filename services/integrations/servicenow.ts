import { basicAuth, HttpJsonClient, type FetchFn, type RetryPolicy } from './http-json';
import { IntegrationUnavailable, type ActivationWindow, type Requester, type TicketCheck, type TicketSystem } from './ports';

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

  async check(ticketNumber: string, requester: Requester, window: ActivationWindow, signal: AbortSignal): Promise<TicketCheck> {
    const number = ticketNumber.trim().toUpperCase();
    const table = /^[A-Z]+/.exec(number)?.[0];
    const notFound: TicketCheck = { found: false, open: false, assignedToRequester: null, windowCovered: null, summary: number, problems: [] };
    if (!table || !TABLES[table] || !/^[A-Z]+\d+$/.test(number)) {
      return { ...notFound, problems: [`${number} is not a ServiceNow incident (INC...) or change (CHG...) number; cite one of those.`] };
    }
    const tableName = TABLES[table]!;
    const isChange = tableName === 'change_request';
    // The user lookup does not depend on the ticket: start it now to save a round trip.
    const user = this.findUser(requester, signal).then((u) => ({ ok: true as const, sysId: u }), (err: unknown) => ({ ok: false as const, err }));
    const fields = ['sys_id', 'number', 'short_description', 'state', 'active', 'assigned_to', 'assignment_group', ...(isChange ? ['approval', 'start_date', 'end_date'] : [])];
    const res = await this.http.get<{ result?: TicketRecord[] }>({
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
    });
    const t = res.body?.result?.[0];
    if (!t) return notFound;

    const stateValue = t.state?.value ?? '';
    const stateLabel = t.state?.display_value || stateValue;
    const open = t.active?.value === 'true' && !CLOSED_STATES[tableName].includes(stateValue) && !CLOSED_LABELS.test(stateLabel);
    const summary = `${t.number?.value ?? number} "${t.short_description?.value ?? ''}" (${stateLabel})`;
    const problems: string[] = [];

    let windowCovered: boolean | null = null;
    if (isChange) {
      const start = parseGlideDateTime(t.start_date?.value);
      const end = parseGlideDateTime(t.end_date?.value);
      if (!start || !end) {
        windowCovered = false;
        if (open) problems.push(`Change ${number} has no planned start and end dates; ask the change manager to plan it.`);
      } else {
        windowCovered = start.getTime() <= window.start.getTime() && end.getTime() >= window.end.getTime();
        if (!windowCovered && open) {
          problems.push(`Change ${number} is planned for ${utc(start)} to ${utc(end)}, which does not cover the activation (${utc(window.start)} to ${utc(window.end)}); activate inside the change window.`);
        }
      }
      const approval = t.approval?.value ?? '';
      if (open && approval && approval !== 'approved') {
        problems.push(`Change ${number} is not approved yet (${t.approval?.display_value || approval}); wait for its approval or cite an approved change.`);
      }
    }

    const assignedToRequester = await this.assignment(t, await user, signal);
    return { found: true, open, assignedToRequester, windowCovered, summary, problems };
  }

  /** The requester's sys_user sys_id, matched by user_name or email; null when ServiceNow has no such user. */
  private async findUser(r: Requester, signal: AbortSignal): Promise<string | null> {
    const ids = [...new Set([r.userPrincipalName, r.mail].filter((x): x is string => Boolean(x)))];
    const query = ids.flatMap((id, i) => [`${i === 0 ? '' : '^OR'}user_name=${escapeQuery(id)}`, `^ORemail=${escapeQuery(id)}`]).join('');
    const res = await this.http.get<{ result?: Array<{ sys_id?: string }> }>({
      path: '/api/now/table/sys_user',
      query: { sysparm_query: query, sysparm_fields: 'sys_id', sysparm_limit: 1 },
      timeoutMs: SERVICENOW_READ_TIMEOUT_MS,
      signal,
      what: 'looking up the requester',
    });
    return res.body?.result?.[0]?.sys_id ?? null;
  }

  /** Assigned to the requester, or to a group they belong to; null when that could not be read. */
  private async assignment(t: TicketRecord, user: { ok: true; sysId: string | null } | { ok: false; err: unknown }, signal: AbortSignal): Promise<boolean | null> {
    const assignee = t.assigned_to?.value ?? '';
    const group = t.assignment_group?.value ?? '';
    if (!assignee && !group) return false;
    if (!user.ok) return rethrowIfCancelled(user.err, signal);
    if (!user.sysId) return false;
    if (assignee && assignee === user.sysId) return true;
    if (!group) return false;
    try {
      const res = await this.http.get<{ result?: unknown[] }>({
        path: '/api/now/table/sys_user_grmember',
        query: { sysparm_query: `user=${escapeQuery(user.sysId)}^group=${escapeQuery(group)}`, sysparm_fields: 'sys_id', sysparm_limit: 1 },
        timeoutMs: SERVICENOW_READ_TIMEOUT_MS,
        signal,
        what: 'checking the assignment group',
      });
      return (res.body?.result?.length ?? 0) > 0;
    } catch (err) {
      return rethrowIfCancelled(err, signal);
    }
  }
}

/** A failed side lookup leaves the assignment unknown (null); running out of budget still ends the check. */
function rethrowIfCancelled(err: unknown, signal: AbortSignal): null {
  if (signal.aborted || !(err instanceof IntegrationUnavailable)) throw err;
  return null;
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
