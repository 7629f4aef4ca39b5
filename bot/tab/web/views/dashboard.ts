import { messageOf } from '../api';
import type { Dashboard } from '../api-types';
import type { Series, TokenChart } from '../charts';
import type { View, ViewContext } from '../context';
import { h, notice, table } from '../dom';
import { kindLabel, outcomeLabel, personName, tidy } from '../labels';
import { button, loading, viewHeader } from '../widgets';

interface Filters {
  from: string;
  to: string;
  role: string;
  /** The reader's zone: the hour-of-day chart counts in it. */
  tz?: string;
}

/** The charts drawn now; destroyed before a redraw, recoloured on a theme change. */
let charts: TokenChart[] = [];
let themeHooked = false;

/** Dashboard (admins only): decision times, outcomes, pending requests, nudges and assignments worth a look. */
export const dashboardView: View = {
  id: 'dashboard',
  label: 'Dashboard',
  async render(panel, ctx) {
    if (!themeHooked) {
      ctx.onThemeChange(() => {
        for (const c of charts) c.recolor();
      });
      themeHooked = true;
    }
    await show(panel, ctx, { from: '', to: '', role: '', tz: ctx.fmt.zone });
  },
};

function query(f: Filters): string {
  const q = new URLSearchParams();
  if (f.from) q.set('from', f.from);
  if (f.to) q.set('to', f.to);
  if (f.role) q.set('role', f.role);
  if (f.tz) q.set('tz', f.tz);
  const s = q.toString();
  return s ? `?${s}` : '';
}

async function show(panel: HTMLElement, ctx: ViewContext, filters: Filters): Promise<void> {
  for (const c of charts) c.destroy();
  charts = [];
  panel.replaceChildren(
    viewHeader(dashboardView.label, () => void show(panel, ctx, filters)),
    loading(),
  );
  let d: Dashboard;
  try {
    d = await ctx.api.get<Dashboard>(`/api/tab/admin/dashboard${query(filters)}`);
  } catch (err) {
    panel.querySelector('.loading')?.replaceWith(notice('error', messageOf(err)));
    return;
  }
  panel.querySelector('.loading')?.remove();
  const current: Filters = { from: d.range.from, to: d.range.to, role: filters.role, tz: ctx.fmt.zone };
  const messages = h('div', { class: 'messages', 'aria-live': 'polite' });
  const csv = (view: string, label: string) =>
    button(
      label,
      async () => {
        messages.replaceChildren();
        try {
          await ctx.api.download(`/api/tab/admin/export/${view}.csv${query(current)}`, `pim-${view}-${current.from}-${current.to}.csv`);
        } catch (err) {
          messages.append(notice('error', messageOf(err)));
        }
      },
      { appearance: 'outline', testid: `csv-${view}` },
    );

  panel.append(
    filterForm(d, current, (f) => void show(panel, ctx, f)),
    messages,
  );
  panel.append(h('div', { class: 'actions' }, csv('requests', 'All requests (CSV)'), csv('assignments', 'Eligible and active assignments (CSV)')));

  const grid = h('div', { class: 'dash-grid' });
  panel.append(grid);
  const minutes = (m: number | null) => (m === null || m === undefined ? 'No decisions' : formatMinutes(m));

  grid.append(
    chartSection(
      'decision-time',
      'Time to decision',
      'bar',
      d.decisionTime.buckets.map((b) => b.label),
      [{ label: 'Requests', values: d.decisionTime.buckets.map((b) => b.count) }],
      ['Time to decision', 'Requests'],
      d.decisionTime.buckets.map((b) => [b.label, b.count]),
      csv('decision-time', 'Time to decision (CSV)'),
      { yTitle: 'Requests' },
    ),
    chartSection(
      'decision-by-role',
      'Median time to decision by role',
      'bar',
      d.decisionTime.byRole.map((r) => r.role),
      [{ label: 'Median minutes', values: d.decisionTime.byRole.map((r) => r.medianMinutes ?? 0) }],
      ['Role', 'Decisions', 'Median time'],
      d.decisionTime.byRole.map((r) => [r.role, r.count, minutes(r.medianMinutes)]),
      null,
      { horizontal: true },
    ),
    chartSection(
      'decision-by-hour',
      `Requests by hour of day (${d.range.timeZone})`,
      'bar',
      d.decisionTime.byHour.map((r) => hourLabel(r.hour)),
      [{ label: 'Requests', values: d.decisionTime.byHour.map((r) => r.count) }],
      ['Hour', 'Requests', 'Median time to decision'],
      d.decisionTime.byHour.map((r) => [hourLabel(r.hour), r.count, minutes(r.medianMinutes)]),
      null,
      { yTitle: 'Requests' },
    ),
    chartSection(
      'outcomes',
      'Outcomes',
      'doughnut',
      d.outcomes.map((o) => outcomeLabel(o.outcome)),
      [{ label: 'Requests', values: d.outcomes.map((o) => o.count) }],
      ['Outcome', 'Requests'],
      d.outcomes.map((o) => [outcomeLabel(o.outcome), o.count]),
      csv('outcomes', 'Outcomes (CSV)'),
    ),
    chartSection(
      'pending',
      'Pending requests by age',
      'bar',
      d.pendingByAge.map((p) => p.bucket),
      [{ label: 'Pending requests', values: d.pendingByAge.map((p) => p.count) }],
      ['Age', 'Pending requests'],
      d.pendingByAge.map((p) => [p.bucket, p.count]),
      csv('pending', 'Pending requests (CSV)'),
      { yTitle: 'Requests' },
    ),
  );

  const { fmt } = ctx;
  grid.append(
    tableSection('nudges', 'Reminders and escalations', null, [
      table(
        'Nudges sent in the range',
        ['Kind', 'Count'],
        [
          ['Reminders to approvers', d.nudges.reminders],
          ['Escalations to backup approvers', d.nudges.escalations],
        ],
      ),
    ]),
    tableSection('top-roles', 'Most requested roles', csv('top-roles', 'Top roles (CSV)'), [
      table(
        'Most requested roles',
        ['Role', 'Requests'],
        d.topRoles.map((r) => [r.role, r.count]),
        { empty: 'No requests in the range.' },
      ),
    ]),
    tableSection('top-requesters', 'Most frequent requesters', csv('top-requesters', 'Top requesters (CSV)'), [
      table(
        'Most frequent requesters',
        ['Requester', 'Requests'],
        d.topRequesters.map((r) => [r.name, r.count]),
        { empty: 'No requests in the range.' },
      ),
    ]),
    tableSection('dormant', 'Dormant eligible assignments', csv('dormant', 'Dormant assignments (CSV)'), [
      table(
        'Eligible assignments not activated recently',
        ['Who', 'Role or group', 'Type', 'Last activation'],
        d.dormant.map((x) => [x.principal, x.role, kindLabel(x.kind), x.lastActivation ? fmt.when(x.lastActivation) : 'Never']),
        { empty: 'No dormant assignments.' },
      ),
    ]),
    tableSection('permanent', 'Permanent active assignments', csv('permanent', 'Permanent assignments (CSV)'), [
      table(
        'Permanent active assignments on privileged roles',
        ['Who', 'Role or group', 'Type'],
        d.permanent.map((x) => [x.principal, x.role, kindLabel(x.kind)]),
        { empty: 'No permanent assignments.' },
      ),
    ]),
    tableSection('spot-audits', 'Spot audits', csv('spot-audits', 'Spot audits (CSV)'), [spotAuditTable(ctx, d.spotAudits)]),
  );

  // Drawn after the canvases are in the page, so Chart.js measures their real size. Chart.js is loaded
  // here, on the dashboard only (admins), so nobody else's first view waits for it.
  const canvases = Array.from(grid.querySelectorAll<HTMLCanvasElement>('canvas[data-chart]'));
  if (canvases.length === 0) return;
  let TokenChartClass: typeof TokenChart;
  try {
    ({ TokenChart: TokenChartClass } = await import('../charts'));
  } catch {
    messages.append(notice('error', 'The charts could not be loaded. The same numbers are in the tables under each chart.'));
    return;
  }
  for (const canvas of canvases) {
    const spec = chartSpecs.get(canvas);
    if (spec) charts.push(new TokenChartClass(canvas, spec.type, spec.labels, spec.series, spec.opts));
  }
}

const chartSpecs = new WeakMap<
  HTMLCanvasElement,
  { type: 'bar' | 'doughnut'; labels: string[]; series: Series[]; opts: { horizontal?: boolean; yTitle?: string } }
>();

/** A chart with its heading, the same numbers as a table in a disclosure, and its CSV button. */
function chartSection(
  id: string,
  title: string,
  type: 'bar' | 'doughnut',
  labels: string[],
  series: Series[],
  headers: string[],
  rows: Array<Array<string | number>>,
  csvButton: HTMLElement | null,
  opts: { horizontal?: boolean; yTitle?: string } = {},
): HTMLElement {
  const headingId = `dash-${id}`;
  const section = h('section', { class: 'card dash-card', 'aria-labelledby': headingId, 'data-testid': `dash-${id}` }, h('h3', { id: headingId }, title));
  if (rows.length === 0) {
    section.append(h('p', { class: 'empty' }, 'No data in this range.'));
  } else {
    // The chart is a picture of the table below it: hidden from screen readers, which read the table.
    const canvas = h('canvas', { 'data-chart': id, 'aria-hidden': 'true' });
    chartSpecs.set(canvas, { type, labels, series, opts });
    section.append(h('div', { class: 'chart-box' }, canvas), h('details', {}, h('summary', {}, `${title} as a table`), table(title, headers, rows)));
  }
  if (csvButton) section.append(h('div', { class: 'actions' }, csvButton));
  return section;
}

function tableSection(id: string, title: string, csvButton: HTMLElement | null, body: HTMLElement[]): HTMLElement {
  const headingId = `dash-${id}`;
  return h(
    'section',
    { class: 'card dash-card', 'aria-labelledby': headingId, 'data-testid': `dash-${id}` },
    h('h3', { id: headingId }, title),
    ...body,
    csvButton ? h('div', { class: 'actions' }, csvButton) : null,
  );
}

function filterForm(d: Dashboard, current: Filters, apply: (f: Filters) => void): HTMLElement {
  const from = h('input', { type: 'date', id: 'dash-from', value: current.from, 'data-testid': 'dash-from' });
  const to = h('input', { type: 'date', id: 'dash-to', value: current.to, 'data-testid': 'dash-to' });
  const role = h(
    'select',
    { id: 'dash-role', 'data-testid': 'dash-role' },
    h('option', { value: '' }, 'All roles'),
    ...d.roles.map((r) => h('option', { value: r.id, selected: r.id === current.role }, r.name)),
  );
  const form = h(
    'form',
    { class: 'filters', 'aria-label': 'Dashboard filters' },
    h('div', { class: 'filter' }, h('label', { for: 'dash-from' }, 'From'), from),
    h('div', { class: 'filter' }, h('label', { for: 'dash-to' }, 'To'), to),
    h('div', { class: 'filter' }, h('label', { for: 'dash-role' }, 'Role'), role),
    button('Apply', () => form.requestSubmit(), { appearance: 'primary', testid: 'dash-apply' }),
  );
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    apply({ from: from.value, to: to.value, role: role.value, tz: current.tz });
  });
  return form;
}

/** Spot audits come as records; their fields are shown with tidy headings, ids left out. */
function spotAuditTable(ctx: ViewContext, audits: Array<Record<string, unknown>>): HTMLElement {
  const keys = [...new Set(audits.flatMap((a) => Object.keys(a)))].filter((k) => !/(^id$|Id$)/.test(k));
  const cell = (v: unknown): string => {
    if (v === null || v === undefined) return '';
    if (typeof v === 'string') return /^\d{4}-\d{2}-\d{2}T/.test(v) ? ctx.fmt.when(v) : v;
    if (typeof v === 'number' || typeof v === 'boolean') return String(v);
    if (Array.isArray(v)) return v.map(cell).join(', ');
    if (typeof v === 'object' && ('name' in v || 'upn' in v)) return personName(v as { id: string; name: string; upn: string });
    return '';
  };
  return table(
    'A sample of recent approvals to review',
    keys.map(tidy),
    audits.map((a) => keys.map((k) => cell(a[k]))),
    { empty: 'No approvals to sample in the range.' },
  );
}

function hourLabel(hour: number): string {
  return `${String(hour).padStart(2, '0')}:00`;
}

function formatMinutes(m: number): string {
  if (m < 60) return `${Math.round(m)} min`;
  const hours = Math.floor(m / 60);
  const rest = Math.round(m % 60);
  return rest ? `${hours} h ${rest} min` : `${hours} h`;
}
