/**
 * Stand-in for bot/tab/web/host.ts in browser tests (scripts/build-tab.ts `replace`): no Teams, the theme
 * from ?theme=default|dark|contrast, a fixed locale and time zone so rendered times are predictable.
 */
export type TabTheme = 'default' | 'dark' | 'contrast';
export interface TabHost {
  inTeams: boolean;
  theme: TabTheme;
  onThemeChange(cb: (t: TabTheme) => void): void;
  locale: string;
  timeZone: string;
}

export async function detectHost(): Promise<TabHost> {
  const q = new URLSearchParams(location.search);
  const theme = (q.get('theme') as TabTheme | null) ?? 'default';
  const listeners: Array<(t: TabTheme) => void> = [];
  // Tests switch the theme as Teams would: window.setTabTheme('dark').
  (window as unknown as { setTabTheme: (t: TabTheme) => void }).setTabTheme = (t) => {
    for (const cb of listeners) cb(t);
  };
  return { inTeams: false, theme, onThemeChange: (cb) => listeners.push(cb), locale: q.get('locale') ?? 'en-GB', timeZone: q.get('tz') ?? 'Europe/Berlin' };
}
