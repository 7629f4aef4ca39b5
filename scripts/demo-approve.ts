/**
 * `npm run demo:approve -- --as megan [--deny] [--because "reason"]`
 *
 * The playground's web UI always clicks as its current user (Alex), and PIM forbids approving your own
 * request. This clicks Approve (or Deny) on the newest pending approval card in the playground's
 * "PIM Approvals" channel as another seeded user, through the playground's own API: the bot receives
 * exactly the invoke Teams would send, and records the decision in PIM as that user.
 *
 * Reads the running demo's database (`.local/demo.sqlite`, or DATABASE_URL) to find the card and its
 * message; talks to the playground at PLAYGROUND_PORT (default 56150).
 */
import path from 'node:path';
import SqliteDatabase from 'better-sqlite3';
import { ApprovalVerb } from '../cards/approval-card';
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

/** Clicks Approve or Deny on the newest pending approval card as `as`; returns what the card then says. */
export async function clickOnNewestCard(o: ApproveOptions): Promise<string> {
  const as = o.as.toLowerCase();
  const user = seedTenant.users.find(
    (u) => u.givenName.toLowerCase() === as || u.userPrincipalName.toLowerCase() === as || u.userPrincipalName.toLowerCase().startsWith(`${as}@`),
  );
  if (!user)
    throw new Error(
      `No seeded user '${o.as}'. Try: ${seedTenant.users
        .slice(0, 6)
        .map((u) => u.givenName.toLowerCase())
        .join(', ')}.`,
    );
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

  const res = await fetch(`http://127.0.0.1:${o.playgroundPort}/_conversation/v1/invoke`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name: 'adaptiveCard/action',
      from: { id: user.teamsUserId },
      // A top-level channel post is invoked in its thread: <channel id>;messageid=<post id>.
      conversation: { id: `${row.conversation_id};messageid=${row.activity_id}` },
      replyToId: row.activity_id,
      value: {
        action: {
          type: 'Action.Execute',
          verb: o.deny ? ApprovalVerb.Deny : ApprovalVerb.Approve,
          data: { requestId: row.id, version: row.version, decisionJustification: because },
        },
        trigger: 'manual',
      },
    }),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`The playground answered ${res.status}: ${text.slice(0, 300)}`);
  const body = JSON.parse(text) as { type?: string; value?: unknown };
  const card = JSON.stringify(body.value ?? '');
  const shown = /(Approved|Denied) by [^"\\]+/.exec(card)?.[0] ?? /"text":"([^"]{0,200})/.exec(card)?.[1] ?? card.slice(0, 200);
  return `${user.displayName} clicked ${o.deny ? 'Deny' : 'Approve'}: ${shown}`;
}

async function main(): Promise<void> {
  const as = arg('as');
  if (!as) fail('Say who clicks: --as megan (any seeded user: first name or user principal name).');
  const line = await clickOnNewestCard({
    as,
    deny: process.argv.includes('--deny'),
    because: arg('because'),
    databaseUrl: process.env.DATABASE_URL ?? `sqlite:${path.join(__dirname, '..', '.local/demo.sqlite')}`,
    playgroundPort: Number(process.env.PLAYGROUND_PORT ?? 56150),
  });
  process.stdout.write(`${line}\n`);
}

if (require.main === module) void main().catch((err: unknown) => fail(`demo:approve failed: ${(err as Error).message}`));
