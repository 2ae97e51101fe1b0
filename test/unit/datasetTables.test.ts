// The table readers behind the dataset editor's .json, .csv, .tsv and .parquet files: every page read checked
// against the values the file was written from, with reads split at every byte (tokens, records and multi-byte
// characters cut across chunks), and errors checked for the file's name and line.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { test } from 'node:test';
import { defaultPython } from '../../src/core/host/localAgent';
import { openDelimited } from '../../src/core/dataset/tables/delimited';
import { openJsonArray } from '../../src/core/dataset/tables/jsonArray';
import { openTable, tableFormatOf, type TableSource } from '../../src/core/dataset/tables/table';
import { prng } from '../support/prng';
import { repoRoot } from '../support/repoRoot';
import { scratchFiles } from '../support/datasetFiles';

const { file } = scratchFiles('tunelab-dataset-tables-');
const BOM = '\uFEFF';

async function allRows(table: TableSource): Promise<string[]> {
  return table.rows(0, table.rowCount + 1);
}

/** Every page of every size up to 5 at every start, plus one read of everything, against `expected`. */
async function checkPages(table: TableSource, expected: string[], label: string): Promise<void> {
  assert.equal(table.rowCount, expected.length, `${label}: rowCount`);
  assert.deepEqual(await allRows(table), expected, `${label}: all rows`);
  for (let size = 1; size <= 5; size++) {
    for (let start = 0; start < expected.length; start += size) {
      assert.deepEqual(await table.rows(start, size), expected.slice(start, start + size), `${label}: rows(${start}, ${size})`);
    }
  }
  assert.deepEqual(await table.rows(expected.length, 3), []);
  assert.deepEqual(await table.rows(-2, 3), expected.slice(0, 1));
}

test('tableFormatOf goes by the extension, in any case', () => {
  assert.equal(tableFormatOf('/d/train.json'), 'json');
  assert.equal(tableFormatOf('/d/TRAIN.JSON'), 'json');
  assert.equal(tableFormatOf('a.Csv'), 'csv');
  assert.equal(tableFormatOf('a.tsv'), 'tsv');
  assert.equal(tableFormatOf('a.parquet'), 'parquet');
  assert.equal(tableFormatOf('a.jsonl'), undefined);
  assert.equal(tableFormatOf('json'), undefined);
});

// --- JSON arrays ------------------------------------------------------------------------------------------------

// Written by hand so that the source has what JSON.stringify never writes: escapes whose bytes differ from the
// text they stand for (\u00e9, a surrogate pair), raw multi-byte text, and odd whitespace between elements.
const TRICKY_JSON = [
  '[\r\n\t ',
  '{"instruction": "nested", "input": {"a": [1, {"b": "]"}], "c": {}}, "output": []}',
  ' ,\n\n  ',
  '{"s": "a ] b , c { d } [ \\"quoted\\" \\\\ back\\/slash \\n\\t\\u00e9\\ud83d\\ude00"}',
  ',',
  '{"emoji": "😀👩‍👩‍👧 𝄞", "cjk": "日本語のテキスト", "accents": "ééé"}',
  '\n,\t',
  '"a plain string row"',
  ' , ',
  '-12.5e+3',
  ',',
  'null',
  ',',
  'true',
  ',',
  '[[], [[]], {"k": false}]',
  ',\n',
  '{"later": "after the multi-byte text", "n": 0}',
  '\n]\n',
].join('');

test('a JSON array with nested values, brackets and commas in strings, escapes and multi-byte text', async () => {
  const expected = (JSON.parse(TRICKY_JSON) as unknown[]).map((v) => JSON.stringify(v));
  const path = file(TRICKY_JSON, 'tricky.json');
  for (const chunkBytes of [undefined, 4, 5, 7, 13]) {
    const table = await openJsonArray(path, { chunkBytes });
    try {
      assert.equal(table.format, 'json');
      assert.equal(table.columns, null);
      await checkPages(table, expected, `chunkBytes ${chunkBytes}`);
    } finally {
      await table.close();
    }
  }
});

test('a JSON array with a BOM, and empty arrays', async () => {
  const withBom = await openTable(file(`${BOM}[{"a":"é"},\n{"b":2}]`, 'bom.json'));
  assert.deepEqual(await allRows(withBom), ['{"a":"é"}', '{"b":2}']);
  await withBom.close();
  for (const content of ['[]', ' [ \n ] \n', `${BOM}[]`]) {
    const empty = await openTable(file(content, 'empty.json'));
    assert.equal(empty.rowCount, 0, JSON.stringify(content));
    assert.deepEqual(await empty.rows(0, 10), []);
    await empty.close();
  }
});

async function jsonError(content: string | Buffer, message: string | RegExp): Promise<void> {
  const path = file(content, 'data.json');
  for (const chunkBytes of [undefined, 4]) {
    await assert.rejects(openJsonArray(path, { chunkBytes }), (e: Error) => {
      if (typeof message === 'string') assert.equal(e.message, message);
      else assert.match(e.message, message);
      return true;
    }, `${JSON.stringify(String(content))} (chunkBytes ${chunkBytes})`);
  }
}

test('a malformed JSON array fails with the file name, the line and what was expected', async () => {
  await jsonError('[\n  {"a": 1},\n  {"b": 2} {"c": 3}\n]', "data.json line 3: expected ',' or ']' after an array element");
  await jsonError('[\n{"a": 1,}\n]', 'data.json line 2: expected a property name in double quotes, found \'}\'');
  await jsonError('[{"a" 1}]', "data.json line 1: expected ':' after a property name, found a number");
  await jsonError('[{"a": 1} , \n]', "data.json line 2: expected a value, found ']'");
  await jsonError('[{"a": 1}\n\n', "data.json line 3: the file ends before the array's closing ']'");
  await jsonError('[1, 2]\n\n 3', "data.json line 3: expected nothing after the array's closing ']', found a number");
  await jsonError('[\n{"a": tru}]', /^data\.json line 2: unexpected '}' \(true, false or null misspelt\?\)$/);
  await jsonError('[\n"日本", "a\tb"]', /^data\.json line 2: unexpected byte 0x09 in a string/);
  await jsonError('[{"a": "unterminated', /^data\.json line 1: the file ends in the middle of a value$/);
  await jsonError(Buffer.from([0x5b, 0x22, 0xff, 0xfe, 0x22, 0x5d]), /^data\.json: the text is not valid UTF-8/);
});

test('a top level that is not an array, or no value at all, is refused plainly', async () => {
  await jsonError('{"instruction": "x"}', 'data.json: expected a JSON array of rows at the top level, found an object');
  await jsonError('\n\n"text"', 'data.json: expected a JSON array of rows at the top level, found a string');
  await jsonError('42', 'data.json: expected a JSON array of rows at the top level, found a number');
  await jsonError('', 'data.json: the file is empty: expected a JSON array of rows');
  await jsonError(`${BOM}  \n`, 'data.json: the file is empty: expected a JSON array of rows');
  await assert.rejects(openTable(file('x', 'data.txt')), { message: 'data.txt: not a table file (expected .json, .csv, .tsv or .parquet)' });
  await assert.rejects(openTable('/nonexistent/dir/data.json'), { message: /Cannot open .*data\.json: no such file/ });
});

const PIECES = ['a', 'Z', ' ', ',', ']', '[', '{', '}', ':', '"', '\\', '/', '\n', '\r\n', '\t', '\u0001', 'é', '€', '日本', '😀', '𝄞', 'ü', '\u2028'];

function randomString(rand: () => number): string {
  let s = '';
  for (let n = Math.floor(rand() * 12); n > 0; n--) s += PIECES[Math.floor(rand() * PIECES.length)];
  return s;
}

function randomValue(rand: () => number, depth: number): unknown {
  const r = rand();
  if (depth > 2 || r < 0.35) return randomString(rand);
  if (r < 0.45) return Math.floor((rand() - 0.5) * 2 ** 40);
  if (r < 0.52) return (rand() - 0.5) * 10 ** Math.floor(rand() * 40 - 20);
  if (r < 0.58) return rand() < 0.5;
  if (r < 0.62) return null;
  if (r < 0.78) return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(rand, depth + 1));
  return randomObject(rand, depth + 1);
}

function randomObject(rand: () => number, depth: number): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (let n = Math.floor(rand() * 5); n > 0; n--) o[randomString(rand) || 'k'] = randomValue(rand, depth);
  return o;
}

test('200 random rows: every page equals JSON.stringify of the element written', async () => {
  for (const seed of [1, 2, 3]) {
    const rand = prng(seed);
    const rows = Array.from({ length: 200 }, () => (rand() < 0.9 ? randomObject(rand, 0) : randomValue(rand, 0)));
    const indent = [undefined, 2, '\t'][seed - 1];
    const path = file(JSON.stringify(rows, null, indent), `random${seed}.json`);
    const expected = rows.map((r) => JSON.stringify(r));
    for (const chunkBytes of [undefined, 1 + Math.floor(rand() * 64)]) {
      const table = await openJsonArray(path, { chunkBytes });
      try {
        await checkPages(table, expected, `seed ${seed}, chunkBytes ${chunkBytes}`);
        for (let i = 0; i < 20; i++) {
          const start = Math.floor(rand() * 200);
          const count = 1 + Math.floor(rand() * 60);
          assert.deepEqual(await table.rows(start, count), expected.slice(start, start + count), `seed ${seed}: rows(${start}, ${count})`);
        }
      } finally {
        await table.close();
      }
    }
  }
});

test('JSON progress comes about every MB and ends at the file size', async () => {
  const row = JSON.stringify({ instruction: 'x'.repeat(1000), output: '日本語'.repeat(100) });
  const content = `[${Array.from({ length: 3000 }, () => row).join(',\n')}]`;
  const size = Buffer.byteLength(content);
  const reports: Array<[number, number]> = [];
  const table = await openTable(file(content, 'big.json'), { onProgress: (done, total) => reports.push([done, total]) });
  await table.close();
  assert.equal(table.rowCount, 3000);
  assert.ok(reports.length >= 2 && reports.length <= Math.ceil(size / 2 ** 20), `${reports.length} reports for ${size} bytes`);
  assert.deepEqual(reports.at(-1), [size, size]);
  for (let i = 1; i < reports.length; i++) assert.ok(reports[i][0] - reports[i - 1][0] >= 2 ** 20 || reports[i][0] === size);
});

test('an aborted signal rejects with an AbortError, before or during the read', async () => {
  const jsonPath = file(`[${Array.from({ length: 2000 }, (_, i) => `{"i":${i}}`).join(',')}]`, 'abort.json');
  const csvPath = file(`a,b\n${Array.from({ length: 2000 }, (_, i) => `${i},x`).join('\n')}\n`, 'abort.csv');
  const pre = new AbortController();
  pre.abort();
  for (const path of [jsonPath, csvPath, 'x.parquet']) {
    await assert.rejects(openTable(path, { signal: pre.signal }), { name: 'AbortError', message: /cancelled/ });
  }
  let calls = 0;
  const mid = new AbortController();
  await assert.rejects(openJsonArray(jsonPath, {
    signal: mid.signal, chunkBytes: 100, progressBytes: 100,
    onProgress: () => { if (++calls === 2) mid.abort(); },
  }), { name: 'AbortError', message: /Opening .*abort\.json was cancelled/ });
  assert.equal(calls, 2, 'no read after the abort');
  calls = 0;
  const midCsv = new AbortController();
  await assert.rejects(openDelimited(csvPath, 'csv', {
    signal: midCsv.signal, chunkBytes: 100, progressBytes: 100,
    onProgress: () => { if (++calls === 2) midCsv.abort(); },
  }), { name: 'AbortError', message: /Opening .*abort\.csv was cancelled/ });
});

// --- CSV and TSV ------------------------------------------------------------------------------------------------

/** One cell as Python's csv module writes it: quoted when it holds a quote, the delimiter or a line break. */
function cell(value: string, delimiter: string): string {
  return /["\r\n]/.test(value) || value.includes(delimiter) ? `"${value.replaceAll('"', '""')}"` : value;
}

test('CSV with a BOM, CRLF, quoted commas, quoted newlines, doubled quotes and blank lines', async () => {
  const content = `${BOM}instruction, output \r\n"a, b","line1\r\nline2\nline3"\r\n\r\n"say ""hi""",plain\r\n , \r\nü€😀,"日本"\r\nlast,"no newline, quoted ""end"""`;
  const expected = [
    { instruction: 'a, b', output: 'line1\r\nline2\nline3' },
    { instruction: 'say "hi"', output: 'plain' },
    { instruction: 'ü€😀', output: '日本' },
    { instruction: 'last', output: 'no newline, quoted "end"' },
  ].map((r) => JSON.stringify(r));
  const path = file(content, 'data.csv');
  for (const chunkBytes of [undefined, 4, 5, 7]) {
    const table = await openDelimited(path, 'csv', { chunkBytes });
    try {
      assert.equal(table.format, 'csv');
      assert.deepEqual(table.columns, ['instruction', 'output'], 'header cells trimmed, BOM gone');
      await checkPages(table, expected, `chunkBytes ${chunkBytes}`);
    } finally {
      await table.close();
    }
  }
});

test('200 random CSV and TSV rows: every page equals the cells written', async () => {
  for (const [seed, format] of [[4, 'csv'], [5, 'tsv']] as const) {
    const rand = prng(seed);
    const delimiter = format === 'tsv' ? '\t' : ',';
    const columns = ['instruction', 'input', 'output'];
    const rows = Array.from({ length: 200 }, () => Object.fromEntries(columns.map((c) => [c, `${randomString(rand)}${rand() < 0.3 ? delimiter : ''}x`])));
    const eol = seed === 4 ? '\r\n' : '\n';
    const content = [columns.join(delimiter), ...rows.map((r) => columns.map((c) => cell(r[c], delimiter)).join(delimiter))].join(eol) + eol;
    const path = file(content, `random.${format}`);
    const expected = rows.map((r) => JSON.stringify(r));
    for (const chunkBytes of [undefined, 1 + Math.floor(rand() * 64)]) {
      const table = await openTable(path).then(async (t) => (chunkBytes ? (await t.close(), openDelimited(path, format, { chunkBytes })) : t));
      try {
        assert.equal(table.format, format);
        assert.deepEqual(table.columns, columns);
        await checkPages(table, expected, `${format}, chunkBytes ${chunkBytes}`);
      } finally {
        await table.close();
      }
    }
  }
});

test('TSV: tabs split cells, quotes work as in CSV, commas are text', async () => {
  const table = await openTable(file('prompt\tresponse\n"a\tb"\t"x ""y"""\nc, d\t"multi\nline"\n', 'data.tsv'));
  assert.deepEqual(table.columns, ['prompt', 'response']);
  assert.deepEqual(await allRows(table), ['{"prompt":"a\\tb","response":"x \\"y\\""}', '{"prompt":"c, d","response":"multi\\nline"}']);
  await table.close();
});

test('CSV errors name the file and the line where the record starts', async () => {
  const ragged = file('a,b\n"x\ny",2\n\n3,4,5\n', 'data.csv');
  for (const chunkBytes of [undefined, 3]) {
    await assert.rejects(openDelimited(ragged, 'csv', { chunkBytes }), { message: 'data.csv line 5: 3 cells but the header has 2 columns' });
  }
  await assert.rejects(openTable(file('a,b\r\n1,2\r\n"multi\r\nline",3,4\r\n', 'data.csv')), { message: 'data.csv line 3: 3 cells but the header has 2 columns' });
  await assert.rejects(openTable(file('a\tb\nonly one\n', 'data.tsv')), { message: 'data.tsv line 2: 1 cells but the header has 2 columns' });
  await assert.rejects(openTable(file('a,b\n1,"open quote\n', 'data.csv')), { message: /^data\.csv: Quote Not Closed: .*line 2/ });
});

test('a CSV with only a header, or nothing, has no rows', async () => {
  const header = await openTable(file('a,b\r\n', 'header.csv'));
  assert.deepEqual([header.rowCount, header.columns], [0, ['a', 'b']]);
  await header.close();
  const empty = await openTable(file('', 'empty.csv'));
  assert.deepEqual([empty.rowCount, empty.columns, await empty.rows(0, 5)], [0, [], []]);
  await empty.close();
});

// --- Parquet ----------------------------------------------------------------------------------------------------

const python = defaultPython(repoRoot());

const WRITE_PARQUET = `
import datetime, sys, pyarrow as pa, pyarrow.parquet as pq
table = pa.table({
    "text": pa.array(["row %d é😀" % i if i != 3 else None for i in range(10)], pa.string()),
    "n": pa.array([i * 1000 for i in range(9)] + [2**60], pa.int64()),
    "score": pa.array([i / 4 for i in range(10)], pa.float64()),
    "ok": pa.array([i % 2 == 0 for i in range(10)], pa.bool_()),
    "tags": pa.array([["t%d" % j for j in range(i % 3)] for i in range(10)], pa.list_(pa.string())),
    "at": pa.array([datetime.datetime(2024, 1, 2, 3, 4, i) for i in range(10)], pa.timestamp("ms")),
    "raw": pa.array([bytes([i, 255]) for i in range(10)], pa.binary()),
    "meta": pa.array([{"turn": i, "role": "user"} for i in range(10)]),
})
pq.write_table(table, sys.argv[1], row_group_size=4)
print(pq.ParquetFile(sys.argv[1]).metadata.num_row_groups)
`;

test('Parquet written by pyarrow: rowCount, columns, and pages across row groups', async () => {
  // The agent's venv (node scripts/setup.mjs) writes the file: a real Parquet writer, not a hand-made one.
  assert.ok(existsSync(python), `no agent Python at ${python}: run node scripts/setup.mjs --for-tests`);
  const path = file('', 'data.parquet');
  assert.equal(execFileSync(python, ['-c', WRITE_PARQUET, path], { encoding: 'utf8' }).trim(), '3');
  const expected = Array.from({ length: 10 }, (_, i) => JSON.stringify({
    text: i === 3 ? null : `row ${i} é😀`,
    n: i === 9 ? String(2n ** 60n) : i * 1000,
    score: i / 4,
    ok: i % 2 === 0,
    tags: Array.from({ length: i % 3 }, (_, j) => `t${j}`),
    at: `2024-01-02T03:04:0${i}.000Z`,
    raw: Buffer.from([i, 255]).toString('base64'),
    meta: { turn: i, role: 'user' },
  }));
  const reports: Array<[number, number]> = [];
  const table = await openTable(path, { onProgress: (done, total) => reports.push([done, total]) });
  try {
    assert.equal(table.format, 'parquet');
    assert.deepEqual(table.columns, ['text', 'n', 'score', 'ok', 'tags', 'at', 'raw', 'meta']);
    assert.deepEqual(reports, [[3, 3]]);
    await checkPages(table, expected, 'parquet');
    assert.deepEqual(await table.rows(2, 5), expected.slice(2, 7), 'rows 2..6 span row groups 0, 1 and 2');
  } finally {
    await table.close();
  }
  await assert.rejects(openTable(file('not parquet at all', 'bad.parquet')), { message: /^bad\.parquet: not a readable Parquet file/ });
});
