import type { Logger } from 'pino';
import type { PresenceReader, UserPresence } from '../graph/presence';
import { errInfo } from '../observability/err-info';

/**
 * Presence is a few seconds old at best, and one scheduler pass runs many ladder jobs one after another:
 * what was read for the first job serves the rest of the pass.
 */
const FRESH_MS = 60_000;

/**
 * The approvers' Teams presence for the stale-request ladder, read in batches: the first ladder job of a
 * scheduler pass reads every approver of every request due in that pass in one getPresencesByUserId call
 * (chunked at Graph's 650 ids), and the others use what it read. A short-lived read cache, not state:
 * what the ladder decides from it is stored on the request.
 *
 * When presence cannot be read (permission not consented, Graph failing or slow), `lookup` answers null
 * and the ladder runs as it would without presence; the failure is logged once until a read succeeds.
 */
export class PresenceBoard {
  private readonly seen = new Map<string, { at: number; presence: UserPresence | null }>();
  private failing = false;

  constructor(
    private readonly reader: PresenceReader,
    private readonly opts: { log: Logger; now: () => Date },
  ) {}

  /**
   * Presence of `ids` (lower-case object ids; absent: Graph said nothing about them), or null when it
   * could not be read. `alsoDue` names the other users worth reading in the same call.
   */
  async lookup(ids: readonly string[], alsoDue: () => Promise<readonly string[]>): Promise<Map<string, UserPresence> | null> {
    const now = this.opts.now().getTime();
    const wanted = ids.map((id) => id.toLowerCase());
    if (wanted.length === 0) return new Map();
    if (!wanted.every((id) => this.fresh(id, now))) {
      let batch: string[];
      try {
        batch = [...new Set([...wanted, ...(await alsoDue()).map((id) => id.toLowerCase())])];
      } catch {
        batch = wanted;
      }
      try {
        const read = await this.reader.presences(batch);
        this.prune(now);
        for (const id of batch) this.seen.set(id, { at: now, presence: read.get(id) ?? null });
        if (this.failing) this.opts.log.info({ users: batch.length }, 'Teams presence is readable again; nudges follow presence');
        this.failing = false;
      } catch (err) {
        if (!this.failing) {
          this.opts.log.warn(
            { err: errInfo(err) },
            'Teams presence could not be read (grant the app Presence.Read.All, or Graph is failing): nudges and escalations follow the ladder without presence until it can',
          );
        }
        this.failing = true;
        return null;
      }
    }
    const out = new Map<string, UserPresence>();
    for (const id of wanted) {
      const p = this.seen.get(id)?.presence;
      if (p) out.set(id, p);
    }
    return out;
  }

  private fresh(id: string, now: number): boolean {
    const entry = this.seen.get(id);
    return !!entry && now - entry.at >= 0 && now - entry.at < FRESH_MS;
  }

  private prune(now: number): void {
    for (const [id, entry] of this.seen) if (!(now - entry.at >= 0 && now - entry.at < FRESH_MS)) this.seen.delete(id);
  }
}
