import './app.css';
// The Fluent web components the tab uses, each registered once (only these are bundled).
import '@fluentui/web-components/badge.js';
import '@fluentui/web-components/button.js';
import '@fluentui/web-components/tab.js';
import '@fluentui/web-components/tablist.js';
import '@fluentui/web-components/text-input.js';
import '@fluentui/web-components/textarea.js';
import { TabApi, messageOf } from './api';
import type { Me } from './api-types';
import { signIn } from './auth';
import type { View, ViewContext } from './context';
import { h, notice } from './dom';
import { Formats, readerTimeZone } from './format';
import { detectHost, type TabTheme } from './host';
import { applyTheme } from './theme';
import { accessView } from './views/access';
import { approvalsView } from './views/approvals';
import { dashboardView } from './views/dashboard';
import { historyView } from './views/history';
import { requestsView } from './views/requests';

/**
 * The PIM personal tab: finds its host (Teams or a browser), takes Teams' theme, signs the user in, asks
 * who they are and shows the views as tabs; a view loads when it is first shown.
 */
async function start(root: HTMLElement): Promise<void> {
  const host = await detectHost();
  applyTheme(host.theme);
  const themeListeners: Array<(t: TabTheme) => void> = [];
  host.onThemeChange((t) => {
    applyTheme(t);
    for (const cb of themeListeners) cb(t);
  });

  let session: Awaited<ReturnType<typeof signIn>>;
  try {
    session = await signIn(host);
  } catch (err) {
    if ((err as { code?: string }).code === 'redirecting') {
      root.replaceChildren(h('p', { role: 'status' }, 'Taking you to sign in…'));
      return;
    }
    // Sign-in's errors are written for the user (what failed and what to do).
    root.replaceChildren(
      h('h1', {}, 'PIM'),
      notice('error', err instanceof Error && err.message ? err.message : 'Sign-in failed. Reload the tab to try again.'),
    );
    return;
  }
  if (!session) {
    root.replaceChildren(h('p', { role: 'status' }, 'Taking you to sign in…'));
    return;
  }
  const api = new TabApi(session);
  let me: Me;
  try {
    me = await api.get<Me>('/api/tab/me');
  } catch (err) {
    root.replaceChildren(h('h1', {}, 'PIM'), notice('error', messageOf(err)));
    return;
  }
  const ctx: ViewContext = {
    api,
    fmt: new Formats(host.locale || navigator.language, readerTimeZone(host.timeZone, me.timeZone)),
    me,
    onThemeChange: (cb) => themeListeners.push(cb),
  };
  const views: View[] = [approvalsView, requestsView, accessView, historyView];
  if (me.isAdmin) views.push(dashboardView);
  renderShell(root, ctx, views, me);
}

function renderShell(root: HTMLElement, ctx: ViewContext, views: View[], me: Me): void {
  const tablist = h('fluent-tablist', { 'aria-label': 'PIM views', 'data-testid': 'nav' });
  const panels = h('div', { class: 'panels' });
  const loaded = new Set<string>();
  for (const v of views) {
    tablist.append(h('fluent-tab', { id: `tab-${v.id}`, 'aria-controls': `panel-${v.id}`, 'data-view': v.id }, v.label));
    panels.append(h('section', { id: `panel-${v.id}`, role: 'tabpanel', 'aria-labelledby': `tab-${v.id}`, 'data-testid': `view-${v.id}`, hidden: true }));
  }
  const showView = (id: string) => {
    const v = views.find((x) => x.id === id);
    const panel = document.getElementById(`panel-${id}`);
    if (!v || !panel) return;
    if (!loaded.has(id)) {
      loaded.add(id);
      const first = loaded.size === 1;
      void v.render(panel, ctx).then(() => {
        // The first view is on screen with its data: `npm run bench` reads this mark (from navigation start).
        if (first) {
          performance.mark('pim-tab-first-view');
          document.documentElement.dataset.firstView = 'ready';
        }
      });
    }
  };
  tablist.addEventListener('change', () => {
    const active = (tablist as HTMLElement & { activeid?: string }).activeid ?? '';
    showView(active.replace(/^tab-/, ''));
  });
  root.replaceChildren(
    h('header', { class: 'top' }, h('h1', {}, 'PIM'), h('p', { class: 'who' }, `Signed in as ${me.user.name || me.user.upn}`)),
    h('nav', { 'aria-label': 'PIM' }, tablist),
    panels,
  );
  // The first tab (or the one the URL names) is shown once the tablist has set itself up.
  const wanted = new URLSearchParams(location.search).get('view');
  const first = views.find((v) => v.id === wanted) ?? views[0]!;
  (tablist as HTMLElement & { activeid?: string }).activeid = `tab-${first.id}`;
  showView(first.id);
}

const root = document.getElementById('app');
if (root) {
  start(root).catch((err: unknown) => {
    // For whoever opens the developer tools; the user gets words.
    console.error('PIM tab failed to start', err);
    root.replaceChildren(h('h1', {}, 'PIM'), notice('error', 'The PIM tab could not start. Reload the tab to try again.'));
  });
}
