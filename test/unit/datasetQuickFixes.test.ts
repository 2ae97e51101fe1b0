// The dataset editor's quick fixes (src/core/dataset/quickFixes.ts), on the agent's own diagnostic messages, its row orders (rowOrder.ts), and
// which config a dataset belongs to (configContext.ts).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { datasetContextOf, readingOptions } from '../../src/core/dataset/configContext';
import { fixesFor } from '../../src/core/dataset/quickFixes';
import { orderByLabel, orderByLength, quickLabel } from '../../src/core/dataset/rowOrder';

// Messages as the agent writes them (python-agent/tunelab_agent/data/conversation.py).
const badRole = "messages[1].role is 'bot'; expected system, user, assistant or tool";
const badFrom = "conversations[0].from is 'user'; expected human, gpt, system, tool, function_call or observation";
const emptyTurn = 'empty assistant turn at messages[1]';

test('a role the trainer does not know is renamed in place, the rest of the line byte for byte', () => {
  const row = '{"messages": [{"role":"user","content":"hi"}, {"role":"bot", "content":"yo"}], "label": "x"}';
  const [fix] = fixesFor({ code: 'bad_row', message: badRole }, row);
  assert.equal(fix.title, 'Rename role "bot" to "assistant"');
  assert.equal(fix.kind, 'replace');
  assert.equal(fix.kind === 'replace' && fix.text, row.replace('"bot"', '"assistant"'));
});

test('a ShareGPT turn named with an OpenAI role gets its ShareGPT name', () => {
  const row = '{"conversations":[{"from":"user","value":"hi"},{"from":"gpt","value":"yo"}]}';
  const [fix] = fixesFor({ code: 'bad_row', message: badFrom }, row);
  assert.equal(fix.kind === 'replace' && fix.text, row.replace('"from":"user"', '"from":"human"'));
});

test('an empty assistant turn is removed and the row stays one line of valid JSON', () => {
  const row = '{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":""},{"role":"user","content":"again"}]}';
  const [fix] = fixesFor({ code: 'bad_row', message: emptyTurn }, row);
  assert.ok(fix.kind === 'replace');
  assert.ok(!fix.text.includes('\n'));
  assert.deepEqual(JSON.parse(fix.text).messages, [{ role: 'user', content: 'hi' }, { role: 'user', content: 'again' }]);
});

test('a duplicate is dropped; unclear problems get no fix', () => {
  assert.deepEqual(fixesFor({ code: 'duplicate', message: 'the same row as line 4' }, '{}'), [{ title: 'Drop this duplicate row', kind: 'delete' }]);
  assert.deepEqual(fixesFor({ code: 'bad_row', message: "messages[1].role is 'narrator'; expected system, user, assistant or tool" }, '{}'), []);
  assert.deepEqual(fixesFor({ code: 'invalid_json', message: 'not valid JSON' }, '{'), []);
  assert.deepEqual(fixesFor({ code: 'too_long', message: '900 tokens' }, '{}'), []);
});

test('a config gives its dataset the model, format, train_on and max_length; another file gets nothing', () => {
  const yaml = 'model: ./tiny\ndataset:\n  train: data/train.jsonl\n  eval: data/eval.jsonl\n  format: alpaca\n  max_length: 256\n';
  const ctx = datasetContextOf(yaml, '/w/run.tunelab.yaml', '/w/data/eval.jsonl', (p) => p === '/w/tiny');
  assert.deepEqual(ctx, {
    configPath: '/w/run.tunelab.yaml', split: 'eval', modelName: './tiny', model: '/w/tiny', format: 'alpaca', trainOn: null, maxLength: 256,
  });
  assert.deepEqual(readingOptions(ctx), { format: 'alpaca', max_length: 256 });
  assert.equal(datasetContextOf(yaml, '/w/run.tunelab.yaml', '/w/other.jsonl', () => false), undefined);
  // A hub name stays a name; an unwritten max_length is the schema's default, which the trainer uses.
  const hub = datasetContextOf('model: {name: org/m}\ndataset: {train: t.jsonl, train_on: all}\n', '/w/a.tunelab.yaml', '/w/t.jsonl', () => false);
  assert.equal(hub?.model, 'org/m');
  assert.equal(hub?.trainOn, 'all');
  assert.equal(hub?.maxLength, 512);
  assert.equal(datasetContextOf('model: [broken', '/w/a.tunelab.yaml', '/w/t.jsonl', () => false), undefined);
});

test('rows sort longest first and by label, both stable, unlabelled rows last', () => {
  assert.deepEqual(orderByLength([3, 9, 3, 12, 0]), [3, 1, 0, 2, 4]);
  assert.deepEqual(orderByLabel(['b', undefined, 'a', 'b', undefined, 'a']), [2, 5, 0, 3, 1, 4]);
  assert.equal(quickLabel('{"messages":[],"label":"keep"}'), 'keep');
  assert.equal(quickLabel('{"messages":[{"role":"user","content":"no label here"}]}'), undefined);
  assert.equal(quickLabel('{"label": 3}'), '3');
});
