/** What a log line keeps of an error: its message and, when it has them, the HTTP status and a string code. */
export function errInfo(err: unknown): { message: string; status?: number; code?: string } {
  const e = err as { message?: string; status?: number; statusCode?: number; code?: string };
  return { message: e?.message ?? String(err), status: e?.status ?? e?.statusCode, code: typeof e?.code === 'string' ? e.code : undefined };
}
