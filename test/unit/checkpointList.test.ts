import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentEvent, Checkpoint, EvaluationResult } from '../../src/core/protocol/messages';
import { CheckpointList } from '../../src/core/runs/checkpointList';

const ckpt = (step: number, over: Partial<Checkpoint> = {}): Checkpoint => ({
  name: `checkpoint-${step}`, step, path: `/root/runs/r1/checkpoints/checkpoint-${step}`, files: [], eval_loss: null, is_best: false, ...over,
});

let seq = 0;
const ev = (kind: AgentEvent['kind'], data: unknown, runId = 'r1'): AgentEvent =>
  ({ type: 'event', seq: ++seq, time: 0, run_id: runId, kind, data } as AgentEvent);

/** A lister whose answers the test releases by hand, to order them against live events. */
function controlledLister() {
  const calls: Array<{ runId: string; resolve: (c: Checkpoint[]) => void; reject: (e: Error) => void }> = [];
  const list = (runId: string) => new Promise<Checkpoint[]>((resolve, reject) => calls.push({ runId, resolve, reject }));
  return { calls, list };
}

const tick = () => new Promise((r) => setImmediate(r));
const names = (l: CheckpointList, runId = 'r1') => {
  const s = l.get(runId);
  assert.equal(s.state, 'loaded');
  return s.state === 'loaded' ? s.checkpoints.map((c) => `${c.name}${c.isBest ? '*' : ''}${c.evalLoss === null ? '' : `@${c.evalLoss}`}`) : [];
};

test('the first get lists the run, newest first, with the agent\'s best', async () => {
  const { calls, list } = controlledLister();
  const l = new CheckpointList(list);
  assert.deepEqual(l.get('r1'), { state: 'loading' });
  assert.equal(calls.length, 1);
  assert.equal(l.get('r1').state, 'loading', 'a second get does not list again');
  assert.equal(calls.length, 1);
  calls[0].resolve([ckpt(10, { eval_loss: 1.5 }), ckpt(20, { eval_loss: 1.2, is_best: true })]);
  await tick();
  assert.deepEqual(names(l), ['checkpoint-20*@1.2', 'checkpoint-10@1.5']);
});

test('live events add, remove and score checkpoints; an eval marked best moves the star', async () => {
  const { calls, list } = controlledLister();
  const l = new CheckpointList(list);
  const changes: string[] = [];
  l.onChange((r) => changes.push(r));
  l.get('r1');
  calls[0].resolve([ckpt(10, { eval_loss: 1.5, is_best: true })]);
  await tick();
  l.apply(ev('eval', { step: 20, eval_loss: 1.1, best: true }));
  l.apply(ev('checkpoint', { name: 'checkpoint-20', step: 20, path: '/x', files: [] }));
  assert.deepEqual(names(l), ['checkpoint-20*@1.1', 'checkpoint-10@1.5'], 'the checkpoint takes the eval loss of its step and the star');
  l.apply(ev('checkpoint_removed', { name: 'checkpoint-10', reason: 'rotated' }));
  assert.deepEqual(names(l), ['checkpoint-20*@1.1']);
  l.apply(ev('eval', { step: 30, eval_loss: 1.3 }));
  l.apply(ev('checkpoint', { name: 'checkpoint-30', step: 30, path: '/x', files: [], eval_loss: 1.3 }));
  assert.deepEqual(names(l), ['checkpoint-30@1.3', 'checkpoint-20*@1.1'], 'a worse eval keeps the star where it was');
  assert.ok(changes.length >= 4 && changes.every((r) => r === 'r1'));
});

test('events that arrive while the listing is in flight are applied on top of its answer', async () => {
  const { calls, list } = controlledLister();
  const l = new CheckpointList(list);
  l.get('r1');
  l.apply(ev('checkpoint', { name: 'checkpoint-30', step: 30, path: '/x', files: [] }));
  l.apply(ev('checkpoint_removed', { name: 'checkpoint-10' }));
  // The answer was computed before those events: it still has checkpoint-10 and lacks checkpoint-30.
  calls[0].resolve([ckpt(10), ckpt(20)]);
  await tick();
  assert.deepEqual(names(l), ['checkpoint-30', 'checkpoint-20']);
});

test('events of runs nobody expanded are ignored; a finished run is listed again for the agent\'s final best', async () => {
  const { calls, list } = controlledLister();
  const l = new CheckpointList(list);
  l.apply(ev('checkpoint', { name: 'checkpoint-5', step: 5, path: '/x', files: [] }, 'other'));
  assert.equal(calls.length, 0);
  l.get('r1');
  calls[0].resolve([ckpt(10)]);
  await tick();
  l.apply(ev('run_state', { state: 'completed' }));
  assert.equal(calls.length, 2, 'listed again when the run ended');
  assert.deepEqual(l.get('r1'), { state: 'loading' });
  calls[1].resolve([ckpt(10, { is_best: true })]);
  await tick();
  assert.deepEqual(names(l), ['checkpoint-10*']);
});

test('a failed listing says why, and clear() lists again; an answer for a cleared list is dropped', async () => {
  const { calls, list } = controlledLister();
  const l = new CheckpointList(list);
  l.get('r1');
  calls[0].reject(new Error('not connected to the agent'));
  await tick();
  assert.deepEqual(l.get('r1'), { state: 'failed', reason: 'not connected to the agent' });
  l.clear();
  l.get('r1');
  assert.equal(calls.length, 2);
  l.clear();
  calls[1].resolve([ckpt(99)]);
  await tick();
  l.get('r1');
  calls[2].resolve([ckpt(10)]);
  await tick();
  assert.deepEqual(names(l), ['checkpoint-10'], 'the stale answer (checkpoint-99) never showed');
});

test('evaluation scores stay with their checkpoint', async () => {
  const { calls, list } = controlledLister();
  const l = new CheckpointList(list);
  l.get('r1');
  calls[0].resolve([ckpt(10)]);
  await tick();
  const result = { checkpoint: 'checkpoint-10', rows: 8 } as EvaluationResult;
  l.setScores('r1', 'checkpoint-10', result);
  const s = l.get('r1');
  assert.equal(s.state === 'loaded' && s.checkpoints[0].scores, result);
  assert.equal(l.scoresOf('r1', 'checkpoint-10'), result);
  assert.equal(l.scoresOf('r1', 'checkpoint-20'), null);
});

test('peek answers like get for a listed run and lists nothing for a run never asked about', async () => {
  const { calls, list } = controlledLister();
  const l = new CheckpointList(list);
  assert.equal(l.peek('r9'), undefined);
  assert.equal(calls.length, 0, 'peek never lists');
  l.get('r9');
  assert.deepEqual(l.peek('r9'), { state: 'loading' });
  calls[0].resolve([ckpt(10)]);
  await tick();
  assert.deepEqual(l.peek('r9'), l.get('r9'));
  assert.equal(calls.length, 1);
});
