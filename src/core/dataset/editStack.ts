// The dataset editor's undo/redo steps over a log that is replaced at every save. VS Code keeps the stack; each
// step it holds is made here. Within one log a step's undo is the log's own inverse, exact to the structure. A
// save writes the edits into the file and a new, clean log describes the new file, so a step made before the save
// is then undone or redone by row and content. While the saved file is being indexed the old log stays in use, and
// every change made meanwhile is queued to replay on the new log once it is ready.
import type { EditLog, EditOp } from './editLog';

export type RowOp = Extract<EditOp, { op: 'replace' | 'delete' | 'insert' }>;

export interface EditStep {
  undo(): void;
  redo(): void;
}

export class EditStack {
  private current: EditLog | undefined;
  private replay: EditOp[] = [];
  /** True from a save until the new file's log is in place (changes made meanwhile go to the new log too). */
  private swapping = false;
  private changes = 0;
  /** By log: how many steps were applied to it by row (see apply). */
  private readonly stamps = new WeakMap<EditLog, number>();

  constructor(private readonly onChange: () => void = () => undefined) {}

  get log(): EditLog | undefined {
    return this.current;
  }

  /** The saved (or reverted) file is being indexed: what changes from now on is replayed on its new log. */
  beginSwap(): void {
    this.swapping = true;
    this.replay = [];
  }

  /** The new file's log: the changes made since beginSwap are applied to it, in order. */
  endSwap(next: EditLog | undefined): void {
    if (next) for (const op of this.replay) next.apply(op);
    this.replay = [];
    this.swapping = false;
    this.current = next;
    this.changes++;
  }

  /** Changes with every edit, undo, redo and new log: a caller that read rows at one version edits only at that one. */
  get version(): number {
    return this.changes;
  }

  /**
   * Applies `ops` in order as one step. `before[i]` is the text of the rows ops[i] changes as they are just before
   * it applies (none for an insert), read by the caller at `version`: the step is refused if anything changed since,
   * and it is what undoes the step by content after a save.
   */
  apply(ops: RowOp[], before: string[][], version: number): EditStep {
    const log = this.current;
    if (!log) throw new Error('the file is being read; try again once its row count shows');
    if (version !== this.changes) throw new Error('the rows changed meanwhile; try again');
    const byContent: EditOp[] = ops.map((op, i) => op.op === 'replace' ? { op: 'replace', row: op.row, text: before[i][0] }
      : op.op === 'delete' ? { op: 'insert', row: op.row, texts: before[i] } : { op: 'delete', row: op.row, count: op.texts.length });
    const exact = ops.map((op) => log.apply(op));
    if (this.swapping) this.replay.push(...ops);
    // The log's inverse of a batch is the batch of inverses in reverse order; redo is the inverse of that, exact too.
    // Those structural ops hold only on the log they were made on, while no step was applied to it by row since
    // (a by-row undo restores the rows' text, not the log's structure): `stamp` says so.
    const state = { log, stamp: this.stampOf(log), inverse: { op: 'batch', ops: exact.reverse() } as EditOp, redo: { op: 'batch', ops } as EditOp };
    const step = (undo: boolean) => {
      const current = this.current;
      const byRow = undo ? [...byContent].reverse() : ops;
      if (!current) return;
      if (current === state.log && this.stampOf(current) === state.stamp) {
        if (undo) state.redo = current.apply(state.inverse);
        else state.inverse = current.apply(state.redo);
      } else {
        const inverses = byRow.map((op) => current.apply(op));
        this.stamps.set(current, this.stampOf(current) + 1);
        Object.assign(state, { log: current, stamp: this.stampOf(current) });
        const back: EditOp = { op: 'batch', ops: inverses.reverse() };
        if (undo) state.redo = back;
        else state.inverse = back;
      }
      if (this.swapping) this.replay.push(...byRow);
      this.changed();
    };
    this.changed();
    return { undo: () => step(true), redo: () => step(false) };
  }

  private stampOf(log: EditLog): number {
    return this.stamps.get(log) ?? 0;
  }

  private changed(): void {
    this.changes++;
    this.onChange();
  }
}

/**
 * The text of the rows each op changes, as they are just before it applies: after the ops before it in the same
 * step, which are not applied yet while this reads, so a row is walked back through them to where it stands now.
 */
export async function rowsBefore(ops: RowOp[], read: (row: number, count: number) => Promise<string[]>): Promise<string[][]> {
  const out: string[][] = [];
  ops.forEach((op, i) => out.push(op.op === 'insert' ? [] : new Array<string>(op.op === 'delete' ? op.count : 1)));
  for (let i = 0; i < ops.length; i++) {
    const op = ops[i];
    for (let k = 0; k < out[i].length; k++) {
      let row = op.row + k;
      let text: string | undefined;
      for (let j = i - 1; j >= 0 && text === undefined; j--) {
        const e = ops[j];
        if (e.op === 'replace' && e.row === row) text = e.text ?? undefined;
        else if (e.op === 'insert' && row >= e.row) {
          if (row < e.row + e.texts.length) text = e.texts[row - e.row];
          else row -= e.texts.length;
        } else if (e.op === 'delete' && row >= e.row) row += e.count;
      }
      out[i][k] = text ?? (await read(row, 1))[0];
    }
  }
  return out;
}
