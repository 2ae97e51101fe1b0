import assert from 'node:assert/strict';
import { test } from 'node:test';
import { lineOfKey, missingModelFolder, parseConfigProblems, problemsSummary, refusedFolder, tinyModelRecipe } from '../../src/core/config/configProblems';

// Agent answers as python-agent/tunelab_agent/training/run_config.py and serving/server.py write them.
const THREE = [
  'bad.tunelab.yaml line 3: training.bogus: unknown key (allowed here: batch_size, epochs)',
  'bad.tunelab.yaml line 4: training.learning_rate: expected number, got string "fast"',
  'bad.tunelab.yaml line 5: training.max_steps: must be at least 1, got integer -3',
].join('\n');

const YAML = 'name: x\nmodel: ../models/tiny\ndataset:\n  train: /data/outside/train.jsonl\ntraining:\n  learning_rate: 0.1\n';

test('each line of a bad_config answer is one problem with its line and key', () => {
  assert.deepEqual(parseConfigProblems(THREE, 'bad.tunelab.yaml'), [
    { line: 3, key: 'training.bogus', text: 'training.bogus: unknown key (allowed here: batch_size, epochs)' },
    { line: 4, key: 'training.learning_rate', text: 'training.learning_rate: expected number, got string "fast"' },
    { line: 5, key: 'training.max_steps', text: 'training.max_steps: must be at least 1, got integer -3' },
  ]);
});

test('a problem without a line is placed at its key in the YAML', () => {
  const [p] = parseConfigProblems('run.tunelab.yaml: dataset.train: /data/outside/train.jsonl: outside the folders this agent serves (/root, /w)', 'run.tunelab.yaml', YAML);
  assert.equal(p.line, 4);
  assert.equal(p.key, 'dataset.train');
  assert.equal(lineOfKey(YAML, ['training', 'learning_rate']), 6);
  assert.equal(lineOfKey(YAML, ['training', 'nope']), 5, 'the deepest parent that exists');
  assert.equal(lineOfKey(YAML, ['nope']), null);
  assert.equal(lineOfKey('{{{: [', ['a']), null, 'unparsable YAML places nothing and throws nothing');
});

test('a message that is not about the file keeps its words and has no line', () => {
  assert.deepEqual(parseConfigProblems('run config: the file is empty', 'x.tunelab.yaml'), [{ line: null, key: null, text: 'run config: the file is empty' }]);
  assert.deepEqual(parseConfigProblems('x.tunelab.yaml line 2: not valid YAML (mapping values are not allowed here)', 'x.tunelab.yaml'),
    [{ line: 2, key: null, text: 'not valid YAML (mapping values are not allowed here)' }]);
});

test('the toast summary has a separator between problems and cuts long ones', () => {
  const s = problemsSummary(parseConfigProblems(THREE, 'bad.tunelab.yaml'), 40);
  assert.equal(s.split(' │ ').length, 3);
  assert.ok(s.startsWith('line 3: training.bogus: unknown key (al…'));
  assert.ok(s.includes(' │ line 4: training.learning_rate: expect'));
});

test('a refused path names the folder to allow: the model folder, or the data file\'s folder', () => {
  const model = parseConfigProblems('s.tunelab.yaml: model: ../models/tiny: outside the folders this agent serves (/root, /w/samples)', 's.tunelab.yaml', YAML)[0];
  assert.deepEqual(refusedFolder(model, '/w/samples'), { key: 'model', folder: '/w/models/tiny' });
  const data = parseConfigProblems('s.tunelab.yaml: dataset.train: /data/outside/train.jsonl: outside the folders this agent serves (/root)', 's.tunelab.yaml', YAML)[0];
  assert.deepEqual(refusedFolder(data, '/w/samples'), { key: 'dataset.train', folder: '/data/outside' });
  assert.equal(refusedFolder(parseConfigProblems(THREE, 'bad.tunelab.yaml')[0], '/w'), undefined);
});

test('a missing tiny model is built only as the config\'s own comment says, with known flags', () => {
  const sample = '# Build it: tunelab-agent make-tiny-model tiny-model --corpus sentiment/train.jsonl --hidden 256 --layers 4\nmodel: tiny-model\n';
  const missing = parseConfigProblems('s.tunelab.yaml: model: folder not found: /w/samples/tiny-model', 's.tunelab.yaml')[0];
  assert.equal(missingModelFolder(missing), '/w/samples/tiny-model');
  assert.deepEqual(tinyModelRecipe(sample, '/w/samples', '/w/samples/tiny-model'),
    ['make-tiny-model', '/w/samples/tiny-model', '--corpus', '/w/samples/sentiment/train.jsonl', '--hidden', '256', '--layers', '4']);
  assert.equal(tinyModelRecipe(sample, '/w/samples', '/w/samples/other-model'), undefined, 'another folder is not built');
  assert.equal(tinyModelRecipe('model: tiny-model\n', '/w/samples', '/w/samples/tiny-model'), undefined, 'no recipe, no offer');
  assert.equal(tinyModelRecipe('# make-tiny-model tiny-model --hidden $(rm -rf)\n', '/w/samples', '/w/samples/tiny-model'), undefined);
  assert.equal(tinyModelRecipe('# make-tiny-model tiny-model --hidden abc\n', '/w/samples', '/w/samples/tiny-model'), undefined);
  assert.equal(tinyModelRecipe('# make-tiny-model tiny-model --corpus ../../etc/passwd\n', '/w/samples', '/w/samples/tiny-model'), undefined, 'the corpus stays beside the config');
  assert.equal(missingModelFolder(parseConfigProblems(THREE, 'bad.tunelab.yaml')[0]), undefined);
});

test('every shipped sample is self-contained: its model folder is inside samples/ and the config says how to build it', async () => {
  const { readdirSync, readFileSync } = await import('node:fs');
  const { join, resolve, sep } = await import('node:path');
  const { repoRoot } = await import('../support/repoRoot');
  const { parse } = await import('yaml');
  const samples = join(repoRoot(), 'samples');
  const configs = readdirSync(samples).filter((f) => f.endsWith('.tunelab.yaml'));
  assert.ok(configs.length >= 2, `samples found in ${samples}`);
  for (const name of configs) {
    const text = readFileSync(join(samples, name), 'utf8');
    const model = resolve(samples, (parse(text) as { model: string }).model);
    assert.ok(model.startsWith(samples + sep), `${name}: model ${model} lies inside samples/, so opening samples/ alone works`);
    const recipe = tinyModelRecipe(text, samples, model);
    assert.ok(recipe, `${name}: a make-tiny-model comment names ${model}`);
    assert.equal(recipe[1], model);
    assert.ok(recipe.includes('--corpus'), `${name}: the tokenizer is trained on the sample data`);
  }
});
