import { spawnSync } from 'node:child_process';
import { readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The production build as the container runs it, for the test and the benchmark that start it: the
 * Dockerfile's runtime commands (read from the file, so they cannot drift) and `npm run build` into a folder.
 */

const ROOT = join(__dirname, '..');

/** The runtime stage's CMD and HEALTHCHECK, exec form (JSON arrays) as the Dockerfile must use, and its WORKDIR. */
export function dockerfileCommands(): { cmd: string[]; healthcheck: string[]; workdir: string } {
  const text = readFileSync(join(ROOT, 'Dockerfile'), 'utf8').replace(/\\\n/g, ' ');
  const runtime = text.slice(text.lastIndexOf('\nFROM '));
  const cmd = /^CMD\s+(\[.*\])\s*$/m.exec(runtime)?.[1];
  const healthcheck = /^HEALTHCHECK\s.*?\bCMD\s+(\[.*\])\s*$/m.exec(runtime)?.[1];
  const workdir = /^WORKDIR\s+(\S+)\s*$/m.exec(runtime)?.[1];
  if (!cmd || !healthcheck || !workdir) throw new Error('The Dockerfile runtime stage needs WORKDIR, an exec-form CMD and an exec-form HEALTHCHECK');
  return { cmd: JSON.parse(cmd) as string[], healthcheck: JSON.parse(healthcheck) as string[], workdir };
}

/**
 * Compiles the bot (tsconfig.build.json) and bundles the tab into `dir`/dist and puts the repository's node_modules beside it, as the
 * image has them beside dist in its WORKDIR.
 */
export function buildProduction(dir: string): void {
  const built = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', join(dir, 'dist')],
    { encoding: 'utf8' },
  );
  if (built.status !== 0) throw new Error(`npm run build failed:\n${built.stdout}${built.stderr}`);
  // The second half of npm run build: the PIM tab's page into dist/tab, where the compiled bot serves it from.
  const tab = spawnSync(process.execPath, ['-r', 'tsx/cjs', join(ROOT, 'scripts/build-tab.ts'), '--out', join(dir, 'dist', 'tab')], {
    cwd: ROOT,
    encoding: 'utf8',
  });
  if (tab.status !== 0) throw new Error(`npm run build (the tab) failed:\n${tab.stdout}${tab.stderr}`);
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'), 'dir');
}
