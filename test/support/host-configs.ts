/**
 * The Teams hosts a card is checked against (test/browser/card-themes.test.ts): the Adaptive Cards host configs
 * and host CSS that Microsoft's Adaptive Cards Designer uses for its "Microsoft Teams" container, read from the
 * installed `adaptivecards-designer` package (never copied into the repository), and a high-contrast host
 * built from the dark one with the colours of Teams' high-contrast theme.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';

export type ThemeName = 'light' | 'dark' | 'highContrast';

export const THEME_NAMES: readonly ThemeName[] = ['light', 'dark', 'highContrast'];

/** A host config as JSON (the renderer's `new AdaptiveCards.HostConfig(json)` reads it). */
export type HostConfigJson = Record<string, unknown> & {
  fontTypes: { default: { fontFamily: string } };
  containerStyles: Record<string, ContainerStyleJson>;
};

interface ContainerStyleJson {
  backgroundColor?: string;
  borderColor?: string;
  foregroundColors: Record<string, { default: string; subtle: string }>;
}

export interface TeamsHost {
  name: ThemeName;
  hostConfig: HostConfigJson;
  /** Teams' channel/chat background behind the card (the designer's Teams container paints the same). */
  pageBackground: string;
  /** The host's CSS for what the host config does not cover: buttons, inputs, the ShowCard popup. */
  css: string;
}

const DESIGNER = path.dirname(require.resolve('adaptivecards-designer/package.json'));
const HOST_CONFIGS = path.join(DESIGNER, 'lib/hostConfigs');
const CONTAINER_CSS = path.join(DESIGNER, 'dist/containers');

/** The page backgrounds the designer's TeamsContainer gives its light and dark themes (src/containers/teams). */
const TEAMS_LIGHT_BACKGROUND = '#F6F6F6';
const TEAMS_DARK_BACKGROUND = '#201E1F';

/**
 * Teams' high-contrast theme (Fluent UI's `teams-high-contrast` theme, which follows Windows' "High Contrast
 * Black"): white text on black, and a few bright colours that stay far from black.
 */
export const HIGH_CONTRAST = {
  background: '#000000',
  /** All text, subtle text included: high contrast has no dimmed grey. */
  text: '#FFFFFF',
  /** `accessibleYellow`: brand text, links and highlighted items. */
  yellow: '#FFFF01',
  /** `accessibleCyan`: hover, focus and selection. */
  cyan: '#1AEBFF',
  /** `accessibleGreen`: success status (also Teams' disabled colour in high contrast). */
  green: '#3FF23F',
  /** `red`: error status. */
  red: '#FF0000',
  /** Borders and separators. */
  border: '#FFFFFF',
} as const;

function readJson(file: string): HostConfigJson {
  return JSON.parse(readFileSync(path.join(HOST_CONFIGS, file), 'utf8')) as HostConfigJson;
}

/** Adaptive Card colour names mapped to the high-contrast palette; `dark`/`light` become plain text. */
function highContrastForegrounds(): ContainerStyleJson['foregroundColors'] {
  const same = (c: string) => ({ default: c, subtle: c });
  return {
    default: same(HIGH_CONTRAST.text),
    dark: same(HIGH_CONTRAST.text),
    light: same(HIGH_CONTRAST.text),
    accent: same(HIGH_CONTRAST.yellow),
    good: same(HIGH_CONTRAST.green),
    warning: same(HIGH_CONTRAST.yellow),
    attention: same(HIGH_CONTRAST.red),
  };
}

/** The installed dark config with every container style black, its text white and its colours Teams' high-contrast ones. */
function highContrastConfig(dark: HostConfigJson): HostConfigJson {
  const config = structuredClone(dark);
  for (const style of Object.values(config.containerStyles)) {
    style.backgroundColor = HIGH_CONTRAST.background;
    style.borderColor = HIGH_CONTRAST.border;
    style.foregroundColors = highContrastForegrounds();
  }
  (config as Record<string, unknown>).separator = { lineThickness: 1, lineColor: HIGH_CONTRAST.border };
  return config;
}

/** The dark host's CSS with buttons and inputs drawn as Teams' high-contrast theme draws them. */
function highContrastCss(darkCss: string): string {
  const c = HIGH_CONTRAST;
  return `${darkCss}
.ac-pushButton, .ac-pushButton.style-emphasis, .ac-pushButton.style-positive, .ac-pushButton.style-destructive {
  background-color: ${c.background}; color: ${c.text}; border: 2px solid ${c.border};
}
.ac-pushButton:hover, .ac-pushButton:active, .ac-pushButton.expanded { background-color: ${c.cyan}; color: ${c.background}; border-color: ${c.cyan}; }
.ac-input, .ac-input.ac-textInput, .ac-input.ac-multichoiceInput { background-color: ${c.background}; color: ${c.text}; border: 1px solid ${c.border}; }
.ac-ctrl-popup-container { background-color: ${c.background}; color: ${c.text}; border-color: ${c.border}; }
`;
}

/** The three hosts every card is rendered in: Teams light, Teams dark and Teams high contrast. */
export function loadTeamsHosts(): Record<ThemeName, TeamsHost> {
  const light = readJson('microsoft-teams-light.json');
  const dark = readJson('microsoft-teams-dark.json');
  const lightCss = readFileSync(path.join(CONTAINER_CSS, 'teams-container-light.css'), 'utf8');
  const darkCss = readFileSync(path.join(CONTAINER_CSS, 'teams-container-dark.css'), 'utf8');
  return {
    light: { name: 'light', hostConfig: light, pageBackground: TEAMS_LIGHT_BACKGROUND, css: lightCss },
    dark: { name: 'dark', hostConfig: dark, pageBackground: TEAMS_DARK_BACKGROUND, css: darkCss },
    highContrast: { name: 'highContrast', hostConfig: highContrastConfig(dark), pageBackground: HIGH_CONTRAST.background, css: highContrastCss(darkCss) },
  };
}
