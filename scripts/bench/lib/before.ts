/**
 * The code before a change, measured in the same run on the same machine as the code after it: the bench
 * extracts a commit's tree (`git archive`, nothing in the repository changes) into .local/bench/before-<rev>,
 * links this checkout's node_modules, and copies this checkout's benchmark harness (scripts/bench/children
 * and lib) over that tree's, so the bot child started from it speaks the same protocol while everything it
 * runs (bot/, services/, cards/) is the commit's own code.
 *   BENCH_BEFORE=<rev>  the commit measured as "before" (default: BEFORE_DEFAULT); BENCH_BEFORE= (empty) skips it.
 */
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, rmSync, symlinkSync } from 'node:fs';
import path from 'node:path';
import { ROOT } from './children';

/**
 * The code before issue 20's click-path change (four Graph calls in sequence on the click, a card's six
 * Graph reads one request each): the default "before" until the next change of these paths names its own.
 */
export const BEFORE_DEFAULT = 'd9274a7';

export interface BeforeTree {
  rev: string;
  /** The short commit, as the tables name it. */
  commit: string;
  dir: string;
  /** The bot child script inside the tree. */
  botChild: string;
}

export function beforeRev(): string | null {
  const rev = process.env.BENCH_BEFORE ?? BEFORE_DEFAULT;
  return rev.trim() ? rev.trim() : null;
}

/** The "before" tree, extracted once per commit; null when BENCH_BEFORE is empty. */
export function beforeTree(): BeforeTree | null {
  const rev = beforeRev();
  if (!rev) return null;
  const commit = execFileSync('git', ['rev-parse', '--short', `${rev}^{commit}`], { cwd: ROOT, encoding: 'utf8' }).trim();
  const dir = path.join(ROOT, '.local', 'bench', `before-${commit}`);
  if (!existsSync(path.join(dir, '.extracted'))) {
    rmSync(dir, { recursive: true, force: true });
    mkdirSync(dir, { recursive: true });
    const tar = execFileSync('git', ['archive', '--format=tar', commit], { cwd: ROOT, maxBuffer: 512 * 2 ** 20 });
    execFileSync('tar', ['-x', '-C', dir], { input: tar });
    symlinkSync(path.join(ROOT, 'node_modules'), path.join(dir, 'node_modules'), 'dir');
    mkdirSync(path.join(dir, '.extracted'));
  }
  // The harness is this checkout's, always (it may have changed since the tree was extracted).
  for (const part of ['children', 'lib']) {
    cpSync(path.join(ROOT, 'scripts', 'bench', part), path.join(dir, 'scripts', 'bench', part), { recursive: true, force: true });
  }
  return { rev, commit, dir, botChild: path.join(dir, 'scripts', 'bench', 'children', 'bot.ts') };
}
