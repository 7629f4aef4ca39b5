import type { TabApi } from './api';
import type { Me } from './api-types';
import type { Formats } from './format';
import type { TabTheme } from './host';

/** What every view gets from the page: the API client, formats in the reader's zone, who they are, theme changes. */
export interface ViewContext {
  api: TabApi;
  fmt: Formats;
  me: Me;
  /** Registers a callback for Teams' theme changes (charts recolour from the new tokens). */
  onThemeChange(cb: (t: TabTheme) => void): void;
}

export interface View {
  id: string;
  /** The tab's visible text, also its accessible name. */
  label: string;
  /** Draws the view into its panel (again on refresh). */
  render(panel: HTMLElement, ctx: ViewContext): Promise<void>;
}
