/**
 * An Adaptive Card template turned, once, into a function of its data: what adaptivecards-templating's
 * `expand` computes for templates that use only data paths (`${name}`, `${a.b}`, `${$data}`), text with
 * such paths in it, `$when` on objects and `$data` on array entries. Expanding through the templating
 * engine parses and evaluates every expression on every render; a card answer or post renders one card
 * per viewer, so that was most of a render's cost. The engine stays the reference (the tests compare both
 * over every view of the card) and the fallback: a template using anything else does not compile, and a
 * render that meets a path without a value returns undefined, so the caller expands it with the engine.
 */

type Scope = { root: unknown; data: unknown };
type Node = (scope: Scope) => unknown;

/** Returned by a node when the engine must decide (a path without a value, a `$when` that is not a boolean). */
const ENGINE = Symbol('engine');

class Unsupported extends Error {}

const WHOLE = /^\$\{([^{}]*)\}$/;
const PART = /\$\{([^{}]*)\}/g;
const PATH = /^\$?[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$/;

/** Compiles `template`; undefined when it uses anything beyond the subset above (the engine is used then). */
export function compileTemplate(template: unknown): ((root: object) => Record<string, unknown> | undefined) | undefined {
  let node: Node;
  try {
    node = compileValue(template);
  } catch (err) {
    if (err instanceof Unsupported) return undefined;
    throw err;
  }
  return (root) => {
    const out = node({ root, data: root });
    return out === ENGINE || out === null || typeof out !== 'object' ? undefined : (out as Record<string, unknown>);
  };
}

function compileValue(value: unknown): Node {
  if (typeof value === 'string') return compileString(value);
  if (Array.isArray(value)) return compileArray(value);
  if (value !== null && typeof value === 'object') {
    const { when, body } = compileObject(value as Record<string, unknown>);
    if ('$data' in (value as object)) throw new Unsupported('$data outside an array');
    return (scope) => {
      if (when) {
        const w = when(scope);
        if (w === ENGINE) return ENGINE;
        if (!w) return null;
      }
      return body(scope);
    };
  }
  return () => value;
}

function compileObject(obj: Record<string, unknown>): { when: Node | null; data: Node | null; body: Node } {
  let when: Node | null = null;
  let data: Node | null = null;
  const props: Array<[string, Node]> = [];
  for (const [k, v] of Object.entries(obj)) {
    if (k === '$when') when = compileCondition(v);
    else if (k === '$data') data = compileWhole(v);
    else if (k.startsWith('$') && k !== '$schema') throw new Unsupported(k);
    else props.push([k, compileValue(v)]);
  }
  const body: Node = (scope) => {
    const out: Record<string, unknown> = {};
    for (const [k, node] of props) {
      const v = node(scope);
      if (v === ENGINE) return ENGINE;
      out[k] = v;
    }
    return out;
  };
  return { when, data, body };
}

function compileArray(items: unknown[]): Node {
  const parts = items.map((item): ((scope: Scope, out: unknown[]) => boolean) => {
    if (item === null || typeof item !== 'object' || Array.isArray(item)) {
      const node = compileValue(item);
      return (scope, out) => {
        const v = node(scope);
        if (v === ENGINE) return false;
        out.push(v);
        return true;
      };
    }
    const { when, data, body } = compileObject(item as Record<string, unknown>);
    const one = (scope: Scope, out: unknown[]): boolean => {
      if (when) {
        const w = when(scope);
        if (w === ENGINE) return false;
        if (!w) return true;
      }
      const v = body(scope);
      if (v === ENGINE) return false;
      out.push(v);
      return true;
    };
    if (!data) return one;
    return (scope, out) => {
      const d = data(scope);
      if (d === ENGINE) return false;
      if (!Array.isArray(d)) return one({ root: scope.root, data: d }, out);
      for (const entry of d) if (!one({ root: scope.root, data: entry }, out)) return false;
      return true;
    };
  });
  return (scope) => {
    const out: unknown[] = [];
    for (const part of parts) if (!part(scope, out)) return ENGINE;
    return out;
  };
}

function compileCondition(v: unknown): Node {
  const node = compileWhole(v);
  return (scope) => {
    const w = node(scope);
    return typeof w === 'boolean' ? w : ENGINE;
  };
}

/** `${path}` as the whole value: the value keeps its type. */
function compileWhole(v: unknown): Node {
  const m = typeof v === 'string' ? WHOLE.exec(v) : null;
  if (!m) throw new Unsupported(`not a binding: ${String(v)}`);
  return compilePath(m[1]!.trim());
}

function compileString(s: string): Node {
  if (!s.includes('${')) return () => s;
  const whole = WHOLE.exec(s);
  if (whole) return compilePath(whole[1]!.trim());
  // Text with paths in it: each path's text in its place (the card's paths here are all strings).
  const pieces: Array<string | Node> = [];
  let last = 0;
  for (const m of s.matchAll(PART)) {
    pieces.push(s.slice(last, m.index));
    pieces.push(compilePath(m[1]!.trim()));
    last = m.index! + m[0].length;
  }
  pieces.push(s.slice(last));
  if (pieces.some((p) => typeof p === 'string' && p.includes('${'))) throw new Unsupported(s);
  return (scope) => {
    let out = '';
    for (const p of pieces) {
      if (typeof p === 'string') out += p;
      else {
        const v = p(scope);
        if (typeof v !== 'string') return ENGINE;
        out += v;
      }
    }
    return out;
  };
}

function compilePath(expr: string): Node {
  if (!PATH.test(expr)) throw new Unsupported(expr);
  const [head, ...rest] = expr.split('.');
  if (head !== '$data' && head !== '$root' && head!.startsWith('$')) throw new Unsupported(expr);
  return (scope) => {
    let v: unknown = head === '$root' ? scope.root : head === '$data' ? scope.data : (scope.data as Record<string, unknown> | null)?.[head!];
    for (const key of rest) v = v !== null && typeof v === 'object' ? (v as Record<string, unknown>)[key] : undefined;
    return v === undefined || v === null ? ENGINE : v;
  };
}
