import assert from 'node:assert/strict';
import { test } from 'node:test';
import { historyNote } from '../../webview/metrics/historyNote';
import { parseHostMessage, parseWebviewMessage } from '../../webview/metrics/protocol';
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

test('the webview accepts init/append with a valid run and points, and nothing else', () => {
  const points = [{ kind: 'train', step: 1, segment: 0, loss: 2, learningRate: 1e-3, tokensPerSec: null }, { kind: 'eval', step: 1, segment: 0, evalLoss: 2.1 }];
  const history = { state: 'loading' };
  const init = parseHostMessage({ type: 'init', run, points, history });
  assert.equal(init?.type === 'init' && init.points.length, 2);
  assert.equal(parseHostMessage({ type: 'append', run, points: [] })?.type, 'append');
  assert.equal(parseHostMessage({ type: 'init', run: { ...run, state: 'exploded' }, points, history }), undefined);
  assert.equal(parseHostMessage({ type: 'init', run, points: [{ kind: 'train', step: -1, segment: 0, loss: 1, learningRate: 1, tokensPerSec: 1 }], history }), undefined);
  assert.equal(parseHostMessage({ type: 'init', run, points: [{ kind: 'train', step: 1, segment: 0, loss: '1', learningRate: 1, tokensPerSec: 1 }], history }), undefined);
  assert.equal(parseHostMessage({ type: 'init', run, points: [{ kind: 'other', step: 1 }], history }), undefined);
  assert.equal(parseHostMessage({ type: 'init', run, points: [{ kind: 'eval', step: 1, evalLoss: 2 }], history }), undefined, 'a point without its segment');
  assert.equal(parseHostMessage({ type: 'init', run, points }), undefined, 'an init without the history\'s state');
  assert.equal(parseHostMessage({ type: 'eval', run, points }), undefined);
  assert.equal(parseHostMessage({ type: 'append', run }), undefined);
});

test('init carries where the history stands, in one of its exact shapes', () => {
  const init = (history: unknown) => parseHostMessage({ type: 'init', run, points: [], history });
  for (const ok of [
    { state: 'loading' }, { state: 'loaded', received: 2000, logged: 1_000_000 }, { state: 'loaded', received: 0, logged: 0 },
    { state: 'unavailable', reason: 'too old' }, { state: 'failed', reason: 'disk on fire' },
  ]) {
    const m = init(ok);
    assert.deepEqual(m?.type === 'init' && m.history, ok, JSON.stringify(ok));
  }
  for (const bad of [
    null, 'loading', { state: 'loading', extra: 1 }, { state: 'loaded', received: 1 }, { state: 'loaded', received: -1, logged: 3 },
    { state: 'loaded', received: 1.5, logged: 3 }, { state: 'failed' }, { state: 'failed', reason: 3 }, { state: 'done' },
  ]) {
    assert.equal(init(bad), undefined, JSON.stringify(bad));
  }
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
  assert.match(html, /<canvas id="chart" data-points="0"/);
  assert.match(html, /<div class="history-note" id="history-note" role="status" hidden><\/div>/);
  // Disabled until the first init says the run can be stopped.
  assert.match(html, /<vscode-button id="stop-run"[^>]* disabled>/);
  assert.deepEqual([...html.matchAll(/<vscode-checkbox data-series="(\w+)" checked>/g)].map((m) => m[1]), ['loss', 'evalLoss', 'learningRate']);
});
