// The dataset editor's filters by field (webview/dataset/fieldSearch.ts), run through the real search
// (src/core/dataset/search.ts) over a scratch file: the lines each filter finds, and those it must not.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { searchFile } from '../../src/core/dataset/search';
import { fieldSearch } from '../../webview/dataset/fieldSearch';
import { scratchFiles } from '../support/datasetFiles';

const { file } = scratchFiles('tunelab-field-search-');

const ROWS = [
  '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":"yes"}],"label":"spam"}',
  '{"messages":[{"role":"user","content":"label: spam"}],"label": "ham"}',
  '{"conversations":[{"from":"human","value":"a"},{"from":"gpt","value":"b"}],"label":3}',
  '{"text":"the role \\"assistant\\" is quoted","label":"spam (maybe)"}',
  '{"instruction":"x","output":"y","label":33}',
  '{"instruction":"x","input":"","output":"y"}',
];

async function found(pattern: { pattern: string; regex: boolean; caseSensitive: boolean }): Promise<number[]> {
  const path = file(`${ROWS.join('\n')}\n`);
  const lines: number[] = [];
  await searchFile(path, { ...pattern, onHits: (l) => lines.push(...l) });
  return lines.sort((a, b) => a - b);
}

test('label is X: string and number labels, not the word in a text or a longer label', async () => {
  assert.deepEqual(await found(fieldSearch('label', 'spam')), [0]);
  assert.deepEqual(await found(fieldSearch('label', 'ham')), [1]);
  assert.deepEqual(await found(fieldSearch('label', '3')), [2]);
  assert.deepEqual(await found(fieldSearch('label', 'spam (maybe)')), [3]);
});

test('role is X finds OpenAI roles and ShareGPT froms, not the word in a content', async () => {
  assert.deepEqual(await found(fieldSearch('role', 'assistant')), [0]);
  assert.deepEqual(await found(fieldSearch('role', 'gpt')), [2]);
  assert.deepEqual(await found(fieldSearch('role', 'user')), [0, 1]);
});

test('has field X finds rows with that key', async () => {
  assert.deepEqual(await found(fieldSearch('field', 'input')), [5]);
  assert.deepEqual(await found(fieldSearch('field', 'conversations')), [2]);
  assert.deepEqual(await found(fieldSearch('field', 'label')), [0, 1, 2, 3, 4]);
});
