// One form edit (set or clear the value at a key path) as the smallest text edits on the config as written.
// The form never re-serialises the document: a changed scalar replaces only its own characters, a new key is
// one inserted line at its section's indent, a cleared key loses only its line (its comment stays). So every
// comment, the key order and every line the person did not touch stay byte for byte.
import { type Document, type Node, type Pair, type YAMLMap, type YAMLSeq, isMap, isScalar, isSeq, Scalar } from 'yaml';
import { parseConfig } from './parse';
import type { ConfigEdit } from './quickFixes';

/** A value the form can write: a scalar or a list of scalars. undefined clears the key (its default applies). */
export type FormValue = string | number | boolean | Array<string | number>;

export type FormEditResult = { edits: ConfigEdit[] } | { error: string };

export function formEdit(text: string, path: string[], value: FormValue | undefined): FormEditResult {
  const { doc } = parseConfig(text);
  if (doc.errors.length) return { error: 'the YAML has an error: fix it in the text first' };
  const lines = new Lines(text);
  return value === undefined ? removeAt(doc, lines, path) : setAt(doc, lines, path, value);
}

/** Line arithmetic over the text, and the document's indent step (2 unless the file shows another). */
class Lines {
  constructor(readonly text: string) {}
  start(offset: number): number {
    return this.text.lastIndexOf('\n', offset - 1) + 1;
  }
  /** Just after the newline ending the line that holds `offset` (the text's end when it has no newline). */
  next(offset: number): number {
    const nl = this.text.indexOf('\n', offset);
    return nl < 0 ? this.text.length : nl + 1;
  }
  column(offset: number): number {
    return offset - this.start(offset);
  }
  /** The last non-blank character before `offset`, plus one. */
  contentEnd(offset: number): number {
    let i = offset;
    while (i > 0 && /\s/.test(this.text[i - 1])) i--;
    return i;
  }
}

type AnyPair = Pair<Node | null, Node | null>;

function pairOf(map: YAMLMap, key: string): AnyPair | undefined {
  return map.items.find((p) => isScalar(p.key) && String(p.key.value) === key) as AnyPair | undefined;
}

function setAt(doc: Document, lines: Lines, path: string[], value: FormValue): FormEditResult {
  let node: unknown = doc.contents;
  if (node === null || node === undefined) return { edits: [appendAtEnd(lines, blockFor(path, value, 0, indentStep(doc, lines)))] };
  if (!isMap(node)) return { error: 'the config is not a map of keys: fix it in the text first' };
  for (let i = 0; i < path.length; i++) {
    const map: YAMLMap = node as YAMLMap;
    const pair = pairOf(map, path[i]);
    if (!pair) return { edits: [insertInto(map, lines, blockFor(path.slice(i), value, 0, indentStep(doc, lines)), doc)] };
    const last = i === path.length - 1;
    const child = pair.value;
    if (last) return { edits: replaceValue(pair, child, value, lines) };
    if (isMap(child)) { node = child; continue; }
    const name = path.slice(0, i + 1).join('.');
    if (child === null || (isScalar(child) && child.value === null && child.range && child.range[0] === child.range[1])) {
      // `training:` with nothing under it yet: the new keys go on the lines below, one step in.
      const keyStart = (pair.key as Node).range![0];
      const indent = lines.column(keyStart) + indentStep(doc, lines);
      const at = lines.next((pair.key as Node).range![1]);
      return { edits: [{ range: { start: at, end: at }, newText: ensureEol(lines, at, blockFor(path.slice(i + 1), value, indent, indentStep(doc, lines))) }] };
    }
    if (path[i] === 'model' && i === 0 && isScalar(child) && path.length === 2 && path[1] === 'name') return { edits: replaceValue(pair, child, value, lines) };
    if (path[i] === 'model' && i === 0 && isScalar(child) && typeof child.value === 'string') {
      // `model: <name>` becomes `model:` with `name:` and the new option under it; a comment after the name stays on the last line.
      const step = indentStep(doc, lines);
      const indent = ' '.repeat(lines.column((pair.key as Node).range![0]) + step);
      const nested = blockFor(path.slice(i + 1), value, indent.length, step).replace(/\n$/, '');
      const start = lines.text.indexOf(':', (pair.key as Node).range![1]) + 1;
      const lineEnd = lines.next(child.range![1]);
      const end = lines.text[lineEnd - 1] === '\n' ? lineEnd - 1 : lineEnd;
      return { edits: [{ range: { start, end }, newText: `\n${indent}name: ${lines.text.slice(child.range![0], end)}\n${nested}` }] };
    }
    return { error: `${name} is not a section of keys here: fix it in the text first` };
  }
  return { error: 'nothing to set' };
}

/** `key: value` lines for a path below an existing map, each level one step further in. */
function blockFor(path: string[], value: FormValue, indent: number, step: number): string {
  let out = '';
  path.forEach((key, i) => {
    const pad = ' '.repeat(indent + i * step);
    out += i === path.length - 1 ? `${pad}${plainKey(key)}: ${valueText(value)}\n` : `${pad}${plainKey(key)}:\n`;
  });
  return out;
}

function appendAtEnd(lines: Lines, block: string): ConfigEdit {
  const end = lines.text.length;
  return { range: { start: end, end }, newText: ensureEol(lines, end, block) };
}

/** `block` inserted at `at`: a newline first when `at` ends a last line that has none. */
function ensureEol(lines: Lines, at: number, block: string): string {
  return at > 0 && lines.text[at - 1] !== '\n' ? `\n${block}` : block;
}

/** New keys go after the map's last key (and its nested lines), at the indent of its first key. */
function insertInto(map: YAMLMap, lines: Lines, block: string, doc: Document): ConfigEdit {
  if (map.flow) {
    const close = lines.text.lastIndexOf('}', map.range![1]);
    const entry = block.trim();
    return { range: { start: close, end: close }, newText: map.items.length ? `, ${entry}` : entry };
  }
  const first = map.items[0]?.key as Node | undefined;
  const indent = first?.range ? lines.column(first.range[0]) : 0;
  const lastPair = map.items[map.items.length - 1] as AnyPair;
  const lastNode = (lastPair.value ?? lastPair.key) as Node;
  const end = lines.contentEnd(isScalar(lastNode) ? lastNode.range![1] : lastNode.range![1]);
  const at = lines.next(Math.max(end - 1, 0));
  const reindented = block.replace(/^( *)(?=\S)/gm, (pad) => ' '.repeat(indent + pad.length));
  void doc;
  return { range: { start: at, end: at }, newText: ensureEol(lines, at, reindented) };
}

function replaceValue(pair: AnyPair, node: Node | null, value: FormValue, lines: Lines): ConfigEdit[] {
  const key = pair.key as Node;
  if (Array.isArray(value) && isSeq(node) && !node.flow) return replaceBlockList(node, value, lines);
  if (node === null || !node.range || (isScalar(node) && node.range[0] === node.range[1])) {
    // `key:` with no value: the value goes after the colon.
    const colon = lines.text.indexOf(':', key.range![1]);
    return [{ range: { start: colon + 1, end: colon + 1 }, newText: ` ${valueText(value)}` }];
  }
  if (isMap(node) && !node.flow) return [];
  if (isSeq(node) && !node.flow) {
    // A block list becomes a word ("all-linear"): the word goes after the colon, the list's comments stay below it.
    const colon = lines.text.indexOf(':', key.range![1]);
    const end = lines.contentEnd(node.range[1]);
    const kept = commentsIn(lines.text.slice(colon + 1, end)).replace(/\n$/, '');
    return [{ range: { start: colon + 1, end }, newText: ` ${valueText(value)}${kept ? `\n${kept}` : ''}` }];
  }
  const text = isScalar(node) ? scalarText(value, node) : valueText(value);
  const end = isScalar(node) && (node.type === 'BLOCK_LITERAL' || node.type === 'BLOCK_FOLDED') ? lines.contentEnd(node.range[1]) : node.range[1];
  if (lines.text.slice(node.range[0], end) === text) return [];
  return [{ range: { start: node.range[0], end }, newText: text }];
}

/**
 * A block list (`- a` lines) stays one: items in both keep their line with only the value replaced, extra old
 * items lose their line (a comment on it stays), new items get lines after the last one at the same indent.
 */
function replaceBlockList(seq: YAMLSeq, value: Array<string | number>, lines: Lines): ConfigEdit[] {
  const items = seq.items as Node[];
  const edits: ConfigEdit[] = [];
  const common = Math.min(items.length, value.length);
  for (let i = 0; i < common; i++) {
    const item = items[i];
    const text = isScalar(item) ? scalarText(value[i], item) : valueText(value[i]);
    if (lines.text.slice(item.range![0], item.range![1]) !== text) edits.push({ range: { start: item.range![0], end: item.range![1] }, newText: text });
  }
  for (let i = common; i < items.length; i++) edits.push(removeLine(lines, items[i].range![0], items[i].range![1]));
  if (value.length > items.length) {
    const dash = lines.text.lastIndexOf('-', items[0].range![0]);
    const pad = ' '.repeat(lines.column(dash));
    const at = lines.next(lines.contentEnd(items[items.length - 1].range![1]) - 1);
    const block = value.slice(items.length).map((v) => `${pad}- ${valueText(v)}\n`).join('');
    edits.push({ range: { start: at, end: at }, newText: ensureEol(lines, at, block) });
  }
  return edits;
}

/** The whole line of a one-line entry from `start` to `end`; a comment after it is kept on a line of its own. */
function removeLine(lines: Lines, start: number, end: number): ConfigEdit {
  const lineStart = lines.start(start);
  const lineEnd = lines.next(end);
  const rest = lines.text.slice(end, lineEnd);
  const comment = /^\s*(#.*?)\s*$/.exec(rest.replace(/\n$/, ''));
  const keep = comment ? `${' '.repeat(start - lineStart)}${comment[1]}\n` : '';
  return { range: { start: lineStart, end: lineEnd }, newText: keep };
}

function removeAt(doc: Document, lines: Lines, path: string[]): FormEditResult {
  const chain: Array<{ map: YAMLMap; pair: AnyPair }> = [];
  let node: unknown = doc.contents;
  for (const part of path) {
    if (!isMap(node)) return { edits: [] };
    const pair = pairOf(node, part);
    if (!pair) return { edits: [] };
    chain.push({ map: node, pair });
    node = pair.value;
  }
  if (!chain.length) return { edits: [] };
  // A section left with no keys goes too (`training:` alone would read as null, which the schema refuses); its
  // comments stay where they were.
  let level = chain.length - 1;
  while (level > 0 && chain[level].map.items.length === 1 && !chain[level].map.flow) level--;
  const { map, pair } = chain[level];
  const key = pair.key as Node;
  const value = pair.value as Node | null;
  if (map.flow) return { edits: [removeFromFlow(map, pair, lines)] };
  if (value && !isScalar(value) && !(isSeq(value) && value.flow) && !(isMap(value) && value.flow)) {
    // A section or block list: every line from its key to its last line.
    const start = lines.start(key.range![0]);
    const end = lines.next(lines.contentEnd(value.range![1]) - 1);
    return { edits: [{ range: { start, end }, newText: commentsIn(lines.text.slice(start, end)) }] };
  }
  const end = value?.range ? (isScalar(value) && value.type?.startsWith('BLOCK') ? lines.contentEnd(value.range[1]) : value.range[1]) : key.range![1] + 1;
  return { edits: [removeLine(lines, key.range![0], end)] };
}

/** The comments of a removed block, each on its own line at its old column (a person's words are never dropped by the form). */
function commentsIn(block: string): string {
  const kept: string[] = [];
  for (const line of block.split('\n')) {
    const whole = /^\s*#.*$/.exec(line);
    const trailing = /^(\s*)\S.*?\s(#.*)$/.exec(line);
    if (whole) kept.push(`${line}\n`);
    else if (trailing) kept.push(`${trailing[1]}${trailing[2]}\n`);
  }
  return kept.join('');
}

function removeFromFlow(map: YAMLMap, pair: AnyPair, lines: Lines): ConfigEdit {
  const start = (pair.key as Node).range![0];
  let end = ((pair.value ?? pair.key) as Node).range![1];
  const after = lines.text.slice(end).match(/^\s*,\s*/);
  if (after) return { range: { start, end: end + after[0].length }, newText: '' };
  const before = lines.text.slice(0, start).match(/,\s*$/);
  void map;
  return { range: { start: before ? start - before[0].length : start, end }, newText: '' };
}

/** The indent step the file uses (the first nested key's indent), 2 when it has none. */
function indentStep(doc: Document, lines: Lines): number {
  if (!isMap(doc.contents)) return 2;
  for (const pair of doc.contents.items) {
    const v = pair.value;
    if (isMap(v) && !v.flow && v.items.length) {
      const col = lines.column((v.items[0].key as Node).range![0]) - lines.column((pair.key as Node).range![0]);
      if (col > 0) return col;
    }
  }
  return 2;
}

// YAML 1.1 readers (PyYAML) take these plain words for booleans or null; 1.2 readers do not. Quoted, both agree.
const AMBIGUOUS = /^(y|n|yes|no|on|off|true|false|null|~)$/i;
const SAFE_PLAIN = /^[A-Za-z_./][A-Za-z0-9_./@+-]*( [A-Za-z0-9_./@+()-]+)*$/;

function plainKey(key: string): string {
  return SAFE_PLAIN.test(key) && !AMBIGUOUS.test(key) ? key : JSON.stringify(key);
}

/** A scalar as the agent's loader reads it back to the same value: quoted only when a plain word would not be. */
export function valueText(value: FormValue | string | number): string {
  if (Array.isArray(value)) return `[${value.map((v) => valueText(v)).join(', ')}]`;
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value === 'number') return numberText(value);
  return SAFE_PLAIN.test(value) && !AMBIGUOUS.test(value) ? value : JSON.stringify(value);
}

/** A number both YAML 1.2 and the agent's loader read as one: `2e-05` gets its `.0` (PyYAML wants the dot). */
function numberText(n: number): string {
  if (!Number.isFinite(n)) return n > 0 ? '.inf' : n < 0 ? '-.inf' : '.nan';
  const s = String(n);
  return /e/i.test(s) && !s.includes('.') ? s.replace(/e/i, '.0e') : s;
}

/** A new scalar in the style of the one it replaces: a quoted string stays quoted the same way. */
function scalarText(value: FormValue | string | number, old: Scalar): string {
  if (typeof value === 'string' && old.type === Scalar.QUOTE_DOUBLE) return JSON.stringify(value);
  if (typeof value === 'string' && old.type === Scalar.QUOTE_SINGLE) return `'${value.replace(/'/g, "''")}'`;
  return valueText(value);
}

/** Applies edits (non-overlapping, any order) to a text: what VS Code does with a WorkspaceEdit. */
export function applyEdits(text: string, edits: ConfigEdit[]): string {
  let out = text;
  for (const e of [...edits].sort((a, b) => b.range.start - a.range.start)) out = out.slice(0, e.range.start) + e.newText + out.slice(e.range.end);
  return out;
}
