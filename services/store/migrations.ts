import { type Kysely, type Migration, type MigrationProvider, sql } from 'kysely';
import { auditMigration } from '../audit/migration';
import { digestsMigration } from '../digests/migration';
import { jobsMigration } from '../jobs/migration';
import { outboxMigration } from '../outbox/migration';
import { sharedPaceMigration } from '../outbox/shared-pace';
import { engineOf } from './dialect';
import { leasesMigration } from './leases';

/** Migrations in code (no file-system lookups), applied in name order by kysely's Migrator. */
const migrations: Record<string, Migration> = {
  '2026-11-22-001-initial': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('evaluations')
        .addColumn('evaluation_id', 'text', (c) => c.primaryKey())
        .addColumn('request_key', 'text', (c) => c.notNull().unique())
        .addColumn('pim_request_id', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('role_definition_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text', (c) => c.notNull())
        .addColumn('would_be', 'text', (c) => c.notNull())
        .addColumn('mode', 'text', (c) => c.notNull())
        .addColumn('reasons', 'text', (c) => c.notNull())
        .addColumn('checks', 'text', (c) => c.notNull())
        .addColumn('latency_ms', 'integer', (c) => c.notNull())
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('approval_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('pim_request_id', 'text', (c) => c.notNull().unique())
        .addColumn('evaluation_id', 'text', (c) => c.notNull().references('evaluations.evaluation_id'))
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('role_definition_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('justification', 'text', (c) => c.notNull())
        .addColumn('ticket_system', 'text')
        .addColumn('ticket_number', 'text')
        .addColumn('duration', 'text')
        .addColumn('duration_minutes', 'integer')
        .addColumn('start_at', 'text')
        .addColumn('risk_flags', 'text', (c) => c.notNull())
        .addColumn('reasons', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('claimed_by', 'text')
        .addColumn('claimed_at', 'text')
        .addColumn('claimed_result', 'text')
        .addColumn('decided_by_id', 'text')
        .addColumn('decided_by_upn', 'text')
        .addColumn('decided_by_name', 'text')
        .addColumn('decided_at', 'text')
        .addColumn('decision_justification', 'text')
        .addColumn('display', 'text')
        .addColumn('cards_posted_at', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('expires_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('approval_requests_status').on('approval_requests').column('status').execute();
      await db.schema
        .createTable('card_posts')
        // SQLite's INTEGER PRIMARY KEY AUTOINCREMENT; PostgreSQL's identity column.
        .addColumn('id', 'integer', (c) => (engineOf(db) === 'postgres' ? c.primaryKey().generatedByDefaultAsIdentity() : c.primaryKey().autoIncrement()))
        .addColumn('request_id', 'text', (c) => c.notNull().references('approval_requests.id'))
        .addColumn('conversation_id', 'text', (c) => c.notNull())
        .addColumn('service_url', 'text', (c) => c.notNull())
        .addColumn('activity_id', 'text', (c) => c.notNull())
        .addColumn('posted_at', 'text', (c) => c.notNull())
        .addColumn('rendered_version', 'integer', (c) => c.notNull())
        .addUniqueConstraint('card_posts_request_conversation', ['request_id', 'conversation_id'])
        .execute();
      await db.schema
        .createTable('conversation_refs')
        .addColumn('aad_object_id', 'text', (c) => c.primaryKey())
        .addColumn('reference', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  '2026-11-23-001-inbound-events': {
    async up(db: Kysely<unknown>) {
      // The primary key on event_id is the idempotency claim: the insert that wins processes the event.
      await db.schema
        .createTable('inbound_events')
        .addColumn('event_id', 'text', (c) => c.primaryKey())
        .addColumn('type', 'text', (c) => c.notNull())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('pim_request_id', 'text')
        .addColumn('request_key', 'text', (c) => c.notNull())
        .addColumn('outcome', 'text')
        .addColumn('occurred_at', 'text', (c) => c.notNull())
        .addColumn('received_at', 'text', (c) => c.notNull())
        .addColumn('result', 'text')
        .execute();
      await db.schema.createIndex('inbound_events_pim_request').on('inbound_events').column('pim_request_id').execute();
    },
  },
  '2026-11-23-002-chat': {
    async up(db: Kysely<unknown>) {
      await db.schema
        .createTable('chat_drafts')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('target', 'text')
        .addColumn('duration_minutes', 'integer')
        .addColumn('ticket_system', 'text')
        .addColumn('ticket_number', 'text')
        .addColumn('justification', 'text')
        .addColumn('claims', 'text')
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('chat_request_id', 'text')
        .addColumn('time_zone', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema
        .createTable('chat_requests')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('user_id', 'text', (c) => c.notNull())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('role_definition_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('role_title', 'text', (c) => c.notNull())
        .addColumn('pim_request_id', 'text', (c) => c.notNull())
        .addColumn('approval_key', 'text')
        .addColumn('duration_minutes', 'integer', (c) => c.notNull())
        .addColumn('ticket_system', 'text')
        .addColumn('ticket_number', 'text')
        .addColumn('justification', 'text')
        .addColumn('state', 'text', (c) => c.notNull())
        .addColumn('approver_names', 'text', (c) => c.notNull())
        .addColumn('decided_by_name', 'text')
        .addColumn('decided_at', 'text')
        .addColumn('decision_justification', 'text')
        .addColumn('decision_service', 'text')
        .addColumn('active_from', 'text')
        .addColumn('active_until', 'text')
        .addColumn('ended_at', 'text')
        .addColumn('message', 'text')
        .addColumn('conversation_ref', 'text', (c) => c.notNull())
        .addColumn('activity_id', 'text')
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('rendered_version', 'integer', (c) => c.notNull())
        .addColumn('time_zone', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('chat_requests_user').on('chat_requests').columns(['user_id', 'created_at']).execute();
      await db.schema.createIndex('chat_requests_approval').on('chat_requests').column('approval_key').execute();
      await db.schema.createIndex('chat_requests_state').on('chat_requests').column('state').execute();
      await db.schema
        .createTable('chat_pending')
        .addColumn('user_id', 'text', (c) => c.primaryKey())
        .addColumn('text', 'text', (c) => c.notNull())
        .addColumn('time_zone', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .execute();
    },
  },
  // Each of these owns its tables and lives with its code.
  '2026-11-23-003-jobs': jobsMigration,
  '2026-11-23-004-outbox': outboxMigration,
  '2026-11-23-005-digests': digestsMigration,
  '2026-11-23-006-reminders': {
    async up(db: Kysely<unknown>) {
      // The stale-request ladder's progress on each request, and when its requester last asked for a reminder.
      await db.schema
        .alterTable('approval_requests')
        .addColumn('nudge_count', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.alterTable('approval_requests').addColumn('escalated_at', 'text').execute();
      await db.schema.alterTable('approval_requests').addColumn('requester_reminded_at', 'text').execute();
    },
  },
  '2026-11-23-007-summary-posts': {
    async up(db: Kysely<unknown>) {
      // A request listed on a summary card (a busy minute in its channel): the copy is a line of that
      // message, so it is re-rendered with the rest of the summary and nudged in the summary's thread.
      await db.schema
        .alterTable('card_posts')
        .addColumn('summary', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
      await db.schema.createIndex('card_posts_message').on('card_posts').columns(['conversation_id', 'activity_id']).execute();
    },
  },
  '2026-11-23-008-leases': leasesMigration,
  // The hash-chained, append-only audit trail (services/audit).
  '2026-11-23-009-audit': auditMigration,
  '2026-11-23-010-presence': {
    async up(db: Kysely<unknown>) {
      // Presence-aware routing: when an approver was last seen reachable, and whether the escalation came early.
      await db.schema.alterTable('approval_requests').addColumn('approvers_reachable_at', 'text').execute();
      await db.schema
        .alterTable('approval_requests')
        .addColumn('escalated_early', 'integer', (c) => c.notNull().defaultTo(0))
        .execute();
    },
  },
  '2026-11-23-011-requester-history': {
    async up(db: Kysely<unknown>) {
      // The approval card's requester history reads one person's requests and evaluations for one role.
      await db.schema.createIndex('approval_requests_principal').on('approval_requests').columns(['principal_id', 'kind', 'created_at']).execute();
      await db.schema.createIndex('evaluations_principal').on('evaluations').columns(['principal_id', 'kind', 'created_at']).execute();
    },
  },
  '2026-12-07-012-check-lines': {
    async up(db: Kysely<unknown>) {
      // Each check's one-line result for the approval card (JSON [{name, result, onFail, summary}]); rows
      // stored before it read as no lines, so their cards keep the risk flags and reasons alone.
      await db.schema
        .alterTable('approval_requests')
        .addColumn('check_lines', 'text', (c) => c.notNull().defaultTo('[]'))
        .execute();
    },
  },
  '2026-12-07-013-callout-binding': {
    async up(db: Kysely<unknown>) {
      // An evaluation is reused only for the same body (PIM's retry): the body's digest, and the normalised
      // request so the card can be bound to the callout whose content equals PIM's own copy. Rows stored
      // before keep an empty digest (read as "the same body").
      await db.schema
        .alterTable('evaluations')
        .addColumn('body_digest', 'text', (c) => c.notNull().defaultTo(''))
        .execute();
      await db.schema
        .alterTable('evaluations')
        .addColumn('request_json', 'text', (c) => c.notNull().defaultTo('{}'))
        .execute();
      // Set when no callout for the request matches PIM's own copy: no card is posted and the sweep passes it by.
      await db.schema.alterTable('approval_requests').addColumn('unbound_at', 'text').execute();
    },
  },
  '2026-12-07-014-last-release': {
    async up(db: Kysely<unknown>) {
      // A claim given back without a decision recorded in PIM (JSON {by, name, at, result}): every card copy
      // says so until the next decision, so a click never vanishes silently.
      await db.schema.alterTable('approval_requests').addColumn('last_release', 'text').execute();
    },
  },
  // Teams' rate limits counted across replicas: every replica's sends and the pauses a 429 sets (services/outbox/shared-pace.ts).
  '2026-12-07-015-shared-pace': sharedPaceMigration,
  '2026-12-07-016-outbox-uncertain-sends': {
    async up(db: Kysely<unknown>) {
      // A post whose answer was lost (or whose sender died) may be in Teams: before sending it again the
      // outbox looks for it (services/outbox/sent-copies.ts), and after a resend looks once more for a late copy.
      await db.schema.alterTable('outbox').addColumn('attempt_started_at', 'text').execute();
      await db.schema.alterTable('outbox').addColumn('uncertain_since', 'text').execute();
      await db.schema.alterTable('outbox').addColumn('verify_at', 'text').execute();
      await db.schema.createIndex('outbox_verify').on('outbox').column('verify_at').execute();
    },
  },
  '2026-12-07-017-audit-batch': {
    async up(db: Kysely<unknown>) {
      // `<batch>:<index>` of rows AuditTrail.record appended (one random batch id per call): a retry after
      // a COMMIT whose answer was lost finds its rows instead of appending them twice. Unique (NULLs, the
      // older rows and those appended with a state change, do not collide); not covered by the hash chain.
      await db.schema.alterTable('audit_log').addColumn('entry_key', 'text').execute();
      await db.schema.createIndex('audit_log_entry_key').on('audit_log').column('entry_key').unique().execute();
    },
  },
  '2026-12-07-018-outbox-window-status': {
    async up(db: Kysely<unknown>) {
      // A channel window's cards that went out one by one are found by status in the index (a burst's
      // window holds hundreds of held rows, which the count read one by one on every enqueue before).
      await db.schema.createIndex('outbox_window_status').on('outbox').columns(['conversation_id', 'window_start', 'status']).execute();
      await db.schema.dropIndex('outbox_window').execute();
      // The delivery sweep's "cards owed": requests neither posted nor unbound, without reading every row.
      await db.schema
        .createIndex('approval_requests_owed')
        .on('approval_requests')
        .columns(['created_at', 'id'])
        .where(sql.ref('cards_posted_at'), 'is', null)
        .where(sql.ref('unbound_at'), 'is', null)
        .execute();
    },
  },
  '2026-12-07-019-approval-cards-in-chat': {
    async up(db: Kysely<unknown>) {
      // An approver's `approvals on`: a copy of every card waiting for them in their chat with the bot. Kept
      // with the chat's reference, so a chat Teams says is gone takes the setting with it.
      await db.schema.alterTable('conversation_refs').addColumn('approval_cards', 'integer').execute();
    },
  },
  '2026-12-07-020-extension-asks': {
    async up(db: Kysely<unknown>) {
      // Asks to extend or renew an assignment, each decided by an administrator from its card.
      await db.schema
        .createTable('extension_asks')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('source', 'text', (c) => c.notNull())
        .addColumn('pim_request_id', 'text', (c) => c.unique())
        .addColumn('ask_key', 'text', (c) => c.notNull().unique())
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('role_definition_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('action', 'text', (c) => c.notNull())
        .addColumn('assignment', 'text', (c) => c.notNull())
        .addColumn('current_end', 'text')
        .addColumn('requested_end', 'text')
        .addColumn('reason', 'text')
        .addColumn('display', 'text', (c) => c.notNull())
        .addColumn('status', 'text', (c) => c.notNull())
        .addColumn('version', 'integer', (c) => c.notNull())
        .addColumn('rendered_version', 'integer', (c) => c.notNull())
        .addColumn('activity_id', 'text')
        .addColumn('claimed_by', 'text')
        .addColumn('decided_by_id', 'text')
        .addColumn('decided_by_name', 'text')
        .addColumn('decided_at', 'text')
        .addColumn('decision_note', 'text')
        .addColumn('new_end', 'text')
        .addColumn('last_error', 'text')
        .addColumn('created_at', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('extension_asks_status').on('extension_asks').column('status').execute();
    },
  },
  '2026-12-07-021-emergency-grants': {
    async up(db: Kysely<unknown>) {
      // Break-glass grants (services/emergency): the per-user daily limit counts them; note and review are kept on them.
      await db.schema
        .createTable('emergency_grants')
        .addColumn('id', 'text', (c) => c.primaryKey())
        .addColumn('evaluation_id', 'text', (c) => c.notNull().unique())
        .addColumn('pim_request_id', 'text')
        .addColumn('kind', 'text', (c) => c.notNull())
        .addColumn('principal_id', 'text', (c) => c.notNull())
        .addColumn('role_definition_id', 'text', (c) => c.notNull())
        .addColumn('scope', 'text', (c) => c.notNull())
        .addColumn('justification', 'text')
        .addColumn('incident', 'text')
        .addColumn('incident_priority', 'text')
        .addColumn('on_call_evidence', 'text')
        .addColumn('granted_at', 'text', (c) => c.notNull())
        .addColumn('ends_at', 'text')
        .addColumn('note', 'text')
        .addColumn('note_at', 'text')
        .addColumn('review_verdict', 'text')
        .addColumn('reviewer_id', 'text')
        .addColumn('reviewer_name', 'text')
        .addColumn('review_note', 'text')
        .addColumn('reviewed_at', 'text')
        .execute();
      await db.schema.createIndex('emergency_grants_principal').on('emergency_grants').columns(['principal_id', 'granted_at']).execute();
    },
  },
  // The PIM tab's range reads (services/store/requests.ts RequestRangeReads): keyset pages by creation, a
  // decider's decisions, evaluations by creation.
  '2026-12-07-022-tab-ranges': {
    async up(db: Kysely<unknown>) {
      await db.schema.createIndex('approval_requests_created').on('approval_requests').columns(['created_at', 'id']).execute();
      await db.schema.createIndex('approval_requests_decider').on('approval_requests').columns(['decided_by_id', 'decided_at']).execute();
      await db.schema.createIndex('evaluations_created').on('evaluations').column('created_at').execute();
    },
  },
};

export const migrationProvider: MigrationProvider = {
  async getMigrations() {
    return migrations;
  },
};
