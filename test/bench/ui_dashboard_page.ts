// Browser side of the dashboard bench (ui_dashboard.ts), loaded next to the real metrics webview in one
// page. The run is made in the page itself (shipping millions of points through the debugger protocol would
// measure the wire, not the dashboard). Two ways of drawing the same series:
// - the dashboard: the webview's own message handler given `init` (every point of every series, as if the
//   host had sent a whole 1 M-step run), then `append` with one live step;
// - the baseline: plain Chart.js without decimation, one chart per series (the dashboard's layout), given
//   the same points, then one point pushed to each chart and redrawn.
import { Chart, LinearScale, LineController, LineElement, PointElement } from 'chart.js';
import type { MetricPoint, RunRecord } from '../../webview/metrics/protocol';
import { syntheticEvalLoss, syntheticLoss, syntheticLr } from '../support/syntheticCurve';

Chart.register(LineController, LineElement, PointElement, LinearScale);

type XY = { x: number; y: number };
const gradNorm = (step: number) => 3 + 1.5 * Math.sin(step / 50) + (step % 9973 === 0 ? 6 : 0);
const tokens = (step: number) => 5000 + 300 * Math.sin(step / 300);

const nextFrame = () => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve())));

/** Resolves when the dashboard has finished its next redraw (main.ts counts them on <body>). */
function nextRender(): Promise<void> {
  const before = document.body.dataset.renders;
  return new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      if (document.body.dataset.renders !== before) {
        observer.disconnect();
        resolve();
      }
    });
    observer.observe(document.body, { attributes: true, attributeFilter: ['data-renders'] });
  });
}

/** Resolves once no chart waits for a later frame (chartGrid.ts draws at most two per frame). */
function settled(): Promise<void> {
  return new Promise((resolve) => {
    const check = () => (document.getElementById('charts')!.dataset.waiting === 'true' ? requestAnimationFrame(check) : resolve());
    check();
  });
}

/** [ms of the first frame (main.ts's redraw), ms of the longest frame of chart work]. */
function frames(): [number, number] {
  const first = Number(document.body.dataset.renderMs);
  const later = (document.getElementById('charts')!.dataset.slices ?? '').split(' ').slice(1).map(Number);
  return [first, Math.max(first, ...later)];
}

let baselines: Array<Chart<'line', XY[]>> = [];
let lastStep = 0;

function trainPoint(step: number): MetricPoint {
  return { kind: 'train', step, segment: 0, loss: syntheticLoss(step), learningRate: syntheticLr(step), tokensPerSec: tokens(step), gradNorm: gradNorm(step) };
}

const bench = {
  /** The dashboard opening a run of `steps` steps; [ms in the message handler, ms until every chart is drawn, ms of the longest frame]. */
  async open(run: RunRecord, steps: number, evalEvery: number): Promise<[number, number, number]> {
    const points: MetricPoint[] = new Array(steps);
    for (let step = 1; step <= steps; step++) points[step - 1] = trainPoint(step);
    for (let step = evalEvery; step <= steps; step += evalEvery) points.push({ kind: 'eval', step, segment: 0, evalLoss: syntheticEvalLoss(step) });
    const markers = [
      { seq: 1, kind: 'checkpoint', step: Math.floor(steps / 2), segment: 0, text: 'checkpoint saved (scheduled)', checkpoint: `checkpoint-${Math.floor(steps / 2)}` },
      { seq: 2, kind: 'warning', step: Math.floor(steps * 0.8), segment: 0, text: 'grad norm 9.0 above the band', code: 'grad_norm_band' },
    ];
    lastStep = steps;
    const data = { type: 'init', runs: [{ run, points, markers, history: { state: 'loaded', received: points.length, logged: points.length } }], diff: null, connected: true };
    await nextFrame();
    const rendered = nextRender();
    const t0 = performance.now();
    window.dispatchEvent(new MessageEvent('message', { data }));
    const t1 = performance.now();
    await rendered;
    await settled();
    return [t1 - t0, performance.now() - t0, frames()[1]];
  },

  /**
   * The dashboard opening the same run as the extension does: from its history, downsampled by the agent to
   * 2,000 points per series (every (steps/2,000)th step stands in for LTTB's pick); [ms handler, ms until drawn].
   */
  async openHistory(run: RunRecord, steps: number): Promise<[number, number, number]> {
    const every = Math.max(1, Math.floor(steps / 2000));
    const points: MetricPoint[] = [];
    for (let step = every; step <= steps; step += every) points.push(trainPoint(step));
    lastStep = steps;
    const data = { type: 'init', runs: [{ run, points, markers: [], history: { state: 'loaded', received: points.length * 4, logged: steps * 4 } }], diff: null, connected: true };
    await nextFrame();
    const rendered = nextRender();
    const t0 = performance.now();
    window.dispatchEvent(new MessageEvent('message', { data }));
    const t1 = performance.now();
    await rendered;
    await settled();
    return [t1 - t0, performance.now() - t0, frames()[1]];
  },

  /** One live step appended; [ms in the handler, ms of the longest frame of chart work, ms until every chart is current]. */
  async append(run: RunRecord): Promise<[number, number, number]> {
    lastStep += 1;
    const data = { type: 'append', run: { ...run, step: lastStep }, points: [trainPoint(lastStep)], markers: [] };
    await nextFrame();
    const rendered = nextRender();
    const t0 = performance.now();
    window.dispatchEvent(new MessageEvent('message', { data }));
    const t1 = performance.now();
    await rendered;
    await settled();
    return [t1 - t0, frames()[1], performance.now() - t0];
  },

  /** Baseline: one undecimated Chart.js chart per series, same points; ms until all are drawn. */
  async baselineOpen(steps: number, evalEvery: number): Promise<number> {
    for (const c of baselines) c.destroy();
    const series: Array<[string, (s: number) => number, number]> = [
      ['loss', syntheticLoss, 1], ['eval', syntheticEvalLoss, evalEvery], ['lr', syntheticLr, 1], ['grad', gradNorm, 1], ['tokens', tokens, 1],
    ];
    const data = series.map(([, f, every]) => {
      const out: XY[] = [];
      for (let step = every; step <= steps; step += every) out.push({ x: step, y: f(step) });
      return out;
    });
    await nextFrame();
    const t0 = performance.now();
    const groups = [[0, 1], [2], [3], [4]];
    baselines = groups.map((g, i) => new Chart<'line', XY[]>(document.getElementById(`baseline-${i}`) as HTMLCanvasElement, {
      type: 'line',
      data: { datasets: g.map((d) => ({ label: series[d][0], data: data[d], borderWidth: 1.5, pointRadius: d === 1 ? 3 : 0 })) },
      options: { animation: false, parsing: false, normalized: true, maintainAspectRatio: false, scales: { x: { type: 'linear' }, y: { type: 'linear' } } },
    }));
    return performance.now() - t0;
  },

  /** Baseline: one point pushed to each series and every chart redrawn; ms. */
  baselineAppend(): number {
    const step = lastStep + 1;
    const t0 = performance.now();
    const values = [[syntheticLoss(step)], [syntheticLr(step)], [gradNorm(step)], [tokens(step)]];
    baselines.forEach((c, i) => {
      c.data.datasets[0].data.push({ x: step, y: values[i][0] });
      c.update('none');
    });
    return performance.now() - t0;
  },

  summary(): { points: number; charts: string; markers: string } {
    const canvas = document.getElementById('chart')!;
    return { points: Number(canvas.dataset.points), charts: document.getElementById('charts')!.dataset.charts ?? '', markers: canvas.dataset.markers ?? '' };
  },
};

(window as unknown as { dashboardBench: typeof bench }).dashboardBench = bench;
