// Turns a run_history answer into the chart's points. The agent downsamples each series on its own,
// so loss and learning rate need not share steps: values logged at the same (segment, step) become one
// point again, and a step only one series kept stands alone with the other value null.
import type { HistorySeries, HistorySeriesName, ResultOf } from '../protocol/messages';
import type { EvalPoint, MetricPoint, TrainPoint } from './types';

/** The main series the metrics dashboard draws; the nested figures come as run_history's extra_series. */
export const CHART_SERIES = ['loss', 'eval_loss', 'learning_rate', 'grad_norm', 'tokens_per_sec'] as const satisfies readonly HistorySeriesName[];

/**
 * Points per series asked for when a chart opens. The chart is a few hundred to two thousand pixels wide
 * and Chart.js thins what it draws to 400 samples anyway; 2,000 keeps a 1 M-step run's answer to about
 * 100 kB while a zoomed-out curve still shows every spike the agent's LTTB keeps.
 */
export const HISTORY_MAX_POINTS = 2000;

export interface HistoryPoints {
  points: MetricPoint[];
  /** Points received over all charted series. */
  received: number;
  /** Points the run logged in those series, before the agent downsampled them. */
  logged: number;
}

type Series = ResultOf<'run_history'>['series'];

export function historyPoints(series: Series, extraSeries: Record<string, HistorySeries> = {}): HistoryPoints {
  const train = new Map<string, TrainPoint>();
  const trainAt = (segment: number, step: number): TrainPoint => {
    const key = `${segment}:${step}`;
    let p = train.get(key);
    if (!p) train.set(key, (p = { kind: 'train', step, segment, loss: null, learningRate: null, tokensPerSec: null, gradNorm: null }));
    return p;
  };
  forEachPoint(series.loss, (step, segment, value) => (trainAt(segment, step).loss = value));
  forEachPoint(series.learning_rate, (step, segment, value) => (trainAt(segment, step).learningRate = value));
  forEachPoint(series.grad_norm, (step, segment, value) => (trainAt(segment, step).gradNorm = value));
  forEachPoint(series.tokens_per_sec, (step, segment, value) => (trainAt(segment, step).tokensPerSec = value));
  for (const [name, s] of Object.entries(extraSeries)) {
    forEachPoint(s, (step, segment, value) => {
      const p = trainAt(segment, step);
      (p.extra ??= {})[name] = value;
    });
  }
  const evals: EvalPoint[] = [];
  forEachPoint(series.eval_loss, (step, segment, evalLoss) => evals.push({ kind: 'eval', step, segment, evalLoss }));
  // As the run logged them: by segment, then step, a step's training line before its evaluation.
  const points: MetricPoint[] = [...train.values(), ...evals].sort(
    (a, b) => a.segment - b.segment || a.step - b.step || (a.kind === b.kind ? 0 : a.kind === 'train' ? -1 : 1));
  let received = 0;
  let logged = 0;
  for (const name of CHART_SERIES) {
    const s = series[name];
    if (!s) continue;
    received += pointCount(s);
    logged += Math.max(s.total, pointCount(s));
  }
  return { points, received, logged };
}

// The schema cannot say the three arrays have one length; a ragged answer counts only its whole points.
const pointCount = (s: HistorySeries): number => Math.min(s.step.length, s.value.length, s.segment.length);

function forEachPoint(s: HistorySeries | undefined, fn: (step: number, segment: number, value: number) => void): void {
  if (!s) return;
  const n = pointCount(s);
  for (let i = 0; i < n; i++) fn(s.step[i], s.segment[i], s.value[i]);
}
