// Turns agent events into chart markers and a metrics event's nested figures into named values. One
// function for live events and for run_history's `events`, whose data arrives unchecked (the schema only
// says "object"), so every field is checked here and an event that does not fit is skipped, not thrown on.
import type { RunMarker } from './types';

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;
const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v.slice(0, 500) : undefined);

/** Markers kept per shown run: a run with a warning every step must not grow a panel without bound. */
export const MAX_MARKERS = 2000;

/** The groups of a metrics event whose figures become series of their own. */
export const EXTRA_GROUPS = ['loss_terms', 'lr_groups', 'gpu', 'preference'] as const;

/** The marker an event makes, if any. */
export function markerOf(kind: string, data: unknown, seq: number): RunMarker | undefined {
  if (!isObj(data) || !isCount(seq)) return undefined;
  const segment = isCount(data.segment) ? data.segment : 0;
  const step = data.step;
  switch (kind) {
    case 'checkpoint': {
      const name = str(data.name);
      if (!name || !isCount(step)) return undefined;
      const reason = str(data.reason);
      return { seq, kind: 'checkpoint', step, segment, checkpoint: name, text: `${name} saved${reason ? ` (${reason})` : ''}` };
    }
    case 'control_done': {
      if (!isCount(step) || (data.action !== 'save' && data.action !== 'eval')) return undefined;
      const error = str(data.error);
      const checkpoint = str(data.checkpoint);
      const what = data.action === 'save' ? 'Save now' : 'Eval now';
      const text = error ? `${what} failed: ${error}` : `${what}${checkpoint ? `: ${checkpoint}` : ''} at step ${step}`;
      return { seq, kind: data.action, step, segment, text, ...(checkpoint && !error ? { checkpoint } : {}) };
    }
    case 'log': {
      const code = str(data.code);
      const message = str(data.message);
      if (!code || !message || !isCount(step)) return undefined;
      return { seq, kind: 'warning', step, segment, code, text: message };
    }
    case 'early_stop': {
      if (!isCount(step)) return undefined;
      return { seq, kind: 'early_stop', step, segment, text: `Early stop: ${str(data.reason) ?? 'no reason given'}` };
    }
    case 'run_state': {
      // A resumed segment starts after the checkpoint it resumed from; its name carries the step.
      const from = str(data.resumed_from);
      const at = from ? /(\d+)$/.exec(from) : null;
      if (!from || !at) return undefined;
      return { seq, kind: 'resume', step: Number(at[1]), segment, checkpoint: from, text: `Resumed from ${from} (segment ${segment})` };
    }
    default:
      return undefined;
  }
}

/** A metrics event's nested figures as "<group>.<key>" → value; non-numbers and non-finite values are left out. */
export function extraFigures(data: Obj): Record<string, number> | undefined {
  let out: Record<string, number> | undefined;
  for (const group of EXTRA_GROUPS) {
    const figures = data[group];
    if (!isObj(figures)) continue;
    for (const [key, value] of Object.entries(figures)) {
      if (typeof value === 'number' && Number.isFinite(value)) (out ??= {})[`${group}.${key}`] = value;
    }
  }
  return out;
}

/** Adds markers in seq order, dropping one already held (a replay) and the oldest beyond MAX_MARKERS. */
export function mergeMarkers(into: RunMarker[], added: readonly RunMarker[]): RunMarker[] {
  const seen = new Set(into.map((m) => m.seq));
  const fresh = added.filter((m) => !seen.has(m.seq));
  if (!fresh.length) return [];
  into.push(...fresh);
  into.sort((a, b) => a.seq - b.seq);
  if (into.length > MAX_MARKERS) into.splice(0, into.length - MAX_MARKERS);
  return fresh;
}
