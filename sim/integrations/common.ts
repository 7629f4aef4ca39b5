import type { SimContext } from '../context';
import type { SimRequest } from '../http';
import type { RelativeTime, SeedIntegrations } from '../seed';

/** The seeded systems of record; an empty set when the seed has none. */
export function integrationsOf(ctx: SimContext): SeedIntegrations {
  return (
    ctx.state.seed.integrations ?? {
      serviceNow: { users: [], groups: [], tickets: [] },
      jira: { issues: [] },
      pagerDuty: { users: [], escalationPolicies: [], schedules: [], oncalls: [] },
      opsgenie: { schedules: [] },
    }
  );
}

/** Seeded times are relative to the simulator clock when the request arrives, so "now" stays covered. */
export function resolveTime(ctx: SimContext, t: RelativeTime): Date {
  return new Date(ctx.state.now().getTime() + t.hoursFromNow * 3_600_000);
}

export function authorization(req: SimRequest): string {
  const h = req.headers.authorization;
  return (Array.isArray(h) ? h[0] : h) ?? '';
}

/** `user:secret` from a Basic header, or undefined. */
export function basicCredentials(req: SimRequest): { user: string; secret: string } | undefined {
  const m = /^Basic\s+(\S+)$/i.exec(authorization(req));
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, 'base64').toString('utf8');
  const i = decoded.indexOf(':');
  return i < 0 ? undefined : { user: decoded.slice(0, i), secret: decoded.slice(i + 1) };
}

export const sameText = (a: string | undefined | null, b: string | undefined | null) => Boolean(a && b && a.toLowerCase() === b.toLowerCase());
