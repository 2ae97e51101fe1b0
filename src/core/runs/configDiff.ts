// The config keys that differ between compared runs. Each run's YAML (as it was started) is flattened to
// dotted keys (training.learning_rate, lora.r); a key whose rendered value is not the same in every run is
// a row. `name` always differs and says nothing, so it is left out. A config that is missing or does not
// parse gets a note naming the run instead of a crash, and its column reads "?" (null).
import { parse } from 'yaml';

export interface ConfigDiffRows {
  rows: Array<{ key: string; values: Array<string | null> }>;
  notes: string[];
}

const IGNORED = new Set(['name']);
/** Lists longer than this, and values longer than MAX_VALUE, are shown shortened: the table is for reading. */
const MAX_VALUE = 200;

export function configDiff(configs: Array<{ label: string; yaml: string | null }>): ConfigDiffRows {
  const notes: string[] = [];
  const flat = configs.map(({ label, yaml }) => {
    if (yaml === null) {
      notes.push(`${label}: its config is not loaded yet`);
      return undefined;
    }
    try {
      const doc: unknown = parse(yaml);
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
        notes.push(`${label}: its config is not a YAML mapping`);
        return undefined;
      }
      return flatten(doc as Record<string, unknown>);
    } catch (e) {
      notes.push(`${label}: its config is not valid YAML (${e instanceof Error ? e.message.split('\n')[0] : String(e)})`);
      return undefined;
    }
  });
  const keys = new Set<string>();
  for (const f of flat) for (const k of f?.keys() ?? []) if (!IGNORED.has(k)) keys.add(k);
  const rows: ConfigDiffRows['rows'] = [];
  for (const key of [...keys].sort()) {
    const values = flat.map((f) => (f ? f.get(key) ?? null : null));
    const known = flat.filter(Boolean).map((f) => f!.get(key) ?? null);
    if (new Set(known).size > 1) rows.push({ key, values });
  }
  return { rows, notes };
}

function flatten(obj: Record<string, unknown>, prefix = '', out = new Map<string, string>()): Map<string, string> {
  for (const [k, v] of Object.entries(obj)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'object' && v !== null && !Array.isArray(v) && Object.keys(v).length) flatten(v as Record<string, unknown>, key, out);
    else out.set(key, render(v));
  }
  return out;
}

function render(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v) ?? String(v);
  return s.length > MAX_VALUE ? `${s.slice(0, MAX_VALUE - 1)}…` : s;
}
