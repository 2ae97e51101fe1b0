// The dataset editor's messages cross a trust boundary: the host acts only on exact, bounded shapes, and a row's
// text can never carry a line break (it would split one row into two on save).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_LABEL_ROWS, MAX_PAGE, parseHostMessage, parseWebviewMessage } from '../../webview/dataset/protocol';

test('the host takes page requests, row edits and searches in their exact shapes only', () => {
  assert.deepEqual(parseWebviewMessage({ type: 'rows', id: 3, start: 400, count: 200 }), { type: 'rows', id: 3, start: 400, count: 200 });
  assert.deepEqual(parseWebviewMessage({ type: 'edit', edit: { kind: 'replace', row: 7, text: '{"a":1}' } }), { type: 'edit', edit: { kind: 'replace', row: 7, text: '{"a":1}' } });
  assert.deepEqual(parseWebviewMessage({ type: 'edit', edit: { kind: 'duplicate', row: 0 } }), { type: 'edit', edit: { kind: 'duplicate', row: 0 } });
  assert.deepEqual(parseWebviewMessage({ type: 'search', id: 1, pattern: 'a+', regex: true, caseSensitive: false }), { type: 'search', id: 1, pattern: 'a+', regex: true, caseSensitive: false });
  for (const bad of [
    { type: 'rows', id: 3, start: 0, count: MAX_PAGE + 1 },
    { type: 'rows', id: 3, start: -1, count: 10 },
    { type: 'rows', id: 3, start: 0.5, count: 10 },
    { type: 'edit', edit: { kind: 'replace', row: 1, text: 'two\nlines' } },
    { type: 'edit', edit: { kind: 'replace', row: 1, text: 'cr\r' } },
    { type: 'edit', edit: { kind: 'replace', row: 1 } },
    { type: 'edit', edit: { kind: 'delete', row: 1, text: 'x' } },
    { type: 'edit', edit: { kind: 'rm', row: 1 } },
    { type: 'search', id: 1, pattern: 'x'.repeat(1001), regex: false, caseSensitive: false },
    { type: 'search', id: 1, pattern: 'x', regex: 'yes', caseSensitive: false },
    { type: 'rows', id: 1, start: 0, count: 1, extra: true },
  ]) assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad));
});

test('the page takes the host\'s state, pages and hits, and drops anything else', () => {
  const state = { rowCount: null, done: 10, total: 100, error: null };
  const init = { type: 'init', fileName: 'a.jsonl', firstRows: ['{}'], state, dirty: false, editable: true, readOnly: null, context: { config: 'a.tunelab.yaml', model: 'm', maxLength: 512 }, version: 3 };
  assert.deepEqual(parseHostMessage(init), init);
  assert.deepEqual(parseHostMessage({ type: 'hits', id: 2, rows: [1, 5] }), { type: 'hits', id: 2, rows: [1, 5] });
  assert.equal(parseHostMessage({ ...init, firstRows: [1] }), undefined);
  assert.equal(parseHostMessage({ ...init, state: { ...state, rowCount: -1 } }), undefined);
  assert.equal(parseHostMessage({ type: 'rowsResult', id: 1, start: 0, version: 1, texts: new Array(MAX_PAGE + 1).fill('') }), undefined);
  assert.deepEqual(parseHostMessage({ type: 'rowsResult', id: 1, start: 0, version: 1, texts: ['{}'] }), { type: 'rowsResult', id: 1, start: 0, version: 1, texts: ['{}'] });
  assert.equal(parseHostMessage({ type: 'rowsResult', id: 1, start: 0, texts: ['{}'] }), undefined, 'a page without the version it was read at');
  assert.equal(parseHostMessage({ type: 'state', state, dirty: false, changed: true }), undefined);
  assert.equal(parseHostMessage({ type: 'searchDone', id: 1, total: 3 }), undefined);
  assert.equal(parseHostMessage({ ...init, context: { config: 'a', model: 3, maxLength: null } }), undefined);
  assert.equal(parseHostMessage({ ...init, readOnly: 5 }), undefined);
});

test('labels, template views, negatives, tools and inspection reruns are taken in their exact shapes only', () => {
  assert.deepEqual(parseWebviewMessage({ type: 'label', rows: [2, 3, 9], label: 'spam' }), { type: 'label', rows: [2, 3, 9], label: 'spam' });
  assert.deepEqual(parseWebviewMessage({ type: 'label', rows: [2], label: null }), { type: 'label', rows: [2], label: null });
  assert.deepEqual(parseWebviewMessage({ type: 'sort', id: 4, by: 'length' }), { type: 'sort', id: 4, by: 'length' });
  assert.deepEqual(parseWebviewMessage({ type: 'render', id: 1, row: 9 }), { type: 'render', id: 1, row: 9 });
  assert.deepEqual(parseWebviewMessage({ type: 'negative', row: 1, rejected: 'no', target: 'pairs' }), { type: 'negative', row: 1, rejected: 'no', target: 'pairs' });
  assert.deepEqual(parseWebviewMessage({ type: 'tool', tool: 'iob', from: null, to: null }), { type: 'tool', tool: 'iob', from: null, to: null });
  assert.deepEqual(parseWebviewMessage({ type: 'tool', tool: 'synonyms', from: 3, to: 8 }), { type: 'tool', tool: 'synonyms', from: 3, to: 8 });
  assert.deepEqual(parseWebviewMessage({ type: 'inspect' }), { type: 'inspect' });
  for (const bad of [
    { type: 'label', rows: [4, 2], label: 'x' },
    { type: 'label', rows: [1, 1], label: 'x' },
    { type: 'label', rows: [], label: 'x' },
    { type: 'label', rows: Array.from({ length: MAX_LABEL_ROWS + 1 }, (_, i) => i), label: 'x' },
    { type: 'label', rows: [0], label: '' },
    { type: 'label', rows: [0], label: 'a\nb' },
    { type: 'label', rows: [0], label: 3 },
    { type: 'sort', id: 1, by: 'mood' },
    { type: 'negative', row: 1, rejected: 'no', target: '/etc/passwd' },
    { type: 'tool', tool: 'rm', from: null, to: null },
    { type: 'tool', tool: 'iob', from: 1, to: null },
    { type: 'render', id: 1 },
    { type: 'inspect', now: true },
  ]) assert.equal(parseWebviewMessage(bad), undefined, JSON.stringify(bad));
});

test('the page takes the agent\'s reading and a template view only when well formed, and keeps of a token what it draws', () => {
  const problems = [{ row: 3, line: 4, severity: 'warning', code: 'duplicate', message: 'the same row as line 1' }];
  const running = { type: 'inspection', state: 'running', message: 'reading', progress: { done: 1, total: 10 }, result: null, problems };
  assert.deepEqual(parseHostMessage(running), running);
  assert.equal(parseHostMessage({ ...running, state: 'weird' }), undefined);
  assert.deepEqual(parseHostMessage({ ...running, state: 'idle', progress: null }), { ...running, state: 'idle', progress: null });
  assert.equal(parseHostMessage({ ...running, problems: [{ ...problems[0], severity: 'fatal' }] }), undefined);
  assert.equal(parseHostMessage({ ...running, result: { rows: 1 } }), undefined, 'a result that is not a whole inspection');
  const token = { id: 5, text: 'hi', start: 0, end: 2, trained: true };
  const render = { type: 'render', id: 2, result: { sequences: [{ name: 'sample', text: 'hi', tokens: [token], length: 1, trained_tokens: 1 }], max_length: 48, over_length: false }, error: null };
  assert.deepEqual(parseHostMessage(render), {
    type: 'render', id: 2, error: null, result: { sequences: [{ name: 'sample', tokens: [{ text: 'hi', trained: true }], length: 1, trained_tokens: 1 }], max_length: 48, over_length: false },
  });
  assert.equal(parseHostMessage({ ...render, result: { ...render.result, sequences: [{ name: 'sample', tokens: [{ text: 1, trained: true }], length: 1, trained_tokens: 1 }] } }), undefined);
  assert.deepEqual(parseHostMessage({ type: 'notice', level: 'info', text: 'ok' }), { type: 'notice', level: 'info', text: 'ok' });
  assert.equal(parseHostMessage({ type: 'notice', level: 'debug', text: 'ok' }), undefined);
  assert.deepEqual(parseHostMessage({ type: 'order', id: 1, rows: [2, 0, 1], error: null }), { type: 'order', id: 1, rows: [2, 0, 1], error: null });
  assert.equal(parseHostMessage({ type: 'order', id: 1, rows: [2, -1], error: null }), undefined);
});
