// The RunStore keeps summaries for every run and points only for shown runs: history first, then live
// points past the history's head, with live points that arrive while the history loads held and merged.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentEvent, HistorySeries, ResultOf, RunSummary } from '../../src/core/protocol/messages';
import { historyPoints } from '../../src/core/runs/history';
import { RunStore, type RunChange } from '../../src/core/runs/runStore';
import type { MetricPoint } from '../../src/core/runs/types';

const A = '20261127-120000-a-0001';
const B = '20261127-120500-b-0002';

/** A little agent: one seq for all runs, every event kept, so a test can cut a history at any head. */
class Log {
  readonly events: AgentEvent[] = [];
  metrics(runId: string, step: number, segment = 0): AgentEvent {
    return this.push(runId, 'metrics', {
      step, max_steps: 100, epoch: step / 100, loss: lossAt(step, segment), learning_rate: lrAt(step), grad_norm: 1,
      tokens_per_sec: 900, eta_s: 100 - step, ...(segment ? { segment } : {}),
    });
  }
  eval(runId: string, step: number, segment = 0): AgentEvent {
    return this.push(runId, 'eval', { step, eval_loss: lossAt(step, segment) + 0.1, ...(segment ? { segment } : {}) });
  }
  push(runId: string, kind: AgentEvent['kind'], data: unknown): AgentEvent {
    const e = { type: 'event', seq: this.events.length + 1, time: 1_800_000_000 + this.events.length, run_id: runId, kind, data } as AgentEvent;
    this.events.push(e);
    return e;
  }
  /** run_history as the agent answers it without downsampling: the run's events up to `head`. */
  history(runId: string, head = this.events.length): ResultOf<'run_history'> {
    const series = (): HistorySeries => ({ step: [], value: [], segment: [], total: 0 });
    const out = { loss: series(), eval_loss: series(), learning_rate: series() };
    const add = (s: HistorySeries, step: number, value: number | null, segment: number) => {
      if (value === null) return;
      s.step.push(step);
      s.value.push(value);
      s.segment.push(segment);
      s.total++;
    };
    for (const e of this.events) {
      if (e.run_id !== runId || e.seq > head) continue;
      if (e.kind === 'metrics') {
        add(out.loss, e.data.step, e.data.loss, e.data.segment ?? 0);
        add(out.learning_rate, e.data.step, e.data.learning_rate, e.data.segment ?? 0);
      } else if (e.kind === 'eval') {
        add(out.eval_loss, e.data.step, e.data.eval_loss, e.data.segment ?? 0);
      }
    }
    return { run_id: runId, head, series: out };
  }
}

const lossAt = (step: number, segment: number) => 3 - step / 100 - segment;
const lrAt = (step: number) => 1e-3 * (1 - step / 200);
/** Step, segment and the charted values of every point, in a stable order, to compare what was drawn. */
const chartOf = (points: MetricPoint[]) =>
  points.map((p) => (p.kind === 'train' ? `t${p.segment}:${p.step}=${p.loss}/${p.learningRate}` : `e${p.segment}:${p.step}=${p.evalLoss}`)).sort();
const liveChartOf = (events: AgentEvent[]) =>
  chartOf(events.flatMap((e): MetricPoint[] => {
    if (e.kind === 'metrics') return [{ kind: 'train', step: e.data.step, segment: e.data.segment ?? 0, loss: e.data.loss, learningRate: e.data.learning_rate, tokensPerSec: null }];
    if (e.kind === 'eval') return [{ kind: 'eval', step: e.data.step, segment: e.data.segment ?? 0, evalLoss: e.data.eval_loss }];
    return [];
  }));

test('summaries cover every run; points are kept only for the runs a view shows', () => {
  const log = new Log();
  const store = new RunStore();
  store.show(A);
  for (let step = 1; step <= 50; step++) {
    store.apply(log.metrics(A, step));
    store.apply(log.metrics(B, step));
  }
  assert.deepEqual(store.list().map((r) => [r.runId, r.step]).sort(), [[A, 50], [B, 50]]);
  assert.equal(store.points(A).length, 50);
  assert.deepEqual(store.points(B), [], 'no view shows B: its summary is kept, its points are not');
  assert.equal(store.get(B)!.loss, lossAt(50, 0));
});

test('history then live: no point twice and none missing across the head, with live points arriving while it loads', () => {
  const log = new Log();
  for (let step = 1; step <= 40; step++) {
    log.metrics(A, step);
    log.metrics(B, step);
    if (step % 10 === 0) log.eval(A, step);
  }
  const store = new RunStore();
  // The stream starts at the listing's head (seq 84); the chart opens, and its request goes out.
  store.followFrom(84);
  assert.equal(store.show(A), true);
  const epoch = store.historyEpoch(A)!;
  // While the request is in flight: events 85..90 arrive live and are held (and shown as they come).
  const changes: RunChange[] = [];
  store.onChange((c) => changes.push(c));
  for (let step = 41; step <= 43; step++) {
    store.apply(log.metrics(A, step));
    store.apply(log.metrics(B, step));
  }
  assert.equal(store.points(A).length, 3, 'held live points are shown before the history lands');
  assert.deepEqual(changes.filter((c) => c.runId === A).map((c) => c.points.length), [1, 1, 1]);
  // The agent read the history a moment later: its head (88) includes A's steps 41 and 42, not 43.
  const answer = log.history(A, 88);
  // Meanwhile the stream went on past the history's head, and on past the held points.
  assert.ok(store.loadHistory(A, epoch, answer));
  assert.deepEqual(changes.at(-1), { runId: A, points: [], reset: true });
  for (let step = 44; step <= 45; step++) store.apply(log.metrics(A, step));
  assert.deepEqual(chartOf(store.points(A)), liveChartOf(log.events.filter((e) => e.run_id === A)));
  assert.equal(store.points(A).filter((p) => p.kind === 'train' && p.step === 42).length, 1, 'step 42 came both held and in the history');
  assert.deepEqual(store.history(A), { state: 'loaded', received: 4 + 42 + 42, logged: 4 + 42 + 42 });
});

test('live events at or below the history\'s head are not appended again after it lands', () => {
  const log = new Log();
  for (let step = 1; step <= 10; step++) log.metrics(A, step);
  const store = new RunStore();
  store.followFrom(5); // the stream is behind the disk: it has not delivered 6..10 yet
  store.show(A);
  store.loadHistory(A, store.historyEpoch(A)!, log.history(A, 10));
  const appended: MetricPoint[] = [];
  store.onChange((c) => appended.push(...c.points));
  for (const e of log.events.slice(5)) store.apply(e); // 6..10 arrive live: already in the history
  store.apply(log.metrics(A, 11));
  assert.deepEqual(appended.map((p) => p.step), [11]);
  assert.deepEqual(store.points(A).map((p) => p.step), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
  assert.equal(store.get(A)!.step, 11, 'the summary still follows every live event');
});

test('closing the last view of a run evicts its points; opening it again starts from a fresh history', () => {
  const log = new Log();
  const store = new RunStore();
  store.show(A);
  assert.equal(store.show(A), false, 'a second view of the same run shares its points');
  store.loadHistory(A, store.historyEpoch(A)!, log.history(A));
  for (let step = 1; step <= 5; step++) store.apply(log.metrics(A, step));
  store.hide(A);
  assert.equal(store.points(A).length, 5, 'one view still shows it');
  store.hide(A);
  assert.equal(store.isShown(A), false);
  assert.deepEqual(store.points(A), []);
  store.apply(log.metrics(A, 6));
  assert.deepEqual(store.points(A), [], 'nothing is collected for a run no view shows');
  assert.equal(store.get(A)!.step, 6);
  assert.equal(store.show(A), true);
  assert.deepEqual(store.history(A), { state: 'loading' });
  assert.deepEqual(store.points(A), []);
});

test('an answer to a request made before the run was hidden and shown again is ignored', () => {
  const log = new Log();
  for (let step = 1; step <= 3; step++) log.metrics(A, step);
  const store = new RunStore();
  store.show(A);
  const stale = store.historyEpoch(A)!;
  store.hide(A);
  store.show(A);
  assert.equal(store.loadHistory(A, stale, log.history(A)), false);
  assert.deepEqual(store.history(A), { state: 'loading' });
  assert.equal(store.loadHistory(A, store.historyEpoch(A)!, log.history(A)), true);
  assert.equal(store.historyEpoch(A), undefined, 'a loaded run has nothing more to ask');
});

test('without a history (an older agent) the chart keeps what arrived live since it opened', () => {
  const log = new Log();
  const store = new RunStore();
  store.show(A);
  const epoch = store.historyEpoch(A)!;
  store.apply(log.metrics(A, 1));
  store.apply(log.metrics(A, 2));
  store.historyMissing(A, epoch, { state: 'unavailable', reason: 'too old' });
  store.apply(log.metrics(A, 3));
  assert.deepEqual(store.points(A).map((p) => p.step), [1, 2, 3]);
  assert.deepEqual(store.history(A), { state: 'unavailable', reason: 'too old' });
});

test('a resumed run: history and live points keep their segments', () => {
  const log = new Log();
  for (let step = 1; step <= 20; step++) log.metrics(A, step);
  log.push(A, 'run_state', { state: 'starting', segment: 1, resumed_from: 'checkpoint-10' });
  for (let step = 11; step <= 15; step++) log.metrics(A, step, 1);
  const store = new RunStore();
  store.show(A);
  store.loadHistory(A, store.historyEpoch(A)!, log.history(A));
  for (let step = 16; step <= 18; step++) store.apply(log.metrics(A, step, 1));
  const points = store.points(A);
  assert.equal(points.filter((p) => p.segment === 0).length, 20);
  assert.deepEqual(points.filter((p) => p.segment === 1).map((p) => p.step), [11, 12, 13, 14, 15, 16, 17, 18]);
  const at12 = points.filter((p) => p.step === 12);
  assert.deepEqual(at12.map((p) => [p.segment, p.kind === 'train' && p.loss]), [[0, lossAt(12, 0)], [1, lossAt(12, 1)]]);
});

test('a listing folds in events up to its head; a run missing from it is dropped unless seen after it', () => {
  const log = new Log();
  const store = new RunStore();
  const summary = (run_id: string, step: number): RunSummary =>
    ({ run_id, name: run_id.split('-')[2], state: 'running', created: 1, step, max_steps: 100, loss: 1, error: null });
  store.apply(log.metrics(A, 1)); // seq 1
  store.apply(log.metrics(B, 1)); // seq 2
  const late = '20261127-121000-late-0003';
  store.apply(log.metrics(late, 1)); // seq 3: created after the listing below was read
  // Listing at head 2: A is at step 30 there (the store has seen less of it), B was deleted elsewhere.
  store.seed([summary(A, 30)], 2);
  assert.equal(store.get(A)!.step, 30);
  assert.equal(store.get(B), undefined, 'gone from the agent');
  assert.equal(store.get(late)!.step, 1, 'seen after the listing: kept');
  // An event at or below the head (a replay after a reconnect) is already in the summary and does not set it back.
  const replay = new Log();
  const events = [replay.metrics(A, 29), replay.metrics(A, 30), replay.metrics(A, 31)];
  const fresh = new RunStore();
  fresh.seed([summary(A, 30)], 2);
  fresh.apply(events[0]);
  assert.equal(fresh.get(A)!.step, 30);
  fresh.apply(events[2]);
  assert.equal(fresh.get(A)!.step, 31);
});

test('a replay that arrives after a newer listing still brings what listings lack: throughput and disk warnings of active runs', () => {
  const log = new Log();
  const store = new RunStore();
  const running = log.metrics(A, 10); // seq 1, tokens_per_sec 900
  const diskLow = log.push(A, 'disk_low', { step: 10, free_mb: 100, checkpoint_mb: 80, path: '/', message: 'disk almost full' }); // seq 2
  log.metrics(B, 5); // seq 3
  const summary = (run_id: string, state: RunSummary['state']): RunSummary => ({ run_id, name: run_id, state, created: 1, step: 10, max_steps: 100, loss: 1, error: null });
  store.seed([summary(A, 'running'), summary(B, 'completed')], 3);
  store.apply(running);
  store.apply(diskLow);
  store.apply(log.events[2]);
  assert.equal(store.get(A)!.tokensPerSec, 900);
  assert.equal(store.get(A)!.diskLow, 'disk almost full');
  assert.equal(store.get(A)!.step, 10, 'the listing\'s step stands');
  assert.equal(store.get(B)!.tokensPerSec, null, 'a finished run shows no throughput');
});

test('clear (another agent root) keeps runs shown but starts their points over', () => {
  const log = new Log();
  const store = new RunStore();
  store.show(A);
  store.loadHistory(A, store.historyEpoch(A)!, log.history(A));
  store.apply(log.metrics(A, 1));
  const changes: RunChange[] = [];
  store.onChange((c) => changes.push(c));
  store.clear();
  assert.deepEqual(changes, [{ runId: A, points: [], reset: true }]);
  assert.equal(store.isShown(A), true);
  assert.deepEqual(store.history(A), { state: 'loading' });
  assert.deepEqual(store.points(A), []);
});

test('remove drops a deleted run and tells its views', () => {
  const log = new Log();
  const store = new RunStore();
  store.apply(log.metrics(A, 1));
  const changes: RunChange[] = [];
  store.onChange((c) => changes.push(c));
  store.remove(A);
  store.remove(A);
  assert.equal(store.get(A), undefined);
  assert.deepEqual(changes, [{ runId: A, points: [], removed: true }]);
});

test('history points: loss and learning rate join on (segment, step); each series counts what it received and logged', () => {
  const s = (step: number[], value: number[], segment: number[], total = step.length): HistorySeries => ({ step, value, segment, total });
  const { points, received, logged } = historyPoints({
    // Downsampled on their own: loss kept steps 1, 50, 100; the learning rate 1, 60, 100; segment 1 logs 40 again.
    loss: s([1, 50, 100, 40], [3, 2, 1, 2.5], [0, 0, 0, 1], 1000),
    learning_rate: s([1, 60, 100], [1e-3, 5e-4, 1e-5], [0, 0, 0], 1000),
    eval_loss: s([50, 100, 7], [2.1, 1.1], [0, 0]), // ragged: the third step has no value and no segment
  });
  assert.deepEqual(points, [
    { kind: 'train', step: 1, segment: 0, loss: 3, learningRate: 1e-3, tokensPerSec: null, gradNorm: null },
    { kind: 'train', step: 50, segment: 0, loss: 2, learningRate: null, tokensPerSec: null, gradNorm: null },
    { kind: 'eval', step: 50, segment: 0, evalLoss: 2.1 },
    { kind: 'train', step: 60, segment: 0, loss: null, learningRate: 5e-4, tokensPerSec: null, gradNorm: null },
    { kind: 'train', step: 100, segment: 0, loss: 1, learningRate: 1e-5, tokensPerSec: null, gradNorm: null },
    { kind: 'eval', step: 100, segment: 0, evalLoss: 1.1 },
    { kind: 'train', step: 40, segment: 1, loss: 2.5, learningRate: null, tokensPerSec: null, gradNorm: null },
  ]);
  assert.equal(received, 4 + 3 + 2);
  assert.equal(logged, 1000 + 1000 + 3);
  assert.deepEqual(historyPoints({}), { points: [], received: 0, logged: 0 });
});
