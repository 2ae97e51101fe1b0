// Finds the nodes of a key path in a parsed YAML Document, with their text ranges. Diagnostics, hover,
// quick fixes and the agent's problems all place themselves through this, on the Document already parsed.
import { type Document, LineCounter, type Node, type Pair, isMap, isScalar, isSeq, isCollection } from 'yaml';

/** Offsets into the text, end exclusive. */
export interface TextRange {
  start: number;
  end: number;
}

/** 0-based line and character, as an editor counts them. */
export interface LineCol {
  line: number;
  character: number;
}

export type KeyPath = (string | number)[];

export interface Located {
  /** How many parts of the path were found (the path itself when it equals path.length). */
  depth: number;
  /** The key of the deepest pair found on the way (a sequence item has none of its own: its list's key). */
  key?: TextRange;
  /** True when `key` is the key of the last part found, not of an ancestor above a sequence item. */
  ownKey?: boolean;
  /** The deepest node found (undefined when the pair has no value, e.g. `eval:` alone). */
  node?: Node;
}

/** The deepest node along `path` and the range of its key; parts that are not there stop the walk. */
export function locate(doc: Document, path: KeyPath): Located {
  let node: unknown = doc.contents;
  let key: TextRange | undefined;
  let ownKey = false;
  let depth = 0;
  for (const part of path) {
    if (isMap(node)) {
      const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(part)) as Pair<Node, Node> | undefined;
      if (!pair) break;
      key = rangeOf(pair.key ?? undefined);
      ownKey = true;
      node = pair.value ?? undefined;
    } else if (isSeq(node) && Number.isInteger(Number(part)) && Number(part) < node.items.length) {
      node = node.items[Number(part)];
      ownKey = false;
    } else {
      break;
    }
    depth += 1;
    if (node === undefined || node === null) {
      return { depth, key, ownKey };
    }
  }
  return { depth, key, ownKey, node: (node ?? undefined) as Node | undefined };
}

/** A node's own text: a scalar without its trailing comment, a collection without the lines after it. */
export function rangeOf(node: Node | null | undefined): TextRange | undefined {
  if (!node?.range) return undefined;
  return { start: node.range[0], end: node.range[1] };
}

/** True for a collection written over several lines (not `[a, b]` or `{a: 1}`). */
export function isBlockCollection(node: Node | undefined): boolean {
  return isCollection(node) && !node.flow;
}

/**
 * Where to put a mark about the value at `path`: its own text when it is one line (a scalar, a flow
 * collection), else its key, so a wrong section squiggles one line and not forty. Falls back to the
 * deepest key present, then to the start of the document.
 */
export function valueRange(doc: Document, path: KeyPath): TextRange {
  const at = locate(doc, path);
  const own = rangeOf(at.node);
  if (at.depth === path.length && own && !isBlockCollection(at.node) && own.end > own.start) return own;
  return at.key ?? (own && at.depth === path.length && !isBlockCollection(at.node) ? own : firstLine(doc));
}

/**
 * The range of the key at `path`; for a sequence item, its first key (or the item itself when it is one
 * line); else the deepest key present, or the start of the document.
 */
export function keyRange(doc: Document, path: KeyPath): TextRange {
  const at = locate(doc, path);
  if (at.depth === path.length && !at.ownKey && at.node) {
    const mark = isMap(at.node) ? rangeOf(at.node.items[0]?.key as Node | undefined) : isBlockCollection(at.node) ? undefined : rangeOf(at.node);
    if (mark) return mark;
  }
  return at.key ?? firstLine(doc);
}

/** The first key of the document (where a problem about the whole file goes), or an empty range at 0. */
export function firstLine(doc: Document): TextRange {
  const root = doc.contents;
  if (isMap(root) && root.items.length) {
    const r = rangeOf(root.items[0].key as Node);
    if (r) return r;
  }
  // A document that is a list or a lone scalar: its first item, or the scalar.
  const first = isSeq(root) ? (root.items[0] as Node | undefined) : (root as Node | null);
  const r = rangeOf(first);
  return r && !isBlockCollection(first ?? undefined) ? r : { start: 0, end: 0 };
}

/** 0-based line and character of an offset. */
export function lineColOf(counter: LineCounter, offset: number): LineCol {
  const p = counter.linePos(offset);
  return { line: p.line - 1, character: p.col - 1 };
}
