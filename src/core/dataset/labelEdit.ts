// Setting a row's `label` as a text edit of its line, not a re-serialisation: the rest of the line keeps its
// bytes (key order, spacing, \u escapes, number spellings), so a save shows up in a diff as the label alone.
// jsonc-parser finds where the edit goes; its formatter is left off because it always breaks an object over
// lines, and the inserted text copies the row's own separators instead.
import { applyEdits, modify, parseTree, type Edit, type Node } from 'jsonc-parser';
import { LABEL_KEY } from './rowView';

function topObject(text: string): Node {
  let value: unknown;
  try {
    // jsonc-parser also accepts comments and trailing commas; the trainer reads rows with a strict parser.
    value = JSON.parse(text);
  } catch (e) {
    throw new Error(`Cannot set a label: the row is not valid JSON (${e instanceof Error ? e.message : String(e)}).`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new Error(`Cannot set a label: the row is ${Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`}, not a JSON object.`);
  }
  const root = parseTree(text);
  if (!root || root.type !== 'object') throw new Error('Cannot set a label: the row is not a JSON object.');
  return root;
}

function labelProperties(root: Node): Node[] {
  return (root.children ?? []).filter((p) => p.children?.[0]?.value === LABEL_KEY);
}

/** The row's own way of writing `:` and `,` between top-level members, so an added label looks like the rest. */
function separators(text: string, root: Node): { colon: string; comma: string } {
  const props = root.children ?? [];
  const between = (from: number, to: number) => text.slice(from, to);
  let colon = ': ';
  const first = props[0]?.children;
  if (first && first.length === 2) {
    const s = between(first[0].offset + first[0].length, first[1].offset);
    if (/^[ \t]*:[ \t]*$/.test(s)) colon = s;
  }
  let comma = colon.endsWith(' ') ? ', ' : ',';
  if (props.length >= 2) {
    const s = between(props[0].offset + props[0].length, props[1].offset);
    if (/^[ \t]*,[ \t]*$/.test(s)) comma = s;
  }
  return { colon, comma };
}

/** A row written pure ASCII (Python's json.dumps default) stays pure ASCII. */
function encode(label: string, text: string): string {
  const json = JSON.stringify(label);
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(text)) return json;
  return json.replace(/[\u0080-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/**
 * Sets the top-level `label` of one JSONL row (a string; null removes it) with the smallest change to its text.
 * Throws when the row is not a JSON object.
 */
export function setLabel(text: string, label: string | null): string {
  let root = topObject(text);
  // With a repeated key JSON.parse keeps the last one, so the earlier ones go before the last is edited.
  while (labelProperties(root).length > 1) {
    text = applyEdits(text, modify(text, [LABEL_KEY], undefined, {}));
    root = topObject(text);
  }
  if (label === null) return applyEdits(text, modify(text, [LABEL_KEY], undefined, {}));
  const value = encode(label, text);
  const existing = labelProperties(root)[0]?.children?.[1];
  if (existing) {
    return applyEdits(text, [{ offset: existing.offset, length: existing.length, content: value }]);
  }
  const edits: Edit[] = modify(text, [LABEL_KEY], label, {});
  if (edits.length !== 1 || edits[0].length !== 0) {
    throw new Error('Cannot set a label: unexpected edit for this row.');
  }
  const { colon, comma } = separators(text, root);
  const member = JSON.stringify(LABEL_KEY) + colon + value;
  const content = (root.children ?? []).length > 0 ? comma + member : member;
  return applyEdits(text, [{ offset: edits[0].offset, length: 0, content }]);
}

/** setLabel over several rows; a failing row is named by its position in `texts` (from 1). */
export function setLabels(texts: string[], label: string | null): string[] {
  return texts.map((t, i) => {
    try {
      return setLabel(t, label);
    } catch (e) {
      throw new Error(`Row ${i + 1} of ${texts.length}: ${e instanceof Error ? e.message : String(e)}`);
    }
  });
}
