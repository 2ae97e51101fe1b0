import assert from 'node:assert/strict';
import { test } from 'node:test';
import { normalizeConfig } from '../../src/core/configEditor/normalize';

test('comments, key order, quoting and indentation do not make two configs differ; values do', () => {
  const a = 'name: a  # the first\ntraining:\n  max_steps: 30\n  learning_rate: 0.001\nmodel: "model"\n';
  const b = 'model: model\ntraining:\n    learning_rate: 1.0e-3\n    max_steps: 30\nname: a\n';
  assert.equal(normalizeConfig(a), normalizeConfig(b));
  assert.equal(normalizeConfig(a), 'model: model\nname: a\ntraining:\n  learning_rate: 0.001\n  max_steps: 30\n');
  assert.notEqual(normalizeConfig(a), normalizeConfig(b.replace('max_steps: 30', 'max_steps: 60')));
});

test('a broken file is shown as written, with the parser\'s reason on top', () => {
  const out = normalizeConfig('training:\n  max_steps: [30\n');
  assert.match(out, /^# not valid YAML \(.+\); shown as written\ntraining:\n {2}max_steps: \[30\n$/);
});
