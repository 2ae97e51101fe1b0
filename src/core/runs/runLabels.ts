// How a run reads in the Runs tree: text, icon name and the context value the manifest's menus test.
import type { RunRecord, RunState } from './types';
import { isActive } from './types';

export interface RunLabel {
  label: string;
  description: string;
  tooltip: string;
  /** A codicon id and an optional theme colour id. */
  icon: { id: string; color?: string };
  /** package.json menus show Stop only for `run.active`. */
  contextValue: 'run.active' | 'run.done';
}

const ICONS: Record<RunState, RunLabel['icon']> = {
  starting: { id: 'loading~spin' },
  running: { id: 'sync~spin', color: 'charts.blue' },
  completed: { id: 'pass', color: 'testing.iconPassed' },
  failed: { id: 'error', color: 'testing.iconFailed' },
  stopped: { id: 'debug-stop', color: 'charts.yellow' },
};

export function formatLoss(loss: number | null): string {
  return loss === null ? '' : `loss ${loss.toFixed(4)}`;
}

export function formatProgress(run: Pick<RunRecord, 'step' | 'maxSteps'>): string {
  return run.maxSteps === null ? `step ${run.step}` : `${run.step}/${run.maxSteps}`;
}

/** Time left as a person reads it: "ETA 45 s", "ETA 12 min", "ETA 2 h 05 min"; '' when unknown. */
export function formatEta(etaS: number | null): string {
  if (etaS === null || !Number.isFinite(etaS) || etaS < 0) return '';
  const s = Math.round(etaS);
  if (s < 60) return `ETA ${s} s`;
  const min = Math.round(s / 60);
  if (min < 60) return `ETA ${min} min`;
  return `ETA ${Math.floor(min / 60)} h ${String(min % 60).padStart(2, '0')} min`;
}

/** The colour of anything that needs a look: a damaged run, or an active one whose host is short of disk. */
export const WARNING_COLOR = 'list.warningForeground';

function iconOf(run: RunRecord, diskLow: boolean): RunLabel['icon'] {
  const icon = ICONS[run.state];
  // An active run keeps its spinner (it is still going) but turns the warning colour; a failed one keeps
  // its error icon, the stronger signal; a finished run with damaged files shows a warning instead.
  if (isActive(run)) return run.damaged || diskLow ? { id: icon.id, color: WARNING_COLOR } : icon;
  if (run.damaged && run.state !== 'failed') return { id: 'warning', color: WARNING_COLOR };
  return icon;
}

/** The random tail of a run id ("20261127-120000-demo-ab12" → "ab12"): tells apart runs of one config started in the same minute. */
export function shortRunId(runId: string): string {
  const tail = runId.slice(runId.lastIndexOf('-') + 1);
  return /^[0-9a-f]{4,8}$/.test(tail) ? tail : runId.slice(-4);
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** When the run started, in local time: "14:02" today, "Nov 29 14:02" before; empty when unknown. */
export function formatStart(createdS: number, now: Date = new Date()): string {
  if (!(createdS > 0)) return '';
  const d = new Date(createdS * 1000);
  const hhmm = `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}`;
  const today = d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
  return today ? hhmm : `${MONTHS[d.getMonth()]} ${d.getDate()} ${hhmm}`;
}

/**
 * How one run is named wherever several runs of one config may sit side by side (the Runs view, a metrics
 * panel's title, pickers): its name, start time and short id, e.g. "sentiment-demo (14:02 · ab12)".
 */
export function runTitle(run: Pick<RunRecord, 'name' | 'runId' | 'created'>, now: Date = new Date()): string {
  const when = formatStart(run.created, now);
  return `${run.name} (${when ? `${when} · ` : ''}${shortRunId(run.runId)})`;
}

export function describeRun(run: RunRecord, now: Date = new Date()): RunLabel {
  const diskLow = isActive(run) && !!run.diskLow;
  // Failed and stopped runs look alike by numbers alone; say which.
  const description = [
    formatProgress(run), formatLoss(run.loss), run.state === 'running' ? formatEta(run.etaS) : '',
    run.state === 'starting' ? 'starting' : '',
    run.state === 'failed' || run.state === 'stopped' ? run.state : '',
    run.damaged ? 'damaged' : '', diskLow ? 'disk low' : '',
  ].filter(Boolean).join(' · ');
  const tooltip = [
    `${run.name} (${run.runId})`,
    `state: ${run.state}`,
    `progress: ${formatProgress(run)}`,
    run.loss === null ? '' : `latest ${formatLoss(run.loss)}`,
    run.state === 'running' && formatEta(run.etaS) ? formatEta(run.etaS).replace('ETA', 'time left: about') : '',
    run.error ? `error: ${run.error}` : '',
    diskLow ? `disk low: ${run.diskLow}` : '',
    run.damaged ? `damaged: ${run.damaged}` : '',
  ].filter(Boolean).join('\n');
  return { label: runTitle(run, now), description, tooltip, icon: iconOf(run, diskLow), contextValue: isActive(run) ? 'run.active' : 'run.done' };
}
