import { randomUUID } from 'node:crypto';
import type { SimContext } from '../context';
import { json, type SimResponse } from '../http';
import type { Router } from '../router';
import { DEMO_INTEGRATION_CREDENTIALS } from '../seed';
import { authorization, integrationsOf, resolveTime } from './common';

/** Opsgenie Who-is-on-call `GET /v2/schedules/{identifier}/on-calls` under `/opsgenie`, `Authorization: GenieKey <key>`. */

export const OPSGENIE_PREFIX = '/opsgenie';

export function opsgenieError(status: number, message: string): SimResponse {
  return json(status, { message, took: 0.002, requestId: randomUUID() });
}

export function registerOpsgenie(router: Router, ctx: SimContext): void {
  router.add('GET', `${OPSGENIE_PREFIX}/v2/schedules/:id/on-calls`, (req, p) => {
    if (authorization(req) !== `GenieKey ${DEMO_INTEGRATION_CREDENTIALS.opsgenie.apiKey}`) return opsgenieError(401, 'Could not authenticate');
    const byName = (req.query.get('scheduleIdentifierType') ?? 'id').toLowerCase() === 'name';
    const schedule = integrationsOf(ctx).opsgenie.schedules.find((s) => (byName ? s.name.toLowerCase() === p.id!.toLowerCase() : s.id === p.id));
    if (!schedule) return opsgenieError(404, `Schedule with identifier [${p.id}] doesn't exist`);
    const dateRaw = req.query.get('date');
    const at = dateRaw ? new Date(dateRaw) : ctx.state.now();
    if (Number.isNaN(at.getTime())) return opsgenieError(422, `Invalid date [${dateRaw}], expected yyyy-MM-dd'T'HH:mm:ssZ`);
    const onCall = schedule.enabled
      ? schedule.shifts.filter((s) => resolveTime(ctx, s.start) <= at && resolveTime(ctx, s.end) > at).map((s) => s.username)
      : [];
    const flat = req.query.get('flat') === 'true';
    const parent = { id: schedule.id, name: schedule.name, enabled: schedule.enabled };
    const data = flat
      ? { _parent: parent, onCallRecipients: onCall }
      : { _parent: parent, onCallParticipants: onCall.map((u) => ({ id: randomUUIDFor(u), name: u, type: 'user' })) };
    return json(200, { data, took: 0.013, requestId: randomUUID() });
  });
}

function randomUUIDFor(seed: string): string {
  const h = Buffer.from(seed).toString('hex').padEnd(32, '0').slice(0, 32);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
}
