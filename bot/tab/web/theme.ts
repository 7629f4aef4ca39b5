import { teamsDarkTheme, teamsHighContrastTheme, teamsLightTheme } from '@fluentui/tokens';
import { setTheme } from '@fluentui/web-components';
import type { TabTheme } from './host';

/** Teams' own Fluent themes for its three looks. */
const THEMES = { default: teamsLightTheme, dark: teamsDarkTheme, contrast: teamsHighContrastTheme } as const;

/** Applies Teams' theme to the page's Fluent tokens (CSS custom properties) and tells the page which one is on. */
export function applyTheme(theme: TabTheme): void {
  setTheme(THEMES[theme] ?? teamsLightTheme);
  document.documentElement.dataset.theme = theme;
  document.documentElement.style.colorScheme = theme === 'default' ? 'light' : 'dark';
}

/** A Fluent token's current value (as the theme set it), read when a chart is drawn. */
export function token(name: string): string {
  return getComputedStyle(document.documentElement).getPropertyValue(`--${name}`).trim();
}

/** The colours charts draw with, from the current theme's tokens. */
export function chartColors() {
  return {
    text: token('colorNeutralForeground1'),
    grid: token('colorNeutralStroke2'),
    series: [
      token('colorBrandBackground'),
      token('colorPaletteGreenForeground1'),
      token('colorPaletteRedForeground1'),
      token('colorPaletteDarkOrangeForeground1'),
      token('colorPaletteBerryForeground1'),
      token('colorNeutralForeground3'),
    ],
  };
}
