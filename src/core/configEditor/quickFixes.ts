// Quick fixes for the editor's own diagnostics: an unknown key becomes the nearest known key of its map,
// a number out of range is clamped to the bound it broke, and a missing file becomes a marker that the
// VS Code layer turns into a file picker (core cannot show one).
import { isMap, isScalar } from 'yaml';
import type { ConfigDiagnostic, OutOfRangeData, UnknownKeyData } from './diagnostics';
import { parseConfig } from './parse';
import { type TextRange, locate } from './yamlNodes';

export interface ConfigEdit {
  range: TextRange;
  newText: string;
}

export type QuickFix =
  | { kind: 'edit'; title: string; edit: ConfigEdit; preferred: boolean }
  /** Ask for a file, then write its path (relative to the config) over `range`. */
  | { kind: 'pick-file'; title: string; key: string; range: TextRange };

export function quickFixes(d: ConfigDiagnostic, text: string): QuickFix[] {
  const data = d.data;
  if (!data) return [];
  if (data.kind === 'unknown-key') return renameKey(d, data, text);
  if (data.kind === 'out-of-range') return clamp(d, data, text);
  return [{ kind: 'pick-file', title: `Choose the file for ${d.key ?? 'this key'}…`, key: d.key ?? '', range: d.range }];
}

function renameKey(d: ConfigDiagnostic, data: UnknownKeyData, text: string): QuickFix[] {
  const parentPath = (d.key ?? '').split('.').slice(0, -1);
  const at = locate(parseConfig(text).doc, parentPath);
  const present = new Set(isMap(at.node) ? at.node.items.map((p) => (isScalar(p.key) ? String(p.key.value) : '')) : []);
  const best = nearest(data.name, data.allowed.filter((k) => !present.has(k)));
  return best ? [{ kind: 'edit', title: `Change to '${best}'`, edit: { range: d.range, newText: best }, preferred: true }] : [];
}

/** The candidate closest to `name` by edit distance, when close enough to be a typo of it. */
export function nearest(name: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const c of candidates) {
    const dist = editDistance(name.toLowerCase(), c.toLowerCase());
    if (dist < bestDistance) { best = c; bestDistance = dist; }
  }
  // A third of the name (at least 2) keeps "learnin_rate" -> "learning_rate" and drops "foo" -> "r".
  return best !== undefined && bestDistance <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}

/** Levenshtein distance with transpositions counted as one edit (optimal string alignment). */
export function editDistance(a: string, b: string): number {
  const d: number[][] = Array.from({ length: a.length + 1 }, (_, i) => [i, ...new Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) d[0][j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
    }
  }
  return d[a.length][b.length];
}

function clamp(d: ConfigDiagnostic, data: OutOfRangeData, text: string): QuickFix[] {
  const value = Number(text.slice(d.range.start, d.range.end));
  let target: number | undefined;
  let why: string;
  if (data.keyword === 'minimum' || data.keyword === 'maximum') {
    target = data.limit;
    why = `the ${data.keyword}`;
  } else if (data.integer) {
    target = data.keyword === 'exclusiveMinimum' ? Math.floor(data.limit) + 1 : Math.ceil(data.limit) - 1;
    why = `the nearest allowed`;
  } else {
    // A number cannot sit on an open bound; the schema's default is the one sure value inside it.
    const inside = (v: number) => (data.keyword === 'exclusiveMinimum' ? v > data.limit : v < data.limit);
    target = data.fallback !== undefined && inside(data.fallback) ? data.fallback : undefined;
    why = 'the default';
  }
  if (target === undefined || target === value) return [];
  return [{ kind: 'edit', title: `Change to ${target} (${why})`, edit: { range: d.range, newText: String(target) }, preferred: true }];
}
