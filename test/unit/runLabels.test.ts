import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeRun } from '../../src/core/runs/runLabels';
import type { RunRecord } from '../../src/core/runs/types';

const run = (over: Partial<RunRecord>): RunRecord => ({
  runId: '20261127-120000-demo-ab12', name: 'demo', state: 'running', created: 1, step: 12, maxSteps: 40,
  loss: 1.23456, tokensPerSec: 800, etaS: 20, error: null, ...over,
});

test('a running run shows progress and loss, and can be stopped', () => {
  const l = describeRun(run({}));
  assert.equal(l.label, 'demo');
  assert.equal(l.description, '12/40 · loss 1.2346');
  assert.equal(l.contextValue, 'run.active');
  assert.equal(l.icon.id, 'sync~spin');
});

test('starting is active too; finished states are done', () => {
  assert.equal(describeRun(run({ state: 'starting' })).contextValue, 'run.active');
  for (const state of ['completed', 'failed', 'stopped'] as const) assert.equal(describeRun(run({ state })).contextValue, 'run.done');
});

test('a failed run says so and carries its error in the tooltip', () => {
  const l = describeRun(run({ state: 'failed', error: 'train.jsonl line 7: not valid JSON', loss: null, maxSteps: null, step: 0 }));
  assert.equal(l.description, 'step 0 · failed');
  assert.match(l.tooltip, /error: train\.jsonl line 7: not valid JSON/);
  assert.equal(l.icon.id, 'error');
});

test('a stopped run says so; a completed one needs no word', () => {
  assert.equal(describeRun(run({ state: 'stopped' })).description, '12/40 · loss 1.2346 · stopped');
  assert.equal(describeRun(run({ state: 'completed', step: 40 })).description, '40/40 · loss 1.2346');
});
