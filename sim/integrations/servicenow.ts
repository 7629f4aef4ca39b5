import type { SimContext } from '../context';
import { json, type SimRequest, type SimResponse } from '../http';
import type { Router } from '../router';
import { DEMO_INTEGRATION_CREDENTIALS, type SeedSnowTicket } from '../seed';
import { authorization, basicCredentials, integrationsOf, resolveTime } from './common';

/**
 * ServiceNow Table API (`/api/now/table/{table}`) under `/servicenow`: incident, change_request,
 * sys_user, sys_user_group and sys_user_grmember, with encoded queries (`a=1^ORb=2^c=3`),
 * `sysparm_display_value` (false | true | all), `sysparm_fields`, `sysparm_limit` and
 * `sysparm_exclude_reference_link`, and ServiceNow's error envelope.
 */

export const SERVICENOW_PREFIX = '/servicenow';

type Field = { kind: 'plain'; value: string; display?: string } | { kind: 'ref'; table: string; value: string; display: string };
type SnowRecord = Record<string, Field>;

export function serviceNowError(status: number, message: string, detail: string | null): SimResponse {
  return json(status, { error: { message, detail }, status: 'failure' });
}

const APPROVAL_LABEL: Record<string, string> = { approved: 'Approved', requested: 'Requested', rejected: 'Rejected', 'not requested': 'Not Yet Requested' };

/** `yyyy-MM-dd HH:mm:ss` in UTC: the Table API's stored value for glide_date_time fields. */
export function glideDateTime(d: Date): string {
  return d
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d{3}Z$/, '');
}

function records(ctx: SimContext, table: string): SnowRecord[] | undefined {
  const sn = integrationsOf(ctx).serviceNow;
  const userName = (id: string | undefined) => sn.users.find((u) => u.sysId === id)?.name ?? '';
  const groupName = (id: string | undefined) => sn.groups.find((g) => g.sysId === id)?.name ?? '';
  const plain = (value: string, display?: string): Field => ({ kind: 'plain', value, display });
  const ref = (t: string, value: string | undefined, display: string): Field => ({ kind: 'ref', table: t, value: value ?? '', display: value ? display : '' });
  const ticket = (t: SeedSnowTicket): SnowRecord => {
    const r: SnowRecord = {
      sys_id: plain(t.sysId),
      number: plain(t.number),
      short_description: plain(t.shortDescription),
      state: plain(t.state.value, t.state.label),
      active: plain(String(t.active)),
      assigned_to: ref('sys_user', t.assignedTo, userName(t.assignedTo)),
      assignment_group: ref('sys_user_group', t.assignmentGroup, groupName(t.assignmentGroup)),
      sys_class_name: plain(t.table, t.table === 'incident' ? 'Incident' : 'Change Request'),
    };
    if (t.priority) r.priority = plain(t.priority.value, t.priority.label);
    if (t.table === 'change_request') {
      const start = t.plannedStart ? glideDateTime(resolveTime(ctx, t.plannedStart)) : '';
      const end = t.plannedEnd ? glideDateTime(resolveTime(ctx, t.plannedEnd)) : '';
      r.approval = plain(t.approval ?? 'not requested', APPROVAL_LABEL[t.approval ?? 'not requested'] ?? t.approval);
      r.start_date = plain(start);
      r.end_date = plain(end);
      r.type = plain('normal', 'Normal');
    }
    return r;
  };
  switch (table) {
    case 'incident':
    case 'change_request':
      return sn.tickets.filter((t) => t.table === table).map(ticket);
    case 'sys_user':
      return sn.users.map((u) => ({ sys_id: plain(u.sysId), user_name: plain(u.userName), email: plain(u.email), name: plain(u.name), active: plain('true') }));
    case 'sys_user_group':
      return sn.groups.map((g) => ({ sys_id: plain(g.sysId), name: plain(g.name), active: plain('true') }));
    case 'sys_user_grmember':
      return sn.groups.flatMap((g) =>
        g.members.map((m) => ({
          sys_id: plain(`${g.sysId.slice(0, 16)}${m.slice(16)}`),
          user: ref('sys_user', m, userName(m)),
          group: ref('sys_user_group', g.sysId, g.name),
        })),
      );
    default:
      return undefined;
  }
}

/** Encoded query: `^` joins AND terms, `^OR` joins an OR alternative to the term before; `^^` is a literal `^`. */
export function parseEncodedQuery(q: string): Array<Array<{ field: string; value: string }>> {
  const out: Array<Array<{ field: string; value: string }>> = [];
  for (const raw of q.replace(/\^\^/g, '\u0000').split('^')) {
    const tok = raw.replaceAll('\u0000', '^');
    if (!tok || tok.startsWith('ORDERBY')) continue;
    const isOr = tok.startsWith('OR') && out.length > 0;
    const term = isOr ? tok.slice(2) : tok;
    const eq = term.indexOf('=');
    const cond = eq < 0 ? { field: term, value: '\u0000never' } : { field: term.slice(0, eq), value: term.slice(eq + 1) };
    if (isOr) out[out.length - 1]!.push(cond);
    else out.push([cond]);
  }
  return out;
}

function matches(r: SnowRecord, query: ReturnType<typeof parseEncodedQuery>): boolean {
  return query.every((ors) =>
    ors.some(({ field, value }) => {
      const f = r[field];
      return f !== undefined && f.value.toLowerCase() === value.toLowerCase();
    }),
  );
}

function render(req: SimRequest, r: SnowRecord): Record<string, unknown> {
  const mode = (req.query.get('sysparm_display_value') ?? 'false').toLowerCase();
  const noLink = req.query.get('sysparm_exclude_reference_link') === 'true';
  const fields = req.query
    .get('sysparm_fields')
    ?.split(',')
    .map((f) => f.trim())
    .filter(Boolean);
  const out: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(r)) {
    if (fields && !fields.includes(name)) continue;
    const display = f.kind === 'ref' ? f.display : (f.display ?? f.value);
    if (f.kind === 'ref') {
      const link = f.value && !noLink ? { link: `${req.origin}${SERVICENOW_PREFIX}/api/now/table/${f.table}/${f.value}` } : {};
      if (!f.value) out[name] = mode === 'all' ? { display_value: '', value: '' } : '';
      else if (mode === 'all') out[name] = { display_value: display, ...link, value: f.value };
      else if (mode === 'true') out[name] = { display_value: display, ...link };
      else out[name] = { ...link, value: f.value };
    } else {
      out[name] = mode === 'all' ? { display_value: display, value: f.value } : mode === 'true' ? display : f.value;
    }
  }
  return out;
}

function authenticated(req: SimRequest): boolean {
  const c = DEMO_INTEGRATION_CREDENTIALS.serviceNow;
  const basic = basicCredentials(req);
  if (basic) return basic.user === c.username && basic.secret === c.password;
  return authorization(req) === `Bearer ${c.bearerToken}`;
}

const unauthenticated = () => serviceNowError(401, 'User Not Authenticated', 'Required to provide Auth information');

export function registerServiceNow(router: Router, ctx: SimContext): void {
  router.add('GET', `${SERVICENOW_PREFIX}/api/now/table/:table`, (req, p) => {
    if (!authenticated(req)) return unauthenticated();
    const all = records(ctx, p.table!);
    if (!all) return serviceNowError(400, `Invalid table ${p.table}`, null);
    const query = parseEncodedQuery(req.query.get('sysparm_query') ?? '');
    const limit = Number(req.query.get('sysparm_limit') ?? '10000');
    const offset = Number(req.query.get('sysparm_offset') ?? '0');
    if (!Number.isInteger(offset) || offset < 0)
      return serviceNowError(400, `offset is ${req.query.get('sysparm_offset')}`, 'Negative offset is not supported');
    const hits = all.filter((r) => matches(r, query));
    const result = hits.slice(offset, offset + (Number.isInteger(limit) && limit > 0 ? limit : 10000)).map((r) => render(req, r));
    return json(200, { result }, { 'X-Total-Count': String(hits.length) });
  });

  router.add('GET', `${SERVICENOW_PREFIX}/api/now/table/:table/:sysId`, (req, p) => {
    if (!authenticated(req)) return unauthenticated();
    const all = records(ctx, p.table!);
    if (!all) return serviceNowError(400, `Invalid table ${p.table}`, null);
    const r = all.find((x) => x.sys_id?.value === p.sysId);
    if (!r) return serviceNowError(404, 'No Record found', "Record doesn't exist or ACL restricts the record retrieval");
    return json(200, { result: render(req, r) });
  });
}
