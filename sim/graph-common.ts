import type { SimContext } from './context';
import { GRAPH_APP_ID, GRAPH_RESOURCE } from './context';
import { json, type SimRequest, type SimResponse } from './http';
import type { Claims } from './tokens';

export type GraphCaller =
  | { kind: 'app'; appid: string; oid: string; roles: string[]; claims: Claims }
  | { kind: 'user'; appid: string; oid: string; scopes: string[]; amr: string[]; claims: Claims };

/** Graph's error envelope, including the innerError block clients log for support cases. */
export function graphError(req: SimRequest | undefined, status: number, code: string, message: string, headers?: Record<string, string>): SimResponse {
  const date = new Date().toISOString().replace(/\.\d+Z$/, '');
  return json(
    status,
    {
      error: {
        code,
        message,
        innerError: { date, 'request-id': req?.requestId ?? '', 'client-request-id': req?.clientRequestId ?? '' },
      },
    },
    headers,
  );
}

/** Validates the bearer the way Graph does for our purposes: our signature, Graph audience, a permission. */
export async function graphCaller(ctx: SimContext, req: SimRequest): Promise<GraphCaller | SimResponse> {
  const h = req.headers.authorization;
  const m = h ? /^Bearer\s+(\S+)$/i.exec(h) : null;
  if (!m) return graphError(req, 401, 'InvalidAuthenticationToken', 'Access token is empty.');
  const v = await ctx.tokens.verify(m[1]!, {
    issuers: ctx.acceptedIssuers(req.origin),
    audiences: [GRAPH_RESOURCE, `${GRAPH_RESOURCE}/`, GRAPH_APP_ID],
  });
  if (!v.ok) {
    const msg =
      v.reason === 'expired'
        ? 'Lifetime validation failed, the token is expired.'
        : v.reason === 'audience'
          ? 'Invalid audience.'
          : v.reason === 'malformed'
            ? 'IDX14100: JWT is not well formed.'
            : 'Access token validation failure. Invalid audience or signature.';
    return graphError(req, 401, 'InvalidAuthenticationToken', msg);
  }
  const c = v.claims;
  const appid = String(c.azp ?? c.appid ?? '');
  const oid = String(c.oid ?? '');
  req.caller = { oid, appid };
  if (c.idtyp === 'app' || (!c.scp && Array.isArray(c.roles))) {
    const roles = Array.isArray(c.roles) ? (c.roles as string[]) : [];
    if (roles.length === 0) return graphError(req, 401, 'InvalidAuthenticationToken', 'Access token validation failure: the token has no roles or scopes.');
    return { kind: 'app', appid, oid, roles, claims: c };
  }
  const scopes = typeof c.scp === 'string' ? c.scp.split(' ').filter(Boolean) : [];
  if (scopes.length === 0) return graphError(req, 401, 'InvalidAuthenticationToken', 'Access token validation failure: the token has no roles or scopes.');
  return { kind: 'user', appid, oid, scopes, amr: Array.isArray(c.amr) ? (c.amr as string[]) : [], claims: c };
}

/** The authentication contexts a caller's token satisfied (its `acrs` claim). */
export function callerAcrs(caller: GraphCaller): string[] {
  const a = caller.claims.acrs;
  return Array.isArray(a) ? a.map(String) : [];
}

/** Tells a GraphCaller from an error response (callers always carry `kind`). */
export const isResponse = (x: GraphCaller | SimResponse): x is SimResponse => !('kind' in x);

/** `a eq 'x' and b eq 'y'` — the only $filter grammar our callers use; anything else is rejected like Graph does. */
export function parseFilter(filter: string | null): Array<{ field: string; value: string }> | 'invalid' {
  if (!filter) return [];
  const parts = filter.split(/\s+and\s+/i);
  const out: Array<{ field: string; value: string }> = [];
  for (const p of parts) {
    const m = /^\s*\(?\s*([A-Za-z0-9_/]+)\s+eq\s+(?:'((?:[^']|'')*)'|(true|false|-?\d+))\s*\)?\s*$/i.exec(p);
    if (!m) return 'invalid';
    out.push({ field: m[1]!, value: m[2] !== undefined ? m[2].replace(/''/g, "'") : m[3]! });
  }
  return out;
}

export function matchesFilter(obj: Record<string, unknown>, clauses: Array<{ field: string; value: string }>): boolean {
  return clauses.every(({ field, value }) => {
    const v = field.split('/').reduce<unknown>((o, k) => (o && typeof o === 'object' ? (o as Record<string, unknown>)[k] : undefined), obj);
    return v !== undefined && v !== null && String(v).toLowerCase() === value.toLowerCase();
  });
}

export function applySelect<T extends Record<string, unknown>>(obj: T, select: string | null): Record<string, unknown> {
  if (!select) return obj;
  const keep = new Set(
    select
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean),
  );
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(obj)) if (keep.has(k) || k.startsWith('@odata.')) out[k] = v;
  return out;
}

export function contextUrl(req: SimRequest, fragment: string): string {
  const version = req.path.split('/')[1] ?? 'v1.0';
  return `${req.origin}/${version}/$metadata#${fragment}`;
}

/** A collection page with Graph's `@odata.nextLink` paging; `$skiptoken` is an opaque offset. */
export function page(req: SimRequest, items: Record<string, unknown>[], fragment: string, defaultTop = 100, maxTop = 999): SimResponse {
  const topRaw = req.query.get('$top');
  const top = topRaw ? Number(topRaw) : defaultTop;
  if (!Number.isInteger(top) || top < 1 || top > maxTop) {
    return graphError(req, 400, 'Request_UnsupportedQuery', `Invalid page size specified: '${topRaw}'. Must be between 1 and ${maxTop} inclusive.`);
  }
  const skipToken = req.query.get('$skiptoken');
  const offset = skipToken ? Number(Buffer.from(skipToken, 'base64url').toString('utf8')) || 0 : 0;
  const slice = items.slice(offset, offset + top).map((i) => applySelect(i, req.query.get('$select')));
  const body: Record<string, unknown> = { '@odata.context': contextUrl(req, fragment) };
  if (offset + top < items.length) {
    const next = new URLSearchParams(req.query);
    next.set('$skiptoken', Buffer.from(String(offset + top)).toString('base64url'));
    // Graph writes OData option names with a literal `$`.
    const qs = [...next.entries()].map(([k, v]) => `${k}=${encodeURIComponent(v)}`).join('&');
    body['@odata.nextLink'] = `${req.origin}${req.path}?${qs}`;
  }
  body.value = slice;
  return json(200, body);
}
