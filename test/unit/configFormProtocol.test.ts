// The run-config form's messages cross a trust boundary both ways: the host acts only on exact, bounded shapes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { estimateLine } from '../../src/core/configEditor/estimateLine';
import { readForm } from '../../src/core/configEditor/formModel';
import { parseHostMessage, parseWebviewMessage } from '../../webview/configForm/protocol';

test('the host takes edits, reveals and actions in their exact shapes only', () => {
  assert.deepEqual(parseWebviewMessage({ type: 'edit', key: 'lora.r', input: '16' }), { type: 'edit', key: 'lora.r', input: '16' });
  assert.deepEqual(parseWebviewMessage({ type: 'edit', key: 'training.report_to', input: ['wandb'] }), { type: 'edit', key: 'training.report_to', input: ['wandb'] });
  assert.deepEqual(parseWebviewMessage({ type: 'reveal', key: null, line: 4 }), { type: 'reveal', key: null, line: 4 });
  assert.deepEqual(parseWebviewMessage({ type: 'run', action: 'launch' }), { type: 'run', action: 'launch' });
  for (const bad of [
    { type: 'edit', key: 'lora.r', input: '16', extra: 1 },
    { type: 'edit', key: '__proto__.x', input: '1' },
    { type: 'edit', key: 'a.b.c.d.e.f.g.h.i', input: '1' },
    { type: 'edit', key: 'training.learnin_rate', input: '1' },
    { type: 'reveal', key: 'constructor', line: null },
    { type: 'edit', key: 'lora.r', input: 'x'.repeat(10_001) },
    { type: 'edit', key: 'lora.r', input: { value: 1 } },
    { type: 'edit', key: 'lora.r', input: [1] },
    { type: 'reveal', key: 'lora.r', line: 0 },
    { type: 'reveal', key: 'lora.r' },
    { type: 'run', action: 'rm -rf' },
    { type: 'ready', now: 1 },
    null, 'ready', [],
  ]) assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad));
});

test('the page takes the state the host sends and drops anything else', () => {
  const state = {
    type: 'state', fileName: 'a.tunelab.yaml', form: readForm('model: m\n'), editable: true,
    problems: [{ key: 'dataset', severity: 'error', message: 'dataset: required', source: 'schema' }],
    estimate: estimateLine({ ownErrors: true, agentReady: true, report: undefined, updating: false }),
  };
  assert.deepEqual(parseHostMessage(state), state);
  assert.deepEqual(parseHostMessage({ ...state, form: readForm('model: [\n') }), { ...state, form: readForm('model: [\n') });
  assert.equal(parseHostMessage({ ...state, problems: [{ key: 1, severity: 'error', message: 'x', source: 'schema' }] }), undefined);
  assert.equal(parseHostMessage({ ...state, form: { ok: true, values: {} } }), undefined);
  assert.equal(parseHostMessage({ ...state, html: '<b>' }), undefined);
  assert.deepEqual(parseHostMessage({ type: 'refused', key: 'lora.r', message: 'no' }), { type: 'refused', key: 'lora.r', message: 'no' });
});

test('the estimate reads the same in the status bar and the form header', () => {
  const report = { verdict: 'ok' as const, headline: 'Preflight on this machine: fits', facts: ['Memory: about 1.2 GiB'], estimateMb: 1228.8, fit: 'fits on the GPU', problems: [] };
  const line = estimateLine({ ownErrors: false, agentReady: true, report, updating: true });
  assert.equal(line.text, '≈ 1.2 GiB · fits on the GPU (updating…)');
  assert.deepEqual(line.facts, ['Memory: about 1.2 GiB']);
  assert.equal(estimateLine({ ownErrors: false, agentReady: false, report, updating: false }).state, 'no-agent');
  assert.equal(estimateLine({ ownErrors: false, agentReady: true, report: null, updating: false }).text, 'Tunelab estimate: config refused');
  assert.equal(estimateLine({ ownErrors: true, agentReady: true, report, updating: false }).short, 'fix the config first');
});
