// The run-config form, derived from the agent's schema: one group per top-level section in the README's order,
// one field per key with its widget, bounds, default and description. Reading a config's text gives each field's
// value as written (or "fix the YAML at line N"), and a field's raw input is turned into the value to write.
// Nothing here repeats a rule of the schema: ranges and cross-key checks stay with the diagnostics and the agent.
import { isMap, isScalar, isSeq } from 'yaml';
import { parseConfig } from './parse';
import { SCHEMA, type SchemaNode } from './schema';
import type { FormValue } from './formEdit';

export type FieldKind = 'text' | 'number' | 'integer' | 'boolean' | 'enum' | 'list' | 'numbers' | 'choices' | 'entries';

export interface FormField {
  /** Dotted key path: "training.learning_rate". */
  key: string;
  label: string;
  kind: FieldKind;
  description: string;
  /** The schema's default, as the form shows it when the key is not written. */
  placeholder: string;
  required: boolean;
  /** Values an `enum` field offers, or the words a `choices` list may hold. */
  options?: string[];
  /** A word accepted instead of the field's kind ("all-linear" for target_modules, "all" for gpus). */
  word?: string;
  min?: number;
  max?: number;
}

export interface FormGroup {
  key: string;
  title: string;
  /** What the section is for, in a line. */
  about: string;
  fields: FormField[];
}

// The README's reference order; a section the schema gains later still shows, after these.
const GROUPS: Array<[key: string, title: string, about: string]> = [
  ['name', 'Run', 'The run\'s name in the Runs view and its folder.'],
  ['model', 'Model', 'What to fine-tune and how to load it.'],
  ['dataset', 'Dataset', 'The rows to train and evaluate on, and how they become samples.'],
  ['lora', 'LoRA', 'The adapter: the guide uses r=16, alpha=32 on q_proj and v_proj.'],
  ['training', 'Training', 'Optimiser, schedule, batch, checkpoints and early stopping.'],
  ['layer_lr', 'Layer-wise learning rates', 'Parameter groups with their own learning rate.'],
  ['loss', 'Loss terms', 'Extra terms added to the training loss.'],
  ['dpo', 'DPO', 'Used when training.method is dpo.'],
  ['kto', 'KTO', 'Used when training.method is kto.'],
  ['monitoring', 'Monitoring', 'The grad-norm band the dashboard watches.'],
  ['evaluation', 'Evaluation', 'Targets that Evaluate Checkpoint scores against.'],
];

export const FORM_GROUPS: FormGroup[] = buildGroups(SCHEMA);

export function buildGroups(schema: SchemaNode): FormGroup[] {
  const props = schema.properties ?? {};
  const order = [...GROUPS.map(([k]) => k), ...Object.keys(props).filter((k) => !GROUPS.some(([g]) => g === k))];
  const required = new Set(schema.required ?? []);
  return order.filter((k) => props[k]).map((key) => {
    const [, title, about] = GROUPS.find(([g]) => g === key) ?? [key, key, props[key].description ?? ''];
    const node = props[key];
    const object = objectBranch(node);
    const fields = object && key !== 'layer_lr'
      ? fieldsOf(object, [key])
      : [field([key], node, required.has(key), key === 'name' ? 'name' : key)];
    if (key === 'model') {
      // `model: <id>` is the short form of `model: {name: <id>}`: one Name field serves both.
      const name = fields.find((f) => f.key === 'model.name');
      if (name) name.required = true;
    }
    return { key, title, about, fields };
  });
}

function fieldsOf(object: SchemaNode, path: string[]): FormField[] {
  const required = new Set(object.required ?? []);
  const out: FormField[] = [];
  for (const [name, child] of Object.entries(object.properties ?? {})) {
    const nested = objectBranch(child);
    if (nested && child.type === 'object') out.push(...fieldsOf(nested, [...path, name]));
    else out.push(field([...path, name], child, required.has(name), [...path.slice(1), name].join('.')));
  }
  return out;
}

/** The object form of a node (itself, or its object branch of a oneOf), if it has one. */
function objectBranch(node: SchemaNode): SchemaNode | undefined {
  if (node.properties) return node;
  return (node.oneOf ?? node.anyOf)?.find((b) => b.properties);
}

function field(path: string[], node: SchemaNode, required: boolean, label: string): FormField {
  const branches = node.oneOf ?? node.anyOf ?? [node];
  const word = branches.find((b) => typeof b.const === 'string')?.const as string | undefined;
  const main = branches.find((b) => b.const === undefined) ?? node;
  const base: FormField = {
    key: path.join('.'), label, kind: 'text', description: node.description ?? main.description ?? '',
    placeholder: node.default === undefined ? '' : placeholderOf(node.default), required,
  };
  if (word) base.word = word;
  const min = main.minimum ?? main.exclusiveMinimum;
  const max = main.maximum ?? main.exclusiveMaximum;
  if (typeof min === 'number') base.min = min;
  if (typeof max === 'number') base.max = max;
  if (main.enum) return { ...base, kind: 'enum', options: main.enum.map(String) };
  const type = Array.isArray(main.type) ? main.type[0] : main.type;
  if (type === 'boolean') return { ...base, kind: 'boolean' };
  if (type === 'integer') return { ...base, kind: 'integer' };
  if (type === 'number') return { ...base, kind: 'number' };
  if (type === 'array') {
    const items = (Array.isArray(main.items) ? main.items[0] : main.items) ?? {};
    if (items.enum) return { ...base, kind: 'choices', options: items.enum.map(String) };
    if (items.type === 'number' || items.type === 'integer') return { ...base, kind: 'numbers' };
    if (items.type === 'object' || items.properties) return { ...base, kind: 'entries' };
    return { ...base, kind: 'list' };
  }
  return base;
}

function placeholderOf(v: unknown): string {
  return Array.isArray(v) ? v.join(', ') : String(v);
}

export const FORM_FIELDS: Map<string, FormField> = new Map(FORM_GROUPS.flatMap((g) => g.fields.map((f) => [f.key, f])));

/** Each field's value as written (absent keys are left out), or where the YAML is broken. */
export type FormState =
  | {
    ok: true;
    values: Record<string, unknown>;
    /** Numbers as written (`2e-4`, `0.0`), so the form shows the person's spelling, not JavaScript's. */
    written: Record<string, string>;
    /** Fields written in a shape the form cannot edit (a map where a value goes...). */
    odd: string[];
  }
  | { ok: false; line: number; message: string };

export function readForm(text: string, fields: Iterable<FormField> = FORM_FIELDS.values()): FormState {
  const { doc, lines } = parseConfig(text);
  const error = doc.errors[0];
  const written: Record<string, string> = {};
  if (error) {
    const line = error.linePos?.[0].line ?? lines.linePos(error.pos[0]).line;
    return { ok: false, line, message: error.message.split('\n')[0].replace(/:\s*$/, '') };
  }
  const values: Record<string, unknown> = {};
  const odd: string[] = [];
  const root = doc.contents;
  if (root !== null && !isMap(root)) return { ok: false, line: 1, message: 'the config is not a map of keys' };
  for (const f of fields) {
    const path = f.key.split('.');
    let node: unknown = root;
    let found = true;
    for (let i = 0; i < path.length && found; i++) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === path[i]);
        if (pair) node = pair.value;
        else found = false;
      } else if (path[0] === 'model' && i === 1 && isScalar(node)) {
        // The short form `model: <name>` holds the name and no options.
        if (f.key === 'model.name') break;
        found = false;
      } else {
        found = false;
        if (node !== null && node !== undefined) odd.push(f.key);
      }
    }
    if (!found || node === null || node === undefined) continue;
    if (isScalar(node)) {
      values[f.key] = node.value;
      if (typeof node.value === 'number' && node.range) written[f.key] = text.slice(node.range[0], node.range[1]);
    }
    else if (isSeq(node)) values[f.key] = node.toJSON();
    else if (isMap(node)) odd.push(f.key);
  }
  return { ok: true, values, written, odd };
}

/** What a field's raw input writes: a value, undefined to clear the key (its default applies), or why not. */
export type Parsed = { value: FormValue | undefined } | { error: string };

export function parseInput(f: FormField, raw: string | boolean | string[]): Parsed {
  if (f.kind === 'boolean') return typeof raw === 'boolean' ? { value: raw } : { error: `${f.key}: expected true or false` };
  if (f.kind === 'choices') {
    if (!Array.isArray(raw) || raw.some((v) => !f.options?.includes(v))) return { error: `${f.key}: pick from ${f.options?.join(', ')}` };
    return { value: raw.length ? raw : undefined };
  }
  if (typeof raw !== 'string') return { error: `${f.key}: expected text` };
  const text = raw.trim();
  if (text === '') return f.required ? { error: `${f.key} is required` } : { value: undefined };
  if (f.word !== undefined && text === f.word) return { value: text };
  switch (f.kind) {
    case 'integer':
    case 'number': {
      const n = Number(text);
      if (!Number.isFinite(n) || !/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return { error: `${f.key}: "${text}" is not a number${f.word ? ` (or ${f.word})` : ''}` };
      if (f.kind === 'integer' && !Number.isInteger(n)) return { error: `${f.key}: must be a whole number, got ${text}` };
      return { value: n };
    }
    case 'numbers': {
      const parts = text.split(/[,\s]+/).filter(Boolean);
      const nums = parts.map(Number);
      if (nums.some((n) => !Number.isFinite(n))) return { error: `${f.key}: expected numbers separated by commas, got "${text}"` };
      return { value: nums };
    }
    case 'list':
      return { value: text.split(',').map((s) => s.trim()).filter(Boolean) };
    case 'enum':
      return f.options?.includes(text) ? { value: text } : { error: `${f.key}: pick one of ${f.options?.join(', ')}` };
    default:
      return { value: text };
  }
}
