// The visible series as CSV, one row per point (long format, so runs and series of any length fit):
// run name, run id, series, step, value as logged (after a resume, the curve as trained last). Only the
// zoomed range when zoomed; smoothing is a view setting and is not applied to exported values.
import { csvField } from './format';
import type { XRange } from './chartGrid';
import type { RunData } from './runData';

export function seriesCsv(series: Array<{ run: RunData; key: string; label: string }>, range: XRange | null): string {
  const lines = ['run,run_id,series,step,value'];
  for (const { run, key, label } of series) {
    const view = run.series.get(key);
    if (!view) continue;
    const prefix = `${csvField(run.run.name)},${csvField(run.runId)},${csvField(label)},`;
    for (const p of view.raw) {
      if (range && (p.x < range.min || p.x > range.max)) continue;
      lines.push(`${prefix}${p.x},${p.y}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** A file name from a run name: letters, digits, dot, dash and underscore only. */
export function safeFileName(base: string, ext: string): string {
  const clean = base.replace(/[^A-Za-z0-9._-]+/g, '-').slice(0, 100).replace(/^[^A-Za-z0-9]+|[^A-Za-z0-9]+$/g, '') || 'tunelab';
  return `${clean}.${ext}`;
}
