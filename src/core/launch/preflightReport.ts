// What a launch shows before it starts a run: preflight's memory estimate against the host's GPUs (or RAM
// when it has none), whether it fits, the disk it fills, the data check, and every error and warning with
// its config key. The agent decides all of it (preflight, host_info); this only puts it in words.
import type { DataCheck, HostInfo, ResultOf } from '../protocol/messages';

export type Verdict = 'ok' | 'warnings' | 'errors';

export interface PreflightProblem {
  severity: 'error' | 'warning';
  /** The config key the agent named at the start of its message (e.g. "model.name"), or null. */
  key: string | null;
  text: string;
}

export interface PreflightReport {
  verdict: Verdict;
  /** One sentence: where, and whether it fits. */
  headline: string;
  /** Memory, fit, disk and data lines, in that order. */
  facts: string[];
  /** The memory estimate per training process, MB (null: unknown model size), and the fit in a few words ('' if unknown). */
  estimateMb: number | null;
  fit: string;
  problems: PreflightProblem[];
}

/** Fields of preflight's `estimate` this report reads (sizes in MB); the agent may send more. */
interface Estimate {
  total_mb: number;
  weights_mb?: number;
  lora_mb?: number;
  activations_mb?: number;
  overhead_mb?: number;
  device?: string;
  processes?: number;
  /** What the figures come from: "the model's config.json", or a built-in shape for a Hub id not downloaded yet. */
  basis?: string;
  disk?: { total_mb: number; checkpoints: number; checkpoint_mb: number; logs_mb: number };
  /** One epoch of the train split (python-agent/tunelab_agent/models/throughput.py); null without a checked train file. */
  epoch?: Epoch | null;
}

interface Epoch {
  tokens: number;
  rows: number;
  steps: number;
  rows_per_step: number;
  approximate: boolean;
  sampled: boolean;
  /** null: not estimated (no GPU, or a GPU without a known peak), and `basis` says why. */
  seconds: number | null;
  basis: string | null;
}

/** Like the agent's size_text (MB below a GiB, GiB with one decimal above), with a decimal under 10 MB so a tiny model's parts are not "0 MB". */
export function sizeText(mb: number): string {
  if (mb >= 1024) return `${(mb / 1024).toFixed(1)} GiB`;
  return mb < 10 ? `${mb.toFixed(1)} MB` : `${Math.round(mb)} MB`;
}

const KEY = /^([A-Za-z_][\w-]*(?:\.[\w-]+)*):\s+(.*)$/s;

export function splitKey(message: string): { key: string | null; text: string } {
  const m = KEY.exec(message);
  return m ? { key: m[1], text: m[2] } : { key: null, text: message };
}

export function preflightReport(result: ResultOf<'preflight'>, host: HostInfo | null, where: string): PreflightReport {
  const problems: PreflightProblem[] = [
    ...result.errors.map((m) => ({ severity: 'error' as const, ...splitKey(m) })),
    ...result.warnings.map((m) => ({ severity: 'warning' as const, ...splitKey(m) })),
  ];
  const verdict: Verdict = result.errors.length ? 'errors' : result.warnings.length ? 'warnings' : 'ok';
  const estimate = readEstimate(result.estimate);
  const facts: string[] = [];
  let fit = '';
  if (estimate) {
    facts.push(memoryLine(estimate));
    const f = fitLines(estimate, host);
    facts.push(...f.lines);
    fit = f.summary;
    if (estimate.epoch) facts.push(epochLine(estimate.epoch));
    if (estimate.disk) facts.push(diskLine(estimate.disk, host));
  } else {
    facts.push('Memory: no estimate (the agent could not read the model\'s size; see the errors below)');
  }
  for (const [split, check] of Object.entries(result.data ?? {})) facts.push(dataLine(split, check));
  const outcome = verdict === 'errors' ? `cannot start (${count(result.errors.length, 'error')})`
    : verdict === 'warnings' ? `can start, with ${count(result.warnings.length, 'warning')}` : 'ready to start';
  return { verdict, headline: `Preflight on ${where}: ${fit ? `${fit}; ` : ''}${outcome}`, facts, problems, estimateMb: estimate?.total_mb ?? null, fit };
}

/** The report as plain text, for a dialog's detail: facts, then one line per problem with its key first. */
export function reportText(r: PreflightReport): string {
  const lines = [...r.facts];
  const errors = r.problems.filter((p) => p.severity === 'error');
  const warnings = r.problems.filter((p) => p.severity === 'warning');
  if (errors.length) lines.push('', 'Errors:', ...errors.map(problemLine));
  if (warnings.length) lines.push('', 'Warnings:', ...warnings.map(problemLine));
  return lines.join('\n');
}

const problemLine = (p: PreflightProblem) => `• ${p.key ? `${p.key}: ` : ''}${p.text}`;

function readEstimate(raw: Record<string, unknown> | null): Estimate | null {
  if (!raw || typeof raw.total_mb !== 'number') return null;
  return raw as unknown as Estimate;
}

function memoryLine(e: Estimate): string {
  const parts = [
    e.weights_mb !== undefined ? `weights ${sizeText(e.weights_mb)}` : '',
    e.lora_mb !== undefined ? `LoRA + optimizer ${sizeText(e.lora_mb)}` : '',
    e.activations_mb !== undefined ? `activations ${sizeText(e.activations_mb)}` : '',
    e.overhead_mb !== undefined ? `overhead ${sizeText(e.overhead_mb)}` : '',
  ].filter(Boolean);
  const per = (e.processes ?? 1) > 1 ? ` per process (${e.processes} processes)` : '';
  // A Hub model not downloaded yet is estimated from a built-in shape: say so beside the figure.
  const basis = typeof e.basis === 'string' && e.basis !== "the model's config.json" ? ` (estimated from ${e.basis})` : '';
  return `Memory: about ${sizeText(e.total_mb)}${per}${basis}${parts.length ? `: ${parts.join(', ')}` : ''}`;
}

/** One line per GPU the run uses (or the RAM line on a host without one), and the overall fit in a few words. */
function fitLines(e: Estimate, host: HostInfo | null): { lines: string[]; summary: string } {
  const need = e.total_mb;
  if (!host) return { lines: ['Fit: unknown (the host did not say what it has)'], summary: '' };
  const used = host.gpus.slice(0, Math.max(1, e.processes ?? 1));
  if (!used.length) {
    const state = need > host.ram_total_mb ? 'does not fit' : need > host.ram_available_mb ? 'fits once RAM is freed' : 'fits';
    return {
      lines: [`No GPU on this host: trains on the CPU, in ${sizeText(host.ram_total_mb)} of RAM (${sizeText(host.ram_available_mb)} available): ${state}`],
      summary: `no GPU, ${state} in RAM`,
    };
  }
  const states = used.map((g) => (need > g.memory_total_mb ? 'does not fit' : need > g.memory_free_mb ? 'fits once memory is freed' : 'fits'));
  const lines = used.map((g, i) => `GPU ${g.index} (${g.name}): ${sizeText(g.memory_total_mb)}, ${sizeText(g.memory_free_mb)} free: ${states[i]}`);
  const worst = states.includes('does not fit') ? 'does not fit' : states.includes('fits once memory is freed') ? 'fits once memory is freed' : 'fits';
  return { lines, summary: `${worst} on ${used.length === 1 ? 'the GPU' : `${used.length} GPUs`}` };
}

/** Tokens and steps of one epoch, and its time at the stated assumption (or why there is none). */
export function epochLine(e: Epoch): string {
  const tokens = `${e.sampled ? 'about ' : ''}${countText(e.tokens)} tokens${e.approximate ? ' (approximate: no tokenizer)' : ''}`;
  const steps = `${countText(e.rows)} rows, ${countText(e.steps)} steps of ${e.rows_per_step}`;
  const time = e.seconds === null ? (e.basis ?? 'time not estimated') : `about ${durationText(e.seconds)} (${e.basis})`;
  return `Per epoch: ${tokens} in ${steps}; ${time}`;
}

/** 1234 -> "1,234"; 1234567 -> "1.2 M". */
export function countText(n: number): string {
  if (n < 100_000) return n.toLocaleString('en-US');
  for (const [size, unit] of [[1e9, 'B'], [1e6, 'M'], [1e3, 'k']] as const) if (n >= size) return `${(n / size).toFixed(1)} ${unit}`;
  return String(n);
}

export function durationText(seconds: number): string {
  if (seconds < 60) return `${Math.max(1, Math.round(seconds))} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  const h = Math.floor(seconds / 3600);
  const m = Math.round((seconds % 3600) / 60);
  return m ? `${h} h ${m} min` : `${h} h`;
}

function diskLine(d: NonNullable<Estimate['disk']>, host: HostInfo | null): string {
  const free = host ? `; ${sizeText(host.disk_free_mb)} free under the agent's root${d.total_mb > host.disk_free_mb ? ': not enough' : ''}` : '';
  return `Disk: about ${sizeText(d.total_mb)} (${d.checkpoints} checkpoints × ${sizeText(d.checkpoint_mb)}, logs ${sizeText(d.logs_mb)})${free}`;
}

function dataLine(split: string, c: DataCheck): string {
  const pct = (100 * c.share).toFixed(1);
  return `Data (${split}): ${c.file}, ${c.rows}${c.sampled ? '+' : ''} rows, ${c.bad_rows} bad, ${c.over_length} too long (${pct}%, allowed ${(100 * c.max_bad_rows).toFixed(1)}%)`;
}

const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
