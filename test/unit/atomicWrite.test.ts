import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { writeFileAtomic } from '../../src/core/files/atomicWrite';

test('writes the whole file, replaces an old one, and leaves no temporary file behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
  const target = join(dir, 'metrics.csv');
  writeFileSync(target, 'old');
  await writeFileAtomic(target, 'step,value\n1,2\n');
  assert.equal(readFileSync(target, 'utf8'), 'step,value\n1,2\n');
  await writeFileAtomic(join(dir, 'chart.png'), new Uint8Array([137, 80, 78, 71]));
  assert.deepEqual([...readFileSync(join(dir, 'chart.png'))], [137, 80, 78, 71]);
  assert.deepEqual(readdirSync(dir).sort(), ['chart.png', 'metrics.csv']);
});

test('a write that fails keeps the old file and cleans up', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'atomic-'));
  const target = join(dir, 'sub'); // a folder: the rename over it fails
  await writeFileAtomic(join(dir, 'keep.csv'), 'kept');
  const { mkdirSync } = await import('node:fs');
  mkdirSync(join(target, 'inner'), { recursive: true });
  await assert.rejects(writeFileAtomic(target, 'x'));
  assert.deepEqual(readdirSync(dir).sort(), ['keep.csv', 'sub']);
  assert.equal(readFileSync(join(dir, 'keep.csv'), 'utf8'), 'kept');
});
