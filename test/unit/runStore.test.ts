import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentEvent, RunSummary } from '../../src/core/protocol/messages';
import { RunStore, type RunChange } from '../../src/core/runs/runStore';

const RUN = '20261127-120000-demo-ab12';
let seq = 0;
const ev = (kind: AgentEvent['kind'], data: unknown, run_id = RUN, s = ++seq): AgentEvent =>
  ({ type: 'event', seq: s, time: 1_800_000_000 + s, run_id, kind, data }) as AgentEvent;
// The chart of RUN is open, so the store keeps its points (history still loading: live ones are held and shown).
const shownStore = (): RunStore => {
  const store = new RunStore();
  store.show(RUN);
  return store;
};
const metrics = (step: number, loss: number | null, lr = 1e-3) =>
  ev('metrics', { step, max_steps: 40, epoch: step / 40, loss, learning_rate: lr, grad_norm: 1, tokens_per_sec: 900, eta_s: 40 - step });

test('folds a run from creation through metrics, eval and completion', () => {
  seq = 0;
  const store = shownStore();
  store.apply(ev('run_created', { name: 'demo', config: 'model: m' }));
  store.apply(ev('run_state', { state: 'running', max_steps: 40 }));
  store.apply(metrics(1, 2.5));
  store.apply(metrics(2, 2.25));
  store.apply(ev('eval', { step: 2, eval_loss: 2.4 }));
  store.apply(ev('log', { level: 'info', message: 'hi' }));
  let run = store.get(RUN)!;
  assert.equal(run.name, 'demo');
  assert.equal(run.state, 'running');
  assert.equal(run.step, 2);
  assert.equal(run.maxSteps, 40);
  assert.equal(run.loss, 2.25);
  assert.equal(run.tokensPerSec, 900);
  assert.deepEqual(store.points(RUN), [
    { kind: 'train', step: 1, segment: 0, loss: 2.5, learningRate: 1e-3, tokensPerSec: 900, gradNorm: 1 },
    { kind: 'train', step: 2, segment: 0, loss: 2.25, learningRate: 1e-3, tokensPerSec: 900, gradNorm: 1 },
    { kind: 'eval', step: 2, segment: 0, evalLoss: 2.4 },
  ]);
  store.apply(ev('run_state', { state: 'completed' }));
  run = store.get(RUN)!;
  assert.equal(run.state, 'completed');
  assert.equal(run.etaS, null, 'a finished run has no ETA');
});

test('points carry the segment of their event, so steps trained again after a resume are told apart', () => {
  seq = 0;
  const store = shownStore();
  store.apply(metrics(12, 1.5));
  store.apply(ev('run_state', { state: 'starting', segment: 1, resumed_from: 'checkpoint-10' }));
  store.apply(ev('metrics', { step: 12, max_steps: 40, epoch: 0.3, loss: 1.4, learning_rate: 1e-3, grad_norm: 1, tokens_per_sec: 900, eta_s: 28, segment: 1 }));
  store.apply(ev('eval', { step: 12, eval_loss: 1.6, segment: 1 }));
  assert.deepEqual(store.points(RUN).map((p) => [p.kind, p.step, p.segment]), [['train', 12, 0], ['train', 12, 1], ['eval', 12, 1]]);
  assert.equal(store.get(RUN)!.loss, 1.4);
});

test('a null loss keeps the last known loss but is still a chart point', () => {
  seq = 0;
  const store = shownStore();
  store.apply(metrics(1, 3));
  store.apply(metrics(2, null));
  assert.equal(store.get(RUN)!.loss, 3);
  assert.equal(store.points(RUN).length, 2);
});

test('events at or below the last seq are dropped, so a replay never doubles points', () => {
  seq = 0;
  const store = shownStore();
  const first = metrics(1, 2);
  const second = metrics(2, 1.5);
  store.apply(first);
  store.apply(second);
  store.apply(first);
  store.apply(second);
  assert.equal(store.points(RUN).length, 2);
  assert.equal(store.seq, 2);
});

test('a failed run keeps its error; a later restart clears it', () => {
  seq = 0;
  const store = shownStore();
  store.apply(ev('run_state', { state: 'failed', error: 'train.jsonl line 7: not valid JSON' }));
  assert.equal(store.get(RUN)!.error, 'train.jsonl line 7: not valid JSON');
  store.apply(ev('run_state', { state: 'running' }));
  assert.equal(store.get(RUN)!.error, null);
});

test('seeding from list_runs creates summaries, newest first, and notifies listeners', () => {
  const store = shownStore();
  const changes: RunChange[] = [];
  store.onChange((c) => changes.push(c));
  const summary = (run_id: string, created: number, state: RunSummary['state']): RunSummary =>
    ({ run_id, name: run_id.split('-')[2], state, created, step: 5, max_steps: 10, loss: 1.25, error: state === 'failed' ? 'boom' : null });
  store.seed([summary('20261127-100000-old-0001', 100, 'completed'), summary('20261127-110000-new-0002', 200, 'failed')], 0);
  assert.deepEqual(store.list().map((r) => r.name), ['new', 'old']);
  assert.equal(store.get('20261127-110000-new-0002')!.error, 'boom');
  assert.equal(changes.length, 2);
});

test('events for a run not seen yet create it, and later run_created names it', () => {
  seq = 0;
  const store = shownStore();
  const seen: string[] = [];
  const sub = store.onChange((c) => seen.push(`${c.runId}:${c.points.length}`));
  store.apply(metrics(1, 2, 1e-4));
  assert.equal(store.get(RUN)!.name, RUN);
  store.apply(ev('run_created', { name: 'late', config: '' }));
  assert.equal(store.get(RUN)!.name, 'late');
  sub.dispose();
  store.apply(metrics(2, 1));
  assert.deepEqual(seen, [`${RUN}:1`, `${RUN}:0`], 'a disposed listener hears nothing more');
});

test('returned records and series are copies the caller cannot corrupt', () => {
  seq = 0;
  const store = shownStore();
  store.apply(metrics(1, 2));
  store.get(RUN)!.step = 99;
  store.points(RUN).push({ kind: 'eval', step: 5, segment: 0, evalLoss: 1 });
  assert.equal(store.get(RUN)!.step, 1);
  assert.equal(store.points(RUN).length, 1);
});

test('clear forgets runs and the seq, for a switch to another agent root', () => {
  seq = 0;
  const store = shownStore();
  store.apply(metrics(1, 2));
  store.clear();
  assert.equal(store.list().length, 0);
  assert.equal(store.seq, 0);
  seq = 0;
  store.apply(metrics(1, 2));
  assert.equal(store.points(RUN).length, 1, 'seq 1 of the new root is accepted');
});

const diskLow = (message: string, step = 20) =>
  ev('disk_low', { step, free_mb: 150, checkpoint_mb: 96, path: '/', message });

test('a disk_low event marks the active run with its message; the latest one wins', () => {
  seq = 0;
  const store = shownStore();
  store.apply(ev('run_state', { state: 'running', max_steps: 40 }));
  assert.equal(store.get(RUN)!.diskLow, null);
  store.apply(diskLow('disk almost full: 150 MB free on /'));
  assert.equal(store.get(RUN)!.diskLow, 'disk almost full: 150 MB free on /');
  store.apply(metrics(21, 1.5));
  assert.equal(store.get(RUN)!.diskLow, 'disk almost full: 150 MB free on /', 'metrics do not clear it');
  store.apply(ev('run_state', { state: 'running', max_steps: 40 }));
  assert.equal(store.get(RUN)!.diskLow, 'disk almost full: 150 MB free on /', 'still running: still short of space');
  store.apply(diskLow('disk almost full: 90 MB free on /', 30));
  assert.equal(store.get(RUN)!.diskLow, 'disk almost full: 90 MB free on /');
  const other = '20261127-130000-other-cd34';
  store.apply(ev('run_state', { state: 'running' }, other));
  assert.equal(store.get(other)!.diskLow, null, 'only the run the event names is marked');
});

test('a blank disk_low message is replaced by one made from the numbers', () => {
  seq = 0;
  const store = shownStore();
  store.apply(ev('disk_low', { step: 5, free_mb: 150, checkpoint_mb: 96, path: '/data', message: '  ' }));
  assert.match(store.get(RUN)!.diskLow!, /150 MB free on \/data/);
});

test('disk low clears when the run reaches a final state or starts again', () => {
  for (const state of ['completed', 'failed', 'stopped', 'starting'] as const) {
    seq = 0;
    const store = shownStore();
    store.apply(ev('run_state', { state: 'running' }));
    store.apply(diskLow('disk almost full'));
    store.apply(ev('run_state', state === 'starting' ? { state, segment: 1, resumed_from: 'checkpoint-20' } : { state }));
    assert.equal(store.get(RUN)!.diskLow, null, state);
  }
});

test('a list_runs seed carries damage, keeps a live disk warning of an active run, and drops it for a finished one', () => {
  seq = 0;
  const store = shownStore();
  const summary = (state: RunSummary['state'], damaged?: string): RunSummary => ({
    run_id: RUN, name: 'demo', state, created: 1, step: 20, max_steps: 40, loss: 1, error: null, ...(damaged === undefined ? {} : { damaged }),
  });
  store.seed([summary('running')], 0);
  assert.equal(store.get(RUN)!.damaged, null, 'no damaged field: not damaged');
  store.apply(diskLow('disk almost full'));
  store.seed([summary('running', 'events.jsonl line 7: not a complete event; skipped')], 0);
  let run = store.get(RUN)!;
  assert.equal(run.damaged, 'events.jsonl line 7: not a complete event; skipped');
  assert.equal(run.diskLow, 'disk almost full', 'list_runs does not know about disk warnings; the seen one holds');
  store.apply(metrics(21, 1));
  assert.equal(store.get(RUN)!.damaged, 'events.jsonl line 7: not a complete event; skipped', 'events do not clear damage');
  store.seed([summary('completed')], 0);
  run = store.get(RUN)!;
  assert.equal(run.damaged, null, 'a later listing without damage clears it');
  assert.equal(run.diskLow, null, 'a finished run is not short of disk any more');
});

test('a run first seen through events is neither damaged nor short of disk', () => {
  seq = 0;
  const store = shownStore();
  store.apply(metrics(1, 2));
  assert.equal(store.get(RUN)!.damaged, null);
  assert.equal(store.get(RUN)!.diskLow, null);
});
