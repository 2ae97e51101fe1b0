// How a checkpoint and its evaluation read: in the Runs tree (under its run) and in the evaluation report.
import type { EvaluationResult, TargetCheck } from '../protocol/messages';
import type { CheckpointEntry } from './checkpointList';

export interface CheckpointLabel {
  label: string;
  description: string;
  tooltip: string;
  icon: { id: string; color?: string };
  contextValue: 'checkpoint' | 'checkpoint.best';
}

/** Targets are named by their config key (evaluation.targets.*); these read better in a sentence. */
const TARGET_NAMES: Record<string, string> = { precision: 'precision', recall: 'recall', ttft_ms: 'TTFT' };
/** Targets where lower is better (the agent's check_targets says so too; this only picks the sign to print). */
const LOWER_IS_BETTER = new Set(['ttft_ms']);

export function describeCheckpoint(c: CheckpointEntry): CheckpointLabel {
  const scores = c.scores ? scoreLine(c.scores) : '';
  const description = [`step ${c.step}`, c.evalLoss === null ? '' : `eval loss ${c.evalLoss.toFixed(4)}`, scores].filter(Boolean).join(' · ');
  const tooltip = [
    `${c.name}${c.isBest ? ' (best)' : ''}`,
    `step ${c.step}`,
    c.evalLoss === null ? 'no evaluation loss at this step' : `eval loss ${c.evalLoss.toFixed(4)}`,
    c.scores ? `\nevaluated on ${c.scores.rows} rows:\n${evaluationLines(c.scores).join('\n')}` : '',
  ].filter(Boolean).join('\n');
  return {
    label: c.name,
    description,
    tooltip,
    // The star is the best checkpoint (the agent's choice, lowest eval loss); the others are saved states.
    icon: c.isBest ? { id: 'star-full', color: 'charts.yellow' } : { id: 'save' },
    contextValue: c.isBest ? 'checkpoint.best' : 'checkpoint',
  };
}

/** The short form for a tree row: macro precision/recall, median TTFT, and whether every target is met. */
export function scoreLine(r: EvaluationResult): string {
  const parts: string[] = [];
  if (r.macro) parts.push(`P ${r.macro.precision.toFixed(2)} R ${r.macro.recall.toFixed(2)}`);
  else if (r.exact_match !== null) parts.push(`exact ${r.exact_match.toFixed(2)}`);
  if (r.ttft_ms_median !== null) parts.push(`TTFT ${Math.round(r.ttft_ms_median)} ms`);
  const verdict = targetsVerdict(r);
  if (verdict) parts.push(verdict);
  return parts.join(' · ');
}

/** "targets met", "2 of 3 targets missed", or '' when no target applies. */
export function targetsVerdict(r: EvaluationResult): string {
  const checks = Object.values(r.targets).filter((t) => t.met !== null);
  if (!checks.length) return '';
  const missed = checks.filter((t) => !t.met).length;
  return missed ? `${missed} of ${checks.length} targets missed` : 'targets met';
}

/** One line per target ("✓ precision 0.95 ≥ 0.92"), then the other figures the agent returned. */
export function evaluationLines(r: EvaluationResult): string[] {
  const lines = Object.entries(r.targets).map(([key, t]) => targetLine(key, t));
  if (r.macro) lines.push(`macro F1 ${r.macro.f1.toFixed(3)}`);
  for (const [label, s] of Object.entries(r.labels)) {
    lines.push(`  ${label}: precision ${s.precision.toFixed(3)}, recall ${s.recall.toFixed(3)}, F1 ${s.f1.toFixed(3)} (${s.support} rows)`);
  }
  if (r.exact_match !== null) lines.push(`exact match ${r.exact_match.toFixed(3)}`);
  if (r.loss !== null) lines.push(`loss ${r.loss.toFixed(4)}${r.perplexity !== null ? `, perplexity ${r.perplexity.toFixed(2)}` : ''}`);
  if (r.preference) {
    lines.push(`preference pairs ${r.preference.pairs}: reward accuracy ${r.preference.accuracy.toFixed(3)}, margin ${r.preference.margin.toFixed(3)} nats`);
  }
  return lines;
}

export function targetLine(key: string, t: TargetCheck): string {
  const name = TARGET_NAMES[key] ?? key;
  const unit = key.endsWith('_ms') ? ' ms' : '';
  const fmt = (v: number) => (unit ? `${Math.round(v)}` : v.toFixed(3));
  const sign = LOWER_IS_BETTER.has(key) ? '<' : '≥';
  if (t.met === null || t.value === null) return `– ${name}: does not apply to this file (target ${sign} ${fmt(t.target)}${unit})`;
  return `${t.met ? '✓' : '✗'} ${name} ${fmt(t.value)}${unit} (target ${sign} ${fmt(t.target)}${unit})`;
}
