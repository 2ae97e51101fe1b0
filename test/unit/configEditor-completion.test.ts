// Completion and hover in a run config, at several depths, from the agent's schema.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configCompletions } from '../../src/core/configEditor/completion';
import { configHover } from '../../src/core/configEditor/hover';
import { resolveRefs, schemaAt, propertiesAt } from '../../src/core/configEditor/schema';

/** Completions at the `|` of `marked`: labels, and the text each replaces. */
function complete(marked: string) {
  const offset = marked.indexOf('|');
  const text = marked.replace('|', '');
  const items = configCompletions(text, offset);
  return { items, labels: items.map((i) => i.label), replaced: items.length ? text.slice(items[0].replace.start, items[0].replace.end) : undefined };
}

test('top-level keys: those not written yet, the typed prefix replaced', () => {
  const { labels, replaced, items } = complete('model: x\nda|\n# end\n');
  assert.deepEqual(labels, ['name', 'dataset', 'lora', 'training', 'layer_lr', 'loss', 'dpo', 'kto', 'monitoring', 'evaluation']);
  assert.equal(replaced, 'da');
  const dataset = items.find((i) => i.label === 'dataset')!;
  assert.equal(dataset.insertText, 'dataset:\n  ', 'a section opens on its own line, indented');
  assert.equal(items.find((i) => i.label === 'name')!.insertText, 'name: ');
});

test('keys of a section, minus the ones above and below the cursor', () => {
  const { labels, items } = complete('model: x\ntraining:\n  batch_size: 4\n  |\n  seed: 1\nlora:\n  r: 8\n');
  assert.ok(labels.includes('learning_rate') && labels.includes('early_stopping'));
  assert.ok(!labels.includes('batch_size') && !labels.includes('seed'), 'keys already in training are not offered');
  assert.ok(!labels.includes('r'), 'keys of another section are not offered');
  const lr = items.find((i) => i.label === 'learning_rate')!;
  assert.equal(lr.detail, 'number');
  assert.equal(lr.documentation, 'Default: `0.0002`');
  const warmup = items.find((i) => i.label === 'warmup_steps')!;
  assert.equal(warmup.documentation, 'Capped to warmup_ratio_cap of the total steps (with a warning) when the run is shorter.\n\nDefault: `500`');
  assert.equal(items.find((i) => i.label === 'early_stopping')!.insertText, 'early_stopping:\n    ');
});

test('keys three levels down, and of the model object (a oneOf branch)', () => {
  assert.deepEqual(complete('training:\n  early_stopping:\n    enabled: true\n    m|\n').labels, ['patience', 'metric', 'mode', 'min_delta']);
  assert.deepEqual(complete('loss:\n  length_penalty:\n    |\n').labels, ['weight', 'target_length']);
  assert.deepEqual(complete('model:\n  name: x\n  |\n').labels, ['revision', 'dtype', 'attn_implementation', 'quantization', 'gradient_checkpointing']);
});

test('keys of a list item map, block and compact lists, a new item or a later line of one', () => {
  assert.deepEqual(complete('layer_lr:\n  - pattern: a\n    learning_rate: 0.1\n  - pattern: b\n    |\n').labels, ['name', 'learning_rate']);
  assert.deepEqual(complete('layer_lr:\n  - pattern: a\n  - |\n').labels, ['name', 'pattern', 'learning_rate']);
  assert.deepEqual(complete('layer_lr:\n- pattern: a\n  |\n').labels, ['name', 'learning_rate']);
});

test('enum, boolean and const values, the default first-marked', () => {
  const mode = complete('training:\n  early_stopping:\n    mode: |\n');
  assert.deepEqual(mode.labels, ['min', 'max']);
  assert.deepEqual(mode.items.map((i) => i.isDefault ?? false), [true, false]);
  assert.deepEqual(complete('dataset:\n  packing: |\n').labels, ['true', 'false']);
  const dtype = complete('model:\n  name: x\n  dtype: b|f16  # comment\n');
  assert.deepEqual(dtype.labels, ['auto', 'bf16', 'fp16', 'fp32']);
  assert.equal(dtype.replaced, 'bf16', 'the whole value under the cursor, not the comment');
  assert.deepEqual(complete('lora:\n  target_modules: |\n').labels, ['all-linear']);
  assert.deepEqual(complete('training:\n  report_to:\n    - |\n').labels, ['tensorboard', 'wandb', 'mlflow', 'trackio'], 'list items of an enum');
  assert.deepEqual(complete('training:\n  learning_rate: |\n').labels, [], 'a free number has nothing to name');
});

test('a key being renamed keeps its colon; an unknown section offers nothing', () => {
  const { items, replaced } = complete('training:\n  lea|rnin_rate: 1\n');
  assert.equal(replaced, 'learnin_rate');
  assert.equal(items.find((i) => i.label === 'learning_rate')!.insertText, 'learning_rate');
  assert.deepEqual(complete('bogus:\n  |\n').labels, []);
});

test('hover: description, type, default and bounds of the key under the cursor, at any depth', () => {
  const text = 'model:\n  name: x\n  dtype: bf16\ntraining:\n  learning_rate: 1\n  early_stopping:\n    patience: 2\nlayer_lr:\n  - pattern: a\nbogus: 1\n';
  const at = (word: string, n = 1) => configHover(text, text.indexOf(word) + n);
  const dtype = at('dtype')!;
  assert.equal(dtype.contents, '**model.dtype**: one of auto, bf16, fp16, fp32\n\nauto: bf16 on a GPU that supports it, else fp16 on GPU, fp32 on CPU.\n\nDefault: `"auto"`');
  assert.deepEqual(dtype.range, { start: text.indexOf('dtype'), end: text.indexOf('dtype') + 5 });
  assert.equal(at('bf16')!.contents, dtype.contents, 'on the value: the key it belongs to');
  assert.equal(at('learning_rate')!.contents, '**training.learning_rate**: number\n\nDefault: `0.0002` · Range: more than 0, at most 1');
  assert.equal(at('patience')!.contents, '**training.early_stopping.patience**: integer\n\nDefault: `3` · Range: at least 1');
  assert.match(at('pattern')!.contents, /^\*\*layer_lr\.0\.pattern\*\*: string\n\nPython regular expression/);
  assert.equal(at('model')!.contents.split('\n')[0], '**model**: string or object');
  assert.equal(at('bogus'), undefined, 'an unknown key has no hover');
  assert.equal(configHover(text, text.indexOf('\n')), undefined, 'past the end of a line');
});

test('$refs in a schema are followed for completion and hover', () => {
  const schema = resolveRefs({
    type: 'object',
    definitions: { opts: { type: 'object', properties: { depth: { type: 'integer', default: 2, description: 'How deep.' } } } },
    properties: { a: { $ref: '#/definitions/opts' }, b: { type: 'array', items: { $ref: '#/definitions/opts' } } },
  });
  assert.deepEqual(Object.keys(propertiesAt(['a'], schema)), ['depth']);
  assert.equal(schemaAt(['b', 0, 'depth'], schema)?.description, 'How deep.');
});
