// The big-file dataset editor's edits (src/core/dataset/editLog.ts) and its save (writeEdited.ts): random edits
// checked against a plain array of rows, the saved bytes against the bytes that array says the file must have
// (untouched lines byte for byte, with their own CRLF), and every edit's inverse undoing it exactly.
import assert from 'node:assert/strict';
import { chmodSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { after, test } from 'node:test';
import { EditLog, type EditOp, type RowRef } from '../../src/core/dataset/editLog';
import { buildLineIndex, type LineIndex } from '../../src/core/dataset/lineIndex';
import { writeEdited } from '../../src/core/dataset/writeEdited';
import { prng } from '../support/prng';
import { scratchFiles } from '../support/datasetFiles';

const { dir, file } = scratchFiles('tunelab-dataset-edits-');

const BOM = '\uFEFF';


/** The plain model: the rows as an array, each an original line (maybe with new text) or an inserted text. */
type ModelRow = { kind: 'original'; line: number; text?: string } | { kind: 'inserted'; text: string };

function rowsOf(log: EditLog): RowRef[] {
  return Array.from({ length: log.rowCount }, (_, r) => log.rowAt(r));
}

/**
 * The bytes the saved file must have, built from the original's own bytes: each untouched line as it was (with its
 * own ending), each new text with the file's eol, the BOM kept, and the file's last-line ending kept.
 */
function expectedBytes(original: Buffer, index: LineIndex, rows: ModelRow[]): Buffer {
  const parts: Buffer[] = [];
  if (index.bom) parts.push(Buffer.from(BOM));
  const eol = Buffer.from(index.eol);
  let unterminated = false;
  for (const r of rows) {
    if (unterminated) parts.push(eol);
    if (r.kind === 'original' && r.text === undefined) {
      parts.push(original.subarray(index.start(r.line), index.next(r.line)));
      unterminated = r.line === index.lineCount - 1 && !index.lastTerminated;
    } else {
      parts.push(Buffer.from(r.text!));
      unterminated = true;
    }
  }
  if (unterminated && (index.lineCount === 0 || index.lastTerminated)) parts.push(eol);
  return Buffer.concat(parts);
}

async function saveCopy(original: string, index: LineIndex, log: EditLog, bufferBytes?: number): Promise<Buffer> {
  const copy = file(readFileSync(original));
  await writeEdited(copy, index, log, { bufferBytes });
  return readFileSync(copy);
}

const TEXTS = ['{"a":1}', '', '{"é":"€"}', '{"emoji":"𝄞"}', '{"x":"' + 'long'.repeat(20) + '"}', ' ', '日本語'];

async function randomEdits(seed: number, content: string) {
  const rand = prng(seed);
  const pick = <T>(xs: T[]) => xs[Math.floor(rand() * xs.length)];
  const bytes = Buffer.from(content);
  const path = file(bytes);
  const index = await buildLineIndex(path, { chunkBytes: 5 });
  const log = new EditLog(index.lineCount);
  let model: ModelRow[] = Array.from({ length: index.lineCount }, (_, line) => ({ kind: 'original', line }));
  const history: Array<{ inverse: EditOp; json: string; model: ModelRow[] }> = [];
  for (let step = 0; step < 300; step++) {
    const before = { json: JSON.stringify(log.toJSON()), model: model.map((r) => ({ ...r })) };
    const n = model.length;
    const roll = rand();
    let inverse: EditOp;
    if (roll < 0.3 && n > 0) {
      const row = Math.floor(rand() * n);
      const target = model[row];
      const text = target.kind === 'original' && rand() < 0.25 ? null : pick(TEXTS) + step;
      inverse = log.replace(row, text);
      model[row] = target.kind === 'original'
        ? (text === null ? { kind: 'original', line: target.line } : { kind: 'original', line: target.line, text })
        : { kind: 'inserted', text: text! };
    } else if (roll < 0.55 && n > 0) {
      const row = Math.floor(rand() * n);
      const count = Math.min(n - row, 1 + Math.floor(rand() * 3));
      inverse = log.delete(row, count);
      model.splice(row, count);
    } else {
      const row = Math.floor(rand() * (n + 1));
      const texts = Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(TEXTS) + step);
      inverse = log.insert(row, texts);
      model.splice(row, 0, ...texts.map((text): ModelRow => ({ kind: 'inserted', text })));
    }
    history.push({ inverse, ...before });
    assert.deepEqual(rowsOf(log), model, `seed ${seed}, step ${step}: rows`);
    assert.equal(log.rowCount, model.length);
  }
  assert.equal(log.isClean, false);

  // The save: twice, with a buffer that splits everything and with the default one.
  const expected = expectedBytes(bytes, index, model);
  assert.deepEqual(await saveCopy(path, index, log, 3), expected, `seed ${seed}: saved bytes (3-byte buffer)`);
  assert.deepEqual(await saveCopy(path, index, log), expected, `seed ${seed}: saved bytes`);

  // The edits alone survive a backup.
  const restored = EditLog.fromJSON(JSON.parse(JSON.stringify(log.toJSON())), index.lineCount);
  assert.deepEqual(restored.toJSON(), log.toJSON());
  assert.deepEqual(rowsOf(restored), model);
  assert.deepEqual(await saveCopy(path, index, restored, 64), expected, `seed ${seed}: saved from the backup`);

  // Undo everything, one inverse at a time, each putting the log back exactly; then redo it all.
  const finalJson = JSON.stringify(log.toJSON());
  const redo: EditOp[] = [];
  for (let i = history.length - 1; i >= 0; i--) {
    redo.push(log.apply(history[i].inverse));
    assert.equal(JSON.stringify(log.toJSON()), history[i].json, `seed ${seed}: undo of step ${i}`);
    assert.deepEqual(rowsOf(log), history[i].model, `seed ${seed}: rows after undo of step ${i}`);
  }
  assert.equal(log.isClean, true);
  assert.deepEqual(await saveCopy(path, index, log), bytes, `seed ${seed}: a clean log saves the original bytes`);
  for (let i = redo.length - 1; i >= 0; i--) log.apply(redo[i]);
  assert.equal(JSON.stringify(log.toJSON()), finalJson, `seed ${seed}: redo`);
  model = rowsOf(log) as ModelRow[];
  assert.deepEqual(await saveCopy(path, index, log, 7), expected);
}

function jsonl(lines: number, rand: () => number, crlfShare: number): string {
  let s = '';
  for (let i = 0; i < lines; i++) s += `{"row":${i},"text":"${'é€ab'.slice(0, Math.floor(rand() * 5))}"}${rand() < crlfShare ? '\r\n' : '\n'}`;
  return s;
}

test('300 random edits match a plain array; the save matches its bytes (BOM, mixed CRLF, no final newline)', async () => {
  const rand = prng(1);
  await randomEdits(101, `${BOM}${jsonl(40, rand, 0.6)}{"last":"no newline"}`);
});

test('300 random edits on an LF file that ends with a newline, with empty lines', async () => {
  const rand = prng(2);
  await randomEdits(202, `${jsonl(20, rand, 0)}\n\n${jsonl(20, rand, 0)}`);
});

test('300 random edits on a CRLF file', async () => {
  const rand = prng(3);
  await randomEdits(303, jsonl(30, rand, 1));
});

test('random edits starting from an empty file', async () => {
  await randomEdits(404, '');
});

test('saves as written out by hand: eol for new lines, untouched CRLF kept, last line ending kept', async () => {
  const content = `${BOM}a\r\nb\r\nc\nd`; // two CRLF to one LF: new lines get CRLF; "d" has no newline
  const path = file(content);
  const index = await buildLineIndex(path);
  assert.equal(index.eol, '\r\n');
  const log = new EditLog(index.lineCount);
  const save = async () => (await saveCopy(path, index, log)).toString('utf8');
  log.replace(2, 'C');
  assert.equal(await save(), `${BOM}a\r\nb\r\nC\r\nd`);
  log.insert(4, ['e']);
  assert.equal(await save(), `${BOM}a\r\nb\r\nC\r\nd\r\ne`, 'd gets an ending; the new last line has none, as d had none');
  log.delete(0);
  assert.equal(await save(), `${BOM}b\r\nC\r\nd\r\ne`, 'the BOM stays with the file');
  log.replace(2, 'D');
  log.delete(3);
  assert.equal(await save(), `${BOM}b\r\nC\r\nD`, 'the replaced last line keeps having no newline');
  log.insert(0, ['z']);
  assert.equal(await save(), `${BOM}z\r\nb\r\nC\r\nD`);
  assert.deepEqual(rowsOf(log), [
    { kind: 'inserted', text: 'z' }, { kind: 'original', line: 1 }, { kind: 'original', line: 2, text: 'C' },
    { kind: 'original', line: 3, text: 'D' },
  ]);

  const lf = file('x\ny\n');
  const lfIndex = await buildLineIndex(lf);
  const lfLog = new EditLog(2);
  lfLog.insert(2, ['z']);
  lfLog.replace(0, 'X');
  assert.equal((await saveCopy(lf, lfIndex, lfLog)).toString(), 'X\ny\nz\n');
  lfLog.delete(0, 3);
  assert.equal((await saveCopy(lf, lfIndex, lfLog)).toString(), '', 'everything deleted');

  const empty = file('');
  const emptyLog = new EditLog(0);
  emptyLog.insert(0, ['{"first":1}', '{"second":2}']);
  assert.equal((await saveCopy(empty, await buildLineIndex(empty), emptyLog)).toString(), '{"first":1}\n{"second":2}\n');
});

test('rows map through inserts and deletes; rowOf finds original lines; bad rows are refused with their number', () => {
  const log = new EditLog(5);
  log.delete(1); // lines 0 2 3 4
  log.insert(0, ['s']); // s 0 2 3 4
  log.insert(3, ['i', 'j']); // s 0 2 i j 3 4
  assert.deepEqual(rowsOf(log).map((r) => (r.kind === 'original' ? r.line : r.text)), ['s', 0, 2, 'i', 'j', 3, 4]);
  assert.deepEqual([log.rowOf(0), log.rowOf(1), log.rowOf(2), log.rowOf(3), log.rowOf(4)], [1, -1, 2, 5, 6]);
  assert.equal(log.rowCount, 7);
  assert.throws(() => log.rowAt(7), /row 7: there are 7 rows/);
  assert.throws(() => log.replace(-1, 'x'), RangeError);
  assert.throws(() => log.insert(8, ['x']), /insert before row 8/);
  assert.throws(() => log.delete(6, 2), /row 7/);
  assert.throws(() => log.replace(3, null), /inserted line: it has no original text/);
  assert.throws(() => log.replace(1, 'two\nlines'), /line break/);
  assert.throws(() => log.insert(0, ['a\r']), /line break/);
  log.insert(7, ['end']);
  assert.deepEqual(log.rowAt(7), { kind: 'inserted', text: 'end' });
});

test('a big file\'s rows with a few edits: lookups by binary search, memory by the edits', () => {
  const lines = 1_600_000;
  const log = new EditLog(lines);
  log.delete(10);
  log.insert(500_000, ['a', 'b']);
  log.replace(1_599_999 + 1, 'last'); // rows are shifted by +1 (2 inserted, 1 deleted)
  assert.equal(log.rowCount, lines + 1);
  assert.deepEqual(log.rowAt(9), { kind: 'original', line: 9 });
  assert.deepEqual(log.rowAt(10), { kind: 'original', line: 11 });
  assert.deepEqual(log.rowAt(500_000), { kind: 'inserted', text: 'a' });
  assert.deepEqual(log.rowAt(500_002), { kind: 'original', line: 500_001 });
  assert.deepEqual(log.rowAt(lines), { kind: 'original', line: lines - 1, text: 'last' });
  const started = performance.now();
  for (let r = 0; r < 200_000; r++) log.rowAt((r * 7919) % log.rowCount);
  assert.ok(performance.now() - started < 2000, 'lookups do not walk the lines');
  assert.ok(JSON.stringify(log.toJSON()).length < 200, 'the log holds the edits, not the lines');
});

test('inverses undo exactly, also where a plain row-based undo would put lines in another group', () => {
  const log = new EditLog(4);
  log.insert(2, ['after-1']); // 0 1 after-1 2 3
  log.delete(1); // 0 after-1 2 3 — "after-1" follows deleted line 1
  const before = JSON.stringify(log.toJSON());
  const inverse = log.delete(1); // remove "after-1"
  log.apply(inverse);
  assert.equal(JSON.stringify(log.toJSON()), before, 'put back after line 1 (deleted), not at the end of line 0\'s group');
  const replaced = log.replace(0, 'zero');
  const deleted = log.delete(0);
  log.apply(deleted);
  assert.deepEqual(log.rowAt(0), { kind: 'original', line: 0, text: 'zero' }, 'a deleted replaced line comes back replaced');
  log.apply(replaced);
  assert.deepEqual(log.rowAt(0), { kind: 'original', line: 0 });
  const batch = log.delete(0, 3);
  assert.equal(log.rowCount, 1);
  log.apply(batch);
  assert.equal(JSON.stringify(log.toJSON()), before);
  assert.throws(() => log.apply({ op: 'restore', line: 0, text: null }), /Line 1 is not deleted/);
});

test('fromJSON refuses edits that do not fit the file, naming why', () => {
  const log = new EditLog(3);
  log.replace(1, 'x');
  const json = log.toJSON();
  assert.throws(() => EditLog.fromJSON(json, 4), /made on a file of 3 lines, and it now has 4/);
  assert.throws(() => EditLog.fromJSON({ ...json, version: 2 }, 3), /not a version 1 edit log/);
  assert.throws(() => EditLog.fromJSON({ ...json, deleted: [3] }, 3), /line 3 is not in the file/);
  assert.throws(() => EditLog.fromJSON({ ...json, inserted: [[0, ['a\nb']]] }, 3), /line break/);
  assert.throws(() => EditLog.fromJSON(null, 3), /not a version 1/);
});

test('the save is atomic: mode kept, no temporary file left, the old file intact when it fails', async () => {
  const content = 'one\ntwo\nthree\n';
  const path = file(content, 'data.jsonl');
  chmodSync(path, 0o640);
  const index = await buildLineIndex(path);
  const log = new EditLog(index.lineCount);
  log.replace(1, 'TWO');
  const oldHandle = await open(path, 'r');
  try {
    await writeEdited(path, index, log);
    assert.equal(readFileSync(path, 'utf8'), 'one\nTWO\nthree\n');
    assert.equal(statSync(path).mode & 0o777, 0o640);
    assert.equal((await oldHandle.readFile('utf8')), content, 'a reader of the old file keeps the old bytes (renamed over, not rewritten)');
  } finally {
    await oldHandle.close();
  }
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('data.jsonl')), ['data.jsonl']);

  const now = await buildLineIndex(path);
  const log2 = new EditLog(now.lineCount);
  log2.delete(0);
  await writeEdited(path, now, log2, { mode: 0o600 });
  assert.equal(statSync(path).mode & 0o777, 0o600);
  assert.equal(readFileSync(path, 'utf8'), 'TWO\nthree\n');

  // Stale index (the file changed on disk): refused, file untouched.
  await assert.rejects(writeEdited(path, now, log2), /changed on disk/);
  assert.equal(readFileSync(path, 'utf8'), 'TWO\nthree\n');
  // Aborted: refused, file untouched, no temporary file.
  const index3 = await buildLineIndex(path);
  const log3 = new EditLog(index3.lineCount);
  log3.replace(0, 'x');
  const ac = new AbortController();
  ac.abort();
  await assert.rejects(writeEdited(path, index3, log3, { signal: ac.signal }), { name: 'AbortError' });
  await assert.rejects(writeEdited(path, index3, new EditLog(5)), /edits were made on 5 lines but the index has 2/);
  assert.equal(readFileSync(path, 'utf8'), 'TWO\nthree\n');
  assert.deepEqual(readdirSync(dir).filter((n) => n.includes('data.jsonl')), ['data.jsonl']);
});
