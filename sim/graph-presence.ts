import type { SimContext } from './context';
import { json, jsonBody, type SimRequest, type SimResponse } from './http';
import type { Router } from './router';
import type { SeedPresence } from './seed';
import { contextUrl, graphCaller, graphError, isResponse, type GraphCaller } from './graph-common';

/** Graph's documented limit of user ids per getPresencesByUserId request. */
export const MAX_PRESENCE_IDS = 650;
const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const AVAILABILITIES: ReadonlyArray<SeedPresence['availability']> = [
  'Available',
  'AvailableIdle',
  'Away',
  'BeRightBack',
  'Busy',
  'BusyIdle',
  'DoNotDisturb',
  'Offline',
  'PresenceUnknown',
];
/** Application: Presence.Read.All or Presence.ReadWrite.All; delegated (work account): Presence.Read.All. */
const APP_PERMISSIONS = ['Presence.Read.All', 'Presence.ReadWrite.All'];
const DELEGATED_PERMISSIONS = ['Presence.Read.All'];

interface Entry {
  availability: SeedPresence['availability'];
  activity: string;
  outOfOffice: { message: string } | null;
  /** Graph's `sequenceNumber`: a lexicographically sortable version stamp of the presence. */
  sequence: number;
}

/** The tenant's Teams presence: seeded at start, changed by the control API (tests, demo). */
export class SimPresence {
  private readonly byUser = new Map<string, Entry>();
  private sequence = 0;

  constructor(seed: readonly SeedPresence[] = []) {
    for (const p of seed) this.set(p);
  }

  set(p: SeedPresence): void {
    this.byUser.set(p.userId.toLowerCase(), {
      availability: p.availability,
      activity: p.activity,
      outOfOffice: p.outOfOffice ?? null,
      sequence: ++this.sequence,
    });
  }

  /** Seeded users with no presence set are signed in to Teams and Available. */
  get(userId: string): Entry {
    return this.byUser.get(userId.toLowerCase()) ?? { availability: 'Available', activity: 'Available', outOfOffice: null, sequence: 0 };
  }
}

/** The `presence` resource as Graph v1.0 returns it. */
function presenceResource(id: string, e: Entry): Record<string, unknown> {
  return {
    id,
    availability: e.availability,
    activity: e.activity,
    statusMessage: null,
    outOfOfficeSettings: { message: e.outOfOffice?.message ?? null, isOutOfOffice: e.outOfOffice !== null },
    sequenceNumber: `C${String(e.sequence).padStart(14, '0')}`,
  };
}

function hasPermission(caller: GraphCaller): boolean {
  return caller.kind === 'app' ? caller.roles.some((r) => APP_PERMISSIONS.includes(r)) : caller.scopes.some((s) => DELEGATED_PERMISSIONS.includes(s));
}

/**
 * `POST /communications/getPresencesByUserId` (v1.0 and beta) and the control routes
 * `POST /_sim/presence {userId, availability, activity?, outOfOffice?}` and `GET /_sim/presence`.
 */
export function registerGraphPresence(router: Router, ctx: SimContext, presence: SimPresence): void {
  const byIds = async (req: SimRequest): Promise<SimResponse> => {
    const caller = await graphCaller(ctx, req);
    if (isResponse(caller)) return caller;
    if (!hasPermission(caller)) return graphError(req, 403, 'Forbidden', 'Insufficient privileges to complete the operation. Presence.Read.All is required.');
    const body = jsonBody<{ ids?: unknown }>(req);
    if (!body || typeof body !== 'object')
      return graphError(req, 400, 'BadRequest', 'The request body must be a JSON object: {"ids": ["<user object id>", ...]}.');
    const ids = body.ids;
    if (!Array.isArray(ids) || ids.length === 0 || !ids.every((id) => typeof id === 'string')) {
      return graphError(req, 400, 'BadRequest', "The parameter 'ids' must be a non-empty array of user object ids.");
    }
    if (ids.length > MAX_PRESENCE_IDS)
      return graphError(req, 400, 'BadRequest', `The number of ids (${ids.length}) exceeds the maximum of ${MAX_PRESENCE_IDS} per request.`);
    const bad = (ids as string[]).find((id) => !GUID.test(id));
    if (bad !== undefined) return graphError(req, 400, 'BadRequest', `'${bad.slice(0, 64)}' is not a valid user object id (a GUID).`);
    // Users not in the directory are left out of the collection.
    const value = [...new Set((ids as string[]).map((id) => id.toLowerCase()))]
      .map((id) => ctx.state.user(id))
      .filter((u): u is NonNullable<typeof u> => !!u)
      .map((u) => presenceResource(u.id, presence.get(u.id)));
    return json(200, { '@odata.context': contextUrl(req, 'Collection(microsoft.graph.presence)'), value });
  };
  for (const v of ['v1.0', 'beta']) router.add('POST', `/${v}/communications/getPresencesByUserId`, byIds);

  const ctlError = (status: number, code: string, message: string): SimResponse => json(status, { error: { code, message } });
  router.add('POST', '/_sim/presence', (req) => {
    const b = jsonBody<Record<string, unknown>>(req) ?? {};
    const user = ctx.state.user(typeof b.userId === 'string' ? b.userId.trim() : undefined);
    if (!user) return ctlError(400, 'InvalidUser', `userId: no user with object id or UPN '${String(b.userId)}'.`);
    if (!AVAILABILITIES.includes(b.availability as SeedPresence['availability'])) {
      return ctlError(400, 'InvalidAvailability', `availability: one of ${AVAILABILITIES.join(', ')}.`);
    }
    if (b.activity !== undefined && (typeof b.activity !== 'string' || !/^[A-Za-z]{1,40}$/.test(b.activity))) {
      return ctlError(400, 'InvalidActivity', 'activity: a presence activity such as InAMeeting, Presenting, Away or OffWork.');
    }
    if (b.outOfOffice !== undefined && typeof b.outOfOffice !== 'boolean' && typeof b.outOfOffice !== 'string') {
      return ctlError(400, 'InvalidOutOfOffice', 'outOfOffice: true, false, or the automatic-reply message (a string).');
    }
    const availability = b.availability as SeedPresence['availability'];
    const outOfOffice =
      b.outOfOffice === undefined || b.outOfOffice === false
        ? undefined
        : { message: typeof b.outOfOffice === 'string' ? b.outOfOffice : 'I am out of office.' };
    presence.set({
      userId: user.id,
      availability,
      activity: (b.activity as string | undefined) ?? (availability === 'Offline' ? 'OffWork' : availability),
      outOfOffice,
    });
    return json(200, presenceResource(user.id, presence.get(user.id)));
  });
  router.add('GET', '/_sim/presence', () => json(200, { value: ctx.state.seed.users.map((u) => presenceResource(u.id, presence.get(u.id))) }));
}
