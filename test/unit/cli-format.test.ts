import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatDuration, formatNumber, progressBar, renderTable, truncate } from '../../src/cli/format';
import { alpacaUserMessage, readHeldout } from '../../src/cli/heldout';
import { exactMatch, exactMatchRate } from '../../src/cli/score';

test('durations read as mm:ss or h:mm:ss, unknown as --:--', () => {
  assert.equal(formatDuration(75), '01:15');
  assert.equal(formatDuration(3725), '1:02:05');
  assert.equal(formatDuration(null), '--:--');
  assert.equal(formatDuration(Number.NaN), '--:--');
});

test('numbers switch to exponent form when tiny or huge, and missing values show a dash', () => {
  assert.equal(formatNumber(1.23456), '1.2346');
  assert.equal(formatNumber(0.0002), '2.00e-4');
  assert.equal(formatNumber(null), '-');
});

test('the progress bar fills in proportion and clamps', () => {
  assert.equal(progressBar(5, 10, 10), '[#####.....]  50%');
  assert.equal(progressBar(20, 10, 4), '[####] 100%');
  assert.equal(progressBar(0, 0, 4), '[....]   0%');
});

test('tables align columns and truncate long cells', () => {
  const text = renderTable([['a', 'bb'], ['long text here', 'x']], [6, 10]);
  const lines = text.split('\n');
  assert.equal(lines.length, 3);
  assert.equal(lines[0].indexOf('│'), lines[2].indexOf('│'));
  assert.ok(lines[2].startsWith('long …'));
  assert.equal(truncate('a\n b', 10), 'a b');
  assert.equal(truncate('x\ufffd\u0001y', 10), 'x··y');
});

test('exact match ignores case, spacing and end punctuation but not a different answer', () => {
  assert.ok(exactMatch(' Positive. ', 'positive'));
  assert.ok(!exactMatch('negative', 'positive'));
  assert.equal(exactMatchRate([{ predicted: 'positive', expected: 'positive' }, { predicted: 'neg', expected: 'negative' }]), 0.5);
  assert.equal(exactMatchRate([]), 0);
});

test('held-out prompts render like training rows, and a bad line names its number', () => {
  assert.equal(alpacaUserMessage('Classify.', 'great film'), 'Classify.\n\ngreat film');
  assert.equal(alpacaUserMessage('Say hi.'), 'Say hi.');
  const dir = mkdtempSync(join(tmpdir(), 'heldout-'));
  const good = join(dir, 'good.jsonl');
  writeFileSync(good, '{"instruction":"Classify.","input":"dull","output":"negative"}\n\n');
  assert.deepEqual(readHeldout(good), [{ line: 1, prompt: 'Classify.\n\ndull', expected: 'negative' }]);
  const bad = join(dir, 'bad.jsonl');
  writeFileSync(bad, '{"instruction":"a","output":"b"}\n{oops\n');
  assert.throws(() => readHeldout(bad), /bad\.jsonl line 2: not valid JSON/);
});
