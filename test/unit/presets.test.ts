import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { diagnosticsOf } from '../../src/core/configEditor/diagnostics';
import { parseConfig } from '../../src/core/configEditor/parse';
import { PRESETS, configName, dataFiles, instantiate } from '../../src/core/presets/presets';
import { repoRoot } from '../support/repoRoot';

const dir = join(repoRoot(), 'presets');
const textOf = (id: string) => readFileSync(join(dir, `${id}.tunelab.yaml`), 'utf8');

test('every preset on disk is offered, and each offered one is on disk with its data', () => {
  const files = readdirSync(dir).filter((f) => f.endsWith('.tunelab.yaml')).map((f) => f.replace('.tunelab.yaml', '')).sort();
  assert.deepEqual(PRESETS.map((p) => p.id).sort(), files);
  for (const p of PRESETS) for (const f of dataFiles(textOf(p.id))) assert.ok(readFileSync(join(dir, f)).length > 0, `${p.id}: ${f}`);
});

test('a preset passes the editor\'s own checks as it is, and once named (and given a checkpoint)', () => {
  for (const p of PRESETS) {
    const text = instantiate(textOf(p.id), 'my-run', p.needsCheckpoint ? '20261130-101010-first-ab12/checkpoint-40' : undefined);
    assert.deepEqual(diagnosticsOf(parseConfig(text)), [], p.id);
  }
});

test('naming keeps every comment and line but the name\'s value', () => {
  const original = textOf('continued');
  const named = instantiate(original, 'stage-two', 'run-1/checkpoint-40');
  const a = original.split('\n');
  const b = named.split('\n');
  assert.equal(a.length, b.length);
  const changed = a.map((line, i) => (line === b[i] ? null : [line, b[i]])).filter(Boolean);
  assert.equal(changed.length, 2, JSON.stringify(changed));
  assert.ok(b.includes('name: stage-two'));
  assert.ok(b.some((l) => /^ {2}resume_from: run-1\/checkpoint-40 +# run-id\/checkpoint-N of the first stage$/.test(l)), named);
});

test('a config name is a plain file name', () => {
  assert.equal(configName('  bank-support  '), 'bank-support');
  for (const bad of ['', 'a/b', '../x', 'has space', '-lead']) assert.equal(configName(bad), undefined, bad);
});
