import assert from 'node:assert/strict';
import { test } from 'node:test';
import { historyNote } from '../../webview/metrics/historyNote';
import { csvField, formatRate, formatValue } from '../../webview/metrics/format';
import { parseHostMessage, parseWebviewMessage, pngBytes } from '../../webview/metrics/protocol';
import { contentSecurityPolicy, makeNonce, metricsHtml } from '../../src/vscode/metricsHtml';

const run = { runId: 'r1', name: 'demo', state: 'running', created: 1, step: 2, maxSteps: 10, loss: 1.5, tokensPerSec: null, etaS: null, error: null };

test('the host accepts only the webview messages it knows', () => {
  assert.deepEqual(parseWebviewMessage({ type: 'ready' }), { type: 'ready' });
  assert.deepEqual(parseWebviewMessage({ type: 'error', message: 'x' }), { type: 'error', message: 'x' });
  for (const bad of [null, 'ready', { type: 'ready', extra: 1 }, { type: 'error' }, { type: 'startRun' }, [], { type: 'error', message: 5 }]) {
    assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad));
  }
});

test('the host takes a stop request only in its exact shape', () => {
  assert.deepEqual(parseWebviewMessage({ type: 'stop', runId: 'r1' }), { type: 'stop', runId: 'r1' });
  const bad = [
    { type: 'stop' }, { type: 'stop', runId: '' }, { type: 'stop', runId: 5 }, { type: 'stop', runId: null },
    { type: 'stop', runId: ['r1'] }, { type: 'stop', runId: 'r1', force: true }, { type: 'Stop', runId: 'r1' }, { runId: 'r1' },
  ];
  for (const m of bad) assert.equal(parseWebviewMessage(m), undefined, JSON.stringify(m));
});

test('the webview takes stopDone with a boolean outcome and nothing else', () => {
  assert.deepEqual(parseHostMessage({ type: 'stopDone', ok: true }), { type: 'stopDone', ok: true });
  assert.deepEqual(parseHostMessage({ type: 'stopDone', ok: false }), { type: 'stopDone', ok: false });
  for (const m of [{ type: 'stopDone' }, { type: 'stopDone', ok: 'true' }, { type: 'stopDone', ok: 1 }, { type: 'stopDone', ok: true, run }]) {
    assert.equal(parseHostMessage(m), undefined, JSON.stringify(m));
  }
});

const payload = (over: Record<string, unknown> = {}) => ({ run, points: [], markers: [], history: { state: 'loading' }, ...over });
const init = (runs: unknown[], extra: Record<string, unknown> = {}) => parseHostMessage({ type: 'init', runs, diff: null, connected: true, ...extra });

test('the webview accepts init/append with valid runs, points and markers, and nothing else', () => {
  const points = [
    { kind: 'train', step: 1, segment: 0, loss: 2, learningRate: 1e-3, tokensPerSec: null },
    { kind: 'train', step: 2, segment: 0, loss: 2, learningRate: 1e-3, tokensPerSec: 9, gradNorm: 3.2, extra: { 'gpu.peak_mb': 900, 'lr_groups.embed': 1e-5 } },
    { kind: 'eval', step: 1, segment: 0, evalLoss: 2.1 },
  ];
  const markers = [{ seq: 4, kind: 'save', step: 2, segment: 0, text: 'Save now: checkpoint-2', checkpoint: 'checkpoint-2' }];
  const m = init([payload({ points, markers })]);
  assert.equal(m?.type === 'init' && m.runs[0].points.length, 3);
  assert.equal(m?.type === 'init' && m.runs[0].markers[0].checkpoint, 'checkpoint-2');
  assert.equal(parseHostMessage({ type: 'append', run, points: [], markers: [] })?.type, 'append');
  assert.equal(init([payload({ run: { ...run, state: 'exploded' } })]), undefined);
  for (const bad of [
    { kind: 'train', step: -1, segment: 0, loss: 1, learningRate: 1, tokensPerSec: 1 },
    { kind: 'train', step: 1, segment: 0, loss: '1', learningRate: 1, tokensPerSec: 1 },
    { kind: 'train', step: 1, segment: 0, loss: 1, learningRate: 1, tokensPerSec: 1, gradNorm: 'big' },
    { kind: 'train', step: 1, segment: 0, loss: 1, learningRate: 1, tokensPerSec: 1, extra: { 'gpu.peak_mb': '900' } },
    { kind: 'train', step: 1, segment: 0, loss: 1, learningRate: 1, tokensPerSec: 1, extra: [1] },
    { kind: 'other', step: 1 },
    { kind: 'eval', step: 1, evalLoss: 2 },
  ]) {
    assert.equal(init([payload({ points: [bad] })]), undefined, JSON.stringify(bad));
  }
  for (const bad of [
    { seq: 1, kind: 'explosion', step: 2, segment: 0, text: 'x' },
    { seq: 1, kind: 'checkpoint', step: 2, segment: 0, text: 'x', checkpoint: '../../etc' },
    { seq: 1, kind: 'warning', step: 2, segment: 0 },
  ]) {
    assert.equal(init([payload({ markers: [bad] })]), undefined, JSON.stringify(bad));
  }
  assert.equal(init([]), undefined, 'an init charts at least one run');
  assert.equal(init(Array.from({ length: 7 }, () => payload())), undefined, 'and at most six');
  assert.equal(init([payload()], { connected: 'yes' }), undefined);
  assert.equal(parseHostMessage({ type: 'init', runs: [payload()], diff: null }), undefined, 'an init says whether the link is up');
  assert.equal(parseHostMessage({ type: 'append', run, points: [] }), undefined, 'an append carries its markers');
  assert.equal(parseHostMessage({ type: 'eval', run, points: [] }), undefined);
});

test('init carries where each run\'s history stands, in one of its exact shapes', () => {
  const withHistory = (history: unknown) => init([payload({ history })]);
  for (const ok of [
    { state: 'loading' }, { state: 'loaded', received: 2000, logged: 1_000_000 }, { state: 'loaded', received: 0, logged: 0 },
    { state: 'unavailable', reason: 'too old' }, { state: 'failed', reason: 'disk on fire' },
  ]) {
    const m = withHistory(ok);
    assert.deepEqual(m?.type === 'init' && m.runs[0].history, ok, JSON.stringify(ok));
  }
  for (const bad of [
    null, 'loading', { state: 'loading', extra: 1 }, { state: 'loaded', received: 1 }, { state: 'loaded', received: -1, logged: 3 },
    { state: 'loaded', received: 1.5, logged: 3 }, { state: 'failed' }, { state: 'failed', reason: 3 }, { state: 'done' },
  ]) {
    assert.equal(withHistory(bad), undefined, JSON.stringify(bad));
  }
});

test('init carries the config diff of compared runs, one value per run', () => {
  const diff = { runIds: ['a', 'b'], rows: [{ key: 'lora.r', values: ['4', null] }], notes: ['b: its config is not loaded yet'] };
  const m = init([payload(), payload()], { diff });
  assert.deepEqual(m?.type === 'init' && m.diff, diff);
  assert.equal(init([payload()], { diff: { ...diff, rows: [{ key: 'lora.r', values: ['4'] }] } }), undefined, 'a row short of a value');
  assert.equal(init([payload()], { diff: { ...diff, rows: [{ key: 'lora.r', values: [4, 8] }] } }), undefined, 'values are text');
});

test('the small host messages take their exact shapes only', () => {
  assert.deepEqual(parseHostMessage({ type: 'link', connected: false }), { type: 'link', connected: false });
  assert.deepEqual(parseHostMessage({ type: 'controlDone', action: 'eval', ok: true }), { type: 'controlDone', action: 'eval', ok: true });
  assert.deepEqual(parseHostMessage({ type: 'exportDone', ok: true, message: 'Saved /x.csv' }), { type: 'exportDone', ok: true, message: 'Saved /x.csv' });
  for (const bad of [{ type: 'link' }, { type: 'link', connected: 1 }, { type: 'controlDone', action: 'stop', ok: true },
    { type: 'controlDone', action: 'save' }, { type: 'exportDone', ok: true }]) {
    assert.equal(parseHostMessage(bad), undefined, JSON.stringify(bad));
  }
});

test('the host takes control, checkpoint and export requests only in their exact shapes', () => {
  assert.deepEqual(parseWebviewMessage({ type: 'control', runId: 'r1', action: 'save' }), { type: 'control', runId: 'r1', action: 'save' });
  assert.deepEqual(parseWebviewMessage({ type: 'checkpoint', runId: 'r1', checkpoint: 'checkpoint-30', action: 'resume' }),
    { type: 'checkpoint', runId: 'r1', checkpoint: 'checkpoint-30', action: 'resume' });
  const png = `data:image/png;base64,${Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2]).toString('base64')}`;
  assert.equal(parseWebviewMessage({ type: 'exportPng', fileName: 'demo-loss.png', dataUrl: png })?.type, 'exportPng');
  assert.equal(parseWebviewMessage({ type: 'exportCsv', fileName: 'demo-metrics.csv', csv: 'a\n' })?.type, 'exportCsv');
  for (const bad of [
    { type: 'control', runId: 'r1', action: 'stop' }, { type: 'control', runId: 'r1' }, { type: 'control', runId: '', action: 'save' },
    { type: 'control', runId: 'r1', action: 'save', value: 3 },
    { type: 'checkpoint', runId: 'r1', checkpoint: '../x', action: 'chat' }, { type: 'checkpoint', runId: 'r1', checkpoint: 'c', action: 'delete' },
    { type: 'exportCsv', fileName: '../../.bashrc.csv', csv: '' }, { type: 'exportCsv', fileName: 'x.sh', csv: '' }, { type: 'exportCsv', fileName: 'x.csv', csv: 5 },
    { type: 'exportPng', fileName: 'x.png', dataUrl: 'data:text/html;base64,PGI+' }, { type: 'exportPng', fileName: 'x.png', dataUrl: png, extra: 1 },
    { type: 'exportPng', fileName: '/abs.png', dataUrl: png },
  ]) {
    assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad));
  }
  assert.ok(pngBytes(png), 'a real PNG signature passes');
  assert.equal(pngBytes('data:image/png;base64,PGI+PC9iPg=='), undefined, 'bytes that are not a PNG do not');
  assert.equal(pngBytes('data:image/png;base64,!!!'), undefined, 'nor does text that is not base64');
});

test('number formats keep the precision a chart needs', () => {
  assert.equal(formatRate(0.00082), '8.2e-4');
  assert.equal(formatRate(1e-5), '1e-5');
  assert.equal(formatValue(0.00082), '8.2e-4');
  assert.equal(formatValue(2.34567), '2.346');
  assert.equal(formatValue(1234.5), '1235');
  assert.equal(formatValue(0), '0');
  assert.equal(csvField('a,b'), '"a,b"');
  assert.equal(csvField('=cmd()'), "'=cmd()");
  assert.equal(csvField('-1.5'), '-1.5');
});

test('the history note says what the chart holds, and nothing when it holds everything', () => {
  assert.equal(historyNote({ state: 'loaded', received: 100, logged: 100 }), '');
  assert.equal(historyNote({ state: 'loaded', received: 6000, logged: 3_000_000 }), 'History downsampled: 6,000 of 3,000,000 logged points, then every new one.');
  assert.match(historyNote({ state: 'loading' }), /Loading/);
  assert.equal(historyNote({ state: 'unavailable', reason: 'this agent is old' }), 'History unavailable: this agent is old. Showing the points logged since this chart opened.');
  assert.match(historyNote({ state: 'failed', reason: 'timeout' }), /^History could not be loaded: timeout\./);
});

test('the panel HTML carries a strict CSP with fresh, separate script and style nonces', () => {
  const a = makeNonce();
  const b = makeNonce();
  assert.notEqual(a, b);
  assert.match(a, /^[A-Za-z0-9_-]{20,}$/);
  const csp = contentSecurityPolicy('https://x.vscode-cdn.net', a, b);
  assert.equal(csp, `default-src 'none'; script-src 'nonce-${a}'; style-src https://x.vscode-cdn.net 'nonce-${b}'; img-src https://x.vscode-cdn.net data:; font-src https://x.vscode-cdn.net`);
  const html = metricsHtml({ cspSource: 'https://x.vscode-cdn.net', scriptUri: 'https://x/metrics.js', styleUri: 'https://x/metrics.css', scriptNonce: a, styleNonce: b, title: '<b>run</b>' });
  assert.ok(html.includes(`content="${csp}"`));
  assert.equal((html.match(/<script/g) ?? []).length, 1);
  assert.ok(html.includes(`<script nonce="${a}" src="https://x/metrics.js">`));
  // The toolkit (FAST) reads its style nonce from this meta; only the style nonce is published there.
  assert.ok(html.includes(`<meta property="csp-nonce" content="${b}">`));
  assert.equal(html.split(a).length - 1, 2, 'the script nonce appears only in the CSP and on the script');
  assert.ok(html.includes('&lt;b&gt;run&lt;/b&gt;'), 'the run name is escaped');
  assert.ok(!html.includes('<b>run</b>'));
  assert.match(html, /<div class="history-note" id="history-note" role="status" hidden><\/div>/);
  // Disabled until the first init says the run can be stopped.
  assert.match(html, /<vscode-button id="stop-run"[^>]* disabled>/);
  assert.deepEqual([...html.matchAll(/<vscode-checkbox data-series="(\w+)" checked>/g)].map((m) => m[1]), ['loss', 'evalLoss', 'learningRate', 'gradNorm', 'tokensPerSec']);
  // Save now / Eval now start disabled too; the page builds the charts into the grid.
  assert.match(html, /<vscode-button id="save-now"[^>]* disabled>/);
  assert.match(html, /<vscode-button id="eval-now"[^>]* disabled>/);
  assert.match(html, /<main class="grid" id="charts"/);
});
