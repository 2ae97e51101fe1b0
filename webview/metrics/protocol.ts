// Messages between the metrics panel host (extension) and its webview, and their validators.
// Flow: webview -> `ready`; host -> `init` (everything so far, and where the run's history stands);
// host -> `append` (new points, fresh header); host -> `init` again when the history arrives.
// Stop button: webview -> `stop`; host -> `stopDone` once the agent has answered (ok) or refused/failed (not ok).
// Both sides treat the other as untrusted input: anything that does not validate is dropped.
import type { HistoryStatus, MetricPoint, RunRecord, RunState } from '../../src/core/runs/types';

export type { HistoryStatus, MetricPoint, RunRecord } from '../../src/core/runs/types';

export type HostMessage =
  | { type: 'init'; run: RunRecord; points: MetricPoint[]; history: HistoryStatus }
  | { type: 'append'; run: RunRecord; points: MetricPoint[] }
  | { type: 'stopDone'; ok: boolean };

export type WebviewMessage =
  | { type: 'ready' }
  | { type: 'error'; message: string }
  | { type: 'stop'; runId: string };

const STATES: readonly RunState[] = ['starting', 'running', 'completed', 'failed', 'stopped'];

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isNumOrNull = (v: unknown): boolean => v === null || isNum(v);
const isStrOrNull = (v: unknown): boolean => v === null || typeof v === 'string';
const isStep = (v: unknown): boolean => isNum(v) && Number.isInteger(v) && v >= 0;
const hasKeys = (v: Obj, ...keys: string[]): boolean => Object.keys(v).length === keys.length && keys.every((k) => k in v);

export function isRunRecord(v: unknown): v is RunRecord {
  return isObj(v)
    && typeof v.runId === 'string' && typeof v.name === 'string'
    && STATES.includes(v.state as RunState)
    && isNum(v.created) && isStep(v.step)
    && (v.maxSteps === null || isStep(v.maxSteps))
    && isNumOrNull(v.loss) && isNumOrNull(v.tokensPerSec) && isNumOrNull(v.etaS)
    && isStrOrNull(v.error);
}

export function isMetricPoint(v: unknown): v is MetricPoint {
  if (!isObj(v) || !isStep(v.step) || !isStep(v.segment)) return false;
  if (v.kind === 'train') return isNumOrNull(v.loss) && isNumOrNull(v.learningRate) && isNumOrNull(v.tokensPerSec);
  if (v.kind === 'eval') return isNumOrNull(v.evalLoss);
  return false;
}

export function isHistoryStatus(v: unknown): v is HistoryStatus {
  if (!isObj(v)) return false;
  if (v.state === 'loading') return hasKeys(v, 'state');
  if (v.state === 'loaded') return hasKeys(v, 'state', 'received', 'logged') && isStep(v.received) && isStep(v.logged);
  if (v.state === 'unavailable' || v.state === 'failed') return hasKeys(v, 'state', 'reason') && typeof v.reason === 'string';
  return false;
}

export function parseHostMessage(v: unknown): HostMessage | undefined {
  if (!isObj(v)) return undefined;
  if (v.type === 'stopDone') return hasKeys(v, 'type', 'ok') && typeof v.ok === 'boolean' ? { type: 'stopDone', ok: v.ok } : undefined;
  if (v.type !== 'init' && v.type !== 'append') return undefined;
  if (!isRunRecord(v.run) || !Array.isArray(v.points) || !v.points.every(isMetricPoint)) return undefined;
  if (v.type === 'append') return { type: 'append', run: v.run, points: v.points };
  return isHistoryStatus(v.history) ? { type: 'init', run: v.run, points: v.points, history: v.history } : undefined;
}

export function parseWebviewMessage(v: unknown): WebviewMessage | undefined {
  if (!isObj(v)) return undefined;
  if (v.type === 'ready' && hasKeys(v, 'type')) return { type: 'ready' };
  if (v.type === 'error' && typeof v.message === 'string') return { type: 'error', message: v.message.slice(0, 2000) };
  // Exact shape only: this one makes the host act, so nothing extra rides along unnoticed.
  if (v.type === 'stop' && hasKeys(v, 'type', 'runId') && typeof v.runId === 'string' && v.runId !== '') return { type: 'stop', runId: v.runId };
  return undefined;
}
