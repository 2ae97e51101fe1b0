// Hover in a run config: the key under the cursor (or the key whose value it is), with its type,
// description, default and bounds from the schema.
import { type Node, isMap, isScalar, isSeq } from 'yaml';
import { parseConfig } from './parse';
import { type SchemaNode, schemaAt, typeText } from './schema';
import { BOUND_WORDS } from './words';
import { type KeyPath, type TextRange, rangeOf } from './yamlNodes';

export interface ConfigHover {
  /** Markdown. */
  contents: string;
  range: TextRange;
  path: KeyPath;
}

export function configHover(text: string, offset: number): ConfigHover | undefined {
  const hit = keyAt(parseConfig(text).doc.contents as Node | null, offset, []);
  if (!hit) return undefined;
  const s = schemaAt(hit.path);
  if (!s) return undefined;
  return { contents: hoverText(hit.path, s), range: hit.range, path: hit.path };
}

/** The pair whose key or scalar value holds `offset`, with its path; the YAML may have errors elsewhere. */
function keyAt(node: Node | null | undefined, offset: number, path: KeyPath): { path: KeyPath; range: TextRange } | undefined {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = pair.key as Node | null;
      if (!isScalar(key)) continue;
      const here = [...path, String(key.value)];
      const k = rangeOf(key);
      if (k && offset >= k.start && offset <= k.end) return { path: here, range: k };
      const value = pair.value as Node | null;
      const v = rangeOf(value);
      if (isScalar(value) && v && offset >= v.start && offset <= v.end) return { path: here, range: k ?? v };
      const deeper = keyAt(value, offset, here);
      if (deeper) return deeper;
    }
  } else if (isSeq(node)) {
    for (const [i, item] of node.items.entries()) {
      const deeper = keyAt(item as Node, offset, [...path, i]);
      if (deeper) return deeper;
    }
  }
  return undefined;
}

function hoverText(path: KeyPath, s: SchemaNode): string {
  const lines = [`**${path.join('.')}**: ${typeText(s)}`];
  if (s.description) lines.push(s.description);
  const facts: string[] = [];
  if ('default' in s) facts.push(`Default: \`${JSON.stringify(s.default)}\``);
  const bounds = (['minimum', 'exclusiveMinimum', 'maximum', 'exclusiveMaximum'] as const)
    .filter((k) => typeof s[k] === 'number').map((k) => `${BOUND_WORDS[k]} ${s[k]}`);
  if (bounds.length) facts.push(`Range: ${bounds.join(', ')}`);
  if (facts.length) lines.push(facts.join(' · '));
  return lines.join('\n\n');
}
