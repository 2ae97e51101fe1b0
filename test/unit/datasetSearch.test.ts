// The big-file dataset editor's search (src/core/dataset/search.ts and its worker): hits checked against testing
// every line of a plain split, at chunk sizes that cut lines, CRLF pairs and multi-byte characters everywhere.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { searchInWorker } from '../../src/core/dataset/indexInWorker';
import { searchFile, type SearchOptions } from '../../src/core/dataset/search';
import { prng } from '../support/prng';
import { scratchFiles, workerBundle } from '../support/datasetFiles';

const { dir, file } = scratchFiles('tunelab-dataset-search-');

const BOM = '\uFEFF';


/** The file's lines as the index sees them: no BOM, no line endings, no line after a final newline. */
function linesOf(content: string): string[] {
  let s = content.startsWith(BOM) ? content.slice(1) : content;
  if (!s) return [];
  if (s.endsWith('\n')) s = s.slice(0, -1);
  return s.split('\n').map((l, i, all) => (i < all.length - 1 || content.endsWith('\n')) && l.endsWith('\r') ? l.slice(0, -1) : l);
}

type Query = Pick<SearchOptions, 'pattern' | 'regex' | 'caseSensitive'>;

/** Line by line, the meaning of a search. */
function expectedHits(content: string, q: Query): number[] {
  if (!q.pattern) return [];
  const source = q.regex ? q.pattern : q.pattern.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const re = new RegExp(source, q.caseSensitive ? '' : 'i');
  return linesOf(content).flatMap((line, i) => (re.test(line) ? [i] : []));
}

async function search(path: string, q: Query, chunkBytes?: number) {
  const batches: number[][] = [];
  const total = await searchFile(path, { ...q, chunkBytes, onHits: (lines) => batches.push(lines) });
  return { total, batches, hits: batches.flat() };
}

const QUERIES: Query[] = [
  { pattern: 'ab', regex: false, caseSensitive: true },
  { pattern: '€', regex: false, caseSensitive: true },
  { pattern: 'é€', regex: false, caseSensitive: true },
  { pattern: '𝄞', regex: false, caseSensitive: true },
  { pattern: '"role":"user"', regex: false, caseSensitive: true },
  { pattern: 'AB', regex: false, caseSensitive: false },
  { pattern: 'É', regex: false, caseSensitive: false },
  { pattern: 'a.b(', regex: false, caseSensitive: true },
  { pattern: '^\\{', regex: true, caseSensitive: true },
  { pattern: '\\}$', regex: true, caseSensitive: true },
  { pattern: '^$', regex: true, caseSensitive: true },
  { pattern: 'é.€', regex: true, caseSensitive: true },
  { pattern: '[^x]{3}b', regex: true, caseSensitive: true },
  { pattern: 'b\\s*a', regex: true, caseSensitive: true },
  { pattern: 'A\\d', regex: true, caseSensitive: false },
  { pattern: 'x*', regex: true, caseSensitive: true },
];

test('random files: every search finds exactly the lines that match on their own, at every chunk size', async () => {
  const rand = prng(5);
  const pieces = ['{"role":"user","content":"', 'ab', 'a.b(', 'é', '€', '𝄞', 'A1', ' ', 'b', '"}', 'x', '}'];
  for (let f = 0; f < 25; f++) {
    let s = rand() < 0.3 ? BOM : '';
    const lineCount = Math.floor(rand() * 25);
    for (let l = 0; l < lineCount; l++) {
      const words = Math.floor(rand() * 7);
      for (let w = 0; w < words; w++) s += pieces[Math.floor(rand() * pieces.length)];
      if (l < lineCount - 1 || rand() < 0.5) s += rand() < 0.4 ? '\r\n' : '\n';
    }
    const path = file(s);
    for (const q of QUERIES) {
      const expected = expectedHits(s, q);
      // One-byte reads are slow (a thread-pool trip each): a few files get them, all get 7 bytes and a random size.
      for (const chunkBytes of [...(f < 4 ? [1] : []), 7, 1 + Math.floor(rand() * 40), undefined]) {
        const got = await search(path, q, chunkBytes);
        assert.deepEqual(got.hits, expected, `file ${f}, ${JSON.stringify(q)} @${chunkBytes}: ${JSON.stringify(s)}`);
        assert.equal(got.total, expected.length);
      }
    }
  }
});

test('hits across chunk borders: a needle and a character cut by a 7-byte read are found', async () => {
  // Bytes: "xxxxx€€" puts the first "€" over the border at byte 7, "needle" runs over the one at 14.
  const content = 'xxxxx€€\nabneedle\r\n\nzz€\r\nneedle';
  const path = file(content);
  const substring = await search(path, { pattern: 'needle', regex: false, caseSensitive: true }, 7);
  assert.deepEqual(substring.hits, [1, 4], 'needle on line 1 (over a border) and on the last line (no newline)');
  assert.deepEqual((await search(path, { pattern: '€€', regex: false, caseSensitive: true }, 7)).hits, [0]);
  assert.deepEqual((await search(path, { pattern: '€$', regex: true, caseSensitive: true }, 7)).hits, [0, 3], '$ before CRLF');
  assert.deepEqual((await search(path, { pattern: 'NEEDLE$', regex: true, caseSensitive: false }, 7)).hits, [1, 4]);
  assert.deepEqual((await search(path, { pattern: '^$', regex: true, caseSensitive: true }, 7)).hits, [2], 'the empty line, not the file end');
  assert.deepEqual((await search(path, { pattern: '€\\nab', regex: true, caseSensitive: true }, 7)).hits, [], 'no match across lines');
});

test('many hits come in several ascending batches as they are found', async () => {
  const content = Array.from({ length: 10000 }, (_, i) => `{"i":${i}}`).join('\n') + '\n';
  const path = file(content);
  const got = await search(path, { pattern: '"i"', regex: false, caseSensitive: true }, 1 << 16);
  assert.equal(got.total, 10000);
  assert.deepEqual(got.hits, Array.from({ length: 10000 }, (_, i) => i));
  assert.ok(got.batches.length > 1, `${got.batches.length} batches`);
  const onlyLast = await search(path, { pattern: '9999', regex: false, caseSensitive: true }, 1 << 12);
  assert.deepEqual(onlyLast.batches, [[9999]], 'no empty batches');
});

test('an invalid regex is refused with a message naming the pattern; an empty pattern finds nothing', async () => {
  const path = file('a(b\n');
  await assert.rejects(search(path, { pattern: 'a(b', regex: true, caseSensitive: true }), /The search pattern "a\(b" is not a valid regular expression: .*Unterminated group/);
  assert.deepEqual((await search(path, { pattern: 'a(b', regex: false, caseSensitive: true })).hits, [0], 'as plain text it is fine');
  assert.deepEqual(await search(path, { pattern: '', regex: false, caseSensitive: true }), { total: 0, batches: [], hits: [] });
  assert.deepEqual((await search(path, { pattern: 'a\nb', regex: false, caseSensitive: true })).hits, []);
  await assert.rejects(search(join(dir, 'gone.jsonl'), { pattern: 'x', regex: false, caseSensitive: true }), /Cannot open .*gone\.jsonl/);
});

test('an aborted search rejects with an AbortError and reports nothing after', async () => {
  const path = file('hit\n'.repeat(5000));
  const pre = new AbortController();
  pre.abort();
  await assert.rejects(searchFile(path, { pattern: 'hit', regex: false, caseSensitive: true, signal: pre.signal, onHits: () => assert.fail('no hits') }), { name: 'AbortError' });
  const mid = new AbortController();
  let batches = 0;
  await assert.rejects(searchFile(path, {
    pattern: 'h.t', regex: true, caseSensitive: true, chunkBytes: 100, signal: mid.signal,
    onHits: () => { if (++batches === 2) mid.abort(); },
  }), { name: 'AbortError', message: /Searching .*cancelled/ });
  assert.equal(batches, 2);
});


test('searchInWorker finds the same lines off the main thread, forwards errors, and stops on abort', async () => {
  const rand = prng(9);
  let s = '';
  for (let i = 0; i < 3000; i++) s += `{"i":${i},"t":"${rand() < 0.1 ? 'needle€' : 'hay'}"}${rand() < 0.5 ? '\r\n' : '\n'}`;
  const path = file(s);
  for (const q of [
    { pattern: 'needle€', regex: false, caseSensitive: true },
    { pattern: 'NEEDLE€"\\}$', regex: true, caseSensitive: false },
  ]) {
    const hits: number[] = [];
    const total = await searchInWorker(path, workerBundle('searchWorker', dir), { ...q, chunkBytes: 999, onHits: (l) => hits.push(...l) });
    const expected = expectedHits(s, q);
    assert.ok(expected.length > 100);
    assert.deepEqual(hits, expected);
    assert.equal(total, expected.length);
  }
  await assert.rejects(searchInWorker(path, workerBundle('searchWorker', dir), { pattern: '[', regex: true, caseSensitive: true, onHits: () => undefined }),
    /The search pattern "\[" is not a valid regular expression/);
  const ac = new AbortController();
  let batches = 0;
  await assert.rejects(searchInWorker(path, workerBundle('searchWorker', dir), {
    pattern: 'i', regex: false, caseSensitive: true, chunkBytes: 64, signal: ac.signal,
    onHits: () => { if (++batches === 1) ac.abort(); },
  }), { name: 'AbortError' });
  assert.equal(batches, 1);
});
