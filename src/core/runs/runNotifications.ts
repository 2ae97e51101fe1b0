// Decides which run events a person is told about, how (a toast or the status bar only), in what words, and
// with which actions. Pure: the VS Code side (src/vscode/runNotifier.ts) feeds it every event and shows what
// it returns. Replayed events still teach it (checkpoints, earlier warnings) but never pop anything up.
import type { AgentEvent, EventOf } from '../protocol/messages';
import { LIVE_EVENT_WINDOW_S } from './hostWarnings';

/** The kinds a person can mute one by one (setting `tunelab.notifications`). */
export const NOTIFICATION_KINDS = ['completed', 'failed', 'nonFiniteLoss', 'lossDiverging', 'gradNorm', 'evalLossRising', 'checkpoint'] as const;
export type NotificationKind = typeof NOTIFICATION_KINDS[number];

export type NoticeAction =
  | { kind: 'showLog' }
  | { kind: 'openMetrics' }
  /** `checkpoint` is the best one known (lowest eval loss), absent when none was seen. */
  | { kind: 'chatWithBest'; checkpoint?: string };

export interface RunNotice {
  kind: NotificationKind;
  runId: string;
  /** `status`: the status bar only, never a toast (a saved checkpoint is good news, not an interruption). */
  severity: 'info' | 'warning' | 'error' | 'status';
  text: string;
  actions: NoticeAction[];
}

/** Which kinds are muted: the setting's value, anything not `false` stays on (a bad value mutes nothing). */
export function mutedKinds(setting: unknown): Set<NotificationKind> {
  const muted = new Set<NotificationKind>();
  if (!setting || typeof setting !== 'object') return muted;
  for (const kind of NOTIFICATION_KINDS) if ((setting as Record<string, unknown>)[kind] === false) muted.add(kind);
  return muted;
}

/**
 * Loss diverging: the smoothed loss has climbed to twice its lowest value (and by at least 0.5, so a loss
 * near zero wobbling is not news) after enough points to have a baseline. NaN/Inf is the agent's own warning.
 */
export const DIVERGENCE = { minPoints: 10, smoothing: 0.2, ratio: 2, margin: 0.5 } as const;

interface RunWatch {
  checkpoints: Map<string, { step: number; evalLoss: number | null }>;
  /** Steps whose eval was the best so far (eval events with best: true). */
  bestSteps: number[];
  evalRisingSeen: number;
  smoothed: number | null;
  lowest: number | null;
  points: number;
  divergingTold: boolean;
  /** A NaN/Inf warning was shown; the failure that follows it says nothing new. */
  nonFiniteTold: boolean;
  earlyStop: string | null;
}

export class RunNotifications {
  private readonly runs = new Map<string, RunWatch>();
  /** "<run id>#<seq>" of each event already considered, so a replay of it is neither counted nor shown twice. */
  private readonly seen = new Set<string>();

  constructor(
    /** Unix time in seconds (injectable for tests). */
    private readonly nowS: () => number = () => Date.now() / 1000,
    private readonly windowS: number = LIVE_EVENT_WINDOW_S,
  ) {}

  /** The notice for this event, or undefined. `runName` is how the person knows the run; `muted` comes from the setting. */
  consider(event: AgentEvent, runName?: string, muted: ReadonlySet<NotificationKind> = new Set()): RunNotice | undefined {
    const key = `${event.run_id}#${event.seq}`;
    if (this.seen.has(key)) return undefined;
    this.seen.add(key);
    const notice = this.learn(event, runName?.trim() || event.run_id);
    // Compared as "younger than the window" so NaN/garbage times are never treated as live.
    const live = this.nowS() - event.time < this.windowS;
    if (!notice || !live || muted.has(notice.kind)) return undefined;
    return notice;
  }

  /** The best checkpoint seen for a run: the lowest eval loss, else the one saved at a best eval, else the latest. */
  bestCheckpoint(runId: string): string | undefined {
    const run = this.runs.get(runId);
    if (!run || run.checkpoints.size === 0) return undefined;
    const all = [...run.checkpoints.entries()].map(([name, c]) => ({ name, ...c }));
    const scored = all.filter((c) => c.evalLoss !== null && Number.isFinite(c.evalLoss));
    if (scored.length) return scored.reduce((a, b) => (b.evalLoss! < a.evalLoss! ? b : a)).name;
    const atBest = all.filter((c) => run.bestSteps.includes(c.step));
    const pool = atBest.length ? atBest : all;
    return pool.reduce((a, b) => (b.step > a.step ? b : a)).name;
  }

  private watch(runId: string): RunWatch {
    let run = this.runs.get(runId);
    if (!run) {
      run = { checkpoints: new Map(), bestSteps: [], evalRisingSeen: 0, smoothed: null, lowest: null, points: 0, divergingTold: false, nonFiniteTold: false, earlyStop: null };
      this.runs.set(runId, run);
    }
    return run;
  }

  /** Folds the event into what is known about its run; returns the notice it would deserve if live. */
  private learn(event: AgentEvent, name: string): RunNotice | undefined {
    const run = this.watch(event.run_id);
    const notice = (kind: NotificationKind, severity: RunNotice['severity'], text: string, actions: NoticeAction[]): RunNotice =>
      ({ kind, runId: event.run_id, severity, text: `Tunelab: run ${name}: ${text}`, actions });
    switch (event.kind) {
      case 'checkpoint': {
        run.checkpoints.set(event.data.name, { step: event.data.step, evalLoss: event.data.eval_loss ?? null });
        return notice('checkpoint', 'status', `saved ${event.data.name}`, []);
      }
      case 'checkpoint_removed':
        run.checkpoints.delete(event.data.name);
        return undefined;
      case 'eval':
        if (event.data.best) run.bestSteps.push(event.data.step);
        return undefined;
      case 'early_stop':
        run.earlyStop = event.data.reason;
        return undefined;
      case 'metrics':
        return this.divergence(run, event, notice);
      case 'log':
        return this.warning(run, event, notice);
      case 'run_state':
        return this.ended(run, event, notice);
      default:
        return undefined;
    }
  }

  private divergence(run: RunWatch, event: EventOf<'metrics'>, notice: NoticeFactory): RunNotice | undefined {
    const loss = event.data.loss;
    if (loss === null || !Number.isFinite(loss)) return undefined;
    run.points += 1;
    run.smoothed = run.smoothed === null ? loss : run.smoothed + DIVERGENCE.smoothing * (loss - run.smoothed);
    if (run.points < DIVERGENCE.minPoints / 2) return undefined; // the smoothing settles before it sets the baseline
    run.lowest = run.lowest === null ? run.smoothed : Math.min(run.lowest, run.smoothed);
    if (run.divergingTold || run.points < DIVERGENCE.minPoints) return undefined;
    if (run.smoothed > run.lowest * DIVERGENCE.ratio && run.smoothed > run.lowest + DIVERGENCE.margin) {
      run.divergingTold = true;
      return notice('lossDiverging', 'warning',
        `loss is diverging: ${run.smoothed.toFixed(3)} (smoothed) at step ${event.data.step}, up from ${run.lowest.toFixed(3)}; a lower learning rate may help`,
        [{ kind: 'openMetrics' }, { kind: 'showLog' }]);
    }
    return undefined;
  }

  private warning(run: RunWatch, event: EventOf<'log'>, notice: NoticeFactory): RunNotice | undefined {
    const message = event.data.message.trim();
    switch (event.data.code) {
      case 'non_finite_loss':
        run.nonFiniteTold = true;
        return notice('nonFiniteLoss', 'error', `NaN or Inf loss: ${message}`, [{ kind: 'showLog' }, { kind: 'openMetrics' }]);
      case 'grad_norm_band':
        return notice('gradNorm', 'warning', message, [{ kind: 'openMetrics' }]);
      case 'eval_loss_rising':
        // The first rise may be noise; the second in one run means early stopping (if on) is near.
        run.evalRisingSeen += 1;
        if (run.evalRisingSeen !== 2) return undefined;
        return notice('evalLossRising', 'warning', `eval loss is rising again, early stopping is near: ${message}`, [{ kind: 'openMetrics' }]);
      default:
        return undefined;
    }
  }

  private ended(run: RunWatch, event: EventOf<'run_state'>, notice: NoticeFactory): RunNotice | undefined {
    if (event.data.state === 'completed') {
      const how = run.earlyStop ? `completed (stopped early: ${run.earlyStop})` : 'completed';
      return notice('completed', 'info', how, [{ kind: 'openMetrics' }, { kind: 'chatWithBest', checkpoint: this.bestCheckpoint(event.run_id) }]);
    }
    if (event.data.state === 'failed') {
      if (run.nonFiniteTold) return undefined;
      const cause = event.data.error?.trim() || 'no cause given; the run log has the details';
      return notice('failed', 'error', `failed: ${cause}`, [{ kind: 'showLog' }, { kind: 'openMetrics' }]);
    }
    return undefined;
  }
}

type NoticeFactory = (kind: NotificationKind, severity: RunNotice['severity'], text: string, actions: NoticeAction[]) => RunNotice;
