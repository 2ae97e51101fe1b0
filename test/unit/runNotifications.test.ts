import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentEvent, EventDataMap, EventKind } from '../../src/core/protocol/messages';
import { LIVE_EVENT_WINDOW_S } from '../../src/core/runs/hostWarnings';
import { RunNotifications, mutedKinds } from '../../src/core/runs/runNotifications';

const RUN = '20261130-120000-demo-ab12';
const NOW = 1_800_000_000;
let seq = 0;

function ev<K extends EventKind>(kind: K, data: EventDataMap[K], opts: { time?: number; run?: string; seq?: number } = {}): AgentEvent {
  return { type: 'event', seq: opts.seq ?? ++seq, time: opts.time ?? NOW, run_id: opts.run ?? RUN, kind, data } as AgentEvent;
}

const metrics = (step: number, loss: number | null, time = NOW) => ev('metrics', {
  step, max_steps: 100, epoch: 0, loss, learning_rate: 1e-3, grad_norm: 1, tokens_per_sec: 10, eta_s: 1,
}, { time });
const warning = (code: string, message: string, time = NOW) => ev('log', { level: 'warning', code, message, step: 6 }, { time });
const checkpoint = (name: string, step: number, evalLoss: number | null) => ev('checkpoint', { name, step, path: `/x/${name}`, files: [], eval_loss: evalLoss });

test('a NaN/Inf warning is an error notice with Show Log, and the failure after it adds nothing', () => {
  const n = new RunNotifications(() => NOW);
  const nan = n.consider(warning('non_finite_loss', 'training diverged: loss nan at step 6'), 'demo');
  assert.deepEqual(nan, {
    kind: 'nonFiniteLoss', runId: RUN, severity: 'error',
    text: 'Tunelab: run demo: NaN or Inf loss: training diverged: loss nan at step 6',
    actions: [{ kind: 'showLog' }, { kind: 'openMetrics' }],
  });
  assert.equal(n.consider(ev('run_state', { state: 'failed', error: 'training diverged: loss nan at step 6' }), 'demo'), undefined);
});

test('a run that fails says why, with Show Log; one without a cause says where to look', () => {
  const n = new RunNotifications(() => NOW);
  const failed = n.consider(ev('run_state', { state: 'failed', error: 'model: folder not found: /w/model' }), 'demo');
  assert.equal(failed?.kind, 'failed');
  assert.equal(failed?.severity, 'error');
  assert.equal(failed?.text, 'Tunelab: run demo: failed: model: folder not found: /w/model');
  assert.deepEqual(failed?.actions.map((a) => a.kind), ['showLog', 'openMetrics']);
  const bare = n.consider(ev('run_state', { state: 'failed' }, { run: 'other' }), 'other');
  assert.match(bare!.text, /failed: no cause given; the run log has the details/);
});

test('a completed run offers Open Metrics and Chat with the checkpoint of lowest eval loss', () => {
  const n = new RunNotifications(() => NOW);
  assert.equal(n.consider(checkpoint('checkpoint-10', 10, 0.9), 'demo')?.severity, 'status', 'a saved checkpoint goes to the status bar only');
  n.consider(checkpoint('checkpoint-20', 20, 0.5), 'demo');
  n.consider(checkpoint('checkpoint-30', 30, 0.7), 'demo');
  const done = n.consider(ev('run_state', { state: 'completed' }), 'demo');
  assert.equal(done?.text, 'Tunelab: run demo: completed');
  assert.deepEqual(done?.actions, [{ kind: 'openMetrics' }, { kind: 'chatWithBest', checkpoint: 'checkpoint-20' }]);
});

test('a removed checkpoint is not offered; without eval losses the best eval step, else the latest', () => {
  const n = new RunNotifications(() => NOW);
  n.consider(checkpoint('checkpoint-10', 10, 0.2), 'demo');
  n.consider(checkpoint('checkpoint-20', 20, 0.5), 'demo');
  n.consider(ev('checkpoint_removed', { name: 'checkpoint-10' }), 'demo');
  assert.equal(n.bestCheckpoint(RUN), 'checkpoint-20');

  const m = new RunNotifications(() => NOW);
  m.consider(ev('eval', { step: 10, eval_loss: null, best: true }), 'demo');
  m.consider(checkpoint('checkpoint-10', 10, null), 'demo');
  m.consider(checkpoint('checkpoint-20', 20, null), 'demo');
  assert.equal(m.bestCheckpoint(RUN), 'checkpoint-10');
  const latest = new RunNotifications(() => NOW);
  latest.consider(checkpoint('checkpoint-10', 10, null), 'demo');
  latest.consider(checkpoint('checkpoint-20', 20, null), 'demo');
  assert.equal(latest.bestCheckpoint(RUN), 'checkpoint-20');
  assert.equal(latest.bestCheckpoint('unknown'), undefined);
});

test('an early stop is named in the completion notice', () => {
  const n = new RunNotifications(() => NOW);
  n.consider(ev('early_stop', { step: 40, reason: 'eval_loss has not improved for 3 evaluations', metric: 'eval_loss', best_value: 0.4, best_step: 10 }), 'demo');
  assert.equal(n.consider(ev('run_state', { state: 'completed' }), 'demo')?.text,
    'Tunelab: run demo: completed (stopped early: eval_loss has not improved for 3 evaluations)');
});

test('grad norm outside its band is a warning with the agent\'s sentence', () => {
  const n = new RunNotifications(() => NOW);
  const w = n.consider(warning('grad_norm_band', 'grad norm has been outside [2, 5] for 10 logged steps in a row'), 'demo');
  assert.equal(w?.kind, 'gradNorm');
  assert.equal(w?.severity, 'warning');
  assert.match(w!.text, /outside \[2, 5\] for 10 logged steps/);
});

test('eval loss rising is told the second time only', () => {
  const n = new RunNotifications(() => NOW);
  assert.equal(n.consider(warning('eval_loss_rising', 'eval loss rose at 3 evaluations in a row'), 'demo'), undefined);
  const second = n.consider(warning('eval_loss_rising', 'eval loss rose at 3 evaluations in a row (now 1.2)'), 'demo');
  assert.equal(second?.kind, 'evalLossRising');
  assert.match(second!.text, /early stopping is near: eval loss rose/);
  assert.equal(n.consider(warning('eval_loss_rising', 'third'), 'demo'), undefined, 'the third adds nothing');
});

test('an old first rise replayed on reconnect still counts toward the second', () => {
  const n = new RunNotifications(() => NOW);
  assert.equal(n.consider(warning('eval_loss_rising', 'first', NOW - 3600), 'demo'), undefined);
  assert.equal(n.consider(warning('eval_loss_rising', 'second'), 'demo')?.kind, 'evalLossRising');
});

test('a loss that climbs to twice its low is told once as diverging; a falling loss never is', () => {
  const n = new RunNotifications(() => NOW);
  let step = 0;
  for (const loss of [3, 2.5, 2, 1.8, 1.5, 1.3, 1.2, 1.1, 1.0, 1.0, 1.0, 0.9, 0.9]) assert.equal(n.consider(metrics(++step, loss), 'demo'), undefined);
  let told;
  for (let i = 0; i < 30 && !told; i++) told = n.consider(metrics(++step, 5), 'demo');
  assert.equal(told?.kind, 'lossDiverging');
  assert.match(told!.text, /loss is diverging: [\d.]+ \(smoothed\) at step \d+, up from 1\.\d+; a lower learning rate may help/);
  for (let i = 0; i < 10; i++) assert.equal(n.consider(metrics(++step, 8), 'demo'), undefined, 'told once per run');

  const healthy = new RunNotifications(() => NOW);
  for (let i = 0; i < 60; i++) {
    // Noisy but falling, as a tiny batch gives it.
    const loss = 3 * Math.exp(-i / 20) + (i % 2 ? 0.3 : -0.3);
    assert.equal(healthy.consider(metrics(i, loss), 'demo'), undefined, `step ${i}`);
  }
  for (let i = 0; i < 5; i++) assert.equal(healthy.consider(metrics(100 + i, null), 'demo'), undefined, 'a null loss is no point');
});

test('replayed events are never shown again, and old ones never popped up', () => {
  const n = new RunNotifications(() => NOW);
  const failed = ev('run_state', { state: 'failed', error: 'boom' });
  assert.ok(n.consider(failed, 'demo'));
  assert.equal(n.consider(failed, 'demo'), undefined, 'the same seq again (a replay after reconnect)');
  assert.equal(n.consider(ev('run_state', { state: 'completed' }, { run: 'b', time: NOW - LIVE_EVENT_WINDOW_S }), 'b'), undefined);
  assert.equal(n.consider(ev('run_state', { state: 'completed' }, { run: 'c', time: Number.NaN }), 'c'), undefined);
  assert.ok(n.consider(ev('run_state', { state: 'completed' }, { run: 'd', time: NOW - LIVE_EVENT_WINDOW_S + 1 }), 'd'));
});

test('a muted kind is not shown, the others still are; a bad setting mutes nothing', () => {
  const muted = mutedKinds({ completed: false, gradNorm: true, bogus: false });
  assert.deepEqual([...muted], ['completed']);
  const n = new RunNotifications(() => NOW);
  assert.equal(n.consider(ev('run_state', { state: 'completed' }), 'demo', muted), undefined);
  assert.ok(n.consider(ev('run_state', { state: 'failed', error: 'x' }, { run: 'b' }), 'b', muted));
  assert.equal(mutedKinds('off').size, 0);
  assert.equal(mutedKinds(null).size, 0);
  assert.equal(mutedKinds({ failed: 0 }).size, 0, 'only false mutes');
});

test('the run id stands in for a blank name; other events are quiet', () => {
  const n = new RunNotifications(() => NOW);
  assert.equal(n.consider(ev('run_state', { state: 'failed', error: 'x' }), ' ')?.text, `Tunelab: run ${RUN}: failed: x`);
  assert.equal(n.consider(ev('run_state', { state: 'running' }), 'demo'), undefined);
  assert.equal(n.consider(ev('run_state', { state: 'stopped' }), 'demo'), undefined, 'a stop the person asked for is no news');
  assert.equal(n.consider(warning('warmup_capped', 'warmup capped'), 'demo'), undefined);
});
