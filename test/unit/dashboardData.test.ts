// The dashboard's data path in the page, under plain Node: summaries, smoothing, per-series views, CSV, restore.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { seriesCsv, safeFileName } from '../../webview/metrics/exportCsv';
import { restoredRunIds } from '../../webview/metrics/protocol';
import { RunData } from '../../webview/metrics/runData';
import { Smoothed } from '../../webview/metrics/smoothing';
import { MinMaxSummary } from '../../webview/metrics/summary';

const pts = (ys: number[], from = 1) => ys.map((y, i) => ({ x: from + i, y }));
const run = { runId: 'r1', name: 'demo, "quoted"', state: 'running' as const, created: 1, step: 0, maxSteps: null, loss: null, tokensPerSec: null, etaS: null, error: null, damaged: null, diskLow: null };

test('the summary keeps every bucket\'s lowest and highest in step order, ends at the newest point, and stays bounded', () => {
  const s = new MinMaxSummary(4);
  const source = pts([5, 1, 9, 2, 2, 2, 8, 0]);
  s.extend(source);
  // 8 points, 4 buckets max: buckets of 2 → (5,1) (9,2) (2,2) (8,0)
  assert.deepEqual(s.points.map((p) => [p.x, p.y]), [[1, 5], [2, 1], [3, 9], [4, 2], [5, 2], [7, 8], [8, 0]]);
  const big = pts(Array.from({ length: 100_000 }, (_, i) => Math.sin(i / 100) + (i === 54_321 ? 50 : 0)));
  const t = new MinMaxSummary();
  for (let n = 1000; n <= big.length; n += 1000) t.extend(big.slice(0, n)); // grown live, in slices
  assert.ok(t.points.length <= 1201, `bounded: ${t.points.length}`);
  assert.ok(t.points.some((p) => p.x === 54_322 && p.y > 49), 'a one-step spike survives');
  assert.deepEqual(t.points.at(-1), big.at(-1), 'the line reaches the newest step');
  const once = new MinMaxSummary();
  once.extend(big);
  assert.deepEqual(once.points, t.points, 'grown point by point or at once, the same summary');
});

test('EMA smoothing is debiased like TensorBoard and extends as the series grows', () => {
  const s = new Smoothed(0.5);
  const source = pts([2, 4]);
  assert.deepEqual(s.of(source).map((p) => p.y), [2, (0.5 * 0.5 * 2 + 0.5 * 4) / (1 - 0.25)]);
  source.push({ x: 3, y: 4 });
  assert.equal(s.of(source).length, 3);
  assert.equal(new Smoothed(0).of(source), source, 'weight 0 is the series itself');
});

test('a run\'s views: series by key, smoothing only where it applies, markers without doubles', () => {
  const data = new RunData(run);
  data.add([
    { kind: 'train', step: 1, segment: 0, loss: 2, learningRate: 1e-3, tokensPerSec: 10, gradNorm: 3, extra: { 'gpu.peak_mb': 900 } },
    { kind: 'train', step: 2, segment: 0, loss: 4, learningRate: 1e-3, tokensPerSec: null, gradNorm: null },
    { kind: 'eval', step: 2, segment: 0, evalLoss: 3 },
  ]);
  assert.deepEqual([...data.keys()].sort(), ['evalLoss', 'gpu.peak_mb', 'gradNorm', 'learningRate', 'loss', 'tokensPerSec']);
  assert.deepEqual(data.series.get('loss')!.data(0.5, false).map((p) => p.y), [2, (0.25 * 2 + 0.5 * 4) / 0.75]);
  assert.deepEqual(data.series.get('learningRate')!.data(0.9, false).map((p) => p.y), [1e-3, 1e-3], 'the learning rate is never smoothed');
  const m = { seq: 3, kind: 'save' as const, step: 2, segment: 0, text: 'Save now' };
  data.addMarkers([m]);
  data.addMarkers([m]);
  assert.equal(data.markers.length, 1);
});

test('CSV export: the visible series, the zoomed range only, fields quoted', () => {
  const data = new RunData(run);
  data.add([1, 2, 3].map((step) => ({ kind: 'train' as const, step, segment: 0, loss: step / 10, learningRate: null, tokensPerSec: null })));
  const csv = seriesCsv([{ run: data, key: 'loss', label: 'loss' }], { min: 2, max: 3 });
  assert.equal(csv, 'run,run_id,series,step,value\n"demo, ""quoted""",r1,loss,2,0.2\n"demo, ""quoted""",r1,loss,3,0.3\n');
  assert.equal(safeFileName('../my run/..', 'csv'), 'my-run.csv');
  assert.equal(safeFileName('///', 'png'), 'tunelab.png');
});

test('a restored panel\'s state must name 1-6 run ids, or nothing is restored', () => {
  assert.deepEqual(restoredRunIds({ runIds: ['a', 'b', 'a'], smoothing: 0 }), ['a', 'b']);
  for (const bad of [undefined, null, 'a', {}, { runIds: [] }, { runIds: ['../x'] }, { runIds: [1] }, { runIds: Array.from({ length: 7 }, (_, i) => `r${i}`) }]) {
    assert.equal(restoredRunIds(bad), undefined, JSON.stringify(bad));
  }
});
