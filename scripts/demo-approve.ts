/**
 * `npm run demo:approve -- --as megan [--deny] [--because "reason"]`
 * `npm run demo:approve -- --as adele --extension [--decline] [--until 2027-03-31] [--because "reason"]`
 *
 * The playground's web UI always clicks as its current user (Alex), and PIM forbids approving your own
 * request. This clicks Approve (or Deny) on the newest pending approval card in the playground's
 * "PIM Approvals" channel as another seeded user, through the playground's own API: the bot receives
 * exactly the invoke Teams would send, and records the decision in PIM as that user.
 *
 * With --extension it decides the newest open extension or renewal card instead: Extend (Renew) until the
 * given day (default: the day the card offers), or Decline.
 *
 * Reads the running demo's database (`.local/demo.sqlite`, or DATABASE_URL) to find the card and its
 * message; talks to the playground at PLAYGROUND_PORT (default 56150).
 */
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { ApprovalVerb } from '../cards/approval-card';
import { ExtensionVerb } from '../cards/extension';
import { defaultEndDate } from '../services/extensions/extension-desk';
import { PLAYGROUND_CHANNEL_ID } from './playground-config';
import { seedTenant } from '../sim/seed';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : undefined;
}

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

export interface ApproveOptions {
  /** A seeded user's first name or user principal name. */
  as: string;
  deny?: boolean;
  because?: string;
  databaseUrl: string;
  playgroundPort: number;
}

function seededUser(name: string) {
  const as = name.toLowerCase();
  const user = seedTenant.users.find(
    (u) => u.givenName.toLowerCase() === as || u.userPrincipalName.toLowerCase() === as || u.userPrincipalName.toLowerCase().startsWith(`${as}@`),
  );
  if (!user)
    throw new Error(
      `No seeded user '${name}'. Try: ${seedTenant.users
        .slice(0, 6)
        .map((u) => u.givenName.toLowerCase())
        .join(', ')}.`,
    );
  return user;
}

/** An Action.Execute on a channel post, through the playground's own invoke API, as `teamsUserId`. */
async function invokeOnPost(port: number, teamsUserId: string, conversationId: string, activityId: string, verb: string, data: Record<string, unknown>) {
  const res = await fetch(`http://127.0.0.1:${port}/_conversation/v1/invoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'adaptiveCard/action',
      from: { id: teamsUserId },
      // A top-level channel post is invoked in its thread: <channel id>;messageid=<post id>.
      conversation: { id: `${conversationId};messageid=${activityId}` },
      replyToId: activityId,
      value: { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' },
    }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`The playground answered ${res.status}: ${text.slice(0, 300)}`);
  return JSON.stringify((JSON.parse(text) as { value?: unknown }).value ?? '');
}

/** Clicks Approve or Deny on the newest pending approval card as `as`; returns what the card then says. */
export async function clickOnNewestCard(o: ApproveOptions): Promise<string> {
  const user = seededUser(o.as);
  const because = o.because ?? (o.deny ? 'Not justified by the ticket; ask again with the change number' : 'Checked the ticket and the on-call rota');
  if (!o.databaseUrl.startsWith('sqlite:')) throw new Error("DATABASE_URL must be the demo's sqlite:<path>.");
  const db = new SqliteDatabase(o.databaseUrl.slice('sqlite:'.length), { readonly: true, fileMustExist: true });
  let row: { id: string; version: number; conversation_id: string; activity_id: string } | undefined;
  try {
    row = db
      .prepare(
        `SELECT r.id, r.version, p.conversation_id, p.activity_id FROM approval_requests r JOIN card_posts p ON p.request_id = r.id
         WHERE r.status = 'pending' ORDER BY r.created_at DESC LIMIT 1`,
      )
      .get() as typeof row;
  } finally {
    db.close();
  }
  if (!row) throw new Error('No pending approval card in the demo. Ask for a role first (in the chat, or with a curl the demo prints).');

  const card = await invokeOnPost(o.playgroundPort, user.teamsUserId, row.conversation_id, row.activity_id, o.deny ? ApprovalVerb.Deny : ApprovalVerb.Approve, {
    requestId: row.id,
    version: row.version,
    decisionJustification: because,
  });
  const shown = /(Approved|Denied) by [^"\\]+/.exec(card)?.[0] ?? /"text":"([^"]{0,200})/.exec(card)?.[1] ?? card.slice(0, 200);
  return `${user.displayName} clicked ${o.deny ? 'Deny' : 'Approve'}: ${shown}`;
}

/** Extends (renews) or declines the newest open extension card as `as`; returns what the card then says. */
export async function decideNewestExtension(o: {
  as: string;
  decline?: boolean;
  until?: string;
  because?: string;
  databaseUrl: string;
  playgroundPort: number;
}): Promise<string> {
  const user = seededUser(o.as);
  if (!o.databaseUrl.startsWith('sqlite:')) throw new Error("DATABASE_URL must be the demo's sqlite:<path>.");
  const db = new SqliteDatabase(o.databaseUrl.slice('sqlite:'.length), { readonly: true, fileMustExist: true });
  let row: { id: string; activity_id: string; requested_end: string | null; current_end: string | null } | undefined;
  try {
    row = db
      .prepare(
        `SELECT id, activity_id, requested_end, current_end FROM extension_asks WHERE status = 'open' AND activity_id IS NOT NULL ORDER BY created_at DESC LIMIT 1`,
      )
      .get() as typeof row;
  } finally {
    db.close();
  }
  if (!row) throw new Error('No open extension card in the demo. In the chat, type: extend security operator (then wait a few seconds for the card).');
  const card = await invokeOnPost(
    o.playgroundPort,
    user.teamsUserId,
    PLAYGROUND_CHANNEL_ID,
    row.activity_id,
    o.decline ? ExtensionVerb.Decline : ExtensionVerb.Apply,
    {
      askId: row.id,
      newEnd: o.until ?? defaultEndDate(row, new Date()),
      note: o.because ?? (o.decline ? 'Not needed after the migration; ask again if that changes' : 'Still on the incident rota this quarter'),
    },
  );
  const shown =
    /(Extended|Renewed|Declined) by [^"\\]+|Only [^"\\]+|You cannot [^"\\]+|Already [^"\\]+|PIM did not accept[^"\\]+/.exec(card)?.[0] ?? card.slice(0, 200);
  return `${user.displayName} clicked ${o.decline ? 'Decline' : 'Extend'}: ${shown}`;
}

async function main(): Promise<void> {
  const as = arg('as');
  if (!as) fail('Say who clicks: --as megan (any seeded user: first name or user principal name).');
  const databaseUrl = process.env.DATABASE_URL ?? `sqlite:${path.join(__dirname, '..', '.local/demo.sqlite')}`;
  const playgroundPort = Number(process.env.PLAYGROUND_PORT ?? 56150);
  if (process.argv.includes('--extension')) {
    const line = await decideNewestExtension({
      as,
      decline: process.argv.includes('--decline'),
      until: arg('until'),
      because: arg('because'),
      databaseUrl,
      playgroundPort,
    });
    process.stdout.write(`${line}\n`);
    return;
  }
  const line = await clickOnNewestCard({
    as,
    deny: process.argv.includes('--deny'),
    because: arg('because'),
    databaseUrl,
    playgroundPort,
  });
  process.stdout.write(`${line}\n`);
}

if (require.main === module) void main().catch((err: unknown) => fail(`demo:approve failed: ${(err as Error).message}`));
