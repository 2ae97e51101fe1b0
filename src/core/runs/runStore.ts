// Folds list_runs snapshots and the agent's event stream into a summary of every run, and keeps metric
// points only for the runs a view shows: hundreds of runs with thousands of steps each would otherwise
// all sit in the extension host's memory, and every connect would replay them.
// A shown run's points start from its history (run_history), which covers the run's events up to a seq
// (`head`); live events after that head are appended, those at or below it are already in the history.
// Live points that arrive while the history is on its way are held and merged when it lands.
// Pure data: the tree view and metrics panels subscribe to it; tests feed it events directly.
import type { AgentEvent, ResultOf, RunSummary } from '../protocol/messages';
import { historyPoints } from './history';
import { extraFigures, markerOf, mergeMarkers } from './runMarkers';
import { diskLowText } from './hostWarnings';
import { isActive, type HistoryStatus, type MetricPoint, type RunMarker, type RunRecord } from './types';

export interface RunChange {
  runId: string;
  /** Points added to a shown run by this change (empty for summary-only changes, and for runs no view shows). */
  points: MetricPoint[];
  /** The shown run's points started over (its history arrived, or the store was cleared): read them all again. */
  reset?: true;
  /** The run is gone (deleted); views of it should close. */
  removed?: true;
  /** Markers added to a shown run by this change (checkpoints, Save/Eval now results, warnings, resumes). */
  markers?: RunMarker[];
}

type Listener = (change: RunChange) => void;

interface ShownRun {
  views: number;
  /** Changes whenever the run's points start over, so an answer to an older history request is recognised. */
  epoch: number;
  history: HistoryStatus;
  /** The run's events up to this seq are in the history. */
  head: number;
  points: MetricPoint[];
  /** Live points that arrived while the history was loading, with their event's seq. */
  held: Array<{ seq: number; points: MetricPoint[] }>;
  /** Chart markers, by seq; those that arrive while the history loads wait in heldMarkers. */
  markers: RunMarker[];
  heldMarkers: RunMarker[];
  /** The run's config YAML as started (history details or run_created), for comparing runs. */
  config: string | null;
}

export class RunStore {
  private readonly runs = new Map<string, RunRecord>();
  /** The seq of the newest event folded into each run, to tell a run deleted elsewhere from one created after a listing. */
  private readonly runSeqs = new Map<string, number>();
  private readonly shown = new Map<string, ShownRun>();
  private readonly listeners = new Set<Listener>();
  private lastSeq = 0;
  /** Every event up to this seq is already folded into the summaries (the head of the latest listing). */
  private summaryHead = 0;
  private epochs = 0;

  /**
   * Merges a complete list_runs answer. Its summaries fold in every event up to `head`, so those events
   * do not touch the summaries again when they arrive; a run the listing lacks and no later event named
   * was deleted (by another window, say) and is dropped.
   */
  seed(summaries: RunSummary[], head: number): void {
    const listed = new Set<string>();
    for (const s of summaries) {
      listed.add(s.run_id);
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
    this.summaryHead = Math.max(this.summaryHead, head);
    for (const runId of [...this.runs.keys()]) {
      if (!listed.has(runId) && (this.runSeqs.get(runId) ?? 0) <= head) this.remove(runId);
    }
  }

  /** The stream starts after `seq` (subscribe {since: seq}): the store holds everything up to it. */
  followFrom(seq: number): void {
    this.lastSeq = Math.max(this.lastSeq, seq);
  }

  /** Applies one event; events at or below the last seq seen are ignored so a replay never doubles points. */
  apply(event: AgentEvent): void {
    if (event.seq <= this.lastSeq) return;
    this.lastSeq = event.seq;
    // The summaries of the latest listing already include every event up to its head.
    const folded = event.seq > this.summaryHead ? (this.fold(event), true) : this.foldUnlisted(event);
    const added = this.addPoints(event, pointsOf(event));
    const marked = this.addMarker(event);
    if (folded || added.length || marked.length) {
      this.emit({ runId: event.run_id, points: added, ...(marked.length ? { markers: marked } : {}) });
    }
  }

  /** Forgets a run (deleted on the agent). */
  remove(runId: string): void {
    if (!this.runs.delete(runId)) return;
    this.runSeqs.delete(runId);
    this.emit({ runId, points: [], removed: true });
  }

  /** Forgets everything: the agent root changed, and seqs of another root mean nothing here. Shown runs load afresh. */
  clear(): void {
    const ids = new Set([...this.runs.keys(), ...this.shown.keys()]);
    this.runs.clear();
    this.runSeqs.clear();
    this.lastSeq = 0;
    this.summaryHead = 0;
    for (const shown of this.shown.values()) this.restart(shown);
    for (const runId of ids) this.emit({ runId, points: [], ...(this.shown.has(runId) ? { reset: true as const } : {}) });
  }

  get(runId: string): RunRecord | undefined {
    const run = this.runs.get(runId);
    return run && { ...run };
  }

  /** Newest first, the order a person scans a run list in. */
  list(): RunRecord[] {
    return [...this.runs.values()].map((r) => ({ ...r })).sort((a, b) => b.created - a.created || b.runId.localeCompare(a.runId));
  }

  /** The points of a shown run (history, then live), including live ones held while its history loads; none for other runs. */
  points(runId: string): MetricPoint[] {
    const shown = this.shown.get(runId);
    if (!shown) return [];
    return [...shown.points, ...shown.held.flatMap((h) => h.points)];
  }

  /** The markers of a shown run, including those held while its history loads; none for other runs. */
  markers(runId: string): RunMarker[] {
    const shown = this.shown.get(runId);
    return shown ? [...shown.markers, ...shown.heldMarkers] : [];
  }

  /** A shown run's config YAML, once its history or its run_created event brought it. */
  config(runId: string): string | null {
    return this.shown.get(runId)?.config ?? null;
  }

  get seq(): number {
    return this.lastSeq;
  }

  // ---- shown runs -------------------------------------------------------------------------

  /** One more view shows the run; its points are kept from now on. True for the first view, whose history is to be loaded. */
  show(runId: string): boolean {
    const shown = this.shown.get(runId);
    if (shown) {
      shown.views++;
      return false;
    }
    this.shown.set(runId, this.restart({
      views: 1, epoch: 0, history: { state: 'loading' }, head: 0, points: [], held: [], markers: [], heldMarkers: [], config: null,
    }));
    return true;
  }

  /** One view fewer; when none is left the run's points are dropped. */
  hide(runId: string): void {
    const shown = this.shown.get(runId);
    if (shown && --shown.views <= 0) this.shown.delete(runId);
  }

  isShown(runId: string): boolean {
    return this.shown.has(runId);
  }

  shownRuns(): string[] {
    return [...this.shown.keys()];
  }

  history(runId: string): HistoryStatus | undefined {
    return this.shown.get(runId)?.history;
  }

  /** The token a history request for the run must bring back, while its history is still to be loaded. */
  historyEpoch(runId: string): number | undefined {
    const shown = this.shown.get(runId);
    return shown?.history.state === 'loading' ? shown.epoch : undefined;
  }

  /** Sets a shown run's points from its history plus the live points held meanwhile; false for a stale answer. */
  loadHistory(runId: string, epoch: number, result: ResultOf<'run_history'>): boolean {
    const shown = this.loading(runId, epoch);
    if (!shown) return false;
    const { points, received, logged } = historyPoints(result.series, result.extra_series);
    for (const h of shown.held) if (h.seq > result.head) points.push(...h.points);
    const markers: RunMarker[] = [];
    for (const e of result.events ?? []) {
      const m = markerOf(e.kind, e.data, e.seq);
      if (m) markers.push(m);
    }
    mergeMarkers(markers, shown.heldMarkers.filter((m) => m.seq > result.head));
    Object.assign(shown, {
      head: result.head, points, held: [], markers, heldMarkers: [], config: result.config ?? shown.config,
      history: { state: 'loaded', received, logged },
    });
    this.emit({ runId, points: [], reset: true });
    return true;
  }

  /** No history will come: the run's points are what arrived live since it was shown. */
  historyMissing(runId: string, epoch: number, status: Extract<HistoryStatus, { state: 'unavailable' | 'failed' }>): boolean {
    const shown = this.loading(runId, epoch);
    if (!shown) return false;
    Object.assign(shown, { head: 0, points: shown.held.flatMap((h) => h.points), held: [], markers: shown.heldMarkers, heldMarkers: [], history: status });
    this.emit({ runId, points: [], reset: true });
    return true;
  }

  onChange(listener: Listener): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  // ---- internals --------------------------------------------------------------------------

  private loading(runId: string, epoch: number): ShownRun | undefined {
    const shown = this.shown.get(runId);
    return shown && shown.epoch === epoch && shown.history.state === 'loading' ? shown : undefined;
  }

  private restart(shown: ShownRun): ShownRun {
    return Object.assign(shown, { epoch: ++this.epochs, history: { state: 'loading' }, head: 0, points: [], held: [], markers: [], heldMarkers: [] });
  }

  private addPoints(event: AgentEvent, points: MetricPoint[]): MetricPoint[] {
    const shown = this.shown.get(event.run_id);
    if (!shown || !points.length) return [];
    if (shown.history.state === 'loading') shown.held.push({ seq: event.seq, points });
    else if (event.seq > shown.head) shown.points.push(...points);
    else return [];
    return points;
  }

  private addMarker(event: AgentEvent): RunMarker[] {
    const shown = this.shown.get(event.run_id);
    if (!shown) return [];
    if (event.kind === 'run_created') shown.config = event.data.config;
    const marker = markerOf(event.kind, event.data, event.seq);
    if (!marker) return [];
    if (shown.history.state === 'loading') return mergeMarkers(shown.heldMarkers, [marker]);
    return event.seq > shown.head ? mergeMarkers(shown.markers, [marker]) : [];
  }

  private fold(event: AgentEvent): void {
    const run = this.runs.get(event.run_id) ?? this.placeholder(event.run_id, event.time);
    this.runs.set(run.runId, run);
    this.runSeqs.set(run.runId, event.seq);
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
        break;
      }
      default:
        // Not part of the summary; the event still proves the run exists.
        break;
    }
  }

  /**
   * A listing has no throughput, ETA or disk warning. An active run's events at or below its head (a replay
   * after a reconnect that arrives after the new listing) still bring those; a finished run needs none.
   */
  private foldUnlisted(event: AgentEvent): boolean {
    const run = this.runs.get(event.run_id);
    if (!run || !isActive(run)) return false;
    if (event.kind === 'metrics') {
      run.tokensPerSec = event.data.tokens_per_sec;
      run.etaS = event.data.eta_s;
    } else if (event.kind === 'disk_low') {
      run.diskLow = diskLowText(event.data);
    } else {
      return false;
    }
    return true;
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

/** The chart points an event carries. */
function pointsOf(event: AgentEvent): MetricPoint[] {
  if (event.kind === 'metrics') {
    const d = event.data;
    const extra = extraFigures(d as unknown as Record<string, unknown>);
    return [{
      kind: 'train', step: d.step, segment: d.segment ?? 0, loss: d.loss, learningRate: d.learning_rate, tokensPerSec: d.tokens_per_sec,
      gradNorm: d.grad_norm, ...(extra ? { extra } : {}),
    }];
  }
  if (event.kind === 'eval') return [{ kind: 'eval', step: event.data.step, segment: event.data.segment ?? 0, evalLoss: event.data.eval_loss }];
  return [];
}
