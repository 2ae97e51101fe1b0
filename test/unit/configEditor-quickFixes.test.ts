// Quick fixes of the config editor, missing data files, and the agent's problems placed on their keys.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentDiagnostics, badConfigProblems, preflightProblems } from '../../src/core/configEditor/agentProblems';
import { configDiagnostics } from '../../src/core/configEditor/diagnostics';
import { configRelativePath, missingFileDiagnostics } from '../../src/core/configEditor/files';
import { parseConfig } from '../../src/core/configEditor/parse';
import { editDistance, nearest, quickFixes } from '../../src/core/configEditor/quickFixes';

/** Applies the first fix of the diagnostic about `key` and returns the new text. */
function fixed(text: string, key: string): string | undefined {
  const d = configDiagnostics(text).find((x) => x.key === key);
  assert.ok(d, `a diagnostic about ${key}`);
  const [fix] = quickFixes(d, text);
  if (!fix) return undefined;
  assert.equal(fix.kind, 'edit');
  return fix.kind === 'edit' ? text.slice(0, fix.edit.range.start) + fix.edit.newText + text.slice(fix.edit.range.end) : undefined;
}

const BASE = 'model: ./m\ndataset:\n  train: t.jsonl\n';

test('an unknown key becomes the nearest known key of its own map', () => {
  assert.equal(fixed(`${BASE}training:\n  learnin_rate: 1e-4  # keep\n`, 'training.learnin_rate'), `${BASE}training:\n  learning_rate: 1e-4  # keep\n`);
  assert.equal(fixed(`${BASE}lora:\n  alhpa: 16\n`, 'lora.alhpa'), `${BASE}lora:\n  alpha: 16\n`, 'a transposition is one edit');
  assert.equal(fixed(`${BASE}trainig:\n  seed: 1\n`, 'trainig'), `${BASE}training:\n  seed: 1\n`);
  assert.equal(fixed(`${BASE}lora:\n  banana: 16\n`, 'lora.banana'), undefined, 'nothing near: no guess');
  // "dropout" is nearest to "dropuot" but already there: the fix does not make a duplicate key.
  const d = configDiagnostics(`${BASE}lora:\n  dropout: 0.1\n  dropuot: 0.2\n`).find((x) => x.key === 'lora.dropuot')!;
  assert.deepEqual(quickFixes(d, `${BASE}lora:\n  dropout: 0.1\n  dropuot: 0.2\n`), []);
});

test('edit distance and the nearness threshold', () => {
  assert.equal(editDistance('kitten', 'sitting'), 3);
  assert.equal(editDistance('ab', 'ba'), 1);
  assert.equal(nearest('epoch', ['epochs', 'seed']), 'epochs');
  assert.equal(nearest('lr', ['learning_rate', 'r']), 'r');
  assert.equal(nearest('xyzzy', ['seed', 'epochs']), undefined);
});

test('a number out of range is clamped to the bound it broke', () => {
  assert.equal(fixed(`${BASE.replace('t.jsonl\n', 't.jsonl\n  eval_ratio: 0.9\n')}`, 'dataset.eval_ratio'), BASE.replace('t.jsonl\n', 't.jsonl\n  eval_ratio: 0.5\n'));
  assert.equal(fixed(`${BASE}lora:\n  r: 0\n`, 'lora.r'), `${BASE}lora:\n  r: 1\n`);
  assert.equal(fixed(`${BASE}lora:\n  dropout: -0.5\n`, 'lora.dropout'), `${BASE}lora:\n  dropout: 0\n`);
  // An open bound on a number: the schema's default is the sure value inside it.
  assert.equal(fixed(`${BASE}training:\n  learning_rate: 0\n`, 'training.learning_rate'), `${BASE}training:\n  learning_rate: 0.0002\n`);
  assert.equal(fixed(`${BASE}dpo:\n  label_smoothing: 0.7\n`, 'dpo.label_smoothing'), `${BASE}dpo:\n  label_smoothing: 0\n`);
  assert.equal(fixed(`${BASE}training:\n  gpus: 0\n`, 'training.gpus'), `${BASE}training:\n  gpus: 1\n`, 'inside a oneOf');
  const [fix] = quickFixes(configDiagnostics(`${BASE}lora:\n  r: 2000\n`).find((x) => x.key === 'lora.r')!, `${BASE}lora:\n  r: 2000\n`);
  assert.equal(fix.title, 'Change to 1024 (the maximum)');
});

test('a missing data file is marked on its value, with a file-picker fix', () => {
  const text = 'model: ./m\ndataset:\n  train: data/train.jsonl  # rows\n  eval: data/eval.jsonl\n';
  const seen: string[] = [];
  const diags = missingFileDiagnostics(parseConfig(text), '/w/cfg', (p) => { seen.push(p); return p === '/w/cfg/data/eval.jsonl'; });
  assert.deepEqual(seen, ['/w/cfg/data/train.jsonl', '/w/cfg/data/eval.jsonl']);
  assert.equal(diags.length, 1);
  const [d] = diags;
  assert.equal(d.message, 'dataset.train: file not found: /w/cfg/data/train.jsonl');
  assert.equal(text.slice(d.range.start, d.range.end), 'data/train.jsonl');
  assert.deepEqual(quickFixes(d, text), [{ kind: 'pick-file', title: 'Choose the file for dataset.train…', key: 'dataset.train', range: d.range }]);
  assert.deepEqual(missingFileDiagnostics(parseConfig('model: m\ndataset: {}\n'), '/w', () => false), [], 'no value, nothing to check');
});

test('a picked file is written relative to the config, quoted only when YAML needs it', () => {
  assert.equal(configRelativePath('/w/cfg', '/w/cfg/data/train.jsonl'), 'data/train.jsonl');
  assert.equal(configRelativePath('/w/cfg', '/w/other/t.jsonl'), '../other/t.jsonl');
  assert.equal(configRelativePath('/w/cfg', '/w/cfg/my data: v2.jsonl'), '"my data: v2.jsonl"');
  assert.equal(configRelativePath('/w/cfg', '/w/cfg/#1.jsonl'), '"#1.jsonl"');
});

test("the agent's problems land on the keys they name, or the deepest part written", () => {
  const text = 'model: ./m\ndataset:\n  train: t.jsonl\ntraining:\n  method: dpo\n';
  const parsed = parseConfig(text);
  const problems = preflightProblems({
    errors: ['model.quantization: 4bit loading needs a CUDA GPU and this host has none', 'no key here'],
    warnings: ['training.method: a warning about the method'],
    estimate: null,
  });
  const placed = agentDiagnostics(parsed, problems).map((d) => [d.severity, d.code, text.slice(d.range.start, d.range.end), d.message]);
  assert.deepEqual(placed, [
    ['error', 'agent', 'model', 'model.quantization: 4bit loading needs a CUDA GPU and this host has none'],
    ['error', 'agent', 'model', 'no key here'],
    ['warning', 'agent', 'method', 'training.method: a warning about the method'],
  ]);
  const refusal = badConfigProblems('run.tunelab.yaml line 2: dataset.packing: packing joins SFT samples\nrun.tunelab.yaml line 4: whole file', 'run.tunelab.yaml');
  assert.deepEqual(agentDiagnostics(parsed, refusal).map((d) => text.slice(d.range.start, d.range.end)), ['dataset', 'training:']);
});
