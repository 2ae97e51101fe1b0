// The dataset editor's messages cross a trust boundary: the host acts only on exact, bounded shapes, and a row's
// text can never carry a line break (it would split one row into two on save).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { MAX_PAGE, parseHostMessage, parseWebviewMessage } from '../../webview/dataset/protocol';

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
  const init = { type: 'init', fileName: 'a.jsonl', firstRows: ['{}'], state, dirty: false, editable: true };
  assert.deepEqual(parseHostMessage(init), init);
  assert.deepEqual(parseHostMessage({ type: 'hits', id: 2, rows: [1, 5] }), { type: 'hits', id: 2, rows: [1, 5] });
  assert.equal(parseHostMessage({ ...init, firstRows: [1] }), undefined);
  assert.equal(parseHostMessage({ ...init, state: { ...state, rowCount: -1 } }), undefined);
  assert.equal(parseHostMessage({ type: 'rowsResult', id: 1, start: 0, texts: new Array(MAX_PAGE + 1).fill('') }), undefined);
  assert.equal(parseHostMessage({ type: 'searchDone', id: 1, total: 3 }), undefined);
});
