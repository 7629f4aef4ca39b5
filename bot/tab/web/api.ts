import type { ApiErrorBody } from './api-types';
import type { TabSession } from './auth';

/** A refusal from the API, with the message meant for the user (never the code) and the request's state on 409. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly code: string,
    readonly field?: string,
    readonly request?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** Said when the network or the server failed without a readable answer. */
const UNREACHABLE = 'The PIM service could not be reached. Check your connection and try again.';

/** The tab's calls to /api/tab/*: each carries the user's token; errors become ApiError with words for the user. */
export class TabApi {
  constructor(
    private readonly session: TabSession,
    private readonly fetchFn: typeof fetch = (...args) => fetch(...args),
  ) {}

  get<T>(path: string): Promise<T> {
    return this.call<T>('GET', path);
  }

  post<T>(path: string, body: unknown = {}): Promise<T> {
    return this.call<T>('POST', path, body);
  }

  /** A CSV export, fetched with the token and saved through a temporary download link (a plain link would carry no token). */
  async download(path: string, fileName: string): Promise<void> {
    const res = await this.send('GET', path, undefined, 'text/csv');
    const url = URL.createObjectURL(await res.blob());
    const a = document.createElement('a');
    a.href = url;
    a.download = fileName;
    a.hidden = true;
    document.body.append(a);
    a.click();
    a.remove();
    // The download has started from the click; the URL is released after the browser took it.
    setTimeout(() => URL.revokeObjectURL(url), 10_000);
  }

  private async call<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.send(method, path, body, 'application/json');
    return (await res.json()) as T;
  }

  private async send(method: string, path: string, body: unknown, accept: string): Promise<Response> {
    let token: string;
    try {
      token = await this.session.token();
    } catch (err) {
      // Sign-in's own words (expired, redirecting to sign in, Teams refused), which are written for the user.
      throw new ApiError(401, err instanceof Error && err.message ? err.message : fallbackMessage(401), 'sign_in');
    }
    const headers: Record<string, string> = { Authorization: `Bearer ${token}`, Accept: accept };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchFn(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), credentials: 'omit' });
    } catch {
      throw new ApiError(0, UNREACHABLE, 'network');
    }
    if (res.ok) return res;
    let parsed: ApiErrorBody | null = null;
    try {
      parsed = (await res.json()) as ApiErrorBody;
    } catch {
      parsed = null;
    }
    const message = parsed?.error?.message || fallbackMessage(res.status);
    throw new ApiError(res.status, message, parsed?.error?.code ?? 'http', parsed?.error?.field, parsed?.request);
  }
}

function fallbackMessage(status: number): string {
  if (status === 401) return 'Your sign-in has expired. Reload the tab to sign in again.';
  if (status === 403) return 'You are not allowed to do this.';
  if (status === 404) return 'This item no longer exists.';
  if (status === 409) return 'Someone else changed this item first. It has been refreshed.';
  if (status >= 500) return 'The PIM service had a problem. Try again in a moment.';
  return UNREACHABLE;
}

/** The words to show for any failure (an ApiError's message, or a generic sentence). */
export function messageOf(err: unknown): string {
  return err instanceof ApiError ? err.message : 'Something went wrong. Try again in a moment.';
}
