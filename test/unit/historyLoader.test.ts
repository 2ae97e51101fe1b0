// HistoryLoader: when it asks for a shown run's history, and what each kind of failure leaves on the chart.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentError, AgentRequestError } from '../../src/core/agent/errors';
import type { AgentEvent, ParamsOf, ResultOf } from '../../src/core/protocol/messages';
import { HISTORY_MAX_POINTS } from '../../src/core/runs/history';
import { HISTORY_UNKNOWN_TO_AGENT, HistoryLoader } from '../../src/core/runs/historyLoader';
import { RunStore } from '../../src/core/runs/runStore';

const RUN = '20261127-120000-demo-ab12';

/** A fetch whose answers the test gives by hand, in any order. */
function manualFetch() {
  const calls: Array<{ params: ParamsOf<'run_history'>; resolve: (r: ResultOf<'run_history'>) => void; reject: (e: unknown) => void }> = [];
  const fetch = (params: ParamsOf<'run_history'>) =>
    new Promise<ResultOf<'run_history'>>((resolve, reject) => calls.push({ params, resolve, reject }));
  return { fetch, calls };
}

const settle = () => new Promise((r) => setImmediate(r));
const empty = (head: number): ResultOf<'run_history'> => ({ run_id: RUN, head, series: {} });
const metrics = (seq: number, step: number): AgentEvent =>
  ({ type: 'event', seq, time: seq, run_id: RUN, kind: 'metrics', data: { step, max_steps: 9, epoch: 0, loss: 1, learning_rate: 1, grad_norm: 1, tokens_per_sec: 1, eta_s: 1 } });

test('asks for nothing until the stream is subscribed, then once per shown run, downsampled to the chart\'s size', async () => {
  const store = new RunStore();
  const loader = new HistoryLoader(store);
  const { fetch, calls } = manualFetch();
  const view = loader.open(RUN);
  loader.open(RUN); // a second view of the same run asks nothing more
  assert.equal(calls.length, 0);
  loader.streamReady(fetch);
  loader.streamReady(fetch); // a second ready while the request is in flight does not ask again
  assert.deepEqual(calls.map((c) => c.params), [{
    run_id: RUN, series: ['loss', 'eval_loss', 'learning_rate', 'grad_norm', 'tokens_per_sec'], max_points: HISTORY_MAX_POINTS, details: true,
  }]);
  calls[0].resolve(empty(3));
  await settle();
  assert.equal(store.history(RUN)?.state, 'loaded');
  view.dispose();
  view.dispose(); // disposing twice hides once: the other view still shows the run
  assert.equal(store.isShown(RUN), true);
});

test('an agent without run_history: the chart says so and keeps the live points', async () => {
  const store = new RunStore();
  const lines: string[] = [];
  const loader = new HistoryLoader(store, (l) => lines.push(l));
  const { fetch, calls } = manualFetch();
  loader.streamReady(fetch);
  loader.open(RUN);
  store.apply(metrics(1, 1));
  calls[0].reject(new AgentError('unknown_method', 'unknown method "run_history"', 'run_history'));
  await settle();
  assert.deepEqual(store.history(RUN), { state: 'unavailable', reason: HISTORY_UNKNOWN_TO_AGENT });
  store.apply(metrics(2, 2));
  assert.deepEqual(store.points(RUN).map((p) => p.step), [1, 2]);
  assert.match(lines.join('\n'), /run_history .*unknown method/);
});

test('a dropped link leaves the run loading and asks again on the next stream; other errors say why', async () => {
  const store = new RunStore();
  const loader = new HistoryLoader(store);
  const { fetch, calls } = manualFetch();
  loader.streamReady(fetch);
  loader.open(RUN);
  loader.streamLost();
  calls[0].reject(new AgentRequestError('the connection to the agent dropped before it answered run_history', 'disconnected'));
  await settle();
  assert.deepEqual(store.history(RUN), { state: 'loading' });
  loader.streamReady(fetch);
  assert.equal(calls.length, 2);
  calls[1].reject(new AgentError('internal', 'OSError: disk on fire', 'run_history'));
  await settle();
  assert.deepEqual(store.history(RUN), { state: 'failed', reason: 'OSError: disk on fire' });
  loader.streamReady(fetch);
  assert.equal(calls.length, 2, 'an error the agent gave is not asked again and again');
});

test('an answer for a run closed meanwhile is dropped; reopening asks afresh', async () => {
  const store = new RunStore();
  const loader = new HistoryLoader(store);
  const { fetch, calls } = manualFetch();
  loader.streamReady(fetch);
  loader.open(RUN).dispose();
  const view = loader.open(RUN);
  assert.equal(calls.length, 2);
  calls[0].resolve(empty(1));
  await settle();
  assert.deepEqual(store.history(RUN), { state: 'loading' }, 'the first answer belonged to the closed view');
  calls[1].resolve(empty(2));
  await settle();
  assert.equal(store.history(RUN)?.state, 'loaded');
  view.dispose();
  assert.equal(store.isShown(RUN), false);
});

test('an agent from before the dashboard refuses details: the series are asked again without them', async () => {
  const store = new RunStore();
  const lines: string[] = [];
  const loader = new HistoryLoader(store, (l) => lines.push(l));
  const { fetch, calls } = manualFetch();
  loader.streamReady(fetch);
  loader.open(RUN);
  calls[0].reject(new AgentError('bad_params', "run_history: Additional properties are not allowed ('details' was unexpected)", 'run_history'));
  await settle();
  assert.equal(calls.length, 2);
  assert.equal(calls[1].params.details, undefined, 'the second request leaves details out');
  calls[1].resolve({ run_id: RUN, head: 0, series: { loss: { step: [1], value: [2], segment: [0], total: 1 } } });
  await settle();
  assert.deepEqual(store.history(RUN), { state: 'loaded', received: 1, logged: 1 });
  assert.match(lines.join('\n'), /does not know details/);
});
