import { createWriteStream, existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { z } from 'zod';
import { DEFAULT_DATABASE_URL } from '../../services/config/config';
import { formatAnchor, parseAnchor, writeExport, type ExportFormat } from '../../services/audit';
import { engineOfUrl } from '../../services/store/dialect';
import { Store } from '../../services/store/store';

export const USAGE = `Usage:
  npm run audit -- verify [--expect-head <seq>:<hash>]
      Walks the whole audit trail. Exit 0: "N rows, chain intact, head <seq>:<hash>".
      Exit 1 names the first bad seq: edited (hash mismatch), deleted (gap in seq), relinked.
      --expect-head: an anchor the bot logged earlier (auditAnchor); fails if rows after it were deleted.
  npm run audit -- export --from 2026-11-01 --to 2026-11-30 --format csv|json [--out file]
      Rows whose time falls in the range (dates are whole UTC days, both included; or ISO date-times,
      --to exclusive). JSON keeps every value exactly (hashes can be recomputed); CSV is RFC 4180.
  npm run audit -- head
      Prints the current anchor (<seq>:<hash>) to keep outside the database.
Options for every command:
  --database-url <url>   default: DATABASE_URL, else ${DEFAULT_DATABASE_URL} (the bot's default)`;

/** Exit codes: 0 fine, 1 the trail failed verification (or could not be read), 2 the command line is wrong. */
export const EXIT = { ok: 0, failed: 1, usage: 2 } as const;

export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  env: Record<string, string | undefined>;
  /** Where relative --out paths and sqlite: paths are resolved. */
  cwd: string;
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** A date (a whole UTC day) or an ISO date-time with its offset; parsed to the instant the range starts or ends. */
const bound = (flag: string, end: boolean) =>
  z
    .string({ required_error: `${flag} is required, e.g. ${flag} 2026-11-01` })
    .refine(
      (v) => DAY.test(v) || z.string().datetime({ offset: true }).safeParse(v).success,
      `${flag} must be a date (YYYY-MM-DD) or an ISO date-time such as 2026-11-01T08:00:00Z`,
    )
    .transform((v, ctx) => {
      if (!DAY.test(v)) return new Date(v);
      const d = new Date(`${v}T00:00:00.000Z`);
      // 2026-02-30 parses to March 2nd: refuse it rather than export another range than asked.
      if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== v) {
        ctx.addIssue({ code: z.ZodIssueCode.custom, message: `${flag} ${v} is not a calendar date` });
        return z.NEVER;
      }
      // --to names the last day included: the range ends when the next day starts.
      return end ? new Date(d.getTime() + 86_400_000) : d;
    });

const exportArgs = z
  .object({
    from: bound('--from', false),
    to: bound('--to', true),
    format: z.enum(['csv', 'json'], {
      errorMap: (issue) => ({
        message: issue.code === 'invalid_type' && issue.received === 'undefined' ? '--format is required: csv or json' : '--format must be csv or json',
      }),
    }),
    out: z.string().min(1, '--out needs a file name').optional(),
  })
  // (Only when both dates parsed: zod runs this refinement even after a field's own issue.)
  .refine((a) => !(a.from instanceof Date && a.to instanceof Date) || a.from.getTime() < a.to.getTime(), {
    message: '--from must be before --to',
    path: ['from'],
  });

const verifyArgs = z.object({
  'expect-head': z
    .string()
    .optional()
    .refine(
      (v) => v === undefined || parseAnchor(v) !== null,
      '--expect-head must be an anchor as the bot logs it, <seq>:<64 hex characters> (or just the hash)',
    ),
});

/** Runs one command; returns the process exit code. Never throws for bad input. */
export async function runAuditCli(argv: string[], io: CliIo): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === '-h' || command === 'help') {
    (command ? io.stdout : io.stderr)(`${USAGE}\n`);
    return command ? EXIT.ok : EXIT.usage;
  }
  const options = {
    'database-url': { type: 'string' },
    'expect-head': { type: 'string' },
    from: { type: 'string' },
    to: { type: 'string' },
    format: { type: 'string' },
    out: { type: 'string' },
  } as const;
  let values: Record<string, string | undefined>;
  try {
    values = parseArgs({ args: rest, options, strict: true, allowPositionals: false }).values as Record<string, string | undefined>;
  } catch (err) {
    io.stderr(`${(err as Error).message}\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  const allowed: Record<string, string[]> = { verify: ['expect-head'], export: ['from', 'to', 'format', 'out'], head: [] };
  if (!(command in allowed)) {
    io.stderr(`Unknown command '${command}': use verify, export or head.\n\n${USAGE}\n`);
    return EXIT.usage;
  }
  const stray = Object.keys(values).filter((k) => k !== 'database-url' && !allowed[command]!.includes(k));
  if (stray.length) {
    io.stderr(`${command} does not take ${stray.map((k) => `--${k}`).join(', ')}.\n\n${USAGE}\n`);
    return EXIT.usage;
  }

  const databaseUrl = values['database-url'] ?? io.env.DATABASE_URL ?? DEFAULT_DATABASE_URL;
  const engine = engineOfUrl(databaseUrl);
  if (!engine) {
    io.stderr(`The database URL must be sqlite:<path> or postgres://user@host:5432/database (got a '${databaseUrl.split(':')[0]}:' URL).\n`);
    return EXIT.usage;
  }
  if (engine === 'sqlite') {
    const path = databaseUrl.slice('sqlite:'.length);
    // Opening a missing file would create an empty database and report an empty, "intact" trail.
    if (path !== ':memory:' && !existsSync(resolve(io.cwd, path))) {
      io.stderr(`No database at ${path}: set DATABASE_URL (or --database-url) to the bot's database, sqlite:<path> or postgres://...\n`);
      return EXIT.failed;
    }
  }

  let parsedExport: z.infer<typeof exportArgs> | undefined;
  let anchor: ReturnType<typeof parseAnchor> = null;
  if (command === 'export') {
    const p = exportArgs.safeParse(values);
    if (!p.success) {
      io.stderr(`${p.error.issues.map((i) => i.message).join('\n')}\n\n${USAGE}\n`);
      return EXIT.usage;
    }
    parsedExport = p.data;
  }
  if (command === 'verify') {
    const p = verifyArgs.safeParse(values);
    if (!p.success) {
      io.stderr(`${p.error.issues.map((i) => i.message).join('\n')}\n`);
      return EXIT.usage;
    }
    anchor = p.data['expect-head'] ? parseAnchor(p.data['expect-head']) : null;
  }

  const store = await Store.open(engine === 'sqlite' ? `sqlite:${resolve(io.cwd, databaseUrl.slice('sqlite:'.length))}` : databaseUrl, { poolSize: 2 }).catch(
    (err: unknown) => {
      io.stderr(`Could not open the database: ${(err as Error).message}\n`);
      return null;
    },
  );
  if (!store) return EXIT.failed;
  try {
    if (command === 'head') {
      io.stdout(`${formatAnchor(await store.audit.head())}\n`);
      return EXIT.ok;
    }
    if (command === 'verify') {
      const r = await store.audit.verify(anchor ?? undefined);
      if (r.ok) {
        const at =
          r.anchorSeq !== undefined
            ? `; the anchor is seq ${r.anchorSeq}${r.head.seq > r.anchorSeq ? ` (${r.head.seq - r.anchorSeq} rows appended since)` : ''}`
            : '';
        io.stdout(`${r.rows} rows, chain intact, head ${formatAnchor(r.head)}${at}\n`);
        return EXIT.ok;
      }
      io.stderr(`Audit trail NOT intact: first bad seq ${r.problem!.seq} (${r.problem!.kind}): ${r.problem!.message}.\n${r.rows} rows verified before it.\n`);
      return EXIT.failed;
    }
    const a = parsedExport!;
    const rows = store.audit.rows({ from: a.from.toISOString(), to: a.to.toISOString() });
    if (!a.out) {
      const n = await writeExport(rows, a.format as ExportFormat, (chunk) => io.stdout(chunk));
      io.stderr(`${n} rows exported (${a.from.toISOString()} to ${a.to.toISOString()}, ${a.format}).\n`);
      return EXIT.ok;
    }
    const file = resolve(io.cwd, a.out);
    const out = createWriteStream(file, { flags: 'wx', mode: 0o600 });
    const opened = new Promise<void>((ok, fail) => {
      out.once('open', () => ok());
      out.once('error', fail);
    });
    try {
      await opened;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      io.stderr(
        code === 'EEXIST'
          ? `${a.out} exists already: choose another --out file (an export never overwrites one).\n`
          : `Cannot write ${a.out}: ${(err as Error).message}\n`,
      );
      return EXIT.usage;
    }
    const n = await writeExport(rows, a.format as ExportFormat, (chunk) =>
      out.write(chunk) ? undefined : new Promise<void>((ok) => out.once('drain', () => ok())),
    );
    await new Promise<void>((ok, fail) => out.end((err?: Error | null) => (err ? fail(err) : ok())));
    io.stderr(`${n} rows exported to ${a.out}.\n`);
    return EXIT.ok;
  } catch (err) {
    io.stderr(`The audit trail could not be read: ${(err as Error).message}\n`);
    return EXIT.failed;
  } finally {
    await store.close();
  }
}
