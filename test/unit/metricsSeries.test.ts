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
