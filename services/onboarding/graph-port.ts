/**
 * The one narrow port onboarding talks to Microsoft Graph through: send a call, get its JSON back or a
 * typed failure. `graph-http.ts` is the adapter (production and simulator alike); tests may fake it.
 */

export type GraphMethod = 'GET' | 'POST' | 'PATCH';

export interface GraphCall {
  method: GraphMethod;
  /** Path with version and query, e.g. `/v1.0/applications?$filter=...`. */
  path: string;
  body?: unknown;
}

export interface OnboardingGraph {
  /** Resolves with the parsed body (undefined for 204); rejects with GraphFailure. */
  send<T = unknown>(call: GraphCall): Promise<T>;
}

export class GraphFailure extends Error {
  constructor(
    readonly call: Pick<GraphCall, 'method' | 'path'>,
    readonly status: number,
    readonly code: string,
    readonly graphMessage: string,
  ) {
    super(`${call.method} ${call.path} failed: HTTP ${status} ${code}: ${graphMessage}`);
    this.name = 'GraphFailure';
  }
}

/** A problem the admin has to fix (permissions, conflicts); the message says how. */
export class OnboardingError extends Error {
  constructor(
    readonly kind: 'sign-in' | 'permission' | 'conflict' | 'not-found' | 'graph',
    message: string,
  ) {
    super(message);
    this.name = 'OnboardingError';
  }
}

/** Quotes a value for an OData string literal. */
export const odata = (s: string) => `'${s.replace(/'/g, "''")}'`;
