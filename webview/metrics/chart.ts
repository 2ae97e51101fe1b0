// The loss / eval loss / learning-rate chart. Keeps its own full series so Chart.js decimation
// (which swaps dataset.data for a thinned copy) never loses points we append later.
import {
  Chart, Decimation, LinearScale, LineController, LineElement, PointElement, Tooltip,
  type ChartDataset,
} from 'chart.js';
import type { MetricPoint } from './protocol';
import { readThemeColors, type ChartColors } from './theme';

// No Legend plugin: the toolbar's checkboxes are the legend, and a second, clickable one would fall out of step with them.
Chart.register(LineController, LineElement, PointElement, LinearScale, Tooltip, Decimation);

type Series = { x: number; y: number }[];

/** The chart's datasets, in order; the toolbar's checkboxes name them the same way (data-series). */
export const SERIES = ['loss', 'evalLoss', 'learningRate'] as const;
export type SeriesKey = (typeof SERIES)[number];

export class MetricsChart {
  private readonly chart: Chart<'line', Series>;
  private readonly loss: Series = [];
  private readonly evalLoss: Series = [];
  private readonly learningRate: Series = [];

  constructor(private readonly canvas: HTMLCanvasElement) {
    const colors = readThemeColors();
    this.chart = new Chart<'line', Series>(canvas, {
      type: 'line',
      data: {
        datasets: [
          this.dataset('loss', 'y', colors.loss),
          this.dataset('eval loss', 'y', colors.evalLoss, 3),
          // Dashed: the learning rate is a schedule on its own axis, not another loss curve.
          { ...this.dataset('learning rate', 'y1', colors.learningRate), borderDash: [5, 4] },
        ],
      },
      options: {
        animation: false,
        // Decimation requires unparsed, sorted {x, y} data on a linear x axis.
        parsing: false,
        normalized: true,
        maintainAspectRatio: false,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        scales: {
          x: { type: 'linear', title: { display: true, text: 'step' }, ticks: { precision: 0 } },
          // 'auto': an axis whose every series is switched off disappears instead of showing an empty 0..1 scale.
          y: { type: 'linear', display: 'auto', position: 'left', title: { display: true, text: 'loss' } },
          y1: { type: 'linear', display: 'auto', position: 'right', title: { display: true, text: 'learning rate' }, grid: { drawOnChartArea: false } },
        },
        plugins: {
          decimation: { enabled: true, algorithm: 'lttb', samples: 400 },
        },
      },
    });
    this.applyColors(colors);
    this.publishVisible();
  }

  setVisible(key: SeriesKey, visible: boolean): void {
    this.chart.setDatasetVisibility(SERIES.indexOf(key), visible);
    this.chart.update('none');
    this.publishVisible();
  }

  // Read back from Chart.js itself, so the end-to-end test sees what the chart draws rather than what was asked.
  private publishVisible(): void {
    this.canvas.dataset.visibleSeries = SERIES.filter((_, i) => this.chart.isDatasetVisible(i)).join(' ');
  }

  private dataset(label: string, yAxisID: string, color: string, pointRadius = 0): ChartDataset<'line', Series> {
    return { label, yAxisID, data: [], borderColor: color, backgroundColor: color, borderWidth: 1.5, pointRadius, tension: 0 };
  }

  /** Replaces everything (init) or adds points (append), then redraws once. */
  update(points: MetricPoint[], replace: boolean): void {
    if (replace) for (const s of [this.loss, this.evalLoss, this.learningRate]) s.length = 0;
    for (const p of points) {
      if (p.kind === 'train') {
        if (p.loss !== null) insertSorted(this.loss, p.step, p.loss);
        if (p.learningRate !== null) insertSorted(this.learningRate, p.step, p.learningRate);
      } else if (p.evalLoss !== null) {
        insertSorted(this.evalLoss, p.step, p.evalLoss);
      }
    }
    const [loss, evalLoss, lr] = this.chart.data.datasets;
    // Fresh arrays: assigning goes through decimation's setter and makes Chart.js re-read the data.
    loss.data = this.loss.slice();
    evalLoss.data = this.evalLoss.slice();
    lr.data = this.learningRate.slice();
    this.chart.update('none');
    this.canvas.dataset.points = String(this.pointCount);
  }

  get pointCount(): number {
    return this.loss.length + this.evalLoss.length + this.learningRate.length;
  }

  applyColors(colors: ChartColors = readThemeColors()): void {
    const [loss, evalLoss, lr] = this.chart.data.datasets;
    loss.borderColor = loss.backgroundColor = colors.loss;
    evalLoss.borderColor = evalLoss.backgroundColor = colors.evalLoss;
    lr.borderColor = lr.backgroundColor = colors.learningRate;
    Chart.defaults.color = colors.foreground;
    Chart.defaults.borderColor = colors.grid;
    Chart.defaults.font.family = colors.font;
    const scales = this.chart.options.scales ?? {};
    for (const id of ['x', 'y', 'y1'] as const) {
      const scale = scales[id];
      if (!scale) continue;
      scale.ticks = { ...scale.ticks, color: colors.foreground };
      scale.grid = { ...scale.grid, color: colors.grid };
      scale.border = { ...scale.border, color: colors.grid };
      if (scale.title) scale.title.color = colors.foreground;
    }
    this.chart.update('none');
  }
}

// Steps normally arrive in order; a replayed or repeated step replaces the old value instead of doubling it.
function insertSorted(series: Series, x: number, y: number): void {
  const last = series[series.length - 1];
  if (!last || last.x < x) { series.push({ x, y }); return; }
  const i = series.findIndex((p) => p.x >= x);
  if (series[i].x === x) series[i] = { x, y };
  else series.splice(i, 0, { x, y });
}
