// Setting one string of a JSONL row, as edited in place in the row pane, as a text edit of its line: the value's
// bytes are replaced and nothing else, so key order, spacing, escapes and number spellings survive and a save
// shows up in a diff as that string alone. The edit is built from jsonc-parser's tree rather than its modify():
// modify() follows the first of repeated keys, while JSON.parse (and so the trainer and the row pane) reads the
// last, and the string is written in the row's own style (pure ASCII rows stay ASCII), which modify() cannot do.
import { applyEdits, parseTree, type Node } from 'jsonc-parser';
import { pathLabel, type JsonPath } from './rowView';

export type { JsonPath } from './rowView';

function fail(path: JsonPath, why: string): never {
  throw new Error(`Cannot set ${path.length ? pathLabel(path) : 'the row'}: ${why}.`);
}

function kindOf(node: Node): string {
  return node.type === 'object' ? 'an object' : node.type === 'array' ? 'an array' : node.type === 'null' ? 'null' : `a ${node.type}`;
}

/** The node JSON.parse would read at `path`: with a repeated key, the last one. */
function nodeAt(root: Node, path: JsonPath): Node {
  let node = root;
  for (let i = 0; i < path.length; i++) {
    const seg = path[i];
    const where = i === 0 ? 'the row' : pathLabel(path.slice(0, i));
    let next: Node | undefined;
    if (node.type === 'object' && typeof seg === 'string') {
      for (const prop of node.children ?? []) {
        if (prop.children?.length === 2 && prop.children[0].value === seg) next = prop.children[1];
      }
      if (!next) fail(path, `${where} has no key ${JSON.stringify(seg)}`);
    } else if (node.type === 'array' && typeof seg === 'number') {
      const items = node.children ?? [];
      if (Number.isInteger(seg) && seg >= 0 && seg < items.length) next = items[seg];
      if (!next) fail(path, `${where} has no item ${seg} (it has ${items.length})`);
    } else {
      fail(path, `${where} is ${kindOf(node)}, so it has no ${typeof seg === 'number' ? `item ${seg}` : `key ${JSON.stringify(seg)}`}`);
    }
    node = next;
  }
  return node;
}

/**
 * The value as a JSON string literal: line breaks always escaped, U+2028/U+2029 too (some editors and readers
 * split lines on them), and everything past ASCII escaped when the row was pure ASCII (Python's json.dumps
 * default), so the row keeps the one style it was written in.
 */
function encode(value: string, text: string): string {
  const json = JSON.stringify(value).replace(/[\u2028\u2029]/g, (c) => '\\u' + c.charCodeAt(0).toString(16));
  // eslint-disable-next-line no-control-regex
  if (/[^\x00-\x7f]/.test(text)) return json;
  return json.replace(/[\u0080-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0'));
}

/**
 * Sets the string at `path` in one JSONL row to `value` with the smallest change to the text: the string's own
 * bytes are replaced and every other byte is kept, and the row stays one line. Throws, naming the path, when
 * the row is not valid JSON or nothing at `path` is a string.
 */
export function setField(text: string, path: JsonPath, value: string): string {
  try {
    // jsonc-parser also accepts comments and trailing commas; the trainer reads rows with a strict parser.
    JSON.parse(text);
  } catch (e) {
    fail(path, `the row is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  const root = parseTree(text);
  if (!root) fail(path, 'the row is not valid JSON');
  const node = nodeAt(root, path);
  if (node.type !== 'string') fail(path, `it is ${kindOf(node)}, not a string`);
  // The same value again is no change at all, not a re-spelling of its escapes.
  if (JSON.parse(text.slice(node.offset, node.offset + node.length)) === value) return text;
  return applyEdits(text, [{ offset: node.offset, length: node.length, content: encode(value, text) }]);
}
