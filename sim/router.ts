import type { SimRequest, SimResponse } from './http';

export type Handler = (req: SimRequest, params: Record<string, string>) => Promise<SimResponse> | SimResponse;

interface Route {
  method: string;
  regex: RegExp;
  keys: string[];
  handler: Handler;
}

/**
 * A tiny router. Patterns use `:name` segments; a segment may also contain literal text around a
 * parameter, e.g. `filterByCurrentUser(on=':on')`, because Graph puts function arguments in the path.
 */
export class Router {
  private readonly routes: Route[] = [];

  add(method: string, pattern: string, handler: Handler): this {
    const keys: string[] = [];
    const source = pattern
      .split('/')
      .map((seg) =>
        seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').replace(/:([A-Za-z_][A-Za-z0-9_]*)/g, (_m, k: string) => {
          keys.push(k);
          return "([^/']+)";
        }),
      )
      .join('/');
    this.routes.push({ method: method.toUpperCase(), regex: new RegExp(`^${source}/?$`, 'i'), keys, handler });
    return this;
  }

  /** Returns undefined for no path match; `'method'` when the path exists with another verb. */
  match(req: SimRequest): { handler: Handler; params: Record<string, string> } | 'method' | undefined {
    let pathMatched = false;
    for (const r of this.routes) {
      const m = r.regex.exec(req.path);
      if (!m) continue;
      pathMatched = true;
      if (r.method !== req.method) continue;
      const params: Record<string, string> = {};
      r.keys.forEach((k, i) => {
        params[k] = decodeURIComponent(m[i + 1] ?? '');
      });
      return { handler: r.handler, params };
    }
    return pathMatched ? 'method' : undefined;
  }
}
