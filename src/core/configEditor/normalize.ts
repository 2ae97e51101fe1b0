// A run config in one canonical text, so that a diff of two configs shows what differs in meaning, not in
// comments, key order, quoting or indentation: parsed, keys sorted at every depth, printed again.
import { parseDocument, stringify } from 'yaml';

export function normalizeConfig(text: string): string {
  const doc = parseDocument(text);
  if (doc.errors.length) {
    // Shown as it is, with why: a diff of a broken file is still worth reading.
    return `# not valid YAML (${doc.errors[0].message.split('\n')[0]}); shown as written\n${text}`;
  }
  return stringify(sortKeys(doc.toJS()), { lineWidth: 0 });
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(Object.keys(value).sort().map((k) => [k, sortKeys((value as Record<string, unknown>)[k])]));
  }
  return value;
}
