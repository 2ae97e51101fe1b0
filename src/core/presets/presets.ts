// New Run Config's presets: the guide's scenarios and its compute table, each a commented config in presets/
// with example data. A new config is the preset's text with the person's name for it (and, for continued
// training, the checkpoint it starts from) written over those values only, so every comment stays.
import { isScalar, parseDocument } from 'yaml';

export interface Preset {
  id: string;
  title: string;
  detail: string;
  /** Continued training: the person picks the checkpoint it starts from. */
  needsCheckpoint?: boolean;
}

export const PRESETS: Preset[] = [
  { id: 'classification', title: 'Classification with labels', detail: 'A ticket in, one intent label out; precision and recall targets of 0.92' },
  { id: 'customer-service', title: 'Customer-service dialogue', detail: "A bank's support desk: a system prompt for the tone, multi-turn history, loss on the agent's answers" },
  { id: 'code-dpo', title: 'Code generation (DPO)', detail: 'Python, Java and SQL; answers that do not compile as the rejected side of each pair' },
  { id: 'continued', title: 'Continued training', detail: "A second stage from another run's checkpoint (first Chinese, then English)", needsCheckpoint: true },
  { id: 'size-7b-2xa100', title: '7B on 2 × A100', detail: 'batch 16 per GPU, an effective batch of 32' },
  { id: 'size-13b-4xa100', title: '13B on 4 × A100', detail: 'batch 4 per GPU × 2 accumulation steps: 32' },
  { id: 'size-70b-8xa100', title: '70B on 8 × A100', detail: 'FSDP, batch 1 per GPU × 4 accumulation steps: 32' },
  { id: 'size-7b-qlora-1gpu', title: '7B with QLoRA on one 24 GB GPU', detail: 'the base model in 4 bits, batch 4 × 8 accumulation steps: 32' },
];

/** The preset's config text, named `name` (and resuming from `resumeFrom`); every other byte is kept. */
export function instantiate(text: string, name: string, resumeFrom?: string): string {
  let out = replaceScalar(text, ['name'], name);
  if (resumeFrom !== undefined) out = replaceScalar(out, ['training', 'resume_from'], resumeFrom);
  return out;
}

/** Swaps the characters of one scalar value, so comments, spacing and flow lists stay exactly as written. */
function replaceScalar(text: string, path: string[], value: string): string {
  const node = parseDocument(text).getIn(path, true);
  if (!isScalar(node) || !node.range) throw new Error(`the preset has no ${path.join('.')} to set`);
  const quoted = /^[\w./-]+$/.test(value) ? value : JSON.stringify(value);
  return text.slice(0, node.range[0]) + quoted + text.slice(node.range[1]);
}

/** The data files a preset names (relative to the config), which New Run Config copies beside it. */
export function dataFiles(text: string): string[] {
  const doc = parseDocument(text);
  return ['train', 'eval'].map((k) => doc.getIn(['dataset', k])).filter((v): v is string => typeof v === 'string');
}

/** A name a run config may have: what `name:` holds, also used for the file name. */
export function configName(input: string): string | undefined {
  const name = input.trim();
  return /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name) ? name : undefined;
}
