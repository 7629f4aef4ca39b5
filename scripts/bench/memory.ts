/**
 * `npm run bench` (memory part): the bot's idle RSS and where it goes.
 *   1. The bot as `npm start` runs it (node with tsx), in its own process: RSS one second after start-up,
 *      and after two full garbage collections (live heap).
 *   2. The bot as production runs it: compiled (`tsc -p tsconfig.build.json`) and started with the
 *      Dockerfile's CMD (`node dist/bot/main.js`): RSS one and five seconds after it listens.
 *   3. The framework floors in the same run, each in its own process started like the bot (tsx), idle: a bare
 *      teams-ai bot on restify (the Bot Framework's own pattern, what the bot serves HTTP with) and the same
 *      bot on node's http server. Their difference is what restify costs a running bot; the bot's excess over
 *      the restify floor is what the bot's own code, store and connections cost.
 *   4. Plain node loading the bot's dependencies one group after another, in the bot's import order: what
 *      each group adds (RSS and live heap, after a full GC); and tsx's own cost (an empty script).
 * Needs NODE_EXTRA_CA_CERTS=.local/pki/ca.pem (the npm script sets it).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { buildProduction, dockerfileCommands } from '../production-build';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { BotArgs } from './children/bot';
import type { FloorArgs } from './children/floor';
import type { SimArgs, SimReady } from './children/sim';
import { BOT_LOG_LEVEL, botEnv, FLOOR_CHILD, SIM_CHILD, startBotChild } from './lib/bot-env';
import { ROOT, startChild, type Child, type Usage } from './lib/children';
import { startBenchConnector } from './lib/connector';
import { fixed, machineLine, sleep, table } from './lib/stats';

/** Dependency groups in the order the bot's composition root pulls them in. */
const GROUPS: Array<[string, string[]]> = [
  ['restify', ['restify']],
  ['pino, zod, jose, yaml', ['pino', 'zod', 'jose', 'yaml']],
  ['store: better-sqlite3, kysely, pg', ['better-sqlite3', 'kysely', 'pg']],
  ['@azure/identity, Graph client', ['@azure/identity', '@microsoft/microsoft-graph-client']],
  ['botbuilder', ['botbuilder']],
  ['teams-ai Application + TeamsAdapter', ['@microsoft/teams-ai/lib/Application', '@microsoft/teams-ai/lib/TeamsAdapter']],
  ['rest of the teams-ai package root (AI planners, moderators, embeddings, OpenAI clients)', ['@microsoft/teams-ai']],
  ['adaptivecards-templating (adaptive-expressions, antlr4ts)', ['adaptivecards-templating']],
  [
    'adaptivecards UMD + ajv + ajv-formats (cards/validate-card, imported at run time for one constant)',
    ['adaptivecards/dist/adaptivecards.js', 'ajv', 'ajv/dist/2020', 'ajv-formats'],
  ],
];

interface Step {
  label: string;
  rssMB: number;
  heapMB: number;
}

const MEASURE = `
const groups = JSON.parse(process.argv[1]);
const m = (label) => { gc(); gc(); const u = process.memoryUsage(); return { label, rssMB: u.rss / 2 ** 20, heapMB: u.heapUsed / 2 ** 20 }; };
const out = [m('node itself')];
for (const [label, mods] of groups) { for (const x of mods) require(x); out.push(m(label)); }
process.stdout.write(JSON.stringify(out));
`;

/** A framework floor, idle: RSS one second after it listens, then RSS and live heap after two full GCs. */
async function floorMemory(label: string, kind: 'teams' | 'teams-node'): Promise<{ label: string; idle: Usage; live: Usage }> {
  const card = { type: 'AdaptiveCard', version: '1.5', body: [{ type: 'TextBlock', text: 'floor' }] };
  const child = await startChild<{ url: string }>(label, FLOOR_CHILD, { kind, card } satisfies FloorArgs, { nodeArgs: ['--expose-gc'] });
  try {
    await sleep(1000);
    const idle = await child.usage();
    return { label, idle, live: await child.rpc<Usage>('gcUsage') };
  } finally {
    await child.stop();
  }
}

function run(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
    let text = '';
    p.stdout.on('data', (c: Buffer) => (text += c.toString('utf8')));
    p.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`exited ${code}`))));
  });
}

/** VmRSS of a process, from /proc (MB). */
function rssOf(pid: number): number {
  const kb = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
  return Number(kb) / 1024;
}

/** Builds the production bundle into `dir` and starts it as the Dockerfile's CMD does; RSS at 1 s and 5 s. */
async function compiledBotRss(dir: string, env: Record<string, string>): Promise<{ at1: number; at5: number }> {
  buildProduction(dir);
  const [, ...args] = dockerfileCommands().cmd;
  const child = spawn(process.execPath, args, {
    cwd: dir,
    env: {
      PATH: process.env.PATH ?? '',
      NODE_EXTRA_CA_CERTS: process.env.NODE_EXTRA_CA_CERTS ? resolve(ROOT, process.env.NODE_EXTRA_CA_CERTS) : '',
      ...env,
      LOG_LEVEL: 'info',
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    await new Promise<void>((resolve, reject) => {
      let text = '';
      child.stdout!.on('data', (d: Buffer) => {
        text += d.toString('utf8');
        if (text.includes('"bot listening"')) resolve();
      });
      child.on('exit', (code) => reject(new Error(`the compiled bot exited (${code})`)));
    });
    child.stdout!.resume();
    await new Promise((r) => setTimeout(r, 1000));
    const at1 = rssOf(child.pid!);
    await new Promise((r) => setTimeout(r, 4000));
    return { at1, at5: rssOf(child.pid!) };
  } finally {
    child.kill('SIGTERM');
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'pim-bench-memory-'));
  const connector = await startBenchConnector();
  const sim = await startChild<SimReady>('simulator', SIM_CHILD, { tenant: 'demo' } satisfies SimArgs);
  const children: Array<Child<unknown>> = [sim];
  try {
    process.stderr.write('memory bench: the idle bot and its dependencies…\n');
    const bot = await startBotChild('bot (idle)', {
      env: botEnv({ simUrl: sim.ready.url, serviceUrl: connector.serviceUrl, dbPath: join(dir, 'idle.sqlite') }),
      sweepIntervalMs: 600_000,
    } satisfies BotArgs);
    children.push(bot);
    const afterGc = await bot.rpc<Usage>('gcUsage');
    await bot.stop();
    children.pop();
    // The floors in the same run, one at a time like the bot (nothing else of the bench runs meanwhile).
    const floors = [
      await floorMemory('teams-ai bot on node:http (no restify)', 'teams-node'),
      await floorMemory('teams-ai bot on restify (the framework floor)', 'teams'),
    ];
    const compiled = await compiledBotRss(
      join(dir, 'compiled'),
      botEnv({ simUrl: sim.ready.url, serviceUrl: connector.serviceUrl, dbPath: join(dir, 'compiled.sqlite') }),
    );
    const steps = JSON.parse(await run(['--no-deprecation', '--expose-gc', '-e', MEASURE, JSON.stringify(GROUPS)])) as Step[];
    // tsx's own cost: the same empty measurement under the loader `npm start` uses.
    const tsxBase = (JSON.parse(await run([...process.execArgv, '--no-deprecation', '--expose-gc', '-e', MEASURE, '[]'])) as Step[])[0]!;

    const out = process.stdout;
    out.write(`\n### Idle memory, ${machineLine()}, bot log level ${BOT_LOG_LEVEL}\n\n`);
    out.write(
      table(
        ['the bot as npm start runs it (tsx)', 'RSS (MB)', 'heap used (MB)'],
        [
          ['1 s after start-up, nothing asked of it', fixed(bot.ready.idle.rssMB, 0), fixed(bot.ready.idle.heapUsedMB, 0)],
          ['after two full garbage collections', fixed(afterGc.rssMB, 0), fixed(afterGc.heapUsedMB, 0)],
        ],
      ),
    );
    out.write('\n\n');
    out.write(
      table(
        ["the bot as production runs it (compiled, the Dockerfile's CMD)", 'RSS (MB)'],
        [
          ['1 s after it listens, nothing asked of it', fixed(compiled.at1, 0)],
          ['5 s after it listens', fixed(compiled.at5, 0)],
        ],
      ),
    );
    out.write('\n\n');
    const [bare, restifyFloor] = floors as [(typeof floors)[0], (typeof floors)[0]];
    out.write(
      table(
        ['idle, each in its own process started with tsx as the bot is', 'RSS 1 s after start (MB)', 'RSS after full GCs (MB)', 'live heap (MB)'],
        [
          ...floors.map((f) => [f.label, fixed(f.idle.rssMB, 0), fixed(f.live.rssMB, 0), fixed(f.live.heapUsedMB, 0)]),
          [
            'the bot (restify, teams-ai, its own code, store and connections)',
            fixed(bot.ready.idle.rssMB, 0),
            fixed(afterGc.rssMB, 0),
            fixed(afterGc.heapUsedMB, 0),
          ],
        ],
      ),
    );
    out.write(
      `\n\nrestify in a running teams-ai bot: +${fixed(restifyFloor.live.rssMB - bare.live.rssMB, 0)} MB RSS, +${fixed(restifyFloor.live.heapUsedMB - bare.live.heapUsedMB, 1)} MB live heap (the restify floor against the node:http one, after full GCs). ` +
        `The bot above the restify floor: +${fixed(afterGc.rssMB - restifyFloor.live.rssMB, 0)} MB RSS, +${fixed(afterGc.heapUsedMB - restifyFloor.live.heapUsedMB, 0)} MB live heap.\n`,
    );
    out.write(
      "\nWhat its dependencies cost, loaded by plain node in the bot's order (each after a full GC; a group's cost includes what it shares with later groups):\n\n",
    );
    const rows: Array<[string, string, string, string]> = [];
    steps.forEach((s, i) => {
      const prev = steps[i - 1];
      rows.push([
        s.label,
        fixed(s.rssMB, 0),
        prev ? `+${fixed(s.rssMB - prev.rssMB, 0)}` : '',
        prev ? `+${fixed(s.heapMB - prev.heapMB, 0)}` : fixed(s.heapMB, 0),
      ]);
    });
    const last = steps.at(-1)!;
    rows.push([
      'tsx (the loader npm start uses), on an empty script',
      fixed(tsxBase.rssMB, 0),
      `+${fixed(tsxBase.rssMB - steps[0]!.rssMB, 0)} over node`,
      `+${fixed(tsxBase.heapMB - steps[0]!.heapMB, 0)}`,
    ]);
    out.write(table(['loaded', 'RSS (MB)', 'adds RSS (MB)', 'adds live heap (MB)'], rows));
    out.write(
      `\n\nDependencies alone under plain node: ${fixed(last.rssMB, 0)} MB RSS; with tsx's ${fixed(tsxBase.rssMB - steps[0]!.rssMB, 0)} MB that is ${fixed(last.rssMB + tsxBase.rssMB - steps[0]!.rssMB, 0)} MB before the bot's own code, store and connections.\n`,
    );
  } finally {
    for (const c of children.reverse()) await c.stop().catch(() => undefined);
    await connector.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
  process.exit(1);
});
