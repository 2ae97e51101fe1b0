// Browser side of the chart bench (chart_draw.ts), loaded next to the real metrics webview in one page.
// It makes the 1 M-step run in the page itself (shipping millions of points through the debugger
// protocol would measure the wire, not the chart) and times two ways of drawing it:
// - `drawAll`: plain Chart.js drawing every point, decimation off (the baseline);
// - `drawThroughPanel`: the metrics webview's own message handler given an `init` (what the extension
//   host posts), with either the downsampled history or, as the extension did before, every point.
import {
  Chart, LinearScale, LineController, LineElement, PointElement,
} from 'chart.js';
import { syntheticEvalLoss, syntheticLoss, syntheticLr } from '../support/syntheticCurve';
import type { HistoryStatus, MetricPoint, RunRecord } from '../../webview/metrics/protocol';

Chart.register(LineController, LineElement, PointElement, LinearScale);

type XY = { x: number; y: number };

const nextFrame = () => new Promise<void>((resolve) => requestAnimationFrame(() => requestAnimationFrame(() => resolve())));

let baseline: Chart<'line', XY[]> | undefined;

/** Every logged point of a run of `steps` steps with an eval every `evalEvery`, as the old `init` carried them. */
function allPoints(steps: number, evalEvery: number): MetricPoint[] {
  const points: MetricPoint[] = [];
  for (let step = 1; step <= steps; step++) {
    points.push({ kind: 'train', step, segment: 0, loss: syntheticLoss(step), learningRate: syntheticLr(step), tokensPerSec: 5000 });
    if (step % evalEvery === 0) points.push({ kind: 'eval', step, segment: 0, evalLoss: syntheticEvalLoss(step) });
  }
  return points;
}

const bench = {
  /** Baseline: Chart.js, every point of every series, no decimation. Returns [ms until drawn, ms until the next frame]. */
  async drawAll(steps: number, evalEvery: number): Promise<[number, number]> {
    const loss: XY[] = new Array(steps);
    const lr: XY[] = new Array(steps);
    const evals: XY[] = [];
    for (let step = 1; step <= steps; step++) {
      loss[step - 1] = { x: step, y: syntheticLoss(step) };
      lr[step - 1] = { x: step, y: syntheticLr(step) };
      if (step % evalEvery === 0) evals.push({ x: step, y: syntheticEvalLoss(step) });
    }
    baseline?.destroy();
    const canvas = document.getElementById('baseline') as HTMLCanvasElement;
    await nextFrame();
    const t0 = performance.now();
    baseline = new Chart<'line', XY[]>(canvas, {
      type: 'line',
      data: {
        datasets: [
          { label: 'loss', data: loss, yAxisID: 'y', borderWidth: 1.5, pointRadius: 0 },
          { label: 'eval loss', data: evals, yAxisID: 'y', borderWidth: 1.5, pointRadius: 3 },
          { label: 'learning rate', data: lr, yAxisID: 'y1', borderWidth: 1.5, pointRadius: 0, borderDash: [5, 4] },
        ],
      },
      options: {
        animation: false, parsing: false, normalized: true, maintainAspectRatio: false,
        scales: { x: { type: 'linear' }, y: { type: 'linear' }, y1: { type: 'linear', position: 'right' } },
      },
    });
    const t1 = performance.now();
    await nextFrame();
    return [t1 - t0, performance.now() - t0];
  },

  /** The metrics webview handling an `init`; `points` null means every point of the run (the old way). */
  async drawThroughPanel(run: RunRecord, points: MetricPoint[] | null, history: HistoryStatus, steps: number, evalEvery: number): Promise<[number, number]> {
    const data = { type: 'init', runs: [{ run, points: points ?? allPoints(steps, evalEvery), markers: [], history }], diff: null, connected: true };
    await nextFrame();
    const t0 = performance.now();
    // Dispatched, not posted: the handler runs now, so the time is the panel's own work (validate, series, draw).
    window.dispatchEvent(new MessageEvent('message', { data }));
    const t1 = performance.now();
    await nextFrame();
    return [t1 - t0, performance.now() - t0];
  },

  drawnPoints(): number {
    return Number(document.getElementById('chart')?.getAttribute('data-points'));
  },
};

(window as unknown as { chartBench: typeof bench }).chartBench = bench;
