import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeRun, formatEta, formatStart, runTitle, shortRunId } from '../../src/core/runs/runLabels';
import type { RunRecord } from '../../src/core/runs/types';

const run = (over: Partial<RunRecord>): RunRecord => ({
  runId: '20261127-120000-demo-ab12', name: 'demo', state: 'running', created: 1, step: 12, maxSteps: 40,
  loss: 1.23456, tokensPerSec: 800, etaS: 20, error: null, damaged: null, diskLow: null, ...over,
});

test('a running run shows progress, loss and time left, and can be stopped', () => {
  const l = describeRun(run({ created: 0 }));
  assert.equal(l.label, 'demo (ab12)', 'a run with no known start time is named by its short id');
  assert.equal(l.description, '12/40 · loss 1.2346 · ETA 20 s');
  assert.match(l.tooltip, /time left: about 20 s/);
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

const DISK = 'disk almost full: 150 MB free on /, and the next checkpoint needs about 96 MB; free some space or the run will fail at its next save';

test('an active run short of disk says "disk low", keeps its spinner in the warning colour, and gives the message in the tooltip', () => {
  const l = describeRun(run({ diskLow: DISK }));
  assert.equal(l.description, '12/40 · loss 1.2346 · ETA 20 s · disk low');
  assert.ok(l.tooltip.split('\n').includes(`disk low: ${DISK}`), l.tooltip);
  assert.deepEqual(l.icon, { id: 'sync~spin', color: 'list.warningForeground' });
  assert.equal(l.contextValue, 'run.active');
  assert.equal(describeRun(run({ state: 'starting', diskLow: DISK })).icon.id, 'loading~spin');
});

test('a finished run does not show a disk warning even if one is still recorded', () => {
  const l = describeRun(run({ state: 'completed', diskLow: DISK }));
  assert.doesNotMatch(l.description, /disk/);
  assert.doesNotMatch(l.tooltip, /disk/);
  assert.deepEqual(l.icon, { id: 'pass', color: 'testing.iconPassed' });
});

test('a damaged run says so in its description, its icon and its tooltip', () => {
  const damage = '2 lines of events.jsonl are damaged and were skipped (first: line 7, not a complete event)';
  const done = describeRun(run({ state: 'completed', damaged: damage }));
  assert.equal(done.description, '12/40 · loss 1.2346 · damaged');
  assert.ok(done.tooltip.split('\n').includes(`damaged: ${damage}`), done.tooltip);
  assert.deepEqual(done.icon, { id: 'warning', color: 'list.warningForeground' });
  assert.equal(done.contextValue, 'run.done');

  const active = describeRun(run({ damaged: damage }));
  assert.deepEqual(active.icon, { id: 'sync~spin', color: 'list.warningForeground' }, 'still visibly running');

  const failed = describeRun(run({ state: 'failed', error: 'CUDA out of memory', damaged: damage }));
  assert.equal(failed.icon.id, 'error', 'failure stays the stronger signal');
  assert.equal(failed.description, '12/40 · loss 1.2346 · failed · damaged');
  assert.match(failed.tooltip, /error: CUDA out of memory\ndamaged: /);
});

test('a run with nothing wrong has no warning lines', () => {
  const l = describeRun(run({}));
  assert.doesNotMatch(l.tooltip, /damaged|disk/);
});

test('two runs of one config are told apart by start time and short id', () => {
  const now = new Date(2026, 10, 30, 15, 0);
  const at = (h: number, m: number, day = 30) => new Date(2026, 10, day, h, m).getTime() / 1000;
  const a = describeRun(run({ runId: '20261130-140200-demo-ab12', created: at(14, 2) }), now);
  const b = describeRun(run({ runId: '20261130-140230-demo-c3d4', created: at(14, 2) }), now);
  assert.equal(a.label, 'demo (14:02 · ab12)');
  assert.equal(b.label, 'demo (14:02 · c3d4)');
  assert.match(a.tooltip, /^demo \(20261130-140200-demo-ab12\)/);
  assert.equal(runTitle({ name: 'demo', runId: 'x-0f0f', created: at(9, 5, 29) }, now), 'demo (Nov 29 09:05 · 0f0f)', 'an earlier day shows its date');
  assert.equal(formatStart(0, now), '');
  assert.equal(shortRunId('damaged-run'), '-run', 'an id without a hex tail still gives its last characters');
});

test('the ETA reads in seconds, minutes or hours, only while the run trains; a starting run says so', () => {
  assert.equal(formatEta(null), '');
  assert.equal(formatEta(44.6), 'ETA 45 s');
  assert.equal(formatEta(12 * 60 + 10), 'ETA 12 min');
  assert.equal(formatEta(2 * 3600 + 5 * 60), 'ETA 2 h 05 min');
  assert.equal(describeRun(run({ etaS: 3 * 60 })).description, '12/40 · loss 1.2346 · ETA 3 min');
  assert.equal(describeRun(run({ state: 'starting', step: 0, loss: null, etaS: null })).description, '0/40 · starting');
  assert.doesNotMatch(describeRun(run({ state: 'stopped' })).description, /ETA/);
});
