import type { Client } from '@microsoft/microsoft-graph-client';
import { toGraphCallError } from './graph-errors';

/**
 * A presence read is a hint for whom to ping first: a slow one must not hold up a nudge, so it gives up
 * well before a ladder job's lease and the nudge goes out as it would without presence.
 */
const PRESENCE_TIMEOUT_MS = 5000;
/** Graph's documented limit of user ids per getPresencesByUserId request. */
export const PRESENCE_IDS_PER_CALL = 650;

/** A user's Teams presence, as much of Graph's `presence` resource as the bot uses (never the OOO message). */
export interface UserPresence {
  /** The user's object id, lower case. */
  id: string;
  /** Available, AvailableIdle, Away, BeRightBack, Busy, BusyIdle, DoNotDisturb, Offline, PresenceUnknown. */
  availability: string;
  /** InAMeeting, Presenting, OffWork, OutOfOffice, ... */
  activity: string;
  /** `outOfOfficeSettings.isOutOfOffice`: automatic replies on, or an "out of office" calendar event now. */
  outOfOffice: boolean;
}

/** Port: Teams presence of many users at once, read with the bot's own identity (Presence.Read.All, application). */
export interface PresenceReader {
  /** Presence by lower-case object id; users Graph says nothing about are absent. Throws GraphCallError. */
  presences(userIds: readonly string[]): Promise<Map<string, UserPresence>>;
}

interface GraphPresence {
  id?: string;
  availability?: string | null;
  activity?: string | null;
  outOfOfficeSettings?: { isOutOfOffice?: boolean | null } | null;
}

/** `POST /communications/getPresencesByUserId`, in chunks of Graph's 650 ids. */
export class GraphPresenceReader implements PresenceReader {
  constructor(private readonly client: Client) {}

  async presences(userIds: readonly string[]): Promise<Map<string, UserPresence>> {
    const ids = [...new Set(userIds.map((id) => id.toLowerCase()))];
    const out = new Map<string, UserPresence>();
    for (let i = 0; i < ids.length; i += PRESENCE_IDS_PER_CALL) {
      const chunk = ids.slice(i, i + PRESENCE_IDS_PER_CALL);
      let res: { value?: GraphPresence[] };
      try {
        res = await this.client.api('/communications/getPresencesByUserId').option('signal', AbortSignal.timeout(PRESENCE_TIMEOUT_MS)).post({ ids: chunk });
      } catch (err) {
        throw toGraphCallError(err, "Reading the approvers' Teams presence");
      }
      for (const p of res?.value ?? []) {
        if (typeof p.id !== 'string') continue;
        out.set(p.id.toLowerCase(), {
          id: p.id.toLowerCase(),
          availability: p.availability ?? 'PresenceUnknown',
          activity: p.activity ?? 'PresenceUnknown',
          outOfOffice: p.outOfOfficeSettings?.isOutOfOffice === true,
        });
      }
    }
    return out;
  }
}
