import type { Insertable, Selectable } from 'kysely';
import type { Db } from './database';
import type { InboundEventTable } from './schema';

export type InboundEventRow = Selectable<InboundEventTable>;

/** Inbound events (PIM's post-approval and escalation calls): claimed by id, so a sender's retry is answered, not applied twice. */
export class InboundEventStore {
  constructor(private readonly db: Db) {}

  /** Claims an inbound event by its id: true for the first caller, false for a duplicate. */
  async claim(row: Insertable<InboundEventTable>): Promise<boolean> {
    const inserted = await this.db
      .insertInto('inbound_events')
      .values(row)
      .onConflict((oc) => oc.column('event_id').doNothing())
      .returning('event_id')
      .executeTakeFirst();
    return inserted !== undefined;
  }

  async setResult(eventId: string, result: string): Promise<void> {
    await this.db.updateTable('inbound_events').set({ result }).where('event_id', '=', eventId).execute();
  }

  /** Gives up a claim whose processing failed, so the sender's retry is processed instead of answered as a duplicate. */
  async release(eventId: string): Promise<void> {
    await this.db.deleteFrom('inbound_events').where('event_id', '=', eventId).where('result', 'is', null).execute();
  }

  async get(eventId: string): Promise<InboundEventRow | undefined> {
    return this.db.selectFrom('inbound_events').selectAll().where('event_id', '=', eventId).executeTakeFirst();
  }

  async count(): Promise<number> {
    const r = await this.db
      .selectFrom('inbound_events')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    return Number(r.n);
  }
}
