// The dataset editor's undo/redo steps (src/core/dataset/editStack.ts) on the real edit log: steps of several
// ops (bulk labels, tool rows), undone and redone within one log and across saves, and edits made while a saved
// file is being indexed. The "file" is an array of lines; a save writes the rows shown into it and starts a new
// log on it, as the editor does. VS Code's own stack is modelled as the list of steps it would hold.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { EditLog } from '../../src/core/dataset/editLog';
import { EditStack, rowsBefore, type EditStep, type RowOp } from '../../src/core/dataset/editStack';
import { prng } from '../support/prng';

class Harness {
  file: string[];
  stack = new EditStack();
  /** VS Code's stack: done steps, and the undone ones that redo would take again. */
  done: EditStep[] = [];
  undone: EditStep[] = [];
  /** The log and file the rows read through: the old ones until a save's new log is in place. */
  reading: { log: EditLog; file: string[] };

  constructor(lines: string[]) {
    this.file = [...lines];
    this.stack.endSwap(new EditLog(lines.length));
    this.reading = { log: this.stack.log!, file: this.file };
  }

  rows(): string[] {
    const { log, file } = this.reading;
    const out: string[] = [];
    for (let r = 0; r < log.rowCount; r++) {
      const ref = log.rowAt(r);
      out.push(ref.kind === 'inserted' ? ref.text : ref.text ?? file[ref.line]);
    }
    return out;
  }

  async edit(ops: RowOp[]): Promise<void> {
    const version = this.stack.version;
    const before = await rowsBefore(ops, async (row, count) => this.rows().slice(row, row + count));
    this.done.push(this.stack.apply(ops, before, version));
    this.undone = [];
  }

  undo(): void {
    const s = this.done.pop();
    if (s) { s.undo(); this.undone.push(s); }
  }

  redo(): void {
    const s = this.undone.pop();
    if (s) { s.redo(); this.done.push(s); }
  }

  /** Writes the rows shown; the new log comes later (finishSave), as after the background index. */
  startSave(): void {
    this.file = this.rows();
    this.stack.beginSwap();
  }

  finishSave(): void {
    this.stack.endSwap(new EditLog(this.file.length));
    this.reading = { log: this.stack.log!, file: this.file };
  }
}

/** The same ops on a plain array: what the rows must be. */
function applyPlain(rows: string[], ops: RowOp[]): string[] {
  const out = [...rows];
  for (const op of ops) {
    if (op.op === 'replace') out[op.row] = op.text!;
    else if (op.op === 'delete') out.splice(op.row, op.count);
    else out.splice(op.row, 0, ...op.texts);
  }
  return out;
}

function randomOps(rand: () => number, rows: number, n: number, tag: string): RowOp[] {
  const ops: RowOp[] = [];
  let count = rows;
  for (let i = 0; i < n; i++) {
    const kind = count === 0 ? 2 : Math.floor(rand() * 3);
    if (kind === 0) { ops.push({ op: 'replace', row: Math.floor(rand() * count), text: `${tag}.r${i}` }); }
    else if (kind === 1) { const row = Math.floor(rand() * count); const c = Math.min(1 + Math.floor(rand() * 2), count - row); ops.push({ op: 'delete', row, count: c }); count -= c; }
    else { const texts = [`${tag}.i${i}a`, `${tag}.i${i}b`].slice(0, 1 + Math.floor(rand() * 2)); ops.push({ op: 'insert', row: Math.floor(rand() * (count + 1)), texts }); count += texts.length; }
  }
  return ops;
}

test('rowsBefore reads what each op of a step changes as it stands after the ops before it', async () => {
  const rows = ['a', 'b', 'c', 'd'];
  const ops: RowOp[] = [{ op: 'insert', row: 1, texts: ['x'] }, { op: 'replace', row: 2, text: 'B' }, { op: 'delete', row: 0, count: 2 }, { op: 'replace', row: 1, text: 'C' }];
  const before = await rowsBefore(ops, async (row, count) => rows.slice(row, row + count));
  assert.deepEqual(before, [[], ['b'], ['a', 'x'], ['c']]);
});

test('random multi-op steps undo and redo exactly, within a log, across saves, and while a save is indexed', async () => {
  for (let seed = 1; seed <= 300; seed++) {
    const rand = prng(seed);
    const initial = Array.from({ length: 12 }, (_, i) => `line ${i}`);
    const h = new Harness(initial);
    // What the rows must be after each step, from the start: undo walks back along it.
    const history: string[][] = [initial];
    let at = 0;
    let saving = false;
    for (let move = 0; move < 30; move++) {
      const pick = rand();
      if (pick < 0.45) {
        const ops = randomOps(rand, h.rows().length, 1 + Math.floor(rand() * 4), `s${seed}m${move}`);
        await h.edit(ops);
        history.splice(at + 1, history.length, applyPlain(history[at], ops));
        at++;
      } else if (pick < 0.65) { if (at > 0) { h.undo(); at--; } }
      else if (pick < 0.8) { if (at < history.length - 1) { h.redo(); at++; } }
      else if (!saving) { h.startSave(); saving = true; }
      else { h.finishSave(); saving = false; }
      assert.deepEqual(h.rows(), history[at], `seed ${seed}, move ${move}`);
    }
    if (saving) h.finishSave();
    assert.deepEqual(h.rows(), history[at], `seed ${seed}, after the last save`);
    while (at > 0) { h.undo(); at--; assert.deepEqual(h.rows(), history[at], `seed ${seed}, undoing to ${at}`); }
    while (at < history.length - 1) { h.redo(); at++; assert.deepEqual(h.rows(), history[at], `seed ${seed}, redoing to ${at}`); }
  }
});

test('a step read at an older version is refused: the rows it read may have moved', async () => {
  const h = new Harness(['a', 'b']);
  const version = h.stack.version;
  await h.edit([{ op: 'replace', row: 0, text: 'A' }]);
  assert.throws(() => h.stack.apply([{ op: 'delete', row: 0, count: 1 }], [['a']], version), /changed meanwhile/);
  assert.deepEqual(h.rows(), ['A', 'b']);
});

test('within one log, undoing every step leaves the log clean: the original lines are back, not copies of them', async () => {
  const rand = prng(7);
  const h = new Harness(Array.from({ length: 20 }, (_, i) => `line ${i}`));
  for (let i = 0; i < 25; i++) await h.edit(randomOps(rand, h.rows().length, 3, `e${i}`));
  assert.ok(!h.stack.log!.isClean);
  while (h.done.length) h.undo();
  assert.ok(h.stack.log!.isClean);
  assert.deepEqual(h.rows(), Array.from({ length: 20 }, (_, i) => `line ${i}`));
});
