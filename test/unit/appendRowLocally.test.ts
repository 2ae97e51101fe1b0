// The file side of Promote/Prefer on a remote host. The row itself comes from the agent (format_dataset_row,
// tested with the real agent in test/integration/format-dataset-row.test.ts); here a formatter that returns a
// fixed row stands in for it, so each case is about the bytes on disk.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { appendRowLocally, FileKeptChanging, HEAD_BYTES, headOf } from '../../src/core/chat/appendRowLocally';

const ROW = '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]}';

function formatter() {
  const heads: string[] = [];
  return { heads, format: async (head: string) => { heads.push(head); return { row: ROW, format: 'openai' }; } };
}

test('appends one line after the last row, adding a missing final newline, and keeps the file mode', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'append-'));
  const file = join(dir, 'chat.jsonl');
  writeFileSync(file, '{"a":1}\n{"a":2}');
  chmodSync(file, 0o640);
  const f = formatter();
  assert.deepEqual(await appendRowLocally(file, f.format), { path: file, format: 'openai', line: 3 });
  assert.equal(readFileSync(file, 'utf8'), `{"a":1}\n{"a":2}\n${ROW}\n`);
  assert.deepEqual(f.heads, ['{"a":1}\n{"a":2}']);
  assert.equal(statSync(file).mode & 0o777, 0o640);
  assert.deepEqual(readdirSync(dir), ['chat.jsonl'], 'no temporary file is left');
});

test('a missing file is created with the row on line 1', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'append-'));
  const file = join(dir, 'new.jsonl');
  const f = formatter();
  assert.equal((await appendRowLocally(file, f.format)).line, 1);
  assert.equal(readFileSync(file, 'utf8'), `${ROW}\n`);
  assert.deepEqual(f.heads, ['']);
});

test('an edit saved while the row was being appended is kept: the file is read again and the row goes after it', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'append-'));
  const file = join(dir, 'chat.jsonl');
  writeFileSync(file, '{"a":1}\n');
  let edits = 0;
  const r = await appendRowLocally(file, formatter().format, async () => {
    if (edits++ === 0) writeFileSync(file, '{"a":1}\n{"edited":true}\n');
  });
  assert.equal(r.line, 3);
  assert.equal(readFileSync(file, 'utf8'), `{"a":1}\n{"edited":true}\n${ROW}\n`);
  assert.deepEqual(readdirSync(dir), ['chat.jsonl']);
});

test('a file that keeps changing is left as the editor saved it, with a clear error', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'append-'));
  const file = join(dir, 'chat.jsonl');
  writeFileSync(file, '');
  let n = 0;
  await assert.rejects(appendRowLocally(file, formatter().format, async () => writeFileSync(file, `{"edit":${++n}}\n`)),
    (e: unknown) => e instanceof FileKeptChanging && /chat\.jsonl: the file kept changing on disk/.test((e as Error).message));
  assert.equal(readFileSync(file, 'utf8'), `{"edit":${n}}\n`);
  assert.deepEqual(readdirSync(dir), ['chat.jsonl']);
});

test('a row that is not one line is refused before anything is written', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'append-'));
  const file = join(dir, 'chat.jsonl');
  writeFileSync(file, '{"a":1}\n');
  await assert.rejects(appendRowLocally(file, async () => ({ row: '{"a":\n2}', format: 'openai' })), /spans several lines/);
  assert.equal(readFileSync(file, 'utf8'), '{"a":1}\n');
});

test('the agent sees the first whole lines of a large file, never a cut row', () => {
  const line = `${JSON.stringify({ text: 'x'.repeat(1000) })}\n`;
  const data = Buffer.from(line.repeat(Math.ceil((HEAD_BYTES * 2) / line.length)));
  const head = headOf(data);
  assert.ok(head.length <= HEAD_BYTES && head.length > HEAD_BYTES - line.length);
  assert.ok(head.endsWith('}\n'));
  assert.equal(head.length % line.length, 0);
});
