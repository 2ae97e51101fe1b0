// The dashboard's grid of charts on one step axis. Each chart (chartSpecs.ts) draws its series for every
// shown run; hovering one chart shows the same step in all of them, and dragging across one zooms all of
// them (double-click, or Reset zoom, shows the whole run again). The grid owns the Chart.js instances and
// rebuilds a chart's datasets only when what it draws changes shape; otherwise an update swaps data in.
import {
  Chart, Decimation, LinearScale, LineController, LineElement, LogarithmicScale, PointElement, Tooltip,
  type ChartDataset,
} from 'chart.js';
import { CHARTS, toggleOf, type ChartSpec, type SeriesSpec, type ToggleKey } from './chartSpecs';
import { bandPlugin, crosshairPlugin, markerAt, markersPlugin, type DrawnMarker } from './chartPlugins';
import { formatRate, formatValue, isRateKey } from './format';
import type { RunMarker } from './protocol';
import type { RunData } from './runData';
import type { Point } from './series';
import { readThemeColors, withAlpha, type ChartColors } from './theme';

Chart.register(LineController, LineElement, PointElement, LinearScale, LogarithmicScale, Tooltip, Decimation,
  bandPlugin, markersPlugin, crosshairPlugin);

type Data = Point[];
type LineChart = Chart<'line', Data>;

export interface ViewSettings {
  hidden: ReadonlySet<ToggleKey>;
  /** EMA weight, 0 (off) to 0.99. */
  smoothing: number;
  logScale: boolean;
}

export interface GridEvents {
  /** A marker was clicked; x/y are client coordinates for a menu. */
  markerClicked(marker: DrawnMarker, clientX: number, clientY: number): void;
  /** The zoom changed (null: whole run). */
  zoomed(range: XRange | null): void;
}

export interface XRange { min: number; max: number }

type Part = 'main' | 'earlier' | 'outliers';
interface Source { run: RunData; spec: SeriesSpec; part: Part; data: Point[]; radius: number }

interface Card {
  spec: ChartSpec;
  root: HTMLElement;
  canvas: HTMLCanvasElement;
  chart: LineChart;
  /** Shape of the datasets (run × series × kind); a change rebuilds them. */
  shape: string;
  /** Per dataset: the run and series it draws, and which part: the curve, what a resume superseded, or the points outside the band. */
  sources: Source[];
  /** Scrolled out of sight (with a margin): a live append skips it, and it is drawn when it comes back. */
  offscreen: boolean;
  /** What the last skipped redraw would have drawn it with. */
  pending?: { series: SeriesSpec[]; extent: XRange | null };
}

const MAX_EVAL_DOTS = 200;
/**
 * How long one frame may spend redrawing charts before the rest wait for the next frame. A chart's update costs
 * Chart.js about 4 ms whatever its points (layout, ticks, elements), so a frame draws at most two: a live append
 * never holds the page for more than ~10 ms, and every chart is current a frame or two later.
 */
const FRAME_BUDGET_MS = 5;
const MARKER_DASHED = new Set(['warning', 'resume', 'early_stop']);

export class ChartGrid {
  private readonly cards = new Map<string, Card>();
  /**
   * Which cards are in sight. A live append redraws every chart, and each redraw of a wide canvas costs
   * milliseconds; the ones scrolled away are drawn when they come back into view instead.
   */
  private readonly sight = new IntersectionObserver((entries) => {
    for (const entry of entries) {
      const card = [...this.cards.values()].find((c) => c.root === entry.target);
      if (!card) continue;
      card.offscreen = !entry.isIntersecting;
      if (!card.offscreen && card.pending) {
        const { series, extent } = card.pending;
        card.pending = undefined;
        this.fill(card, series, extent);
      }
    }
  }, { rootMargin: '200px 0px' });
  private runs: RunData[] = [];
  private colors: ChartColors = readThemeColors();
  private range: XRange | null = null;
  private hoverStep: number | null = null;
  private hoverFrame = 0;
  private sliceFrame = 0;
  /** ms of chart work in each frame of the redraw under way (the UI bench reads them). */
  private slices: number[] = [];

  constructor(
    private readonly container: HTMLElement,
    private settings: ViewSettings,
    private readonly events: GridEvents,
  ) {
    this.applyChartDefaults();
  }

  setRuns(runs: RunData[]): void {
    this.runs = runs;
  }

  setSettings(settings: ViewSettings): void {
    this.settings = settings;
  }

  get zoom(): XRange | null {
    return this.range;
  }

  setZoom(range: XRange | null): void {
    this.range = range && range.max > range.min ? range : null;
    this.render();
    this.events.zoomed(this.range);
  }

  /** The charts in page order, with their ids (for export). */
  charts(): Array<{ id: string; title: string; canvas: HTMLCanvasElement; chart: LineChart }> {
    return [...this.cards.values()].map((c) => ({ id: c.spec.id, title: c.spec.title, canvas: c.canvas, chart: c.chart }));
  }

  /** What each visible chart draws: for the CSV export. */
  visibleSeries(): Array<{ run: RunData; key: string; label: string }> {
    const out: Array<{ run: RunData; key: string; label: string }> = [];
    const seen = new Set<string>();
    for (const card of this.cards.values()) {
      for (const s of card.sources) {
        const id = `${s.run.runId}\u0000${s.spec.key}`;
        if (s.part !== 'main' || seen.has(id) || !card.chart.isDatasetVisible(card.sources.indexOf(s))) continue;
        seen.add(id);
        out.push({ run: s.run, key: s.spec.key, label: s.spec.label });
      }
    }
    return out;
  }

  /** Draws everything again from the runs' data: after init, an append, or a settings change. */
  render(): void {
    const started = performance.now();
    this.slices = [];
    const keys = new Set<string>();
    for (const r of this.runs) for (const k of r.keys()) keys.add(k);
    const extent = this.extent();
    for (const spec of CHARTS) {
      const series = spec.series(keys).filter((s) => spec.always || keys.has(s.key));
      const shown = spec.always || series.length > 0;
      let card = this.cards.get(spec.id);
      if (!shown) {
        if (card) this.removeCard(card);
        continue;
      }
      card ??= this.addCard(spec);
      card.pending = { series, extent };
      // A folded card (every series switched off) is never in sight; fill() decides when it shows again.
      if (card.offscreen && !card.root.hidden) continue;
      if (performance.now() - started > FRAME_BUDGET_MS) continue; // drawn next frame (drawPending)
      card.pending = undefined;
      this.fill(card, series, extent);
    }
    this.publish();
    this.endSlice(started);
  }

  /** The charts a redraw left for later (see FRAME_BUDGET_MS), in page order, as many as fit in this frame. */
  private drawPending(): void {
    this.sliceFrame = 0;
    const started = performance.now();
    for (const card of this.cards.values()) {
      if (!card.pending || (card.offscreen && !card.root.hidden)) continue;
      if (performance.now() - started > FRAME_BUDGET_MS) break;
      const { series, extent } = card.pending;
      card.pending = undefined;
      this.fill(card, series, extent);
    }
    this.endSlice(started);
  }

  private endSlice(started: number): void {
    this.slices.push(performance.now() - started);
    const waiting = [...this.cards.values()].some((c) => c.pending && !(c.offscreen && !c.root.hidden));
    this.container.dataset.slices = this.slices.map((ms) => ms.toFixed(2)).join(' ');
    this.container.dataset.waiting = String(waiting);
    if (waiting && !this.sliceFrame) this.sliceFrame = requestAnimationFrame(() => this.drawPending());
  }

  applyColors(): void {
    this.colors = readThemeColors();
    this.applyChartDefaults();
    for (const card of this.cards.values()) card.shape = '';
    this.render();
  }

  // ---- building charts --------------------------------------------------------------------

  private addCard(spec: ChartSpec): Card {
    const root = document.createElement('section');
    root.className = 'card';
    root.dataset.chart = spec.id;
    const head = document.createElement('div');
    head.className = 'card-head';
    const title = document.createElement('span');
    title.className = 'card-title';
    title.textContent = spec.title;
    const legend = document.createElement('span');
    legend.className = 'legend';
    const png = document.createElement('vscode-button');
    png.setAttribute('appearance', 'icon');
    png.setAttribute('aria-label', `Save the ${spec.title} chart as PNG`);
    png.setAttribute('title', 'Save as PNG');
    png.className = 'png';
    png.dataset.chart = spec.id;
    png.textContent = 'PNG';
    head.append(title, legend, png);
    const body = document.createElement('div');
    body.className = 'card-body';
    const canvas = document.createElement('canvas');
    // The loss chart keeps the id the first panel had: tests and the empty-state overlay find it there.
    canvas.id = spec.id === 'loss' ? 'chart' : `chart-${spec.id}`;
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', `${spec.title} by step`);
    canvas.dataset.points = '0';
    body.append(canvas);
    if (spec.id === 'loss') {
      const empty = document.createElement('div');
      empty.className = 'empty';
      empty.id = 'chart-empty';
      empty.textContent = 'Waiting for the first training step…';
      body.append(empty);
    }
    root.append(head, body);
    // Cards keep CHARTS' order whatever order they appear in.
    const order = CHARTS.findIndex((c) => c.id === spec.id);
    const next = Array.from(this.container.children).find((el) => CHARTS.findIndex((c) => c.id === (el as HTMLElement).dataset.chart) > order);
    this.container.insertBefore(root, next ?? null);

    const chart = new Chart<'line', Data>(canvas, {
      type: 'line',
      data: { datasets: [] },
      options: {
        animation: false,
        parsing: false,
        normalized: true,
        maintainAspectRatio: false,
        interaction: { mode: 'nearest', axis: 'x', intersect: false },
        scales: {
          x: { type: 'linear', title: { display: true, text: 'step' }, ticks: { precision: 0 } },
          y: { type: 'linear', display: 'auto', position: 'left', title: { display: true, text: spec.yTitle }, ticks: { callback: (v) => tick(Number(v), spec) } },
          y1: {
            type: 'linear', display: 'auto', position: 'right', title: { display: !!spec.y1Title, text: spec.y1Title ?? '' },
            grid: { drawOnChartArea: false }, ticks: { callback: (v) => formatValue(Number(v)) },
          },
        },
        plugins: {
          decimation: { enabled: true, algorithm: 'lttb', samples: 500 },
          tooltip: {
            // The red dots outside the band repeat their curve's value; the tooltip names it once.
            filter: (item) => this.cards.get(spec.id)?.sources[item.datasetIndex]?.part !== 'outliers',
            callbacks: {
              title: (items) => (items.length ? `step ${(items[0].raw as Point).x}` : ''),
              label: (item) => {
                const source = this.cards.get(spec.id)?.sources[item.datasetIndex];
                const y = (item.raw as Point).y;
                const value = source && isRateKey(source.spec.key) ? formatRate(y) : formatValue(y);
                return `${item.dataset.label ?? ''}: ${value}`;
              },
            },
          },
          band: false,
          markers: { items: [] },
          crosshair: { step: null, color: this.colors.foreground },
        },
        onHover: (event) => {
          const x = event.x;
          if (x === null || x === undefined) return;
          this.hover(chart.scales.x.getValueForPixel(x) ?? null, chart);
        },
      },
    });
    canvas.addEventListener('mouseleave', () => this.hover(null, chart));
    this.bindZoom(canvas, chart, body);
    const card: Card = { spec, root, canvas, chart, shape: '', sources: [], offscreen: false };
    this.cards.set(spec.id, card);
    this.sight.observe(root);
    return card;
  }

  private removeCard(card: Card): void {
    this.sight.unobserve(card.root);
    card.chart.destroy();
    card.root.remove();
    this.cards.delete(card.spec.id);
  }

  private fill(card: Card, series: SeriesSpec[], extent: XRange | null): void {
    const { chart, spec } = card;
    const compare = this.runs.length > 1;
    const zoomed = this.range !== null;
    const sources: Source[] = [];
    const add = (run: RunData, s: SeriesSpec, part: Part, data: Point[]) => {
      // A lone point has no line to show it: draw it as a dot, so the first step is visible. Evaluations
      // are dots while there are few of them; a long run's thousand would merge into a thick band.
      const radius = part === 'outliers' ? 3 : s.dots ? (data.length <= MAX_EVAL_DOTS ? 3 : 0) : data.length === 1 ? 3 : 0;
      sources.push({ run, spec: s, part, data, radius });
    };
    for (const run of this.runs) {
      for (const s of series) {
        const view = run.series.get(s.key);
        // Fresh arrays: assigning goes through decimation's setter and makes Chart.js read the data again.
        add(run, s, 'main', view ? view.data(this.settings.smoothing, zoomed).slice() : []);
        if (s.earlier && view && view.earlier.length) add(run, s, 'earlier', view.earlier.slice());
        // Points outside the band as a dataset of their own: a per-point (scriptable) radius would make
        // Chart.js resolve options point by point on every redraw.
        if (spec.band) add(run, s, 'outliers', view ? outside(view.unsmoothed(zoomed), spec.band, this.range) : []);
      }
    }
    // The point radius is part of the shape: Chart.js keeps a dataset's resolved options, so a radius that
    // changes (a lone first point, then a line) takes a fresh dataset.
    const shape = sources.map((s) => `${s.run.runId}/${s.spec.key}/${s.part}/${s.radius}`).join('|');
    if (shape !== card.shape) {
      chart.data.datasets = sources.map((src) => this.dataset(src, series.indexOf(src.spec), compare));
      card.shape = shape;
      card.sources = sources;
      this.renderLegend(card, series);
    }
    let points = 0;
    sources.forEach((src, i) => {
      chart.data.datasets[i].data = src.data;
      if (src.part === 'main') points += src.run.series.get(src.spec.key)?.size ?? 0;
      const toggle = toggleOf(src.spec.key);
      chart.setDatasetVisibility(i, !(toggle && this.settings.hidden.has(toggle)));
    });
    chart.options.plugins!.band = spec.band ? { low: spec.band.low, high: spec.band.high, color: withAlpha(this.colors.band, 0.14) } : false;
    chart.options.plugins!.markers = { items: this.markerItems() };
    // The whole run comes already summarised (at most ~1,200 points a series); only a zoomed chart, handed the
    // full series, needs Chart.js to thin it. Off, the lines also take Chart.js's fast path (one segment per pixel column).
    chart.options.plugins!.decimation = { enabled: zoomed, algorithm: 'lttb', samples: 500 };
    const scales = chart.options.scales!;
    scales.x!.min = (this.range ?? extent)?.min;
    scales.x!.max = (this.range ?? extent)?.max;
    scales.y!.type = this.settings.logScale ? 'logarithmic' : 'linear';
    // A banded chart always shows its band, so a run far below or above it reads as such.
    if (spec.band) Object.assign(scales.y!, { suggestedMin: this.settings.logScale ? undefined : 0, suggestedMax: spec.band.high * 1.1 });
    // A chart whose every series the toolbar switched off is folded away rather than drawn empty.
    card.root.hidden = !spec.always && sources.every((_, i) => !chart.isDatasetVisible(i));
    chart.update('none');
    card.canvas.dataset.points = String(points);
    const items = this.markerItems();
    card.canvas.dataset.markers = items.map((m) => `${m.kind}@${m.step}`).join(' ');
    // Where each marker's flag is, in canvas pixels: what a person (and the end-to-end test) clicks.
    card.canvas.dataset.markerFlags = JSON.stringify(items.slice(-50).map((m) => ({
      kind: m.kind, step: m.step, checkpoint: m.checkpoint ?? null, x: Math.round(chart.scales.x.getPixelForValue(m.step)), y: Math.round(chart.chartArea.top + 4),
    })));
  }

  private dataset(src: Source, index: number, compare: boolean): ChartDataset<'line', Data> {
    const { run, spec } = src;
    const earlier = src.part === 'earlier';
    const palette = this.colors.palette;
    // One run: a colour per series. Several: a colour per run, and the chart's second series dashed.
    const color = compare ? palette[this.runs.indexOf(run) % palette.length] : palette[index % palette.length];
    const dashed = spec.dashed || (compare && index > 0 && !spec.dots);
    const label = `${compare ? `${run.run.name} · ` : ''}${spec.label}${earlier ? ' (before resume)' : src.part === 'outliers' ? ' (outside the band)' : ''}`;
    if (src.part === 'outliers') {
      return {
        label, yAxisID: spec.axis, data: [], showLine: false, pointRadius: 3, pointHoverRadius: 4,
        borderColor: this.colors.error, backgroundColor: this.colors.error, pointBackgroundColor: this.colors.error,
      };
    }
    return {
      label,
      yAxisID: spec.axis,
      data: [],
      borderColor: earlier ? withAlpha(color, 0.5) : color,
      backgroundColor: color,
      borderWidth: earlier ? 1 : 1.5,
      borderDash: earlier ? [2, 3] : dashed ? [5, 4] : [],
      pointRadius: src.radius,
      pointBackgroundColor: color,
      pointBorderColor: color,
      pointHoverRadius: 4,
      tension: 0,
    };
  }

  private renderLegend(card: Card, series: SeriesSpec[]): void {
    const legend = card.root.querySelector('.legend');
    if (!legend) return;
    legend.replaceChildren();
    const compare = this.runs.length > 1;
    const entries = compare
      ? this.runs.map((r, i) => ({ label: r.run.name, color: this.colors.palette[i % this.colors.palette.length], dashed: false }))
      : series.map((s, i) => ({ label: s.label, color: this.colors.palette[i % this.colors.palette.length], dashed: !!s.dashed }));
    if (card.spec.band) entries.push({ label: card.spec.band.label, color: withAlpha(this.colors.band, 0.5), dashed: false });
    for (const e of entries) {
      const item = document.createElement('span');
      item.className = 'legend-item';
      const swatch = document.createElement('span');
      swatch.className = e.dashed ? 'swatch dashed' : 'swatch';
      swatch.style.borderTopColor = e.color;
      item.append(swatch, document.createTextNode(e.label));
      legend.append(item);
    }
  }

  private markerItems(): DrawnMarker[] {
    const items: DrawnMarker[] = [];
    for (const run of this.runs) for (const m of run.markers) items.push(this.drawn(run, m));
    return items;
  }

  private drawn(run: RunData, m: RunMarker): DrawnMarker {
    const c = this.colors;
    const color = m.kind === 'checkpoint' ? c.checkpoint
      : m.kind === 'save' || m.kind === 'eval' ? c.control
        : m.kind === 'warning' && /non_finite|divergence/.test(m.code ?? '') ? c.error
          : m.kind === 'resume' ? c.foreground : c.warning;
    const text = this.runs.length > 1 ? `${run.run.name}: ${m.text}` : m.text;
    return { step: m.step, color, dashed: MARKER_DASHED.has(m.kind), text, runId: run.runId, checkpoint: m.checkpoint, kind: m.kind };
  }

  /** Every chart spans the same steps (the shown runs' first to last), so the grid reads as one axis. */
  private extent(): XRange | null {
    let min = Infinity;
    let max = -Infinity;
    for (const run of this.runs) {
      for (const view of run.series.values()) {
        const raw = view.raw;
        if (!raw.length) continue;
        min = Math.min(min, raw[0].x);
        max = Math.max(max, raw[raw.length - 1].x);
      }
      for (const m of run.markers) {
        min = Math.min(min, m.step);
        max = Math.max(max, m.step);
      }
    }
    if (!Number.isFinite(min)) return null;
    return min === max ? { min: min - 1, max: max + 1 } : { min, max };
  }

  private publish(): void {
    const loss = this.cards.get('loss');
    if (!loss) return;
    const main = ['loss', 'evalLoss', 'learningRate'];
    let points = 0;
    for (const run of this.runs) for (const key of main) points += run.series.get(key)?.size ?? 0;
    // What the first panel published on its canvas: points of the three main series, and the toggles shown.
    loss.canvas.dataset.points = String(points);
    loss.canvas.dataset.visibleSeries = ['loss', 'evalLoss', 'learningRate', 'gradNorm', 'tokensPerSec']
      .filter((k) => !this.settings.hidden.has(k as ToggleKey)).join(' ');
    loss.canvas.dataset.runs = String(this.runs.length);
    this.container.dataset.charts = [...this.cards.values()].filter((c) => !c.root.hidden).map((c) => c.spec.id).join(' ');
  }

  private applyChartDefaults(): void {
    Chart.defaults.color = this.colors.foreground;
    Chart.defaults.borderColor = this.colors.grid;
    Chart.defaults.font.family = this.colors.font;
  }

  // ---- synchronised hover and zoom --------------------------------------------------------

  private hover(step: number | null, from: LineChart): void {
    this.hoverStep = step;
    const marker = step === null ? undefined : markerAt(from, from.scales.x.getPixelForValue(step));
    from.canvas.title = marker?.text ?? '';
    from.canvas.style.cursor = marker?.checkpoint ? 'pointer' : 'crosshair';
    if (this.hoverFrame) return;
    this.hoverFrame = requestAnimationFrame(() => {
      this.hoverFrame = 0;
      for (const card of this.cards.values()) {
        const chart = card.chart;
        chart.options.plugins!.crosshair = { step: this.hoverStep, color: withAlpha(this.colors.foreground, 0.6) };
        if (chart === from) {
          chart.draw();
          continue;
        }
        if (this.hoverStep === null) {
          chart.setActiveElements([]);
          chart.tooltip?.setActiveElements([], { x: 0, y: 0 });
        } else {
          const x = chart.scales.x.getPixelForValue(this.hoverStep);
          const y = (chart.chartArea.top + chart.chartArea.bottom) / 2;
          const fake = { type: 'mousemove', x, y, native: null } as unknown as Event;
          const elements = chart.getElementsAtEventForMode(fake, 'nearest', { intersect: false, axis: 'x' }, false)
            .map(({ datasetIndex, index }) => ({ datasetIndex, index }));
          chart.setActiveElements(elements);
          chart.tooltip?.setActiveElements(elements, { x, y });
        }
        chart.update('none');
      }
    });
  }

  private bindZoom(canvas: HTMLCanvasElement, chart: LineChart, body: HTMLElement): void {
    const box = document.createElement('div');
    box.className = 'zoom-box';
    box.hidden = true;
    body.append(box);
    let start: number | null = null;
    canvas.addEventListener('mousedown', (e) => {
      if (e.button !== 0) return;
      start = e.offsetX;
    });
    canvas.addEventListener('mousemove', (e) => {
      if (start === null) return;
      const [a, b] = [Math.min(start, e.offsetX), Math.max(start, e.offsetX)];
      box.hidden = b - a < 4;
      box.style.left = `${canvas.offsetLeft + a}px`;
      box.style.width = `${b - a}px`;
      box.style.top = `${canvas.offsetTop + chart.chartArea.top}px`;
      box.style.height = `${chart.chartArea.bottom - chart.chartArea.top}px`;
    });
    const finish = (e: MouseEvent) => {
      if (start === null) return;
      const from = start;
      start = null;
      box.hidden = true;
      const dx = Math.abs(e.offsetX - from);
      if (dx < 4) {
        // A click, not a drag: a marker under it opens its menu.
        const marker = markerAt(chart, e.offsetX);
        canvas.dataset.lastClick = `${Math.round(e.offsetX)}:${marker ? `${marker.kind}@${marker.step}` : 'none'}`;
        if (marker) this.events.markerClicked(marker, e.clientX, e.clientY);
        return;
      }
      const x = chart.scales.x;
      const a = x.getValueForPixel(Math.min(from, e.offsetX));
      const b = x.getValueForPixel(Math.max(from, e.offsetX));
      if (a !== undefined && b !== undefined && b > a) this.setZoom({ min: Math.floor(a), max: Math.ceil(b) });
    };
    canvas.addEventListener('mouseup', finish);
    canvas.addEventListener('mouseleave', () => {
      start = null;
      box.hidden = true;
    });
    canvas.addEventListener('dblclick', () => this.setZoom(null));
  }
}

/** The points outside the band (in the zoomed range, if any), at most a few thousand: more would be a smear, not marks. */
function outside(points: readonly Point[], band: { low: number; high: number }, range: XRange | null): Point[] {
  const out: Point[] = [];
  for (const p of points) {
    if ((p.y < band.low || p.y > band.high) && (!range || (p.x >= range.min && p.x <= range.max))) out.push(p);
    if (out.length >= 5000) break;
  }
  return out;
}

function tick(v: number, spec: ChartSpec): string {
  return spec.id === 'learningRate' ? formatRate(v) : formatValue(v);
}
