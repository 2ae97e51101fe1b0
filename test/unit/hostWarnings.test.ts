import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentEvent } from '../../src/core/protocol/messages';
import { HostWarnings, LIVE_EVENT_WINDOW_S, diskLowText } from '../../src/core/runs/hostWarnings';

const RUN = '20261127-120000-demo-ab12';
const NOW = 1_800_000_000;
const MESSAGE = 'disk almost full: 150 MB free on /, and the next checkpoint needs about 96 MB; free some space or the run will fail at its next save';

const diskLow = (seq: number, time: number, run_id = RUN, message = MESSAGE): AgentEvent =>
  ({ type: 'event', seq, time, run_id, kind: 'disk_low', data: { step: 20, free_mb: 150, checkpoint_mb: 96, path: '/', message } });

test('a live disk_low event becomes a warning naming the run and carrying the message', () => {
  const w = new HostWarnings(() => NOW);
  assert.deepEqual(w.consider(diskLow(7, NOW - 1), 'demo'), { runId: RUN, text: `Tunelab: run demo: ${MESSAGE}` });
});

test('the run id stands in for an unknown or blank name', () => {
  const w = new HostWarnings(() => NOW);
  assert.equal(w.consider(diskLow(1, NOW), undefined)?.text, `Tunelab: run ${RUN}: ${MESSAGE}`);
  assert.equal(w.consider(diskLow(2, NOW), ' ')?.text, `Tunelab: run ${RUN}: ${MESSAGE}`);
});

test('an old disk_low replayed on reconnect is not shown', () => {
  const w = new HostWarnings(() => NOW);
  assert.equal(w.consider(diskLow(1, NOW - LIVE_EVENT_WINDOW_S), 'demo'), undefined);
  assert.equal(w.consider(diskLow(2, NOW - 86_400), 'demo'), undefined);
  assert.equal(w.consider(diskLow(3, Number.NaN), 'demo'), undefined, 'a time that is not a number is not live');
  assert.ok(w.consider(diskLow(4, NOW - LIVE_EVENT_WINDOW_S + 1), 'demo'));
  assert.ok(w.consider(diskLow(5, NOW + 30), 'demo'), 'a host clock a little ahead still counts as live');
});

test('the same event is shown once, even when it arrives again', () => {
  const w = new HostWarnings(() => NOW);
  assert.ok(w.consider(diskLow(9, NOW), 'demo'));
  assert.equal(w.consider(diskLow(9, NOW), 'demo'), undefined);
  assert.ok(w.consider(diskLow(10, NOW), 'demo'), 'a later disk_low (space recovered and ran short again) is news');
  assert.ok(w.consider(diskLow(9, NOW, '20261127-130000-other-cd34'), 'other'), 'the key is run and seq together');
});

test('other events are never warnings', () => {
  const w = new HostWarnings(() => NOW);
  const events: AgentEvent[] = [
    { type: 'event', seq: 1, time: NOW, run_id: RUN, kind: 'log', data: { level: 'warning', message: 'disk almost full' } },
    { type: 'event', seq: 2, time: NOW, run_id: RUN, kind: 'run_state', data: { state: 'failed', error: 'No space left on device' } },
  ];
  for (const e of events) assert.equal(w.consider(e, 'demo'), undefined, e.kind);
});

test('the clock is read when an event is considered, not when the warnings are made', () => {
  let now = NOW;
  const w = new HostWarnings(() => now);
  now = NOW + 1000;
  assert.equal(w.consider(diskLow(1, NOW), 'demo'), undefined);
  assert.ok(w.consider(diskLow(2, now - 5), 'demo'));
});

test('a blank message is made up from the numbers', () => {
  const text = diskLowText({ step: 1, free_mb: 3072, checkpoint_mb: 96.4, path: '/mnt/data', message: '' });
  assert.equal(text, 'disk almost full: 3.0 GB free on /mnt/data, and the next checkpoint needs about 96 MB');
  assert.equal(diskLowText({ step: 1, free_mb: 1, checkpoint_mb: 1, path: '/', message: ' kept as sent ' }), 'kept as sent');
});
