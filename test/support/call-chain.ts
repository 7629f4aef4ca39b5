/**
 * What a flow waited on, from the simulator's call log (`GET /_sim/calls`, which logs each call on arrival
 * and again when answered): the calls made in a time window, and the longest chain of them made one after
 * another (each arrived only once the one before it had been answered). With a fixed latency on every
 * call, calls made side by side overlap and calls made in sequence do not, so the chain is what a person
 * waited for.
 */
import { type Harness, simJson } from './harness';

export interface LoggedCall {
  method: string;
  path: string;
  status: number;
  /** Arrival (ISO). */
  time: string;
  /** When the answer was ready (ISO); absent while unanswered. */
  answeredAt?: string;
  batchItemOf?: string;
}

/** The calls whose path matches `pattern` that arrived between `from` and `to` (ms since the epoch). */
export async function callsBetween(h: Harness, pattern: RegExp, from: number, to: number): Promise<LoggedCall[]> {
  const calls = (await simJson(h.sim, 'GET', '/_sim/calls')).body.value as LoggedCall[];
  return calls.filter((c) => pattern.test(c.path) && !c.batchItemOf && Date.parse(c.time) >= from && Date.parse(c.time) <= to);
}

/** For each call, the longest run of calls ending with it, each made after the previous one was answered. */
function chains(calls: readonly LoggedCall[]): Map<LoggedCall, LoggedCall[]> {
  const ordered = [...calls].sort((a, b) => Date.parse(a.time) - Date.parse(b.time));
  const best = new Map<LoggedCall, LoggedCall[]>();
  for (const c of ordered) {
    let chain = [c];
    for (const before of ordered) {
      if (before === c || !before.answeredAt || Date.parse(before.answeredAt) > Date.parse(c.time)) continue;
      const prior = best.get(before);
      if (prior && prior.length + 1 > chain.length) chain = [...prior, c];
    }
    best.set(c, chain);
  }
  return best;
}

/** The longest run of calls each made after the previous one was answered: how many round trips were waited on in sequence. */
export function longestChain(calls: readonly LoggedCall[]): LoggedCall[] {
  let longest: LoggedCall[] = [];
  for (const chain of chains(calls).values()) if (chain.length > longest.length) longest = chain;
  return longest;
}

/** The longest such run ending with the (first) call `last` picks: what that call waited for. */
export function chainTo(calls: readonly LoggedCall[], last: (c: LoggedCall) => boolean): LoggedCall[] {
  const target = calls.find(last);
  return target ? (chains(calls).get(target) ?? []) : [];
}

/** `METHOD path` with ids replaced, for readable assertions. */
export function shapeOf(c: LoggedCall): string {
  return `${c.method} ${c.path.replace(/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi, '{id}')}`;
}
