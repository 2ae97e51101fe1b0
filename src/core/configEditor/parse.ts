// One parse of the config text, shared by diagnostics, completion, hover and quick fixes: the yaml
// Document (with ranges and comments), the line counter, and the plain value the schema checks.
import { type Document, LineCounter, parseDocument } from 'yaml';

export interface ParsedConfig {
  text: string;
  doc: Document;
  lines: LineCounter;
  /** The document as plain data (undefined while the YAML has errors: it would only half be there). */
  value: unknown;
}

export function parseConfig(text: string): ParsedConfig {
  const lines = new LineCounter();
  // keepSourceTokens is off and prettyErrors on: the errors carry line/column and a readable message.
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  const value = doc.errors.length ? undefined : doc.toJS({ maxAliasCount: 100 });
  return { text, doc, lines, value };
}
