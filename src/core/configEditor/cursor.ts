// Where the cursor is in a config being typed: at a key (which map's) or at a value (whose). Read from the
// lines' indentation, not the Document, because the line being typed ("  lea") rarely parses yet.
import type { KeyPath, TextRange } from './yamlNodes';

export type CursorContext =
  /** A key being typed in the map at `path`; `present` are the keys that map already has. */
  | { kind: 'key'; path: KeyPath; replace: TextRange; present: string[]; column: number; itemStart: boolean; renaming: boolean }
  /** A value being typed for the key at `path` (a list item's value when the path ends with its index). */
  | { kind: 'value'; path: KeyPath; replace: TextRange };

interface Entry {
  /** Column of the first dash when the line starts a list item. */
  dashCol?: number;
  /** Column where the line's key (or item value) starts. */
  keyCol: number;
  key?: string;
  /** The line is `key:` with nothing after it but a comment: a map or list follows. */
  opens: boolean;
}

const LINE = /^( *)((?:-(?: +|$))*)(.*)$/;
const KEY = /^("(?:[^"\\]|\\.)*"|'[^']*'|[^\s:#'"{}[\],&*!|>%@`][^:#]*?)\s*:(?:\s+(.*)|$)/;

function entry(line: string): Entry | undefined {
  const m = LINE.exec(line.replace(/\r$/, ''));
  if (!m) return undefined;
  const [, indent, dashes, rest] = m;
  if (!dashes && (rest.trim() === '' || rest.startsWith('#') || rest.startsWith('---') || rest.startsWith('...'))) return undefined;
  const k = KEY.exec(rest);
  const after = k?.[2]?.trim() ?? '';
  return {
    dashCol: dashes ? indent.length : undefined,
    keyCol: indent.length + dashes.length,
    key: k ? unquote(k[1]) : undefined,
    opens: !!k && (after === '' || after.startsWith('#')),
  };
}

const unquote = (s: string) => (/^(["']).*\1$/.test(s) ? s.slice(1, -1) : s);

/** The path of the map whose keys start at `col` on line `at` (or of the list item the line starts). */
function ancestors(entries: (Entry | undefined)[], at: number, col: number, itemStart: boolean, dashCol?: number): KeyPath | undefined {
  const path: KeyPath = [];
  let want: { col: number; kind: 'map' | 'seq' } = itemStart ? { col: dashCol ?? col, kind: 'seq' } : { col, kind: 'map' };
  let index = 0;
  for (let j = at - 1; j >= 0; j--) {
    const e = entries[j];
    if (!e) continue;
    if (want.kind === 'map') {
      if (e.keyCol > want.col) continue;
      if (e.keyCol === want.col) {
        // The first key of a list item: our map is that item.
        if (e.dashCol !== undefined) { want = { col: e.dashCol, kind: 'seq' }; index = 0; }
        continue;
      }
    } else {
      if (e.dashCol === want.col) { index += 1; continue; }
      if (e.keyCol > want.col) continue;
      if (e.keyCol === want.col && e.dashCol !== undefined) continue;
      path.unshift(index);
    }
    // A line left of us: it must open the map or list we are in.
    if (!e.key || !e.opens) return undefined;
    path.unshift(e.key);
    if (e.dashCol !== undefined) { want = { col: e.dashCol, kind: 'seq' }; index = 0; }
    else want = { col: e.keyCol, kind: 'map' };
  }
  if (want.kind === 'seq') path.unshift(index);
  return path;
}

/** The keys already written in the map whose keys start at `col` around line `at`. */
function siblings(entries: (Entry | undefined)[], at: number, col: number, itemStart: boolean): string[] {
  const keys: string[] = [];
  if (!itemStart) {
    for (let j = at - 1; j >= 0; j--) {
      const e = entries[j];
      if (!e || e.keyCol > col) continue;
      if (e.keyCol < col) break;
      if (e.key) keys.push(e.key);
      if (e.dashCol !== undefined) break;
    }
  }
  for (let j = at + 1; j < entries.length; j++) {
    const e = entries[j];
    if (!e || e.keyCol > col) continue;
    if (e.keyCol < col || e.dashCol !== undefined) break;
    if (e.key) keys.push(e.key);
  }
  return keys;
}

export function cursorContext(text: string, offset: number): CursorContext | undefined {
  const lineStart = text.lastIndexOf('\n', offset - 1) + 1;
  const nl = text.indexOf('\n', offset);
  const lineEnd = nl < 0 ? text.length : nl;
  const lines = text.split('\n');
  const at = text.slice(0, lineStart).split('\n').length - 1;
  const before = text.slice(lineStart, offset);
  const after = text.slice(offset, lineEnd);
  const entries = lines.map(entry);
  const wordEnd = offset + (/^[^\s:#,\]}]*/.exec(after)?.[0].length ?? 0);

  const value = /^( *)((?:- +)?)("(?:[^"\\]|\\.)*"|'[^']*'|[^\s:#'"][^:#]*?)\s*:\s+([^\s#]*)$/.exec(before);
  if (value) {
    const [, indent, dash, key, typed] = value;
    const col = indent.length + dash.length;
    const parent = ancestors(entries, at, col, !!dash, dash ? indent.length : undefined);
    return parent && { kind: 'value', path: [...parent, unquote(key)], replace: { start: offset - typed.length, end: wordEnd } };
  }
  const key = /^( *)((?:- +)?)([^\s:#'"]*)$/.exec(before);
  if (!key) return undefined;
  const [, indent, dash, typed] = key;
  const col = indent.length + dash.length;
  const path = ancestors(entries, at, col, !!dash, dash ? indent.length : undefined);
  if (!path) return undefined;
  const replace = { start: offset - typed.length, end: wordEnd };
  const present = siblings(entries, at, col, !!dash);
  // Renaming a key in place ("lea|rning_rate: 1"): the colon and value stay.
  const renaming = /^[^\s:#]*\s*:/.test(after);
  return { kind: 'key', path, replace, present, column: col, itemStart: !!dash, renaming };
}
