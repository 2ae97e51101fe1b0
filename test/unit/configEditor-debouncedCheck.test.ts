// The agent check's timing: asked after a pause, one request at a time, stale answers dropped, the newest asked next.
import assert from 'node:assert/strict';
import { mock, test } from 'node:test';
import { DebouncedCheck } from '../../src/core/configEditor/debouncedCheck';

// Mocked setTimeout: the test moves the clock, so a loaded machine cannot reorder anything.
mock.timers.enable({ apis: ['setTimeout'] });
const settle = () => new Promise((r) => setImmediate(r));
/** Moves the clock by `ms`, then lets the promises that woke up run. */
async function sleep(ms: number): Promise<void> {
  mock.timers.tick(ms);
  await settle();
}

function harness() {
  let version = 1;
  const asked: number[] = [];
  const answered: [number, string][] = [];
  const pending: (() => void)[] = [];
  const check = new DebouncedCheck<string>({
    delayMs: 20,
    version: () => version,
    ask: async () => {
      const v = version;
      asked.push(v);
      await new Promise<void>((r) => pending.push(r));
      return `answer about v${v}`;
    },
    answered: (_k, v, r) => answered.push([v, r]),
  });
  return { check, asked, answered, release: () => pending.shift()?.(), setVersion: (v: number) => (version = v) };
}

test('keystrokes closer than the delay make one request, after the pause', async () => {
  const h = harness();
  for (let v = 1; v <= 5; v++) { h.setVersion(v); h.check.schedule('a'); await sleep(5); }
  assert.deepEqual(h.asked, []);
  await sleep(40);
  assert.deepEqual(h.asked, [5]);
  h.release();
  await sleep(1);
  assert.deepEqual(h.answered, [[5, 'answer about v5']]);
  h.check.dispose();
});

test('an answer about text that changed since is dropped, and the newest text is asked when it returns', async () => {
  const h = harness();
  h.check.schedule('a');
  await sleep(30);
  assert.deepEqual(h.asked, [1]);
  h.setVersion(2);
  h.check.schedule('a');
  await sleep(30);
  assert.deepEqual(h.asked, [1], 'one request at a time');
  h.release();
  await settle();
  assert.deepEqual(h.answered, [], 'the v1 answer is stale');
  await sleep(40);
  assert.deepEqual(h.asked, [1, 2]);
  h.release();
  await sleep(1);
  assert.deepEqual(h.answered, [[2, 'answer about v2']]);
  h.check.dispose();
});

test('cancel stops a waiting check; forget drops the answer still out', async () => {
  const h = harness();
  h.check.schedule('a');
  h.check.cancel('a');
  await sleep(30);
  assert.deepEqual(h.asked, []);
  h.check.schedule('a');
  await sleep(30);
  assert.ok(h.check.busy('a'));
  h.check.forget('a');
  h.release();
  await sleep(1);
  assert.deepEqual(h.answered, [], 'a closed document gets no answer');
});
