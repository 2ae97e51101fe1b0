// What the extension knows about a run, folded from list_runs and the agent's event stream.
import type { RunState } from '../protocol/messages';

export type { RunState };

export interface RunRecord {
  runId: string;
  name: string;
  state: RunState;
  /** Unix time in seconds. */
  created: number;
  step: number;
  maxSteps: number | null;
  loss: number | null;
  tokensPerSec: number | null;
  etaS: number | null;
  error: string | null;
  /** What part of the run's files the agent could not read (list_runs says so), or null. */
  damaged: string | null;
  /** The message of the latest disk_low event while the run is active; null once it ends or starts again. */
  diskLow: string | null;
}

/** One training log line (metrics event). */
export interface TrainPoint {
  kind: 'train';
  step: number;
  /** 0 for the first launch, +1 per resume (steps after the resumed checkpoint are logged again). */
  segment: number;
  loss: number | null;
  learningRate: number | null;
  tokensPerSec: number | null;
  /** Absent in points from before the dashboard; null when the step logged none. */
  gradNorm?: number | null;
  /** The metrics event's nested figures, named "<group>.<key>": loss_terms.ce_loss, lr_groups.default, gpu.peak_mb, preference.margin. */
  extra?: Record<string, number>;
}

/** One evaluation (eval event). */
export interface EvalPoint {
  kind: 'eval';
  step: number;
  segment: number;
  evalLoss: number | null;
}

export type MetricPoint = TrainPoint | EvalPoint;

export const ACTIVE_STATES: ReadonlySet<RunState> = new Set(['starting', 'running']);
export const isActive = (r: Pick<RunRecord, 'state'>): boolean => ACTIVE_STATES.has(r.state);

/**
 * Where a shown run's chart history stands. `loaded`: `received` points arrived for the charted series,
 * out of `logged` points the run logged (more logged than received: the agent downsampled them).
 * `unavailable`: the agent cannot send history (too old, or it has none for this run); `failed`: it
 * answered with an error. In both of those the chart holds the points that arrived since it opened.
 */
export type HistoryStatus =
  | { state: 'loading' }
  | { state: 'loaded'; received: number; logged: number }
  | { state: 'unavailable'; reason: string }
  | { state: 'failed'; reason: string };

/** What a chart marks on its step axis. */
export type MarkerKind = 'checkpoint' | 'save' | 'eval' | 'warning' | 'early_stop' | 'resume';

export interface RunMarker {
  /** The event's seq: orders markers, and tells a replayed one from a new one. */
  seq: number;
  kind: MarkerKind;
  step: number;
  segment: number;
  /** One line for people (a tooltip). */
  text: string;
  /** The checkpoint a click can chat with, evaluate or resume from. */
  checkpoint?: string;
  /** A warning's code: non_finite_loss, grad_norm_band, eval_loss_rising, warmup_capped, divergence, ... */
  code?: string;
}
