// Messages between the metrics dashboard host (extension) and its webview, and their validators.
// One panel charts one run, or compares 2–6 runs.
// Flow: webview -> `ready` (after every load); host -> `init` (every shown run: points, markers, history
// state, config; the config diff when comparing; whether the agent link is up), then `append` per change
// of a run, `init` again when a history lands, and `link` when the agent link drops or returns.
// Controls (single-run panels only): `stop` -> `stopDone`; `control` (Save now / Eval now) -> `controlDone`
// once the agent took or refused it; the result itself arrives as a marker in an `append`.
// A checkpoint marker's menu sends `checkpoint` (chat / evaluate / resume); export sends `exportCsv` or
// `exportPng`, answered by `exportDone`.
// Both sides treat the other as untrusted input: anything that does not validate is dropped.
import type { HistoryStatus, MarkerKind, MetricPoint, RunMarker, RunRecord, RunState } from '../../src/core/runs/types';
import { hasKeys, isObj, readyOrError, type Obj } from '../../src/core/protocol/shapes';

export type { HistoryStatus, MetricPoint, RunMarker, RunRecord } from '../../src/core/runs/types';

/** One shown run, whole. */
export interface RunPayload {
  run: RunRecord;
  points: MetricPoint[];
  markers: RunMarker[];
  history: HistoryStatus;
}

/** The config keys whose values differ between compared runs; values[i] belongs to runIds[i] (null: key absent). */
export interface ConfigDiff {
  runIds: string[];
  rows: Array<{ key: string; values: Array<string | null> }>;
  /** Why a run's config could not be compared (not loaded yet, or not YAML), one line per run; empty when all were. */
  notes: string[];
}

export type ControlAction = 'save' | 'eval';
export type CheckpointAction = 'chat' | 'evaluate' | 'resume';

export type HostMessage =
  | { type: 'init'; runs: RunPayload[]; diff: ConfigDiff | null; connected: boolean }
  | { type: 'append'; run: RunRecord; points: MetricPoint[]; markers: RunMarker[] }
  | { type: 'link'; connected: boolean }
  | { type: 'stopDone'; ok: boolean }
  | { type: 'controlDone'; action: ControlAction; ok: boolean }
  | { type: 'exportDone'; ok: boolean; message: string };

export type WebviewMessage =
  | { type: 'ready' }
  | { type: 'error'; message: string }
  | { type: 'stop'; runId: string }
  | { type: 'control'; runId: string; action: ControlAction }
  | { type: 'checkpoint'; runId: string; checkpoint: string; action: CheckpointAction }
  | { type: 'exportCsv'; fileName: string; csv: string }
  | { type: 'exportPng'; fileName: string; dataUrl: string };

/** Most runs one panel compares. */
export const MAX_COMPARED = 6;
/** Bounds on what the page may ask the host to write: a CSV of 1 M points per series fits, a runaway page does not. */
export const MAX_CSV_CHARS = 256 * 1024 * 1024;
export const MAX_PNG_CHARS = 32 * 1024 * 1024;

const STATES: readonly RunState[] = ['starting', 'running', 'completed', 'failed', 'stopped'];
const MARKER_KINDS: readonly MarkerKind[] = ['checkpoint', 'save', 'eval', 'warning', 'early_stop', 'resume'];

const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isNumOrNull = (v: unknown): boolean => v === null || isNum(v);
const isStrOrNull = (v: unknown): boolean => v === null || typeof v === 'string';
const isStep = (v: unknown): v is number => isNum(v) && Number.isInteger(v) && v >= 0;
const isId = (v: unknown): v is string => typeof v === 'string' && v !== '' && v.length <= 256;
// A checkpoint name as the agent writes it (checkpoint-<step>): no separators, nothing a command could misread as a path.
const isCheckpointName = (v: unknown): v is string => typeof v === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(v);
// A file name the page proposes for a save dialog; the person picks the folder.
const isFileName = (v: unknown): v is string => typeof v === 'string' && /^[A-Za-z0-9][A-Za-z0-9 ._()-]{0,120}$/.test(v);

export function isRunRecord(v: unknown): v is RunRecord {
  return isObj(v)
    && typeof v.runId === 'string' && typeof v.name === 'string'
    && STATES.includes(v.state as RunState)
    && isNum(v.created) && isStep(v.step)
    && (v.maxSteps === null || isStep(v.maxSteps))
    && isNumOrNull(v.loss) && isNumOrNull(v.tokensPerSec) && isNumOrNull(v.etaS)
    && isStrOrNull(v.error);
}

function isExtra(v: unknown): boolean {
  if (v === undefined) return true;
  if (!isObj(v)) return false;
  const keys = Object.keys(v);
  return keys.length <= 64 && keys.every((k) => k.length <= 200 && isNum(v[k]));
}

export function isMetricPoint(v: unknown): v is MetricPoint {
  if (!isObj(v) || !isStep(v.step) || !isStep(v.segment)) return false;
  if (v.kind === 'train') {
    return isNumOrNull(v.loss) && isNumOrNull(v.learningRate) && isNumOrNull(v.tokensPerSec)
      && (v.gradNorm === undefined || isNumOrNull(v.gradNorm)) && isExtra(v.extra);
  }
  if (v.kind === 'eval') return isNumOrNull(v.evalLoss);
  return false;
}

export function isRunMarker(v: unknown): v is RunMarker {
  return isObj(v) && isStep(v.seq) && MARKER_KINDS.includes(v.kind as MarkerKind) && isStep(v.step) && isStep(v.segment)
    && typeof v.text === 'string' && v.text.length <= 1000
    && (v.checkpoint === undefined || isCheckpointName(v.checkpoint))
    && (v.code === undefined || typeof v.code === 'string');
}

export function isHistoryStatus(v: unknown): v is HistoryStatus {
  if (!isObj(v)) return false;
  if (v.state === 'loading') return hasKeys(v, 'state');
  if (v.state === 'loaded') return hasKeys(v, 'state', 'received', 'logged') && isStep(v.received) && isStep(v.logged);
  if (v.state === 'unavailable' || v.state === 'failed') return hasKeys(v, 'state', 'reason') && typeof v.reason === 'string';
  return false;
}

const isRunPayload = (v: unknown): v is RunPayload => isObj(v) && isRunRecord(v.run) && isHistoryStatus(v.history)
  && Array.isArray(v.points) && v.points.every(isMetricPoint) && Array.isArray(v.markers) && v.markers.every(isRunMarker);

export function isConfigDiff(v: unknown): v is ConfigDiff {
  if (!isObj(v) || !Array.isArray(v.runIds) || !v.runIds.every(isId) || !Array.isArray(v.rows) || !Array.isArray(v.notes)) return false;
  const n = v.runIds.length;
  return v.notes.every((s) => typeof s === 'string')
    && v.rows.every((r) => isObj(r) && typeof r.key === 'string' && Array.isArray(r.values) && r.values.length === n && r.values.every(isStrOrNull));
}

export function parseHostMessage(v: unknown): HostMessage | undefined {
  if (!isObj(v)) return undefined;
  switch (v.type) {
    case 'stopDone':
      return hasKeys(v, 'type', 'ok') && typeof v.ok === 'boolean' ? { type: 'stopDone', ok: v.ok } : undefined;
    case 'link':
      return hasKeys(v, 'type', 'connected') && typeof v.connected === 'boolean' ? { type: 'link', connected: v.connected } : undefined;
    case 'controlDone':
      return hasKeys(v, 'type', 'action', 'ok') && (v.action === 'save' || v.action === 'eval') && typeof v.ok === 'boolean'
        ? { type: 'controlDone', action: v.action, ok: v.ok } : undefined;
    case 'exportDone':
      return hasKeys(v, 'type', 'ok', 'message') && typeof v.ok === 'boolean' && typeof v.message === 'string'
        ? { type: 'exportDone', ok: v.ok, message: v.message.slice(0, 1000) } : undefined;
    case 'append':
      if (!isRunRecord(v.run) || !Array.isArray(v.points) || !v.points.every(isMetricPoint)) return undefined;
      if (!Array.isArray(v.markers) || !v.markers.every(isRunMarker)) return undefined;
      return { type: 'append', run: v.run, points: v.points, markers: v.markers };
    case 'init': {
      if (!Array.isArray(v.runs) || v.runs.length < 1 || v.runs.length > MAX_COMPARED || !v.runs.every(isRunPayload)) return undefined;
      if (typeof v.connected !== 'boolean' || (v.diff !== null && !isConfigDiff(v.diff))) return undefined;
      return { type: 'init', runs: v.runs, diff: v.diff, connected: v.connected };
    }
    default:
      return undefined;
  }
}

export function parseWebviewMessage(v: unknown): WebviewMessage | undefined {
  if (!isObj(v)) return undefined;
  switch (v.type) {
    case 'ready':
    case 'error':
      return readyOrError(v);
    // Exact shapes only from here on: these make the host act, so nothing extra rides along unnoticed.
    case 'stop':
      return hasKeys(v, 'type', 'runId') && isId(v.runId) ? { type: 'stop', runId: v.runId } : undefined;
    case 'control':
      return hasKeys(v, 'type', 'runId', 'action') && isId(v.runId) && (v.action === 'save' || v.action === 'eval')
        ? { type: 'control', runId: v.runId, action: v.action } : undefined;
    case 'checkpoint':
      return hasKeys(v, 'type', 'runId', 'checkpoint', 'action') && isId(v.runId) && isCheckpointName(v.checkpoint)
        && (v.action === 'chat' || v.action === 'evaluate' || v.action === 'resume')
        ? { type: 'checkpoint', runId: v.runId, checkpoint: v.checkpoint, action: v.action } : undefined;
    case 'exportCsv':
      return hasKeys(v, 'type', 'fileName', 'csv') && isFileName(v.fileName) && v.fileName.endsWith('.csv')
        && typeof v.csv === 'string' && v.csv.length <= MAX_CSV_CHARS
        ? { type: 'exportCsv', fileName: v.fileName, csv: v.csv } : undefined;
    case 'exportPng':
      return hasKeys(v, 'type', 'fileName', 'dataUrl') && isFileName(v.fileName) && v.fileName.endsWith('.png')
        && typeof v.dataUrl === 'string' && v.dataUrl.length <= MAX_PNG_CHARS && v.dataUrl.startsWith('data:image/png;base64,')
        ? { type: 'exportPng', fileName: v.fileName, dataUrl: v.dataUrl } : undefined;
    default:
      return undefined;
  }
}

/** The PNG bytes of a validated exportPng data URL, or undefined when the payload is not a PNG image. */
export function pngBytes(dataUrl: string): Uint8Array | undefined {
  const base64 = dataUrl.slice('data:image/png;base64,'.length);
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(base64)) return undefined;
  const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
  const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  return bytes.length > signature.length && signature.every((b, i) => bytes[i] === b) ? bytes : undefined;
}

/** The run ids a restored panel's saved webview state names (main.ts PanelState.runIds), if they look like run ids. */
export function restoredRunIds(state: unknown): string[] | undefined {
  if (typeof state !== 'object' || state === null) return undefined;
  const ids = (state as { runIds?: unknown }).runIds;
  if (!Array.isArray(ids) || ids.length < 1 || ids.length > MAX_COMPARED) return undefined;
  if (!ids.every((id) => typeof id === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(id))) return undefined;
  return [...new Set(ids as string[])];
}
