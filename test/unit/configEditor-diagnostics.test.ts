// The config editor's diagnostics: every schema error kind lands on the exact key or value it is about,
// worded as the agent words it; YAML syntax errors at the parser's position.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configDiagnostics, schemaChecker, type ConfigDiagnostic } from '../../src/core/configEditor/diagnostics';

/** [code, key, "line:col-line:col" (0-based), message] of each diagnostic, in text order. */
function shape(text: string, diags: ConfigDiagnostic[]): [string, string | null, string, string][] {
  const at = (offset: number) => {
    const before = text.slice(0, offset).split('\n');
    return `${before.length - 1}:${before[before.length - 1].length}`;
  };
  return diags.map((d) => [d.code, d.key, `${at(d.range.start)}-${at(d.range.end)}`, d.message]);
}

const CONFIG = [
  'name: ""',                                   // 0
  'model:',                                     // 1
  '  name: ./tiny',                             // 2
  '  dtype: bf17   # not a dtype',              // 3
  '  bogus: 1',                                 // 4
  'dataset:',                                   // 5
  '  eval_ratio: 0.9',                          // 6
  '  max_length: "long"',                       // 7
  'lora:',                                      // 8
  '  r: 0',                                     // 9
  '  alpha: 0',                                 // 10
  '  target_modules: all',                      // 11
  'training:',                                  // 12
  '  learnin_rate: 1e-4',                       // 13
  '  gpus: 0',                                  // 14
  '  report_to: [wandb, tensorboard, wandb]',   // 15
  '  early_stopping:',                          // 16
  '    mode: lowest',                           // 17
  'monitoring:',                                // 18
  '  grad_norm_band: [1]',                      // 19
  'layer_lr:',                                  // 20
  '  - pattern: x',                             // 21
  'dpo:',                                       // 22
  '  label_smoothing: 0.5',                     // 23
  'kto:',                                       // 24
  '  loss_type: [kto]',                         // 25
  'evaluation:',                                // 26
  '  - a',                                      // 27
  '',
].join('\n');

test('every schema error of the run config at once, each on its key or value', () => {
  assert.deepEqual(shape(CONFIG, configDiagnostics(CONFIG)), [
    ['length', 'name', '0:6-0:8', 'name: must have a length of at least 1, got string ""'],
    ['enum', 'model.dtype', '3:9-3:13', 'model.dtype: expected one of auto, bf16, fp16, fp32, got string "bf17"'],
    ['unknown-key', 'model.bogus', '4:2-4:7', 'model.bogus: unknown key (allowed here: attn_implementation, dtype, gradient_checkpointing, name, quantization, revision)'],
    ['required', 'dataset.train', '5:0-5:7', 'dataset.train: required key is missing'],
    ['out-of-range', 'dataset.eval_ratio', '6:14-6:17', 'dataset.eval_ratio: must be at most 0.5, got number 0.9'],
    ['type', 'dataset.max_length', '7:14-7:20', 'dataset.max_length: expected integer, got string "long"'],
    ['out-of-range', 'lora.r', '9:5-9:6', 'lora.r: must be at least 1, got integer 0'],
    ['out-of-range', 'lora.alpha', '10:9-10:10', 'lora.alpha: must be more than 0, got integer 0'],
    ['one-of', 'lora.target_modules', '11:18-11:21', 'lora.target_modules: expected an array of strings or "all-linear", got string "all"'],
    ['unknown-key', 'training.learnin_rate', '13:2-13:14', 'training.learnin_rate: unknown key (allowed here: batch_size, distributed, early_stopping, epochs, eval_steps, gpus, gradient_accumulation_steps, learning_rate, logging_steps, max_grad_norm, max_steps, method, report_to, resume_from, save_steps, save_total_limit, scheduler, seed, warmup_ratio_cap, warmup_steps, weight_decay)'],
    // gpus is `integer >= 1` or "all": the integer branch's bound says more than "matches no branch".
    ['out-of-range', 'training.gpus', '14:8-14:9', 'training.gpus: must be at least 1, got integer 0'],
    ['unique', 'training.report_to', '15:34-15:39', 'training.report_to: lists "wandb" twice'],
    ['enum', 'training.early_stopping.mode', '17:10-17:16', 'training.early_stopping.mode: expected one of min, max, got string "lowest"'],
    ['items', 'monitoring.grad_norm_band', '19:18-19:21', 'monitoring.grad_norm_band: must have at least 2 items, got 1'],
    // A list item has no key of its own: its first key stands for it.
    ['required', 'layer_lr.0.learning_rate', '21:4-21:11', 'layer_lr.0.learning_rate: required key is missing'],
    ['out-of-range', 'dpo.label_smoothing', '23:19-23:22', 'dpo.label_smoothing: must be less than 0.5, got number 0.5'],
    ['enum', 'kto.loss_type', '25:13-25:18', 'kto.loss_type: expected one of kto, apo_zero_unpaired, got array'],
    // A block list where a map belongs: its key, not its lines.
    ['type', 'evaluation', '26:0-26:10', 'evaluation: expected object, got array'],
  ]);
});

test('a missing top-level key marks the first key; a key with no value marks the key', () => {
  const text = '# my run\nname: x\nmodel: ./m\ndataset:\n';
  assert.deepEqual(shape(text, configDiagnostics(text)), [
    ['type', 'dataset', '3:0-3:7', 'dataset: expected object, got null'],
  ]);
  const noModel = '# comment\nname: x\ndataset:\n  train: a.jsonl\n';
  assert.deepEqual(shape(noModel, configDiagnostics(noModel)), [['required', 'model', '1:0-1:4', 'model: required key is missing']]);
});

test('the model object branch reports its own errors, not "matches no branch"', () => {
  const text = 'model:\n  name: x\n  quantization: 3bit\ndataset: {train: a.jsonl}\n';
  assert.deepEqual(shape(text, configDiagnostics(text)), [
    ['enum', 'model.quantization', '2:16-2:20', 'model.quantization: expected one of none, 4bit, 8bit, got string "3bit"'],
  ]);
  const wrong = 'model: 7\ndataset: {train: a.jsonl, bad: 1}\n';
  assert.deepEqual(shape(wrong, configDiagnostics(wrong)), [
    ['one-of', 'model', '0:7-0:8', 'model: expected string or object, got integer 7'],
    ['unknown-key', 'dataset.bad', '1:26-1:29', 'dataset.bad: unknown key (allowed here: eval, eval_ratio, format, max_bad_rows, max_length, packing, train, train_on, truncation)'],
  ]);
});

test('a valid config has no diagnostics; an empty file or a list says what a config is', () => {
  assert.deepEqual(configDiagnostics('model: ./m  # local\ndataset:\n  train: t.jsonl\ntraining:\n  learning_rate: 2e-4\n'), []);
  assert.deepEqual(shape('', configDiagnostics('')), [['empty', null, '0:0-0:0', 'the file is empty: a run config needs at least model and dataset.train']]);
  assert.deepEqual(shape('- a\n', configDiagnostics('- a\n')), [['type', null, '0:2-0:3', 'expected a mapping of keys (model, dataset, ...), got array']]);
});

test('YAML syntax errors are reported where the parser stopped, and hide the schema errors they cause', () => {
  const unclosed = 'model: x\ndataset:\n  train: [a.jsonl\nlora: 1\n';
  const [first, ...rest] = configDiagnostics(unclosed);
  assert.equal(first.code, 'yaml-syntax');
  assert.match(first.message, /^not valid YAML \(/);
  assert.ok(!first.message.includes('\n'), 'one line, no source excerpt');
  assert.ok(rest.every((d) => d.code === 'yaml-syntax'), 'no schema errors from a half-parsed document');

  const duplicate = 'model: x\nmodel: y\ndataset: {train: t}\n';
  assert.deepEqual(shape(duplicate, configDiagnostics(duplicate)), [['yaml-syntax', null, '1:0-1:1', 'not valid YAML (Map keys must be unique)']]);

  const badIndent = 'model: x\ndataset:\n  train: t\n   eval: e\n';
  // The parser reads "t\n   eval: e" as one multi-line key and stops at its start.
  assert.deepEqual(shape(badIndent, configDiagnostics(badIndent)), [
    ['yaml-syntax', null, '2:9-2:10', 'not valid YAML (Nested mappings are not allowed in compact mappings)'],
    ['yaml-syntax', null, '2:9-3:7', 'not valid YAML (Implicit keys need to be on a single line)'],
  ]);
});

test('kinds the run config schema does not use yet are mapped too (pattern, const, anyOf, maxItems, multipleOf, maxLength, $ref)', () => {
  const check = schemaChecker({
    type: 'object',
    definitions: { port: { type: 'integer', multipleOf: 10 } },
    properties: {
      tag: { type: 'string', pattern: '^v\\d+$', maxLength: 3 },
      mode: { const: 'fast' },
      size: { anyOf: [{ type: 'integer' }, { enum: ['auto'] }] },
      pair: { type: 'array', maxItems: 2 },
      port: { $ref: '#/definitions/port' },
    },
  });
  const text = 'tag: version1\nmode: slow\nsize: big\npair: [1, 2, 3]\nport: 25\n';
  assert.deepEqual(shape(text, configDiagnostics(text, check)), [
    ['length', 'tag', '0:5-0:13', 'tag: must have a length of at most 3, got string "version1"'],
    ['pattern', 'tag', '0:5-0:13', 'tag: must match ^v\\d+$, got string "version1"'],
    ['const', 'mode', '1:6-1:10', 'mode: expected "fast", got string "slow"'],
    ['one-of', 'size', '2:6-2:9', 'size: expected integer or one of auto, got string "big"'],
    ['items', 'pair', '3:6-3:15', 'pair: must have at most 2 items, got 3'],
    ['schema', 'port', '4:6-4:8', 'port: must be a multiple of 10, got integer 25'],
  ]);
});
