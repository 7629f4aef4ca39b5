/**
 * Where the PIM tab runs: inside Teams (web, desktop or mobile, through @microsoft/teams-js) or in a plain
 * browser tab (the demo, the browser tests, someone who opened the bot's /tab/ directly). Teams gives the
 * theme and locale; outside it the page follows `?theme=` (default | dark | contrast, kept for the browser
 * tab's session so a sign-in round trip does not lose it), else the browser's forced colours and colour
 * scheme.
 *
 * teams-js is loaded only when the page may be in Teams: on load it fetches Microsoft's list of Teams
 * origins from a CDN, which a page in a plain browser has no reason to ask for.
 */

export type TabTheme = 'default' | 'dark' | 'contrast';

export interface TabHost {
  inTeams: boolean;
  theme: TabTheme;
  onThemeChange(cb: (t: TabTheme) => void): void;
  locale: string;
  timeZone: string;
}

/** How long Teams gets to answer app.initialize() before the page decides it is not in Teams. */
const TEAMS_INIT_TIMEOUT_MS = 3_000;
const THEME_KEY = 'pim-tab.theme';

export async function detectHost(): Promise<TabHost> {
  const timeZone = browserTimeZone();
  if (mayBeInTeams()) {
    const { app } = await import('@microsoft/teams-js');
    const context = await withTimeout(
      app.initialize().then(() => app.getContext()),
      TEAMS_INIT_TIMEOUT_MS,
    ).catch(() => null);
    if (context) {
      const listeners: Array<(t: TabTheme) => void> = [];
      let theme = teamsTheme(context.app.theme);
      app.registerOnThemeChangeHandler((t) => {
        theme = teamsTheme(t);
        for (const cb of listeners) cb(theme);
      });
      return {
        inTeams: true,
        theme,
        onThemeChange: (cb) => listeners.push(cb),
        locale: context.app.locale || navigator.language,
        timeZone,
      };
    }
  }
  return browserHost(timeZone);
}

/** Teams hosts a tab in an iframe (web, desktop) or a webview with a native bridge (mobile); a top-level page is not in Teams. */
function mayBeInTeams(): boolean {
  const w = window as Window & { nativeInterface?: unknown };
  let framed: boolean;
  try {
    framed = w.self !== w.top;
  } catch {
    framed = true;
  }
  return framed || Boolean(w.nativeInterface) || Boolean(w.opener);
}

function browserHost(timeZone: string): TabHost {
  const fixed = themeFromQuery();
  const media = (q: string) => (typeof window.matchMedia === 'function' ? window.matchMedia(q) : null);
  const forced = media('(forced-colors: active)');
  const dark = media('(prefers-color-scheme: dark)');
  const current = (): TabTheme => fixed ?? (forced?.matches ? 'contrast' : dark?.matches ? 'dark' : 'default');
  return {
    inTeams: false,
    theme: current(),
    onThemeChange: (cb) => {
      if (fixed) return;
      for (const m of [forced, dark]) m?.addEventListener('change', () => cb(current()));
    },
    locale: navigator.language || 'en-US',
    timeZone,
  };
}

/** `?theme=` on this load, else the one an earlier load of this browser tab asked for (a sign-in redirect drops the query). */
function themeFromQuery(): TabTheme | null {
  const asked = new URLSearchParams(window.location.search).get('theme');
  if (isTheme(asked)) {
    try {
      sessionStorage.setItem(THEME_KEY, asked);
    } catch {
      // Storage blocked: the theme holds for this load only.
    }
    return asked;
  }
  try {
    const kept = sessionStorage.getItem(THEME_KEY);
    return isTheme(kept) ? kept : null;
  } catch {
    return null;
  }
}

function isTheme(t: string | null): t is TabTheme {
  return t === 'default' || t === 'dark' || t === 'contrast';
}

/** Teams names its themes default, dark and contrast; anything newer falls back to default. */
function teamsTheme(t: string | undefined): TabTheme {
  return isTheme(t ?? null) ? (t as TabTheme) : 'default';
}

function browserTimeZone(): string {
  try {
    return Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  } catch {
    return 'UTC';
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('timed out')), ms);
    p.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err);
      },
    );
  });
}
