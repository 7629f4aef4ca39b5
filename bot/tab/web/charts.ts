import { ArcElement, BarController, BarElement, CategoryScale, Chart, DoughnutController, Legend, LinearScale, Tooltip } from 'chart.js';
import { chartColors } from './theme';

// Only the controllers and parts the dashboard draws (bar and doughnut), so the bundle carries nothing else of Chart.js.
Chart.register(BarController, BarElement, CategoryScale, LinearScale, DoughnutController, ArcElement, Legend, Tooltip);

export interface Series {
  label: string;
  values: number[];
}

/**
 * A chart on a canvas that screen readers skip (the same numbers are in a table beside it) with the
 * theme's token colours, read now and again on `recolor` after a theme change.
 */
export class TokenChart {
  private readonly chart: Chart;

  constructor(
    canvas: HTMLCanvasElement,
    private readonly type: 'bar' | 'doughnut',
    labels: string[],
    series: Series[],
    opts: { horizontal?: boolean; yTitle?: string } = {},
  ) {
    const c = chartColors();
    this.chart = new Chart(canvas, {
      type,
      data: {
        labels,
        datasets: series.map((s, i) => ({ label: s.label, data: s.values, ...this.colorsFor(i, labels.length, c) })),
      },
      options: {
        animation: false,
        responsive: true,
        maintainAspectRatio: false,
        indexAxis: opts.horizontal ? 'y' : 'x',
        color: c.text,
        plugins: { legend: { display: type === 'doughnut' || series.length > 1, labels: { color: c.text } } },
        scales:
          type === 'bar'
            ? {
                x: { ticks: { color: c.text }, grid: { color: c.grid } },
                y: {
                  ticks: { color: c.text, precision: 0 },
                  grid: { color: c.grid },
                  title: { display: !!opts.yTitle, text: opts.yTitle ?? '', color: c.text },
                },
              }
            : {},
      },
    });
  }

  recolor(): void {
    const c = chartColors();
    const labels = this.chart.data.labels?.length ?? 0;
    for (const [i, d] of this.chart.data.datasets.entries()) Object.assign(d, this.colorsFor(i, labels, c));
    const o = this.chart.options as Record<string, unknown> & {
      scales?: Record<string, { ticks?: { color?: string }; grid?: { color?: string }; title?: { color?: string } }>;
    };
    o.color = c.text;
    const legend = (this.chart.options.plugins?.legend?.labels ?? {}) as { color?: string };
    legend.color = c.text;
    for (const axis of Object.values(o.scales ?? {})) {
      if (axis.ticks) axis.ticks.color = c.text;
      if (axis.grid) axis.grid.color = c.grid;
      if (axis.title) axis.title.color = c.text;
    }
    this.chart.update();
  }

  destroy(): void {
    this.chart.destroy();
  }

  private colorsFor(i: number, n: number, c: ReturnType<typeof chartColors>) {
    if (this.type === 'doughnut') {
      const colors = Array.from({ length: n }, (_, k) => c.series[k % c.series.length]!);
      return { backgroundColor: colors, borderColor: c.grid, borderWidth: 1 };
    }
    const color = c.series[i % c.series.length]!;
    return { backgroundColor: color, borderColor: color };
  }
}
