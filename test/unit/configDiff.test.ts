import assert from 'node:assert/strict';
import { test } from 'node:test';
import { configDiff } from '../../src/core/runs/configDiff';

test('only keys whose values differ are rows, flattened to dotted keys, with a key one run lacks as null', () => {
  const a = 'name: a\nmodel: m\ntraining:\n  learning_rate: 0.001\n  max_steps: 60\nlora:\n  r: 4\n';
  const b = 'name: b\nmodel: m\ntraining:\n  learning_rate: 0.0005\n  max_steps: 60\nlora:\n  r: 8\n  alpha: 16\n';
  assert.deepEqual(configDiff([{ label: 'a', yaml: a }, { label: 'b', yaml: b }]), {
    rows: [
      { key: 'lora.alpha', values: [null, '16'] },
      { key: 'lora.r', values: ['4', '8'] },
      { key: 'training.learning_rate', values: ['0.001', '0.0005'] },
    ],
    notes: [],
  });
});

test('a missing or broken config is a note naming the run, never a crash', () => {
  const ok = 'model: m\ntraining:\n  learning_rate: 0.001\n';
  const d = configDiff([{ label: 'good', yaml: ok }, { label: 'later', yaml: null }, { label: 'broken', yaml: 'a: [1,\n' }, { label: 'list', yaml: '- 1\n' }]);
  assert.deepEqual(d.rows, [], 'one readable config has nothing to differ from');
  assert.equal(d.notes.length, 3);
  assert.match(d.notes[0], /^later: its config is not loaded yet$/);
  assert.match(d.notes[1], /^broken: its config is not valid YAML/);
  assert.match(d.notes[2], /^list: its config is not a YAML mapping$/);
});
