// Chart markers and nested figures: from live events and from run_history's details, into a shown run.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentEvent } from '../../src/core/protocol/messages';
import { historyPoints } from '../../src/core/runs/history';
import { MAX_MARKERS, extraFigures, markerOf, mergeMarkers } from '../../src/core/runs/runMarkers';
import { RunStore } from '../../src/core/runs/runStore';

const RUN = 'r1';
let seq = 0;
const ev = (kind: string, data: unknown) => ({ type: 'event', seq: ++seq, time: 1, run_id: RUN, kind, data }) as AgentEvent;

test('each marker kind comes from its event, with what a click needs', () => {
  assert.deepEqual(markerOf('checkpoint', { name: 'checkpoint-30', step: 30, path: 'p', files: [], reason: 'scheduled' }, 5),
    { seq: 5, kind: 'checkpoint', step: 30, segment: 0, checkpoint: 'checkpoint-30', text: 'checkpoint-30 saved (scheduled)' });
  assert.deepEqual(markerOf('control_done', { id: 'a', action: 'save', step: 14, checkpoint: 'checkpoint-14', segment: 1 }, 6),
    { seq: 6, kind: 'save', step: 14, segment: 1, checkpoint: 'checkpoint-14', text: 'Save now: checkpoint-14 at step 14' });
  assert.deepEqual(markerOf('control_done', { id: 'b', action: 'eval', step: 15 }, 7),
    { seq: 7, kind: 'eval', step: 15, segment: 0, text: 'Eval now at step 15' });
  assert.equal(markerOf('control_done', { id: 'c', action: 'save', step: 9, error: 'disk full' }, 8)?.text, 'Save now failed: disk full');
  assert.equal(markerOf('control_done', { id: 'c', action: 'save', step: 9, error: 'disk full', checkpoint: 'x' }, 8)?.checkpoint, undefined);
  assert.deepEqual(markerOf('log', { level: 'warning', code: 'grad_norm_band', message: 'grad norm 9.1 above 5', step: 12 }, 9),
    { seq: 9, kind: 'warning', step: 12, segment: 0, code: 'grad_norm_band', text: 'grad norm 9.1 above 5' });
  assert.equal(markerOf('early_stop', { step: 40, reason: 'eval loss rose 3 times', metric: 'eval_loss', best_value: 1, best_step: 30 }, 10)?.kind, 'early_stop');
  assert.deepEqual(markerOf('run_state', { state: 'starting', segment: 1, resumed_from: 'checkpoint-20' }, 11),
    { seq: 11, kind: 'resume', step: 20, segment: 1, checkpoint: 'checkpoint-20', text: 'Resumed from checkpoint-20 (segment 1)' });
});

test('events that mark nothing, or do not fit, make no marker and never throw', () => {
  for (const [kind, data] of [
    ['log', { level: 'info', message: 'plain note', step: 3 }],
    ['control_done', { id: 'a', action: 'set_logging_steps', step: 3, value: 5 }],
    ['control_done', { id: 'a', action: 'save', step: -1 }],
    ['checkpoint', { name: 7, step: 3 }],
    ['run_state', { state: 'running' }],
    ['run_state', { state: 'starting', resumed_from: 'no-step-here' }],
    ['metrics', { step: 3 }],
    ['log', null], ['log', [1, 2]], ['checkpoint', 'text'],
  ] as const) {
    assert.equal(markerOf(kind, data, 1), undefined, `${kind} ${JSON.stringify(data)}`);
  }
});

test('nested figures are flattened to group.key, leaving out nulls and non-numbers', () => {
  assert.deepEqual(extraFigures({
    loss_terms: { ce_loss: 2.1, kl: null }, lr_groups: { default: 1e-4 }, gpu: { allocated_mb: 900, utilization: null },
    preference: { margin: 0.5, accuracy: Number.NaN }, host_memory: { available_mb: 1 },
  }), { 'loss_terms.ce_loss': 2.1, 'lr_groups.default': 1e-4, 'gpu.allocated_mb': 900, 'preference.margin': 0.5 });
  assert.equal(extraFigures({ gpu: null }), undefined);
});

test('mergeMarkers drops replays and keeps the newest MAX_MARKERS', () => {
  const held = [markerOf('early_stop', { step: 1, reason: 'x' }, 1)!];
  assert.equal(mergeMarkers(held, [markerOf('early_stop', { step: 1, reason: 'x' }, 1)!]).length, 0);
  const many = Array.from({ length: MAX_MARKERS + 5 }, (_, i) => markerOf('early_stop', { step: i, reason: 'x' }, i + 2)!);
  mergeMarkers(held, many);
  assert.equal(held.length, MAX_MARKERS);
  assert.equal(held[0].seq, 7, 'the oldest went');
});

test('a shown run keeps live markers, merges those held while its history loads, and takes its config from the history', () => {
  seq = 0;
  const store = new RunStore();
  store.show(RUN);
  store.apply(ev('run_state', { state: 'running', max_steps: 40 }));
  const changes: unknown[] = [];
  store.onChange((c) => changes.push(c));
  store.apply(ev('control_done', { id: 'a', action: 'eval', step: 3 })); // seq 2: held, the history will not cover it
  store.apply(ev('metrics', { step: 4, max_steps: 40, epoch: 0, loss: 2, learning_rate: 1e-3, grad_norm: 7, tokens_per_sec: 9, eta_s: 1,
    gpu: { allocated_mb: 100, reserved_mb: 120, peak_mb: 150, utilization: null } }));
  assert.deepEqual(store.markers(RUN).map((m) => m.kind), ['eval']);
  assert.deepEqual(store.points(RUN)[0], {
    kind: 'train', step: 4, segment: 0, loss: 2, learningRate: 1e-3, tokensPerSec: 9, gradNorm: 7,
    extra: { 'gpu.allocated_mb': 100, 'gpu.reserved_mb': 120, 'gpu.peak_mb': 150 },
  });
  const epoch = store.historyEpoch(RUN)!;
  store.loadHistory(RUN, epoch, {
    run_id: RUN, head: 1,
    series: { grad_norm: { step: [1], value: [2.5], segment: [0], total: 1 } },
    extra_series: { 'lr_groups.embed': { step: [1], value: [1e-5], segment: [0], total: 1 } },
    events: [{ seq: 1, kind: 'checkpoint', data: { name: 'checkpoint-1', step: 1, path: 'p', files: [] } },
      { seq: 1, kind: 'log', data: { level: 'warning', message: 'no code' } }],
    config: 'name: demo\n',
  });
  assert.deepEqual(store.markers(RUN).map((m) => [m.kind, m.step]), [['checkpoint', 1], ['eval', 3]]);
  assert.equal(store.config(RUN), 'name: demo\n');
  assert.deepEqual(store.points(RUN)[0], {
    kind: 'train', step: 1, segment: 0, loss: null, learningRate: null, tokensPerSec: null, gradNorm: 2.5, extra: { 'lr_groups.embed': 1e-5 },
  });
  store.apply(ev('control_done', { id: 'b', action: 'save', step: 5, checkpoint: 'checkpoint-5' }));
  assert.deepEqual((changes.at(-1) as { markers: Array<{ kind: string }> }).markers.map((m) => m.kind), ['save']);
  assert.deepEqual(store.markers(RUN).map((m) => m.kind), ['checkpoint', 'eval', 'save']);
  store.hide(RUN);
  assert.deepEqual(store.markers(RUN), [], 'a run no view shows keeps no markers');
});

test('history extra series join the training points of their step', () => {
  const { points } = historyPoints(
    { loss: { step: [2], value: [1.5], segment: [0], total: 1 } },
    { 'loss_terms.kl': { step: [2, 3], value: [0.1, 0.2], segment: [0, 0], total: 2 } },
  );
  assert.deepEqual(points.map((p) => p.kind === 'train' && [p.step, p.loss, p.extra]), [[2, 1.5, { 'loss_terms.kl': 0.1 }], [3, null, { 'loss_terms.kl': 0.2 }]]);
});
