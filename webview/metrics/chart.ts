// The loss / eval loss / learning-rate chart. Keeps its own full series so Chart.js decimation
// (which swaps dataset.data for a thinned copy) never loses points we append later.
import {
  Chart, Decimation, LinearScale, LineController, LineElement, PointElement, Tooltip,
  type ChartDataset,
} from 'chart.js';
import type { MetricPoint } from './protocol';
import { SegmentedSeries } from './series';
import { readThemeColors, type ChartColors } from './theme';

// No Legend plugin: the toolbar's checkboxes are the legend, and a second, clickable one would fall out of step with them.
Chart.register(LineController, LineElement, PointElement, LinearScale, Tooltip, Decimation);

type Series = { x: number; y: number }[];

/** The chart's datasets, in order; the toolbar's checkboxes name them the same way (data-series). */
export const SERIES = ['loss', 'evalLoss', 'learningRate'] as const;
export type SeriesKey = (typeof SERIES)[number];

// After a resume, the values a later segment replaced stay visible as faint dotted lines, toggled with their series.
const EARLIER_OF: Partial<Record<SeriesKey, number>> = { loss: 3, evalLoss: 4 };

const MAX_EVAL_DOTS = 200;

export class MetricsChart {
  private readonly chart: Chart<'line', Series>;
  private readonly loss = new SegmentedSeries();
  private readonly evalLoss = new SegmentedSeries();
  private readonly learningRate = new SegmentedSeries();

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
          { ...this.dataset('loss before resume', 'y', colors.loss), borderDash: [2, 3], borderWidth: 1 },
          { ...this.dataset('eval loss before resume', 'y', colors.evalLoss, 2), borderDash: [2, 3], borderWidth: 1 },
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
    const earlier = EARLIER_OF[key];
    if (earlier !== undefined) this.chart.setDatasetVisibility(earlier, visible);
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
    if (replace) for (const s of [this.loss, this.evalLoss, this.learningRate]) s.clear();
    for (const p of points) {
      if (p.kind === 'train') {
        if (p.loss !== null) this.loss.add(p.step, p.loss, p.segment);
        if (p.learningRate !== null) this.learningRate.add(p.step, p.learningRate, p.segment);
      } else if (p.evalLoss !== null) {
        this.evalLoss.add(p.step, p.evalLoss, p.segment);
      }
    }
    const [loss, evalLoss, lr, lossBefore, evalBefore] = this.chart.data.datasets;
    // Fresh arrays: assigning goes through decimation's setter and makes Chart.js re-read the data.
    loss.data = this.loss.current.slice();
    evalLoss.data = this.evalLoss.current.slice();
    lr.data = this.learningRate.current.slice();
    lossBefore.data = this.loss.earlier.slice();
    evalBefore.data = this.evalLoss.earlier.slice();
    // Dots mark a few evaluations; a long run's thousand of them would merge into a thick band.
    evalLoss.pointRadius = evalLoss.data.length > MAX_EVAL_DOTS ? 0 : 3;
    evalBefore.pointRadius = evalBefore.data.length > MAX_EVAL_DOTS ? 0 : 2;
    this.chart.update('none');
    this.canvas.dataset.points = String(this.pointCount);
  }

  /** Points on the three main series; values a resume superseded are not counted. */
  get pointCount(): number {
    return this.loss.current.length + this.evalLoss.current.length + this.learningRate.current.length;
  }

  applyColors(colors: ChartColors = readThemeColors()): void {
    const [loss, evalLoss, lr, lossBefore, evalBefore] = this.chart.data.datasets;
    loss.borderColor = loss.backgroundColor = lossBefore.borderColor = lossBefore.backgroundColor = colors.loss;
    evalLoss.borderColor = evalLoss.backgroundColor = evalBefore.borderColor = evalBefore.backgroundColor = colors.evalLoss;
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
