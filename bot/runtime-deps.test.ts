import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The bot must start from an install without development dependencies (`npm ci --omit=dev`): loading the
 * composition root must not pull in any package that package.json lists only under devDependencies.
 */
describe('runtime dependencies', () => {
  it('loading bot/create-bot.ts loads no development dependency', () => {
    const root = join(__dirname, '..');
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
      devDependencies: Record<string, string>;
      dependencies: Record<string, string>;
    };
    const devOnly = Object.keys(pkg.devDependencies).filter((d) => !(d in pkg.dependencies));
    const script = `require('./bot/create-bot'); process.stdout.write(JSON.stringify(Object.keys(require.cache)))`;
    const loaded = JSON.parse(execFileSync(process.execPath, ['-r', 'tsx/cjs', '-e', script], { cwd: root, encoding: 'utf8' })) as string[];
    const offenders = devOnly.filter((d) => loaded.some((file) => file.includes(`/node_modules/${d}/`)));
    expect(offenders).toEqual([]);
    // The check itself sees what it should: a runtime dependency is among the loaded files.
    expect(loaded.some((file) => file.includes('/node_modules/botbuilder/'))).toBe(true);
  });
});
