// The messages a person sees when the agent sends something the schema does not allow.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { validateResult, validateServerFrame, validateServerMessage } from '../../src/core/protocol/validate';

test('a valid event parses and keeps its typed data', () => {
  const v = validateServerMessage(JSON.stringify({ type: 'event', seq: 4, time: 1.5, run_id: 'r1', kind: 'eval', data: { step: 10, eval_loss: null } }));
  assert.ok(v.ok);
  assert.equal(v.msg.type, 'event');
  if (v.msg.type === 'event' && v.msg.kind === 'eval') assert.equal(v.msg.data.step, 10);
});

test('an events frame gives each of its events, in order; any other frame gives itself', () => {
  const event = (seq: number) => ({ type: 'event', seq, time: 1, run_id: 'r1', kind: 'eval', data: { step: seq, eval_loss: null } });
  const batch = validateServerFrame(JSON.stringify({ type: 'events', events: [event(3), event(4), event(5)] }));
  assert.deepEqual(batch, [event(3), event(4), event(5)].map((msg) => ({ ok: true, msg })));
  assert.deepEqual(validateServerFrame(JSON.stringify(event(6))), [{ ok: true, msg: event(6) }]);
  assert.deepEqual(validateServerFrame('[1]'), [{ ok: false, error: 'expected a JSON object, got "[1]"', parsed: [1] }]);
  // A batch is not one message: where one message is expected, it is refused by type.
  assert.match((validateServerMessage(JSON.stringify({ type: 'events', events: [event(3)] })) as { error: string }).error, /got "events"/);
});

test('text that is not JSON says so and shows the start of the frame', () => {
  const v = validateServerMessage('{oops');
  assert.equal(v.ok, false);
  assert.match(!v.ok ? v.error : '', /^not valid JSON \(.+\): "\{oops"$/);
});

test('a JSON value that is not an object is refused', () => {
  const v = validateServerMessage('[1,2]');
  assert.deepEqual(v.ok ? null : v.error, 'expected a JSON object, got "[1,2]"');
});

test('an unknown frame type names the field and the allowed types', () => {
  const v = validateServerMessage('{"type":"request","id":1,"method":"list_runs","params":{}}');
  assert.equal(v.ok ? null : v.error, '/type: expected "hello", "response", "event" or "stream", got "request"');
});

test('event data errors name the path inside data, not just "must match then"', () => {
  const v = validateServerMessage(JSON.stringify({ type: 'event', seq: 1, time: 1, run_id: 'r1', kind: 'run_state', data: { state: 'exploded' } }));
  assert.equal(v.ok ? null : v.error, 'event frame: /data/state: must be one of "starting", "running", "completed", "failed", "stopped"');
});

test('a bad seq and a bad run id are both reported', () => {
  const v = validateServerMessage(JSON.stringify({ type: 'event', seq: 0, time: 1, run_id: '../x', kind: 'log', data: { level: 'info', message: 'm' } }));
  const error = v.ok ? '' : v.error;
  assert.match(error, /\/seq: must be >= 1/);
  assert.match(error, /\/run_id: must match pattern/);
});

test('a response with both result and error is refused', () => {
  const v = validateServerMessage(JSON.stringify({ type: 'response', re: 1, result: {}, error: { code: 'internal', message: 'x' } }));
  assert.equal(v.ok, false);
});

test('an unknown error code lists the allowed ones', () => {
  const v = validateServerMessage(JSON.stringify({ type: 'response', re: 1, error: { code: 'oops', message: 'x' } }));
  assert.match(v.ok ? '' : v.error, /\/error\/code: must be one of "bad_message", "unauthorized"/);
});

test('result validators check each method\'s result shape', () => {
  assert.deepEqual(validateResult('subscribe', { head: 3 }), { ok: true, value: { head: 3 } });
  assert.deepEqual(validateResult('subscribe', { head: -1 }), { ok: false, error: '/head: must be >= 0' });
  const sha = validateResult('list_checkpoints', { checkpoints: [{ name: 'c', step: 1, path: '/p', files: [{ name: 'f', size: 1, sha256: 'XYZ' }], eval_loss: null, is_best: false }] });
  assert.deepEqual(sha, { ok: false, error: '/checkpoints/0/files/0/sha256: must match pattern "^[0-9a-f]{64}$"' });
});
