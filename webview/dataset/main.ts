// Dataset editor (browser side). The grid is virtualised: the page holds a spacer as tall as every row and draws
// only the rows in view (and a margin), asking the host for them a page at a time. The first screen comes from the
// rows read before any index; the row count and a progress bar show while the index builds. A row opens in the
// side pane as pretty JSON and as its raw line, which the person edits; Apply, Duplicate, Insert below and Delete
// go to the host, which keeps VS Code's undo stack. Everything from the file is set as text, never as HTML.
import './toolkit';
import { parseHostMessage, type HostMessage, type IndexState, type RowEdit, type WebviewMessage } from './protocol';
import type { Button } from './toolkit';
import { lowerBound } from '../../src/core/dataset/editLog';

declare function acquireVsCodeApi(): { postMessage(message: WebviewMessage): void };

const vscode = acquireVsCodeApi();
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const grid = $('grid');
const spacer = $('spacer');
const countEl = $('row-count');
const progressEl = $<HTMLProgressElement>('index-progress');
const gotoEl = $<HTMLInputElement>('goto');
const searchEl = $<HTMLInputElement>('search');
const regexEl = $<HTMLInputElement>('regex');
const caseEl = $<HTMLInputElement>('case');
const hitsEl = $('hits');
const detailTitle = $('detail-title');
const pretty = $('pretty');
const rowText = $<HTMLTextAreaElement>('row-text');
const rowProblem = $('row-problem');
const buttons = { apply: $<Button>('apply'), duplicate: $<Button>('duplicate'), insert: $<Button>('insert'), delete: $<Button>('delete') };

const ROW_HEIGHT = 22;
const PAGE = 200;
const MARGIN = 30;

let firstRows: string[] = [];
let state: IndexState = { rowCount: null, done: 0, total: 0, error: null };
let editable = true;
/** Pages of row texts by page number; cleared when rows move (an edit, undo, save). */
let pages = new Map<number, string[]>();
const pending = new Set<number>();
let nextId = 1;
const requests = new Map<number, number>();
let selected: number | null = null;
let searchId = 0;
let hits: number[] = [];
let hitAt = -1;

const rowCount = () => state.rowCount ?? firstRows.length;

function post(m: WebviewMessage): void {
  vscode.postMessage(m);
}

function textOf(row: number): string | undefined {
  if (state.rowCount === null) return firstRows[row];
  const page = pages.get(Math.floor(row / PAGE));
  if (page) return page[row % PAGE];
  request(Math.floor(row / PAGE));
  return undefined;
}

function request(page: number): void {
  if (pending.has(page) || state.rowCount === null) return;
  pending.add(page);
  const id = nextId++;
  requests.set(id, page);
  post({ type: 'rows', id, start: page * PAGE, count: PAGE });
}

/** Draws the rows in view; rows whose page has not arrived yet show as loading and are drawn when it does. */
function draw(): void {
  const total = rowCount();
  spacer.style.height = `${total * ROW_HEIGHT}px`;
  const first = Math.max(0, Math.floor(grid.scrollTop / ROW_HEIGHT) - MARGIN);
  const last = Math.min(total, Math.ceil((grid.scrollTop + grid.clientHeight) / ROW_HEIGHT) + MARGIN);
  const rows: HTMLElement[] = [];
  for (let r = first; r < last; r++) {
    const el = document.createElement('div');
    el.className = 'row';
    el.setAttribute('role', 'row');
    el.dataset.row = String(r);
    el.style.top = `${r * ROW_HEIGHT}px`;
    if (r === selected) el.classList.add('selected');
    if (hits.length && hits[lowerBound(hits, r)] === r) el.classList.add('hit');
    const num = document.createElement('span');
    num.className = 'num';
    num.textContent = String(r + 1);
    const text = document.createElement('span');
    text.className = 'text';
    const t = textOf(r);
    text.textContent = t === undefined ? '…' : t;
    if (t === undefined) el.classList.add('loading');
    el.append(num, text);
    rows.push(el);
  }
  grid.replaceChildren(spacer, ...rows);
  grid.dataset.first = String(first);
  grid.dataset.rows = String(total);
}

let frame = 0;
const redraw = () => { if (!frame) frame = requestAnimationFrame(() => { frame = 0; draw(); }); };

function showCount(): void {
  const n = state.rowCount;
  if (state.error) countEl.textContent = `could not index: ${state.error}`;
  else if (n === null) countEl.textContent = `${firstRows.length.toLocaleString('en-US')}+ rows (indexing ${state.total ? Math.round((100 * state.done) / state.total) : 0}%)`;
  else countEl.textContent = `${n.toLocaleString('en-US')} rows`;
  progressEl.hidden = n !== null || !!state.error;
  progressEl.value = state.total ? state.done / state.total : 0;
  document.body.dataset.indexed = String(n !== null);
}

function select(row: number | null, scroll = false): void {
  selected = row === null ? null : Math.max(0, Math.min(rowCount() - 1, row));
  if (selected !== null && scroll) {
    const top = selected * ROW_HEIGHT;
    if (top < grid.scrollTop || top > grid.scrollTop + grid.clientHeight - ROW_HEIGHT) grid.scrollTop = Math.max(0, top - grid.clientHeight / 3);
  }
  showDetail();
  redraw();
}

function showDetail(): void {
  const on = selected !== null && state.rowCount !== null && editable;
  for (const b of Object.values(buttons)) b.disabled = !on;
  rowText.disabled = !on;
  rowProblem.hidden = true;
  if (selected === null) {
    detailTitle.textContent = 'No row selected';
    pretty.textContent = '';
    rowText.value = '';
    return;
  }
  detailTitle.textContent = `Row ${selected + 1}`;
  const t = textOf(selected);
  if (t === undefined) { pretty.textContent = '…'; return; }
  if (document.activeElement !== rowText) rowText.value = t;
  try {
    pretty.textContent = t.trim() ? JSON.stringify(JSON.parse(t), null, 2) : '(empty line)';
    pretty.classList.remove('not-json');
  } catch (e) {
    pretty.textContent = `not valid JSON: ${e instanceof Error ? e.message : String(e)}`;
    pretty.classList.add('not-json');
  }
}

function edit(e: RowEdit): void {
  post({ type: 'edit', edit: e });
}

buttons.apply.addEventListener('click', () => {
  if (selected === null) return;
  const text = rowText.value.replace(/\r?\n/g, ' ');
  edit({ kind: 'replace', row: selected, text });
});
buttons.duplicate.addEventListener('click', () => { if (selected !== null) edit({ kind: 'duplicate', row: selected }); });
buttons.insert.addEventListener('click', () => { if (selected !== null) edit({ kind: 'insert', row: selected + 1, text: '{}' }); });
buttons.delete.addEventListener('click', () => { if (selected !== null) edit({ kind: 'delete', row: selected }); });
rowText.addEventListener('keydown', (e) => {
  // Enter applies (a row is one line); Escape puts the row's text back.
  if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); buttons.apply.click(); }
  if (e.key === 'Escape' && selected !== null) rowText.value = textOf(selected) ?? rowText.value;
});

grid.addEventListener('scroll', redraw);
window.addEventListener('resize', redraw);
grid.addEventListener('click', (e) => {
  const row = (e.target as HTMLElement).closest<HTMLElement>('.row');
  if (row) select(Number(row.dataset.row));
});
grid.addEventListener('keydown', (e) => {
  const visible = Math.max(1, Math.floor(grid.clientHeight / ROW_HEIGHT) - 1);
  const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: visible, PageUp: -visible };
  if (e.key in moves) { e.preventDefault(); select((selected ?? -1) + moves[e.key], true); }
  else if (e.key === 'Home' && e.ctrlKey) { e.preventDefault(); select(0, true); }
  else if (e.key === 'End' && e.ctrlKey) { e.preventDefault(); select(rowCount() - 1, true); }
  else if (e.key === 'Enter' && selected !== null) { e.preventDefault(); rowText.focus(); }
});
gotoEl.addEventListener('keydown', (e) => {
  if (e.key !== 'Enter') return;
  const n = Number(gotoEl.value);
  if (Number.isInteger(n) && n >= 1) { select(n - 1, true); grid.focus(); }
});

function startSearch(): void {
  post({ type: 'cancelSearch', id: searchId });
  searchId = nextId++;
  hits = [];
  hitAt = -1;
  const pattern = searchEl.value;
  hitsEl.textContent = pattern ? 'searching…' : '';
  if (pattern) post({ type: 'search', id: searchId, pattern, regex: regexEl.checked, caseSensitive: caseEl.checked });
  redraw();
}

function goHit(step: number): void {
  if (!hits.length) return;
  hitAt = (hitAt + step + hits.length) % hits.length;
  select(hits[hitAt], true);
  hitsEl.textContent = `${hitAt + 1} of ${hits.length.toLocaleString('en-US')}`;
}

searchEl.addEventListener('keydown', (e) => { if (e.key === 'Enter') { if (e.shiftKey) goHit(-1); else if (hits.length && hitsEl.dataset.query === searchEl.value) goHit(1); else startSearch(); } });
$('next-hit').addEventListener('click', () => goHit(1));
$('prev-hit').addEventListener('click', () => goHit(-1));

function onMessage(m: HostMessage): void {
  switch (m.type) {
    case 'init':
      $('file-name').textContent = m.fileName;
      firstRows = m.firstRows;
      editable = m.editable;
      state = m.state;
      pages = new Map();
      pending.clear();
      break;
    case 'state':
      state = m.state;
      if (m.changed) { pages = new Map(); pending.clear(); }
      break;
    case 'rowsResult': {
      const page = requests.get(m.id);
      requests.delete(m.id);
      if (page === undefined || !pending.delete(page)) return; // an answer about rows that have moved since
      pages.set(page, m.texts);
      if (selected !== null && Math.floor(selected / PAGE) === page) showDetail();
      break;
    }
    case 'hits':
      if (m.id !== searchId) return;
      hits = [...hits, ...m.rows].sort((a, b) => a - b);
      hitsEl.dataset.query = searchEl.value;
      hitsEl.textContent = `${hits.length.toLocaleString('en-US')} found…`;
      if (hitAt < 0 && hits.length) goHit(1);
      break;
    case 'searchDone':
      if (m.id !== searchId) return;
      hitsEl.dataset.query = searchEl.value;
      hitsEl.textContent = m.error ? m.error : hits.length ? `${hitAt + 1} of ${hits.length.toLocaleString('en-US')}` : 'no match';
      hitsEl.classList.toggle('error', !!m.error);
      document.body.dataset.searchDone = String(m.id);
      break;
  }
  document.body.dataset.dirty = String('dirty' in m ? m.dirty : document.body.dataset.dirty === 'true');
  showCount();
  if (m.type !== 'rowsResult' && m.type !== 'hits') showDetail();
  redraw();
}

window.addEventListener('message', (event: MessageEvent) => {
  const m = parseHostMessage(event.data);
  if (!m) {
    post({ type: 'error', message: `dropped an invalid message from the host: ${JSON.stringify(event.data)?.slice(0, 200)}` });
    return;
  }
  onMessage(m);
});

let violations = 0;
document.body.dataset.cspViolations = '0';
document.addEventListener('securitypolicyviolation', () => { document.body.dataset.cspViolations = String(++violations); });

post({ type: 'ready' });
