// Finds where a config key (as the agent names it, e.g. "training.learning_rate") is written in a run
// config, so a preflight problem can open the file at that line.
import { isMap, isScalar, LineCounter, parseDocument } from 'yaml';

/** 1-based line of the deepest part of `key` that the YAML text has (its parent when the key itself is unset); undefined when none. */
export function keyLine(text: string, key: string): number | undefined {
  const counter = new LineCounter();
  let doc;
  try {
    doc = parseDocument(text, { lineCounter: counter });
  } catch {
    return undefined;
  }
  let node: unknown = doc.contents;
  let line: number | undefined;
  for (const part of key.split('.')) {
    if (!isMap(node)) break;
    const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === part);
    if (!pair || !isScalar(pair.key) || !pair.key.range) break;
    line = counter.linePos(pair.key.range[0]).line;
    node = pair.value;
  }
  return line;
}
