/** A Graph failure reduced to what callers branch on; the message is safe to show to a user. */
export class GraphCallError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = 'GraphCallError';
  }
}

export function toGraphCallError(err: unknown, what: string): GraphCallError {
  if (err instanceof GraphCallError) return err;
  const e = err as { statusCode?: number; code?: string | null; message?: string; body?: unknown; headers?: { get?(k: string): string | null }; name?: string };
  if (e?.name === 'AbortError' || e?.name === 'TimeoutError') {
    return new GraphCallError(504, 'Timeout', `${what}: Microsoft Graph did not answer in time.`);
  }
  if (typeof e?.statusCode === 'number' && e.statusCode > 0) {
    let code = e.code ?? 'Unknown';
    let message = e.message ?? '';
    let requestId: string | undefined;
    try {
      const body =
        typeof e.body === 'string'
          ? (JSON.parse(e.body) as { error?: { code?: string; message?: string; innerError?: Record<string, string> } })
          : (e.body as { error?: { code?: string; message?: string; innerError?: Record<string, string> } } | undefined);
      code = body?.error?.code ?? code;
      message = body?.error?.message ?? message;
      requestId = body?.error?.innerError?.['request-id'];
    } catch {
      // body was not JSON; keep what the client parsed
    }
    return new GraphCallError(e.statusCode, code, `${what}: ${message || `HTTP ${e.statusCode}`}`, requestId);
  }
  return new GraphCallError(502, 'Unreachable', `${what}: Microsoft Graph could not be reached (${e?.message ?? 'unknown error'}).`);
}
