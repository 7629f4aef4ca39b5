/**
 * npm run audit -- verify | export | head: the audit trail for auditors, with the bot's DATABASE_URL.
 * See cli.ts for the commands and exit codes.
 */
import { runAuditCli } from './cli';

void runAuditCli(process.argv.slice(2), {
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
  cwd: process.cwd(),
}).then((code) => {
  process.exitCode = code;
});
