// The checkpoints of each run the Runs view has expanded: first what list_checkpoints says, then kept
// current from the event stream (checkpoint, checkpoint_removed, eval). The agent decides which checkpoint
// is best (the listing's is_best); between listings an eval event that says `best` marks its step.
// Pure data: the tree asks `get`, which starts a listing the first time; tests drive it with events.
import type { AgentEvent, Checkpoint, EvaluationResult } from '../protocol/messages';
import { FINAL_RUN_STATES } from '../protocol/messages';

export interface CheckpointEntry {
  name: string;
  step: number;
  evalLoss: number | null;
  isBest: boolean;
  /** The latest evaluation of this checkpoint made from this window (evaluate), if any. */
  scores: EvaluationResult | null;
}

/** Where a run's list stands: not asked yet, being listed, listed (then live), or the listing failed. */
export type CheckpointListState =
  | { state: 'loading' }
  | { state: 'loaded'; checkpoints: CheckpointEntry[] }
  | { state: 'failed'; reason: string };

type Lister = (runId: string) => Promise<Checkpoint[]>;

interface RunCheckpoints {
  /** Bumped whenever the run's list starts over, so an older listing's answer is recognised and dropped. */
  epoch: number;
  listing: boolean;
  failed: string | null;
  entries: Map<string, CheckpointEntry>;
  /** Live changes seen while a listing was in flight: replayed on top of its answer, so none is lost. */
  journal: AgentEvent[];
  /** The step an eval event called best (the checkpoint at that step may be written after the event). */
  bestStep: number | null;
  /** Eval losses by step seen live: a checkpoint saved after the evaluation of its step takes its loss. */
  evalLosses: Map<number, number | null>;
}

export class CheckpointList {
  private readonly runs = new Map<string, RunCheckpoints>();
  private readonly listeners = new Set<(runId: string) => void>();
  private readonly scores = new Map<string, EvaluationResult>();
  private epochs = 0;

  constructor(private readonly list: Lister) {}

  /** The run's checkpoints, newest first; the first call starts a listing and answers `loading`. */
  get(runId: string): CheckpointListState {
    let run = this.runs.get(runId);
    if (!run) {
      run = { epoch: ++this.epochs, listing: false, failed: null, entries: new Map(), journal: [], bestStep: null, evalLosses: new Map() };
      this.runs.set(runId, run);
      this.load(runId, run);
    }
    if (run.failed !== null) return { state: 'failed', reason: run.failed };
    if (run.listing) return { state: 'loading' };
    return { state: 'loaded', checkpoints: this.entries(runId, run) };
  }

  /** What get() would answer, without listing a run never asked about (undefined then). */
  peek(runId: string): CheckpointListState | undefined {
    return this.runs.has(runId) ? this.get(runId) : undefined;
  }

  /** Folds one event of the stream; events of runs never asked about are ignored (their listing will have them). */
  apply(event: AgentEvent): void {
    const run = this.runs.get(event.run_id);
    if (!run) return;
    if (event.kind === 'run_state' && FINAL_RUN_STATES.includes(event.data.state)) {
      // The agent settles the best checkpoint when the run ends; list again to show its choice.
      this.relist(event.run_id, run);
      return;
    }
    if (!['checkpoint', 'checkpoint_removed', 'eval'].includes(event.kind)) return;
    if (run.listing) run.journal.push(event);
    else if (this.fold(run, event)) this.emit(event.run_id);
  }

  /** Keeps an evaluation's scores with its checkpoint (shown under it from now on). */
  setScores(runId: string, checkpoint: string, result: EvaluationResult): void {
    this.scores.set(key(runId, checkpoint), result);
    this.emit(runId);
  }

  scoresOf(runId: string, checkpoint: string): EvaluationResult | null {
    return this.scores.get(key(runId, checkpoint)) ?? null;
  }

  /** Forgets every list (another agent, or a new connection that may have missed events); expanded runs list again. */
  clear(): void {
    const ids = [...this.runs.keys()];
    this.runs.clear();
    for (const id of ids) this.emit(id);
  }

  /** Drops one run (deleted). */
  forget(runId: string): void {
    if (this.runs.delete(runId)) this.emit(runId);
  }

  onChange(listener: (runId: string) => void): { dispose(): void } {
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  private relist(runId: string, run: RunCheckpoints): void {
    run.epoch = ++this.epochs;
    this.load(runId, run);
  }

  private load(runId: string, run: RunCheckpoints): void {
    const epoch = run.epoch;
    run.listing = true;
    run.journal = [];
    this.list(runId).then((checkpoints) => {
      if (this.runs.get(runId) !== run || run.epoch !== epoch) return;
      run.entries = new Map(checkpoints.map((c) => [c.name, { name: c.name, step: c.step, evalLoss: c.eval_loss, isBest: c.is_best, scores: null }]));
      // The listing's is_best is the agent's decision; an eval after it may still move the mark.
      run.bestStep = null;
      run.failed = null;
      for (const e of run.journal) this.fold(run, e);
      run.journal = [];
      run.listing = false;
      this.emit(runId);
    }, (e: unknown) => {
      if (this.runs.get(runId) !== run || run.epoch !== epoch) return;
      run.listing = false;
      run.failed = e instanceof Error ? e.message : String(e);
      this.emit(runId);
    });
  }

  /** True when the run's list changed. */
  private fold(run: RunCheckpoints, event: AgentEvent): boolean {
    switch (event.kind) {
      case 'checkpoint': {
        const d = event.data;
        const evalLoss = d.eval_loss ?? run.evalLosses.get(d.step) ?? [...run.entries.values()].find((c) => c.step === d.step)?.evalLoss ?? null;
        run.entries.set(d.name, { name: d.name, step: d.step, evalLoss, isBest: run.bestStep === d.step, scores: null });
        if (run.bestStep === d.step) this.markBest(run, d.name);
        return true;
      }
      case 'checkpoint_removed':
        return run.entries.delete(event.data.name);
      case 'eval': {
        const d = event.data;
        run.evalLosses.set(d.step, d.eval_loss);
        let changed = false;
        for (const c of run.entries.values()) {
          if (c.step === d.step && c.evalLoss !== d.eval_loss) {
            c.evalLoss = d.eval_loss;
            changed = true;
          }
        }
        if (d.best) {
          run.bestStep = d.step;
          const at = [...run.entries.values()].find((c) => c.step === d.step);
          if (at) this.markBest(run, at.name);
          changed = true;
        }
        return changed;
      }
      default:
        return false;
    }
  }

  private markBest(run: RunCheckpoints, name: string): void {
    for (const c of run.entries.values()) c.isBest = c.name === name;
  }

  private entries(runId: string, run: RunCheckpoints): CheckpointEntry[] {
    return [...run.entries.values()]
      .map((c) => ({ ...c, scores: this.scores.get(key(runId, c.name)) ?? null }))
      .sort((a, b) => b.step - a.step || b.name.localeCompare(a.name));
  }

  private emit(runId: string): void {
    for (const l of [...this.listeners]) l(runId);
  }
}

const key = (runId: string, checkpoint: string) => `${runId}\u0000${checkpoint}`;
