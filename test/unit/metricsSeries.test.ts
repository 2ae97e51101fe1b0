import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SegmentedSeries } from '../../webview/metrics/series';

test('steps are kept in order and a replayed step replaces its value instead of doubling it', () => {
  const s = new SegmentedSeries();
  for (const [step, y] of [[1, 3], [3, 2], [2, 2.5], [3, 1.9]]) s.add(step, y, 0);
  assert.deepEqual(s.current, [{ x: 1, y: 3 }, { x: 2, y: 2.5 }, { x: 3, y: 1.9 }]);
  assert.deepEqual(s.earlier, []);
});

test('steps trained again after a resume become current and the superseded ones are kept as earlier', () => {
  const s = new SegmentedSeries();
  for (let step = 2; step <= 20; step += 2) s.add(step, 10 - step / 4, 0);
  // Resumed from checkpoint-10: steps 12..20 come again in segment 1.
  for (let step = 12; step <= 20; step += 2) s.add(step, 100 + step, 1);
  assert.deepEqual(s.current.map((p) => p.y), [9.5, 9, 8.5, 8, 7.5, 112, 114, 116, 118, 120]);
  assert.deepEqual(s.earlier, [12, 14, 16, 18, 20].map((x) => ({ x, y: 10 - x / 4 })));
  assert.equal(s.size, 15);
  // A replay of segment 0 after a reconnect does not push segment 1 aside.
  s.add(14, 6.5, 0);
  assert.equal(s.current.find((p) => p.x === 14)?.y, 114);
  assert.equal(s.earlier.find((p) => p.x === 14)?.y, 6.5);
  s.clear();
  assert.equal(s.size, 0);
});

test('a downsampled history keeps other steps per segment; the resumed segment still takes over from its first step', () => {
  const s = new SegmentedSeries();
  // Segment 0 logged 1..1000, downsampled to these steps; segment 1 resumed at 501 and kept others.
  for (const step of [1, 180, 333, 520, 777, 1000]) s.add(step, 1, 0);
  for (const step of [501, 640, 910, 1200]) s.add(step, 2, 1);
  assert.deepEqual(s.current.map((p) => [p.x, p.y]), [[1, 1], [180, 1], [333, 1], [501, 2], [640, 2], [910, 2], [1200, 2]], 'no old point woven into the new curve');
  assert.deepEqual(s.earlier.map((p) => p.x), [520, 777, 1000]);
});

test('a resume still in progress supersedes the old run beyond it, and a second resume from earlier supersedes both', () => {
  const s = new SegmentedSeries();
  for (let step = 1; step <= 20; step++) s.add(step, 0, 0);
  for (let step = 11; step <= 14; step++) s.add(step, 1, 1);
  assert.equal(s.current.at(-1)!.x, 14, 'the curve ends where the resumed run is now');
  assert.deepEqual(s.earlier.map((p) => p.x), [11, 12, 13, 14, 15, 16, 17, 18, 19, 20]);
  for (let step = 6; step <= 8; step++) s.add(step, 2, 2);
  assert.deepEqual(s.current.map((p) => [p.x, p.y]), [[1, 0], [2, 0], [3, 0], [4, 0], [5, 0], [6, 2], [7, 2], [8, 2]]);
  // One superseded value per step: the most recent one (segment 1 at 11..14, segment 0 elsewhere).
  assert.deepEqual(s.earlier.filter((p) => p.x >= 11 && p.x <= 15).map((p) => p.y), [1, 1, 1, 1, 0]);
  assert.equal(s.size, 20 + 4 + 3);
});
