// Folds the agent's event stream (and list_runs snapshots) into per-run summaries and metric series.
// Pure data: the tree view and metrics panels subscribe to it; tests feed it events directly.
import type { AgentEvent, RunSummary } from '../protocol/messages';
import { diskLowText } from './hostWarnings';
import { isActive, type MetricPoint, type RunRecord } from './types';

export interface RunChange {
  runId: string;
  /** Points added by this change (empty for summary-only changes such as a state switch). */
  points: MetricPoint[];
}

type Listener = (change: RunChange) => void;

export class RunStore {
  private readonly runs = new Map<string, RunRecord>();
  private readonly series = new Map<string, MetricPoint[]>();
  private readonly listeners = new Set<Listener>();
  private lastSeq = 0;

  /** Merges a list_runs snapshot; the snapshot is newer than anything replayed before it. */
  seed(summaries: RunSummary[]): void {
    for (const s of summaries) {
      const prev = this.runs.get(s.run_id);
      this.runs.set(s.run_id, {
        runId: s.run_id,
        name: s.name,
        state: s.state,
        created: s.created,
        step: s.step,
        maxSteps: s.max_steps,
        loss: s.loss,
        error: s.error,
        tokensPerSec: prev?.tokensPerSec ?? null,
        etaS: prev?.etaS ?? null,
        damaged: s.damaged || null,
        // list_runs does not carry disk warnings; one seen on the stream holds while the run is still active.
        diskLow: isActive(s) ? prev?.diskLow ?? null : null,
      });
      this.emit({ runId: s.run_id, points: [] });
    }
  }

  /** Applies one event; events at or below the last seq seen are ignored so a replay never doubles points. */
  apply(event: AgentEvent): void {
    if (event.seq <= this.lastSeq) return;
    this.lastSeq = event.seq;
    const run = this.runs.get(event.run_id) ?? this.placeholder(event.run_id, event.time);
    this.runs.set(run.runId, run);
    const points: MetricPoint[] = [];
    switch (event.kind) {
      case 'run_created':
        run.name = event.data.name;
        run.created = event.time;
        break;
      case 'run_state':
        run.state = event.data.state;
        if (event.data.max_steps !== undefined) run.maxSteps = event.data.max_steps;
        // A run that starts again (or succeeds) no longer carries an earlier error.
        run.error = event.data.error ?? (event.data.state === 'failed' ? run.error : null);
        if (event.data.state !== 'running') {
          run.etaS = null;
          // A finished run needs no more space; one that starts again has its disk checked afresh.
          run.diskLow = null;
        }
        break;
      case 'disk_low':
        run.diskLow = diskLowText(event.data);
        break;
      case 'metrics': {
        const d = event.data;
        run.step = d.step;
        run.maxSteps = d.max_steps;
        if (d.loss !== null) run.loss = d.loss;
        run.tokensPerSec = d.tokens_per_sec;
        run.etaS = d.eta_s;
        points.push({ kind: 'train', step: d.step, segment: d.segment ?? 0, loss: d.loss, learningRate: d.learning_rate, tokensPerSec: d.tokens_per_sec });
        break;
      }
      case 'eval':
        points.push({ kind: 'eval', step: event.data.step, segment: event.data.segment ?? 0, evalLoss: event.data.eval_loss });
        break;
      case 'checkpoint':
      case 'log':
        // Not part of the summary or the chart; the event still proves the run exists.
        break;
    }
    if (points.length) this.seriesOf(run.runId).push(...points);
    this.emit({ runId: run.runId, points });
  }

  /** Forgets everything: the agent root changed, and seqs of another root mean nothing here. */
  clear(): void {
    const ids = [...this.runs.keys()];
    this.runs.clear();
    this.series.clear();
    this.lastSeq = 0;
    for (const runId of ids) this.emit({ runId, points: [] });
  }

  get(runId: string): RunRecord | undefined {
    const run = this.runs.get(runId);
    return run && { ...run };
  }

  /** Newest first, the order a person scans a run list in. */
  list(): RunRecord[] {
    return [...this.runs.values()].map((r) => ({ ...r })).sort((a, b) => b.created - a.created || b.runId.localeCompare(a.runId));
  }

  points(runId: string): MetricPoint[] {
    return [...(this.series.get(runId) ?? [])];
  }

  get seq(): number {
    return this.lastSeq;
  }

  onChange(listener: Listener): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private seriesOf(runId: string): MetricPoint[] {
    let s = this.series.get(runId);
    if (!s) this.series.set(runId, (s = []));
    return s;
  }

  // Events can arrive for a run list_runs has not shown yet (it was created a moment ago).
  private placeholder(runId: string, time: number): RunRecord {
    return {
      runId, name: runId, state: 'starting', created: time, step: 0, maxSteps: null, loss: null,
      tokensPerSec: null, etaS: null, error: null, damaged: null, diskLow: null,
    };
  }

  private emit(change: RunChange): void {
    for (const l of [...this.listeners]) l(change);
  }
}
