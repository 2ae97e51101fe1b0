// "Preview dataset" (the run config's CodeLens): what the agent makes of a dataset file with the config's
// model and options, as a Markdown page. The agent decides everything (inspect_dataset, render_sample); this
// only lays it out. Every piece of the file's own text goes in a code fence longer than any backtick run in it,
// so a row can never become Markdown or HTML.
import type { DatasetInspection, RenderedSequence } from '../protocol/messages';

export interface PreviewInput {
  /** The config key the file comes from ("dataset.train") and the file as the config names it. */
  key: string;
  written: string;
  configName: string;
  model: string;
  inspection: DatasetInspection;
  /** The first good rows as the trainer builds them, or why one could not be. */
  samples: Array<{ line: number; sequences?: RenderedSequence[]; error?: string }>;
}

export function previewMarkdown(p: PreviewInput): string {
  const i = p.inspection;
  const out: string[] = [];
  out.push(`# ${inline(p.written)}`, '');
  out.push(`\`${p.key}\` of ${inline(p.configName)}, read by the agent as the trainer reads it, with ${inline(p.model)}'s ${i.tokens.method === 'tokenizer' ? 'tokenizer and chat template' : 'length approximation (its tokenizer could not be loaded)'}.`, '');
  out.push('| | |', '|---|---|');
  out.push(`| format | ${i.format} |`);
  out.push(`| rows | ${count(i.rows)}${i.sampled ? ` (the first rows of ${count(i.lines)} lines)` : ''} |`);
  out.push(`| kept | ${count(i.kept)} |`);
  out.push(`| bad rows | ${count(i.bad_rows)} |`);
  out.push(`| over max_length | ${count(i.over_length)}${i.max_length ? ` (max_length ${i.max_length})` : ''}${i.truncated ? `; ${count(i.truncated)} cut to fit` : ''} |`);
  const t = i.tokens;
  if (t.count) out.push(`| tokens per row | median ${fmt(t.median)}, p95 ${fmt(t.p95)}, max ${fmt(t.max)}; ${count(t.total)} in all${t.method === 'approximate' ? ' (approximate)' : ''} |`);
  const roles = Object.entries(i.roles);
  if (roles.length) out.push(`| roles | ${roles.map(([r, n]) => `${inline(r)} ${count(n)}`).join(', ')} |`);
  const labels = Object.entries(i.labels);
  if (labels.length) out.push(`| labels | ${labels.map(([l, n]) => `${inline(l)} ${count(n)}`).join(', ')}${i.distinct_labels > labels.length ? `, … (${i.distinct_labels} in all)` : ''} |`);
  if (i.duplicates.rows) out.push(`| duplicates | ${count(i.duplicates.rows)} rows repeat an earlier one |`);
  if (i.conflicts.inputs) out.push(`| conflicting labels | ${count(i.conflicts.inputs)} inputs with more than one label |`);
  out.push('');
  if (i.diagnostics.length) {
    out.push('## Problems', '');
    for (const d of i.diagnostics.slice(0, 20)) out.push(`- line ${d.line}, ${d.severity}: ${inline(d.message)}`);
    const total = Object.values(i.diagnostic_counts).reduce((a, b) => a + b, 0);
    if (total > 20) out.push(`- … ${count(total - 20)} more (${Object.entries(i.diagnostic_counts).map(([c, n]) => `${c} ${n}`).join(', ')})`);
    out.push('');
  }
  out.push('## The first rows as the trainer sees them', '');
  if (!p.samples.length) out.push('No good row to show.', '');
  for (const s of p.samples) {
    out.push(`### Line ${s.line}`, '');
    if (s.error) {
      out.push(`Not rendered: ${inline(s.error)}`, '');
      continue;
    }
    for (const seq of s.sequences ?? []) {
      const trained = seq.tokens.filter((tok) => tok.trained).map((tok) => (tok.end > tok.start ? seq.text.slice(tok.start, tok.end) : tok.text)).join('');
      out.push(`**${/^[\w-]+$/.test(seq.name) ? seq.name : inline(seq.name)}**: ${count(seq.length)} tokens, ${count(seq.trained_tokens)} carry loss.`, '');
      out.push('What the model reads:', '', fence(seq.text), '');
      out.push('What carries loss:', '', fence(trained), '');
    }
  }
  return out.join('\n');
}

/** A fenced block that the text cannot close: one backtick more than its longest run. */
export function fence(text: string): string {
  const longest = Math.max(2, ...Array.from(text.matchAll(/`+/g), (m) => m[0].length));
  const f = '`'.repeat(longest + 1);
  return `${f}text\n${text}\n${f}`;
}

/** A piece of the file's text inside a sentence: as code, so Markdown and HTML in it stay text. */
function inline(text: string): string {
  const flat = text.replace(/\s+/g, ' ').slice(0, 300);
  const longest = Math.max(0, ...Array.from(flat.matchAll(/`+/g), (m) => m[0].length));
  const f = '`'.repeat(longest + 1);
  return `${f} ${flat.replace(/\|/g, '\\|')} ${f}`;
}

const count = (n: number) => n.toLocaleString('en-US');
const fmt = (n: number | null) => (n === null ? '—' : String(Math.round(n)));
