/**
 * The load run's knobs, all from the environment (see `loadSettings`). Rates are per second and
 * open-loop: an operation is started at its time whether or not earlier ones have answered.
 */

export interface LoadSettings {
  /** LOAD_SECONDS: how long the steady load runs (default 180). */
  seconds: number;
  /** LOAD_EVAL_RATE: PIM activations per second, each calling the decision endpoint (default 10). */
  evalRate: number;
  /** LOAD_ESCALATION_RATE: signed escalation events per second (default 2). */
  escalationRate: number;
  /** LOAD_ACTION_RATE: approve clicks per second on posted cards (default 3). */
  actionRate: number;
  /** LOAD_USERS: users of the generated tenant (default 1500). */
  users: number;
  /** LOAD_ELIGIBILITIES: role eligibilities of the generated tenant (default 15000). */
  eligibilities: number;
  /** LOAD_CHANNELS: approver channels the roles' cards are spread over, round robin (default 0: one per role). */
  channels: number;
  /** LOAD_DENY_SHARE: share of activations with a placeholder justification, answered Denied (default 0.1). */
  denyShare: number;
  /** LOAD_SAMPLE_MS: how often replica memory is read (default 5000). */
  sampleMs: number;
  /** LOAD_DRAIN_SECONDS: how long to wait after the load for every card and update to go out (default 120). */
  drainSeconds: number;
  /** LOAD_MAX_IN_FLIGHT: per operation type; a start that would exceed it is counted as shed (default 200). */
  maxInFlight: number;
  /** LOAD_JOBS_MS: how often each replica looks for due jobs (default 5000, the product's own interval). */
  jobsMs: number;
  /** LOAD_RECONCILE_MS: the replicas' RECONCILE_INTERVAL_MS (default 60000, the product default). */
  reconcileMs: number;
  /** LOAD_APPEND: 0 keeps BENCHMARKS.md as it is (the section is still written under .local/load/). */
  append: boolean;
  /** LOAD_KEEP_DB: 1 keeps the PostgreSQL schema for inspection instead of dropping it. */
  keepDb: boolean;
  /** TEST_DATABASE_URL: the PostgreSQL server (default postgres://postgres@127.0.0.1:5432/test). */
  databaseServer: string;
  /** REPLICA_LOG_LEVEL for the replicas' logs under .local/load/ (default warn). */
  replicaLogLevel: string;
}

function num(env: NodeJS.ProcessEnv, key: string, fallback: number, check: (n: number) => boolean, what: string): number {
  const raw = env[key];
  if (raw === undefined || raw.trim() === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || !check(n)) throw new Error(`${key}=${raw}: must be ${what}`);
  return n;
}

export function loadSettings(env: NodeJS.ProcessEnv = process.env): LoadSettings {
  const rate = (n: number) => n >= 0 && n <= 1000;
  const positiveInt = (n: number) => Number.isInteger(n) && n > 0;
  return {
    seconds: num(env, 'LOAD_SECONDS', 180, (n) => n > 0 && n <= 24 * 3600, 'a number of seconds above 0'),
    evalRate: num(env, 'LOAD_EVAL_RATE', 10, rate, 'a rate between 0 and 1000 per second'),
    escalationRate: num(env, 'LOAD_ESCALATION_RATE', 2, rate, 'a rate between 0 and 1000 per second'),
    actionRate: num(env, 'LOAD_ACTION_RATE', 3, rate, 'a rate between 0 and 1000 per second'),
    users: num(env, 'LOAD_USERS', 1500, (n) => Number.isInteger(n) && n >= 10, 'a whole number of at least 10'),
    eligibilities: num(env, 'LOAD_ELIGIBILITIES', 15000, positiveInt, 'a whole number above 0'),
    channels: num(env, 'LOAD_CHANNELS', 0, (n) => Number.isInteger(n) && n >= 0, 'a whole number (0: one channel per role)'),
    denyShare: num(env, 'LOAD_DENY_SHARE', 0.1, (n) => n >= 0 && n <= 1, 'a share between 0 and 1'),
    sampleMs: num(env, 'LOAD_SAMPLE_MS', 5000, (n) => n >= 100, 'at least 100 ms'),
    drainSeconds: num(env, 'LOAD_DRAIN_SECONDS', 120, (n) => n > 0, 'a number of seconds above 0'),
    maxInFlight: num(env, 'LOAD_MAX_IN_FLIGHT', 200, positiveInt, 'a whole number above 0'),
    jobsMs: num(env, 'LOAD_JOBS_MS', 5000, (n) => Number.isInteger(n) && n >= 0, 'a whole number of milliseconds (0: never)'),
    reconcileMs: num(env, 'LOAD_RECONCILE_MS', 60_000, (n) => Number.isInteger(n) && n >= 5000, 'at least 5000 ms (the product minimum)'),
    append: env.LOAD_APPEND !== '0',
    keepDb: env.LOAD_KEEP_DB === '1',
    databaseServer: env.TEST_DATABASE_URL?.trim() || 'postgres://postgres@127.0.0.1:5432/test',
    replicaLogLevel: env.REPLICA_LOG_LEVEL?.trim() || 'warn',
  };
}

/** The settings someone would have to set to repeat this run (only those that differ from the defaults). */
export function nonDefault(s: LoadSettings): string[] {
  const d = loadSettings({});
  const keys: Array<[keyof LoadSettings, string]> = [
    ['seconds', 'LOAD_SECONDS'],
    ['evalRate', 'LOAD_EVAL_RATE'],
    ['escalationRate', 'LOAD_ESCALATION_RATE'],
    ['actionRate', 'LOAD_ACTION_RATE'],
    ['users', 'LOAD_USERS'],
    ['eligibilities', 'LOAD_ELIGIBILITIES'],
    ['channels', 'LOAD_CHANNELS'],
    ['denyShare', 'LOAD_DENY_SHARE'],
    ['sampleMs', 'LOAD_SAMPLE_MS'],
    ['jobsMs', 'LOAD_JOBS_MS'],
    ['reconcileMs', 'LOAD_RECONCILE_MS'],
  ];
  return keys.filter(([k]) => s[k] !== d[k]).map(([k, name]) => `${name}=${String(s[k])}`);
}
