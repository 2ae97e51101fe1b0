// Finding a run config's local inputs and pointing the config at uploaded copies, against real temp folders.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { parse } from 'yaml';
import { localInputs, RemoteConfigError, rewriteConfig } from '../../src/core/remote/remoteRunConfig';

const temps: string[] = [];
after(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

/** A temp workspace holding `files` (a name ending in / is a folder); returns its path. */
function workspace(files: string[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'tunelab-remote-config-'));
  temps.push(dir);
  for (const f of files) {
    if (f.endsWith('/')) mkdirSync(join(dir, f), { recursive: true });
    else {
      mkdirSync(join(dir, f, '..'), { recursive: true });
      writeFileSync(join(dir, f), '{}\n');
    }
  }
  return dir;
}

function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof RemoteConfigError, `expected RemoteConfigError, got ${(e as Error).stack}`);
    return e.message;
  }
  return assert.fail('no error was thrown');
}

test('relative, absolute and ~ paths resolve against the config folder and the home folder', () => {
  const ws = workspace(['cfg/', 'models/tiny/', 'data/train.jsonl']);
  const home = workspace(['sets/eval.jsonl']);
  const text = [
    'name: paths',
    'model: ../models/tiny',
    'dataset:',
    `  train: ${join(ws, 'data', 'train.jsonl')}`,
    '  eval: ~/sets/eval.jsonl',
    'training:',
    '  resume_from: run-1/checkpoint-10',
  ].join('\n');
  const inputs = localInputs(text, join(ws, 'cfg', 'run.tunelab.yaml'), { homeDir: home });
  assert.deepEqual(inputs, [
    { key: 'model', value: '../models/tiny', localPath: join(ws, 'models', 'tiny'), kind: 'dir', line: 2 },
    { key: 'dataset.train', value: join(ws, 'data', 'train.jsonl'), localPath: join(ws, 'data', 'train.jsonl'), kind: 'file', line: 4 },
    { key: 'dataset.eval', value: '~/sets/eval.jsonl', localPath: join(home, 'sets', 'eval.jsonl'), kind: 'file', line: 5 },
  ]);
});

test('a Hugging Face id is not an input, but a folder of that name next to the config is', () => {
  const ws = workspace(['train.jsonl']);
  const config = join(ws, 'run.tunelab.yaml');
  const hub = 'model: Qwen/Qwen2.5-0.5B\ndataset:\n  train: train.jsonl\n';
  assert.deepEqual(localInputs(hub, config).map((i) => i.key), ['dataset.train']);

  mkdirSync(join(ws, 'Qwen', 'Qwen2.5-0.5B'), { recursive: true });
  assert.deepEqual(localInputs(hub, config)[0], { key: 'model', value: 'Qwen/Qwen2.5-0.5B', localPath: join(ws, 'Qwen', 'Qwen2.5-0.5B'), kind: 'dir', line: 1 });

  // The object form names the folder under model.name.
  mkdirSync(join(ws, 'tiny'));
  const object = 'model:\n  name: tiny\n  dtype: float32\ndataset: {train: train.jsonl}\n';
  assert.deepEqual(localInputs(object, config).map((i) => [i.key, i.localPath, i.line]), [['model', join(ws, 'tiny'), 2], ['dataset.train', join(ws, 'train.jsonl'), 4]]);
});

test('rewriting changes only the replaced values: comments, order, quoting and layout stay byte for byte', () => {
  const original = [
    '# A run on the GPU box',
    'name: "keep me"   # quoted, with a comment',
    '',
    'model:',
    '  name: ./tiny  # the local model',
    '  dtype: float32',
    'dataset:',
    "  train: 'data/train.jsonl' # single-quoted",
    '  eval: data/eval.jsonl',
    '  max_length: 48',
    'training: { max_steps: 20, resume_from: run-1/checkpoint-10 }  # flow style',
    '',
  ].join('\n');
  const rewritten = rewriteConfig(original, {
    model: '/srv/tunelab/uploads/abc/tiny',
    'dataset.train': "/srv/up/it's #1.jsonl",
    'dataset.eval': '/srv/up/a: b.jsonl',
  });
  assert.equal(rewritten, original
    .replace('./tiny', '/srv/tunelab/uploads/abc/tiny')
    .replace("'data/train.jsonl'", "'/srv/up/it''s #1.jsonl'")
    .replace('data/eval.jsonl', '"/srv/up/a: b.jsonl"'));
  const config = parse(rewritten);
  assert.equal(config.dataset.train, "/srv/up/it's #1.jsonl");
  assert.equal(config.dataset.eval, '/srv/up/a: b.jsonl');
  assert.equal(config.training.resume_from, 'run-1/checkpoint-10', 'resume_from names a checkpoint on the host and is left alone');

  // Inside a flow mapping a comma would end the value, so it gets quoted.
  assert.equal(rewriteConfig('model: m\ndataset: {train: t.jsonl, eval: e.jsonl}\n', { 'dataset.train': '/u/a,b.jsonl' }),
    'model: m\ndataset: {train: "/u/a,b.jsonl", eval: e.jsonl}\n');
});

test('a missing dataset file, a dataset that is a folder and a missing model folder name the file, line and key', () => {
  const ws = workspace(['model/', 'data/folder/']);
  const config = join(ws, 'run.tunelab.yaml');
  const text = (train: string, model = 'model') => `name: x\nmodel: ${model}\n# comment\ndataset:\n  eval_ratio: 0.1\n  train: ${train}\n`;
  assert.equal(configError(() => localInputs(text('data/missing.jsonl'), config)),
    `run.tunelab.yaml line 6: dataset.train: file not found: ${join(ws, 'data', 'missing.jsonl')}`);
  assert.equal(configError(() => localInputs(text('data/folder'), config)),
    `run.tunelab.yaml line 6: dataset.train: is a folder, not a file: ${join(ws, 'data', 'folder')}`);
  // No slash, so not a Hub id: a folder that must exist (the agent decides the same way).
  assert.equal(configError(() => localInputs(text('data/folder', 'gpt2'), config)),
    `run.tunelab.yaml line 2: model: folder not found: ${join(ws, 'gpt2')}`);
});

test('a YAML syntax error names the file and line', () => {
  const message = configError(() => localInputs('name: x\nmodel: m\ndataset:\n  train: "unclosed\n', '/ws/run.tunelab.yaml'));
  assert.equal(message, 'run.tunelab.yaml line 4: not valid YAML (Missing closing "quote)');
  assert.match(configError(() => localInputs('name: x\nmodel: m\ndataset:\n  train: t.jsonl\n\tmax_length: 4\n', '/ws/tabs.tunelab.yaml')),
    /^tabs\.tunelab\.yaml line 5: not valid YAML \(Tabs are not allowed as indentation\)$/);
  assert.match(configError(() => rewriteConfig('a: 1\na: 2\n', { model: '/x' }, 'dup.tunelab.yaml')), /^dup\.tunelab\.yaml line 2: not valid YAML \(.*unique/);
});
