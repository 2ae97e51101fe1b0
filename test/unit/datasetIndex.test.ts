// The big-file dataset editor's line index and page reads (src/core/dataset/lineIndex.ts, pages.ts, the index
// worker): every rule checked against a plain split of the whole file, at chunk sizes that cut lines, CRLF pairs, the
// BOM and multi-byte characters at every place.
import assert from 'node:assert/strict';
import { open, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { indexInWorker } from '../../src/core/dataset/indexInWorker';
import { buildLineIndex, LineIndex } from '../../src/core/dataset/lineIndex';
import { readFirstLines, readLines } from '../../src/core/dataset/pages';
import { prng } from '../support/prng';
import { scratchFiles, workerBundle } from '../support/datasetFiles';

const { dir, file } = scratchFiles('tunelab-dataset-index-');

const BOM = '\uFEFF';

/** What the index must say, from splitting the whole file at once. */
function reference(bytes: Buffer) {
  const bom = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf;
  const lines: Array<{ start: number; end: number; next: number; text: string; crlf: boolean }> = [];
  let pos = bom ? 3 : 0;
  while (pos < bytes.length) {
    const nl = bytes.indexOf(10, pos);
    const next = nl === -1 ? bytes.length : nl + 1;
    const crlf = nl > pos && bytes[nl - 1] === 13;
    const end = nl === -1 ? bytes.length : crlf ? nl - 1 : nl;
    lines.push({ start: pos, end, next, text: bytes.toString('utf8', pos, end), crlf });
    pos = next;
  }
  const crlfCount = lines.filter((l) => l.crlf).length;
  const lastTerminated = lines.length > 0 && bytes[bytes.length - 1] === 10;
  const lfCount = lines.filter((l) => !l.crlf && bytes[l.next - 1] === 10).length;
  return { bom, lines, lastTerminated, eol: crlfCount > lfCount ? '\r\n' : '\n' };
}

function assertIndexMatches(index: LineIndex, bytes: Buffer, label: string) {
  const ref = reference(bytes);
  assert.equal(index.lineCount, ref.lines.length, `${label}: lineCount`);
  assert.equal(index.fileSize, bytes.length, `${label}: fileSize`);
  assert.equal(index.bom, ref.bom, `${label}: bom`);
  assert.equal(index.eol, ref.eol, `${label}: eol`);
  assert.equal(index.lastTerminated, ref.lastTerminated, `${label}: lastTerminated`);
  ref.lines.forEach((l, i) => {
    assert.deepEqual([index.start(i), index.end(i), index.next(i), index.endsWithCrlf(i)], [l.start, l.end, l.next, l.crlf], `${label}: line ${i}`);
  });
}


const EDGE_FILES: Record<string, string> = {
  empty: '',
  'one line, no newline': '{"a":1}',
  'one line with newline': '{"a":1}\n',
  'just a newline': '\n',
  'empty lines': '\n\na\n\n',
  crlf: 'a\r\nbb\r\n',
  'crlf, last line without newline': 'a\r\nbb',
  'lone CR at the end is content': 'a\nb\r',
  'just CRLF': '\r\n',
  'bom only': BOM,
  'bom and a newline': `${BOM}\n`,
  'bom and crlf lines': `${BOM}{"x":"é"}\r\n{"y":2}`,
  'multi-byte characters': 'é€𝄞\n"日本語"\n€',
  'mixed endings, CRLF dominant': 'a\r\nb\r\nc\nd',
};

test('edge-case files index like a plain split, at chunk sizes that cut everything', async () => {
  for (const [label, content] of Object.entries(EDGE_FILES)) {
    const bytes = Buffer.from(content);
    const path = file(bytes);
    for (const chunkBytes of [1, 2, 3, 7, undefined]) {
      assertIndexMatches(await buildLineIndex(path, { chunkBytes }), bytes, `${label} @${chunkBytes}`);
    }
  }
});

test('line counts follow the rules: empty file, last line without newline, trailing newline, empty lines', async () => {
  const count = async (s: string) => (await buildLineIndex(file(s), { chunkBytes: 3 })).lineCount;
  assert.equal(await count(''), 0);
  assert.equal(await count(BOM), 0);
  assert.equal(await count('a'), 1);
  assert.equal(await count('a\n'), 1);
  assert.equal(await count('a\nb'), 2);
  assert.equal(await count('\n'), 1);
  assert.equal(await count('a\n\n\nb\n'), 4);
  const crlf = await buildLineIndex(file(`${BOM}ab\r\ncd\r\n`), { chunkBytes: 1 });
  assert.deepEqual([crlf.bom, crlf.eol, crlf.start(0), crlf.end(0), crlf.start(1), crlf.end(1), crlf.lastTerminated], [true, '\r\n', 3, 5, 7, 9, true]);
  assert.equal((await buildLineIndex(file('a\r\nb\nc\n'))).eol, '\n', 'a tie or LF majority is LF');
  assert.equal((await buildLineIndex(file('abc'))).eol, '\n', 'no line ending at all is LF');
  assert.equal((await buildLineIndex(file(''))).eol, '\n', 'an empty file is LF');
  assert.equal((await buildLineIndex(file('a\r\nb'))).eol, '\r\n', 'the one ending there is');
});

test('random files (CRLF, BOM, multi-byte characters, empty lines) index and page like a plain split', async () => {
  const rand = prng(7);
  const pieces = ['{"role":"user","content":"', 'é', '€', '𝄞', '日本', 'abc', ' ', '\\n', '"}', 'x'];
  for (let f = 0; f < 40; f++) {
    let s = rand() < 0.3 ? BOM : '';
    const lineCount = Math.floor(rand() * 30);
    for (let l = 0; l < lineCount; l++) {
      const words = Math.floor(rand() * 8);
      for (let w = 0; w < words; w++) s += pieces[Math.floor(rand() * pieces.length)];
      if (l < lineCount - 1 || rand() < 0.5) s += rand() < 0.4 ? '\r\n' : '\n';
    }
    const bytes = Buffer.from(s);
    const path = file(bytes);
    const chunkBytes = 1 + Math.floor(rand() * 12);
    const index = await buildLineIndex(path, { chunkBytes });
    assertIndexMatches(index, bytes, `random file ${f} @${chunkBytes}`);
    const texts = reference(bytes).lines.map((l) => l.text);
    const handle = await open(path, 'r');
    try {
      for (let p = 0; p < 10; p++) {
        const first = Math.floor(rand() * (texts.length + 2)) - 1;
        const count = Math.floor(rand() * 8);
        const from = Math.max(0, first);
        assert.deepEqual(await readLines(handle, index, first, count), texts.slice(from, Math.max(from, first + count)), `file ${f} page ${first}+${count}`);
      }
    } finally {
      await handle.close();
    }
  }
});

test('a UTF-8 character cut by a chunk border is indexed by bytes and read back whole', async () => {
  // "€" is 3 bytes, at bytes 5..7: a 7-byte chunk ends inside it; "𝄞" (4 bytes) straddles the next border.
  const content = 'abcde€f\nxy𝄞z\r\n€\n';
  const bytes = Buffer.from(content);
  assert.equal(bytes.indexOf(Buffer.from('€')), 5);
  const path = file(bytes);
  const index = await buildLineIndex(path, { chunkBytes: 7 });
  assertIndexMatches(index, bytes, 'split character');
  const handle = await open(path, 'r');
  try {
    assert.deepEqual(await readLines(handle, index, 0, 10), ['abcde€f', 'xy𝄞z', '€']);
  } finally {
    await handle.close();
  }
});

test('readLines makes one read of exactly the lines\' bytes, strips BOM and CR, and clamps', async () => {
  const content = `${BOM}zero\r\none\r\n\r\nthree\r\nfour`;
  const path = file(content);
  const index = await buildLineIndex(path);
  const real = await open(path, 'r');
  const reads: Array<[number, number]> = [];
  const spy = {
    read: (buf: Buffer, offset: number, length: number, position: number) => {
      reads.push([position, length]);
      return real.read(buf, offset, length, position);
    },
  } as unknown as FileHandle;
  try {
    assert.deepEqual(await readLines(spy, index, 0, 2), ['zero', 'one']);
    assert.deepEqual(reads, [[3, 'zero\r\none'.length]], 'from line 0\'s first byte after the BOM to line 1\'s end, no more');
    reads.length = 0;
    assert.deepEqual(await readLines(spy, index, 2, 1), ['']);
    assert.deepEqual(reads, [], 'an empty line needs no bytes');
    assert.deepEqual(await readLines(spy, index, 3, 100), ['three', 'four']);
    assert.deepEqual(await readLines(spy, index, -5, 7), ['zero', 'one']);
    assert.deepEqual(await readLines(spy, index, 5, 3), []);
    assert.deepEqual(await readLines(spy, index, 1, 0), []);
  } finally {
    await real.close();
  }
  const shorter = await buildLineIndex(file('aaaa\nbbbb\n'));
  const truncated = await open(file('aaaa\nbb'), 'r');
  try {
    await assert.rejects(readLines(truncated, shorter, 1, 1), /changed on disk.*line 2/);
  } finally {
    await truncated.close();
  }
});

test('readFirstLines reads the head only and never returns a cut last line, unless the file ends there', async () => {
  const path = file(`${BOM}{"a":1}\r\n{"b":2}\r\n{"c":3}`);
  assert.deepEqual(await readFirstLines(path, 1000, 100), ['{"a":1}', '{"b":2}', '{"c":3}'], 'the whole file: its last line has no newline');
  assert.deepEqual(await readFirstLines(path, 3 + 9 + 9 + 3, 100), ['{"a":1}', '{"b":2}'], '"{"c" is cut: left out');
  assert.deepEqual(await readFirstLines(path, 3 + 9 + 8, 100), ['{"a":1}'], 'a line cut between its CR and LF is left out');
  assert.deepEqual(await readFirstLines(path, 1000, 2), ['{"a":1}', '{"b":2}']);
  assert.deepEqual(await readFirstLines(path, 5, 100), [], 'a first line longer than maxBytes gives nothing');
  assert.deepEqual(await readFirstLines(file(''), 100, 100), []);
  assert.deepEqual(await readFirstLines(file('\n\nx\n'), 100, 100), ['', '', 'x']);
  assert.deepEqual(await readFirstLines(file('x\n'), 2, 100), ['x'], 'a file ending exactly at maxBytes');
  await assert.rejects(readFirstLines(join(dir, 'missing.jsonl'), 10, 10), /missing\.jsonl: no such file/);
});

test('progress comes at most every progressBytes and ends at the file size', async () => {
  const content = 'x'.repeat(99) + '\n';
  const path = file(content.repeat(100)); // 10,000 bytes
  const seen: Array<[number, number]> = [];
  await buildLineIndex(path, { chunkBytes: 100, progressBytes: 2500, onProgress: (d, t) => seen.push([d, t]) });
  assert.deepEqual(seen, [[2500, 10000], [5000, 10000], [7500, 10000], [10000, 10000]]);
  seen.length = 0;
  await buildLineIndex(path, { chunkBytes: 100, onProgress: (d, t) => seen.push([d, t]) });
  assert.deepEqual(seen, [[10000, 10000]], 'a small file reports once, when done');
});

test('an aborted signal rejects with an AbortError, before or during the read', async () => {
  const path = file('line\n'.repeat(2000));
  const pre = new AbortController();
  pre.abort();
  await assert.rejects(buildLineIndex(path, { signal: pre.signal }), { name: 'AbortError' });
  const mid = new AbortController();
  let calls = 0;
  await assert.rejects(buildLineIndex(path, {
    chunkBytes: 10, progressBytes: 100, signal: mid.signal,
    onProgress: () => { if (++calls === 2) mid.abort(); },
  }), { name: 'AbortError', message: /Indexing .*cancelled/ });
  assert.equal(calls, 2, 'no read after the abort');
  await assert.rejects(buildLineIndex(join(dir, 'nope.jsonl')), /Cannot open .*nope\.jsonl: no such file/);
});

test('toTransfer trims the offsets to their own buffer; fromTransfer rebuilds the same index', async () => {
  const bytes = Buffer.from(`${BOM}a\r\nb\nc\r\n`.repeat(3000));
  const index = await buildLineIndex(file(bytes), { chunkBytes: 1000 });
  const t = index.toTransfer();
  assert.equal(t.offsets.length, 9000);
  assert.equal(t.offsets.buffer.byteLength, 9000 * 8, 'no spare capacity is transferred');
  assert.equal(t.crlf.buffer.byteLength, Math.ceil(9000 / 8));
  assertIndexMatches(LineIndex.fromTransfer(structuredClone(t)), bytes, 'round trip');
  assert.throws(() => index.start(9000), /line 9000 is outside the file's 9000 lines/);
  assert.throws(() => index.end(-1), RangeError);
});


test('indexInWorker gives the same index as building it here, and forwards progress', async () => {
  const rand = prng(11);
  let s = BOM;
  for (let i = 0; i < 5000; i++) s += `{"i":${i},"t":"${'é€x'.repeat(Math.floor(rand() * 5))}"}${rand() < 0.3 ? '\r\n' : '\n'}`;
  s += '{"last":true}';
  const bytes = Buffer.from(s);
  const path = file(bytes);
  const progress: number[] = [];
  const viaWorker = await indexInWorker(path, workerBundle('indexWorker', dir), { chunkBytes: 4096, progressBytes: 20000, onProgress: (d) => progress.push(d) });
  const here = await buildLineIndex(path, { chunkBytes: 4096 });
  assert.deepEqual(viaWorker.toTransfer(), here.toTransfer());
  assertIndexMatches(viaWorker, bytes, 'worker');
  assert.ok(progress.length >= 2, `progress was forwarded (${progress.length} reports)`);
  assert.equal(progress[progress.length - 1], bytes.length);
  await assert.rejects(indexInWorker(join(dir, 'absent.jsonl'), workerBundle('indexWorker', dir)), /Cannot open .*absent\.jsonl: no such file/);
  await assert.rejects(indexInWorker(path, join(dir, 'no-such-worker.js')), /Indexing .*worker/);
});

test('aborting indexInWorker stops the worker and rejects with an AbortError', async () => {
  const path = file('{"row":1}\n'.repeat(50000));
  const pre = new AbortController();
  pre.abort();
  await assert.rejects(indexInWorker(path, workerBundle('indexWorker', dir), { signal: pre.signal }), { name: 'AbortError' });
  const mid = new AbortController();
  let reports = 0;
  // Tiny reads keep the worker busy long after the first report; a worker left running would keep this test file
  // from ever exiting.
  await assert.rejects(indexInWorker(path, workerBundle('indexWorker', dir), {
    chunkBytes: 64, progressBytes: 1000, signal: mid.signal,
    onProgress: () => { if (++reports === 1) mid.abort(); },
  }), { name: 'AbortError' });
  assert.equal(reports, 1, 'nothing is forwarded after the abort');
});
