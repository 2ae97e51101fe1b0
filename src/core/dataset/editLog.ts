// A person's edits to a big line-oriented file, kept as a log over the original line numbers; the file itself is
// never copied. Memory and work grow with the number of edits, not the file: rows are found by a binary search over
// the runs of untouched lines and the groups of inserted ones, rebuilt (O(edits)) after a change.
//
// The displayed rows are: the lines inserted at the start, then for each original line that is not deleted, the line
// (its replacement text, if any), then the lines inserted after it. Lines inserted after a deleted line stay where
// they were.

export type RowRef =
  | { kind: 'original'; line: number; text?: string }
  | { kind: 'inserted'; text: string };

/**
 * An edit. `replace`, `delete` and `insert` address displayed rows (what callers use); `restore` and `insertAt`
 * address the log itself and are made as inverses, so that undo puts the log back exactly as it was.
 */
export type EditOp =
  | { op: 'replace'; row: number; text: string | null }
  | { op: 'delete'; row: number; count: number }
  | { op: 'insert'; row: number; texts: string[] }
  | { op: 'restore'; line: number; text: string | null }
  | { op: 'insertAt'; after: number; index: number; texts: string[] }
  | { op: 'batch'; ops: EditOp[] };

/** The edits alone, for a hot-exit backup. */
export interface EditLogJSON {
  version: 1;
  lineCount: number;
  replaced: Array<[number, string]>;
  deleted: number[];
  /** [the original line they follow (-1: the file's start), the lines in order]. */
  inserted: Array<[number, string[]]>;
}

/** What the writer copies or writes, in order. */
export type Piece = { kind: 'lines'; from: number; to: number } | { kind: 'text'; text: string };

const START = -1;

type Segment =
  | { row: number; count: number; kind: 'original'; line: number }
  | { row: number; count: number; kind: 'inserted'; after: number; texts: string[] };

type Place =
  | { kind: 'original'; line: number }
  | { kind: 'inserted'; after: number; index: number; texts: string[] };

export class EditLog {
  private readonly replaced = new Map<number, string>();
  private readonly deleted = new Set<number>();
  /** Keyed by the original line they follow (START for the file's start); never holds an empty group. */
  private readonly inserts = new Map<number, string[]>();
  private segments: Segment[] | undefined;
  private rows = 0;

  constructor(readonly lineCount: number) {
    if (!Number.isInteger(lineCount) || lineCount < 0) throw new RangeError(`lineCount must be a whole number >= 0, not ${lineCount}`);
  }

  get rowCount(): number {
    this.layout();
    return this.rows;
  }

  get isClean(): boolean {
    return this.replaced.size === 0 && this.deleted.size === 0 && this.inserts.size === 0;
  }

  rowAt(row: number): RowRef {
    const p = this.place(row);
    if (p.kind === 'inserted') return { kind: 'inserted', text: p.texts[p.index] };
    const text = this.replaced.get(p.line);
    return text === undefined ? { kind: 'original', line: p.line } : { kind: 'original', line: p.line, text };
  }

  /** The displayed row of an original line, or -1 when it is deleted. */
  rowOf(line: number): number {
    this.checkLine(line, 'rowOf');
    if (this.deleted.has(line)) return -1;
    const segs = this.layout();
    const s = segs[this.segmentAt((seg) => seg.kind === 'original' ? seg.line <= line : seg.after < line)];
    return s.row + (line - (s as { line: number }).line);
  }

  /** Sets a row's text; null puts an original line's own text back. Returns the inverse. */
  replace(row: number, text: string | null): EditOp {
    return this.apply({ op: 'replace', row, text });
  }

  delete(row: number, count = 1): EditOp {
    return this.apply({ op: 'delete', row, count });
  }

  /** Inserts lines before `row` (rowCount: at the end). Returns the inverse. */
  insert(row: number, texts: string[]): EditOp {
    return this.apply({ op: 'insert', row, texts });
  }

  /** Applies an edit and returns the one that undoes it exactly. */
  apply(e: EditOp): EditOp {
    switch (e.op) {
      case 'replace': return this.doReplace(e.row, e.text);
      case 'delete': return this.doDelete(e.row, e.count);
      case 'insert': return this.doInsert(e.row, e.texts);
      case 'restore': return this.doRestore(e.line, e.text);
      case 'insertAt': return this.doInsertAt(e.after, e.index, e.texts);
      case 'batch': return { op: 'batch', ops: e.ops.map((o) => this.apply(o)).reverse() };
    }
  }

  /** Untouched runs of original lines and the texts between them, in row order. */
  *pieces(): Generator<Piece> {
    const replacedLines = [...this.replaced.keys()].sort((a, b) => a - b);
    for (const s of this.layout()) {
      if (s.kind === 'inserted') {
        for (const text of s.texts) yield { kind: 'text', text };
        continue;
      }
      let from = s.line;
      const to = s.line + s.count;
      for (let i = lowerBound(replacedLines, from); i < replacedLines.length && replacedLines[i] < to; i++) {
        const line = replacedLines[i];
        if (line > from) yield { kind: 'lines', from, to: line };
        yield { kind: 'text', text: this.replaced.get(line)! };
        from = line + 1;
      }
      if (to > from) yield { kind: 'lines', from, to };
    }
  }

  toJSON(): EditLogJSON {
    const byKey = <T>(m: Map<number, T>) => [...m.entries()].sort((a, b) => a[0] - b[0]);
    return {
      version: 1,
      lineCount: this.lineCount,
      replaced: byKey(this.replaced),
      deleted: [...this.deleted].sort((a, b) => a - b),
      inserted: byKey(this.inserts).map(([after, texts]) => [after, [...texts]]),
    };
  }

  /** Rebuilds a log from toJSON's output; `lineCount` is the file's now, and must be what the edits were made on. */
  static fromJSON(json: unknown, lineCount: number): EditLog {
    const j = json as Partial<EditLogJSON> | null;
    const bad = (why: string) => new Error(`The saved edits cannot be used: ${why}`);
    if (!j || typeof j !== 'object' || j.version !== 1) throw bad('not a version 1 edit log');
    if (j.lineCount !== lineCount) throw bad(`they were made on a file of ${j.lineCount} lines, and it now has ${lineCount}`);
    if (!Array.isArray(j.replaced) || !Array.isArray(j.deleted) || !Array.isArray(j.inserted)) throw bad('replaced, deleted or inserted is missing');
    const log = new EditLog(lineCount);
    const line = (v: unknown, min: number) => {
      if (!Number.isInteger(v) || (v as number) < min || (v as number) >= lineCount) throw bad(`line ${String(v)} is not in the file`);
      return v as number;
    };
    for (const entry of j.replaced) {
      if (!Array.isArray(entry) || typeof entry[1] !== 'string') throw bad('a replaced entry is not [line, text]');
      checkText(entry[1], `saved line ${String(entry[0])}`);
      log.replaced.set(line(entry[0], 0), entry[1]);
    }
    for (const l of j.deleted) log.deleted.add(line(l, 0));
    for (const entry of j.inserted) {
      if (!Array.isArray(entry) || !Array.isArray(entry[1]) || !entry[1].every((t) => typeof t === 'string')) {
        throw bad('an inserted entry is not [line, texts]');
      }
      entry[1].forEach((t: string) => checkText(t, `a line saved after line ${String(entry[0])}`));
      if (entry[1].length) log.inserts.set(line(entry[0], START), [...entry[1]]);
    }
    for (const l of log.deleted) log.replaced.delete(l);
    return log;
  }

  private doReplace(row: number, text: string | null): EditOp {
    if (text !== null) checkText(text, `row ${row}`);
    const p = this.place(row);
    if (p.kind === 'inserted') {
      if (text === null) throw new Error(`Row ${row} is an inserted line: it has no original text to put back`);
      const before = p.texts[p.index];
      p.texts[p.index] = text;
      return { op: 'replace', row, text: before };
    }
    const before = this.replaced.get(p.line) ?? null;
    if (text === null) this.replaced.delete(p.line);
    else this.replaced.set(p.line, text);
    return { op: 'replace', row, text: before };
  }

  private doDelete(row: number, count: number): EditOp {
    if (!Number.isInteger(count) || count < 0) throw new RangeError(`Cannot delete ${count} rows`);
    if (count === 0) return { op: 'batch', ops: [] };
    this.checkRow(row + count - 1, 'delete');
    const places: Place[] = [];
    for (let r = row; r < row + count; r++) places.push(this.place(r));
    // Undone first row first: each restored line or inserted text then finds everything before it in place.
    const inverse: EditOp[] = places.map((p) => p.kind === 'original'
      ? { op: 'restore', line: p.line, text: this.replaced.get(p.line) ?? null }
      : { op: 'insertAt', after: p.after, index: p.index, texts: [p.texts[p.index]] });
    // Removed last row first, so the group indices of the rows before stay valid.
    for (let i = places.length - 1; i >= 0; i--) {
      const p = places[i];
      if (p.kind === 'original') {
        this.deleted.add(p.line);
        this.replaced.delete(p.line);
      } else {
        p.texts.splice(p.index, 1);
        if (!p.texts.length) this.inserts.delete(p.after);
      }
    }
    this.segments = undefined;
    return inverse.length === 1 ? inverse[0] : { op: 'batch', ops: inverse };
  }

  private doInsert(row: number, texts: string[]): EditOp {
    if (row !== this.rowCount) this.checkRow(row, 'insert before');
    texts.forEach((t, i) => checkText(t, `inserted line ${i + 1}`));
    if (!texts.length) return { op: 'batch', ops: [] };
    // The new lines go right after row - 1: into its group when it is an inserted line, else at the head of the
    // group that follows the original line (or the file's start).
    let after = START;
    let index = 0;
    if (row > 0) {
      const p = this.place(row - 1);
      if (p.kind === 'original') {
        after = p.line;
      } else {
        after = p.after;
        index = p.index + 1;
      }
    }
    this.insertInto(after, index, texts);
    return { op: 'delete', row, count: texts.length };
  }

  private doRestore(line: number, text: string | null): EditOp {
    this.checkLine(line, 'restore');
    if (!this.deleted.has(line)) throw new Error(`Line ${line + 1} is not deleted, so it cannot be restored`);
    if (text !== null) checkText(text, `line ${line + 1}`);
    this.deleted.delete(line);
    if (text !== null) this.replaced.set(line, text);
    this.segments = undefined;
    return { op: 'delete', row: this.rowOf(line), count: 1 };
  }

  private doInsertAt(after: number, index: number, texts: string[]): EditOp {
    if (after !== START) this.checkLine(after, 'insert after');
    const group = this.inserts.get(after);
    if (!Number.isInteger(index) || index < 0 || index > (group?.length ?? 0)) {
      throw new RangeError(`No place ${index} among the ${group?.length ?? 0} lines inserted after line ${after + 1}`);
    }
    texts.forEach((t, i) => checkText(t, `inserted line ${i + 1}`));
    if (!texts.length) return { op: 'batch', ops: [] };
    this.insertInto(after, index, texts);
    const segs = this.layout();
    const s = segs[this.segmentAt((seg) => seg.kind === 'original' ? seg.line <= after : seg.after <= after)];
    return { op: 'delete', row: s.row + index, count: texts.length };
  }

  private insertInto(after: number, index: number, texts: string[]): void {
    const group = this.inserts.get(after);
    if (group) group.splice(index, 0, ...texts);
    else this.inserts.set(after, [...texts]);
    this.segments = undefined;
  }

  private place(row: number): Place {
    this.checkRow(row, 'read');
    const segs = this.layout();
    const s = segs[this.segmentAt((seg) => seg.row <= row)];
    return s.kind === 'original'
      ? { kind: 'original', line: s.line + (row - s.row) }
      : { kind: 'inserted', after: s.after, index: row - s.row, texts: s.texts };
  }

  /** The last segment for which `atOrBefore` holds; it must hold for a prefix of the segments. */
  private segmentAt(atOrBefore: (s: Segment) => boolean): number {
    const segs = this.layout();
    let lo = 0;
    let hi = segs.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (atOrBefore(segs[mid])) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }

  /** The display as runs of kept original lines and groups of inserted ones, each with its first row. */
  private layout(): Segment[] {
    if (this.segments) return this.segments;
    const segs: Segment[] = [];
    let row = 0;
    const addOriginal = (from: number, to: number) => {
      if (to <= from) return;
      const last = segs[segs.length - 1];
      if (last?.kind === 'original' && last.line + last.count === from) last.count += to - from;
      else segs.push({ row, count: to - from, kind: 'original', line: from });
      row += to - from;
    };
    const addGroup = (after: number) => {
      const texts = this.inserts.get(after);
      if (!texts) return;
      segs.push({ row, count: texts.length, kind: 'inserted', after, texts });
      row += texts.length;
    };
    addGroup(START);
    const points = [...new Set([...this.deleted, ...this.inserts.keys()])].filter((p) => p !== START).sort((a, b) => a - b);
    let next = 0;
    for (const p of points) {
      addOriginal(next, p);
      if (!this.deleted.has(p)) addOriginal(p, p + 1);
      next = p + 1;
      addGroup(p);
    }
    addOriginal(next, this.lineCount);
    this.segments = segs;
    this.rows = row;
    return segs;
  }

  private checkRow(row: number, what: string): void {
    const rows = this.rowCount;
    if (!Number.isInteger(row) || row < 0 || row >= rows) throw new RangeError(`Cannot ${what} row ${row}: there are ${rows} rows (0-based)`);
  }

  private checkLine(line: number, what: string): void {
    if (!Number.isInteger(line) || line < 0 || line >= this.lineCount) {
      throw new RangeError(`Cannot ${what} line ${line}: the file has ${this.lineCount} lines (0-based)`);
    }
  }
}

/** A row is one line of the file: a line break in it would split it into two and shift every line after. */
function checkText(text: string, where: string): void {
  if (typeof text !== 'string') throw new TypeError(`The text of ${where} is not a string`);
  if (/[\r\n]/.test(text)) throw new Error(`The text of ${where} contains a line break; a row must stay one line`);
}

/** The first index whose value is not below `value` (sorted ascending). */
export function lowerBound(sorted: number[], value: number): number {
  let lo = 0;
  let hi = sorted.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (sorted[mid] < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
