// Dataset editor (browser side). The grid is virtualised: the page holds a spacer as tall as every row and draws
// only the rows in view (and a margin), asking the host for them a page at a time. The first screen comes from the
// rows read before any index; the row count and a progress bar show while the index builds. A row opens in the
// side pane by its format (rowRender.ts), or as raw JSON, with its raw line to edit, the agent's problems on it
// with their quick fixes, and the text the trainer sees (render_sample); the Stats tab shows the agent's reading
// of the whole file. Keys 1–9 label the selected rows (a range with Shift). Edits go to the host, which keeps
// VS Code's undo stack. Everything from the file is set as text, never as HTML.
import './toolkit';
import {
  parseHostMessage, type HostMessage, type IndexState, type ReadingContext, type RowEdit, type RowProblem, type ToolName, type WebviewMessage,
} from './protocol';
import type { Button } from './toolkit';
import { lowerBound } from '../../src/core/dataset/editLog';
import { setField } from '../../src/core/dataset/fieldEdit';
import { fixesFor } from '../../src/core/dataset/quickFixes';
import { labelOf, promptAndAnswer, viewRow } from '../../src/core/dataset/rowView';
import type { DatasetInspection } from '../../src/core/protocol/messages';
import { fieldSearch, type SearchMode } from './fieldSearch';
import { renderTokens, showRow } from './rowRender';
import { StatsPane } from './statsPane';

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
const buttons = { apply: $<Button>('apply'), duplicate: $<Button>('duplicate'), insert: $<Button>('insert'), delete: $<Button>('delete'), negative: $<Button>('negative') };
const formatted = $('formatted');
const rawToggle = $<HTMLInputElement>('raw-toggle');
const rowProblems = $('row-problems');
const labelSetEl = $('label-set');
const newLabelEl = $<HTMLInputElement>('new-label');
const selectionInfo = $('selection-info');
const noticeEl = $('notice');
const templateBody = $('template-body');
const negativePane = $('negative-pane');
const negativeText = $<HTMLTextAreaElement>('negative-text');
const negativeTarget = $<HTMLSelectElement>('negative-target');
const inspectState = $('inspect-state');
const inspectNow = $<Button>('inspect-now');
inspectNow.addEventListener('click', () => { inspectNow.hidden = true; post({ type: 'inspect' }); });
const rowPane = $('row-pane');
const showEl = $<HTMLSelectElement>('show');
const viewInfo = $('view-info');
const searchMode = $<HTMLSelectElement>('search-mode');
const statsPaneEl = $('stats-pane');
const stats = new StatsPane(statsPaneEl, { goToLine: (line) => { showTab('row'); select(rowOfLine(line), true); grid.focus(); } });

const ROW_HEIGHT = 22;
/**
 * Browsers cap an element's height (Chromium near 33.5 M px): 1.6 M rows of 22 px would not fit. Past this height
 * the spacer stays this tall and the scroll position maps to a row by proportion instead of by pixels.
 */
const MAX_SPACER = 8_000_000;

/** The scroll geometry: the spacer's height, and the (fractional) row at the top of the view. */
function geometry(total: number): { height: number; top: number; exact: boolean } {
  const exact = total * ROW_HEIGHT <= MAX_SPACER;
  const height = exact ? total * ROW_HEIGHT : MAX_SPACER;
  if (exact) return { height, top: grid.scrollTop / ROW_HEIGHT, exact };
  const room = Math.max(1, height - grid.clientHeight);
  return { height, top: (Math.min(grid.scrollTop, room) / room) * Math.max(0, total - grid.clientHeight / ROW_HEIGHT), exact };
}

/** Scrolls so that `row` is the row at the top of the view. */
function scrollToRow(row: number, total: number): void {
  const g = geometry(total);
  if (g.exact) { grid.scrollTop = row * ROW_HEIGHT; return; }
  const room = Math.max(1, g.height - grid.clientHeight);
  grid.scrollTop = (row / Math.max(1, total - grid.clientHeight / ROW_HEIGHT)) * room;
}
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
/** The other end of a range selection (Shift+click, Shift+arrows), as a place in the grid; null: one row. */
let anchor: number | null = null;
type ViewKind = 'all' | 'matches' | 'problems' | 'length' | 'label';
/**
 * What the grid shows: every row in file order, or a list of rows (the search's matches, the rows with a problem,
 * a sort's order). Selection, labels and edits name rows of the file; the grid's places map to them through this.
 */
let view: { kind: Exclude<ViewKind, 'all'>; rows: number[] } | null = null;
/** For a sort's order: each row's place in it, built when first needed. */
let placeOf: Int32Array | null = null;
let sortId = 0;
let context: ReadingContext | null = null;
let inspection: DatasetInspection | null = null;
/** The agent's problems by the row they are shown at, in row order. */
let problems: RowProblem[] = [];
let problemRows: number[] = [];
/** The label set: the agent's labels by count, then those added here, in order; keys 1–9 pick from it. */
let labelSet: string[] = [];
const addedLabels: string[] = [];
let renderId = 0;
let renderTimer = 0;
/** The rows' version the page shows (datasetDocument.ts): pages read at another are dropped. */
let rowsVersion = 0;
/** The person typed in the line box since it was last filled from the row. */
let rowTextTyped = false;

const rowCount = () => state.rowCount ?? firstRows.length;
/** Places in the grid, and the row at a place. */
const placeCount = () => (view ? view.rows.length : rowCount());
const rowAtPlace = (d: number) => (view ? view.rows[d] : d);

/** A row's place in the grid, or -1 when the view leaves it out. */
function placeOfRow(row: number): number {
  if (!view) return row;
  if (view.kind === 'matches' || view.kind === 'problems') {
    const i = lowerBound(view.rows, row);
    return view.rows[i] === row ? i : -1;
  }
  if (!placeOf) {
    placeOf = new Int32Array(rowCount()).fill(-1);
    view.rows.forEach((r, d) => { if (r < placeOf!.length) placeOf![r] = d; });
  }
  return row < placeOf.length ? placeOf[row] : -1;
}

function setView(kind: ViewKind, rows: number[] | null): void {
  view = kind === 'all' || !rows ? null : { kind, rows };
  placeOf = null;
  anchor = null;
  showEl.value = view ? kind : 'all';
  document.body.dataset.view = showEl.value;
  viewInfo.textContent = view ? `${view.rows.length.toLocaleString('en-US')} of ${rowCount().toLocaleString('en-US')} rows` : '';
  grid.scrollTop = 0;
  if (selected !== null && placeOfRow(selected) >= 0) select(selected, true);
  else select(view && view.rows.length ? view.rows[0] : selected === null ? null : selected, true);
}

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
  const total = placeCount();
  const g = geometry(total);
  spacer.style.height = `${g.height}px`;
  const first = Math.max(0, Math.floor(g.top) - MARGIN);
  const last = Math.min(total, Math.ceil(g.top + grid.clientHeight / ROW_HEIGHT) + MARGIN);
  const rows: HTMLElement[] = [];
  const range = rangePlaces();
  for (let d = first; d < last; d++) {
    const r = rowAtPlace(d);
    const el = document.createElement('div');
    el.className = 'row';
    el.setAttribute('role', 'row');
    el.dataset.row = String(r);
    // Placed relative to the view's top row, so that the proportional mapping of a huge file keeps rows 22 px apart.
    el.style.top = `${grid.scrollTop + (d - g.top) * ROW_HEIGHT}px`;
    const inRange = !!range && d >= range[0] && d <= range[1];
    if (r === selected) el.classList.add('selected');
    else if (inRange) el.classList.add('in-range');
    el.setAttribute('aria-selected', String(r === selected || inRange));
    if (hits.length && hits[lowerBound(hits, r)] === r) el.classList.add('hit');
    const num = document.createElement('span');
    num.className = 'num';
    num.textContent = String(r + 1);
    const found = problemsOf(r);
    if (found.length) {
      const worst = found.some((p) => p.severity === 'error') ? 'error' : found.some((p) => p.severity === 'warning') ? 'warning' : 'info';
      el.classList.add(`problem-${worst}`);
      num.title = found.map((p) => `${p.code}: ${p.message}`).join('\n');
    }
    const text = document.createElement('span');
    text.className = 'text';
    const t = textOf(r);
    text.textContent = t === undefined ? '…' : t;
    if (t === undefined) el.classList.add('loading');
    el.append(num, text);
    const label = t === undefined ? undefined : labelOf(t);
    if (label !== undefined) {
      const chip = document.createElement('span');
      chip.className = 'label-chip';
      chip.textContent = label;
      el.append(chip);
    }
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

/** The range selection as places in the grid (first, last), or null for one row. */
function rangePlaces(): [number, number] | null {
  if (anchor === null || selected === null) return null;
  const at = placeOfRow(selected);
  return at < 0 ? null : [Math.min(anchor, at), Math.max(anchor, at)];
}

/** The rows a label acts on, ascending: the range's rows, or the selected row. */
function selectedRows(): number[] {
  if (selected === null) return [];
  const range = rangePlaces();
  if (!range) return [selected];
  const rows: number[] = [];
  for (let d = range[0]; d <= range[1]; d++) rows.push(rowAtPlace(d));
  return rows.sort((a, b) => a - b);
}

function problemsOf(row: number): RowProblem[] {
  const out: RowProblem[] = [];
  for (let i = lowerBound(problemRows, row); i < problems.length && problemRows[i] === row; i++) out.push(problems[i]);
  return out;
}

/** The row a line of the saved file is shown at (the agent's lines); the line itself before any edits moved it. */
function rowOfLine(line: number): number {
  const p = problems.find((q) => q.line === line);
  return p ? p.row : line - 1;
}

/** Selects a row of the file (extend: the range grows from where the selection was). */
function select(row: number | null, scroll = false, extend = false): void {
  const previous = selected;
  const previousPlace = previous === null ? -1 : placeOfRow(previous);
  if (extend && previousPlace >= 0) anchor = anchor ?? previousPlace;
  else anchor = null;
  selected = row === null ? null : Math.max(0, Math.min(rowCount() - 1, row));
  const place = selected === null ? -1 : placeOfRow(selected);
  if (anchor === place) anchor = null;
  if (previous !== selected) { negativePane.hidden = true; rowTextTyped = false; }
  if (place >= 0 && scroll) {
    const total = placeCount();
    const inView = geometry(total).top;
    const rows = grid.clientHeight / ROW_HEIGHT;
    if (place < inView || place > inView + rows - 1) scrollToRow(Math.max(0, Math.min(total - rows, place - rows / 3)), total);
  }
  const range = rangePlaces();
  selectionInfo.textContent = range ? `${(range[1] - range[0] + 1).toLocaleString('en-US')} rows selected` : '';
  if (previous !== selected) requestRender();
  showDetail();
  redraw();
}

let shownText: string | undefined;
let shownRow: number | null = null;

function showDetail(): void {
  const on = selected !== null && state.rowCount !== null && editable;
  for (const b of Object.values(buttons)) b.disabled = !on;
  rowText.disabled = !on;
  rowProblem.hidden = true;
  if (selected === null) {
    detailTitle.textContent = 'No row selected';
    pretty.textContent = '';
    formatted.replaceChildren();
    rowProblems.hidden = true;
    rowText.value = '';
    shownText = undefined;
    return;
  }
  detailTitle.textContent = `Row ${selected + 1}`;
  const t = textOf(selected);
  if (t === undefined) { pretty.textContent = '…'; return; }
  // The line box follows the row unless the person is typing in it: a focused box they have not changed still
  // follows (a field edited above, then Tab into the box, must not leave the old line there to be applied).
  if (document.activeElement !== rowText || !rowTextTyped) { rowText.value = t; rowTextTyped = false; }
  showProblems(selected, t);
  // The formatted view is rebuilt only when the row or its text changed: a redraw must not reset its scroll.
  if (t === shownText && selected === shownRow) return;
  shownText = t;
  shownRow = selected;
  // Fields committed before the row's new text comes back (Tab, type, Tab) build on each other, not on `t`.
  let base = t;
  showRow(formatted, viewRow(t, { paths: editable }), selected, editable ? {
    onEdit: (path, value) => {
      if (selected === null) return;
      try {
        const next = setField(base, path, value);
        if (next !== base) { base = next; edit({ kind: 'replace', row: selected, text: next }); }
      } catch (e) {
        rowProblem.hidden = false;
        rowProblem.textContent = e instanceof Error ? e.message : String(e);
      }
    },
  } : undefined);
  try {
    pretty.textContent = t.trim() ? JSON.stringify(JSON.parse(t), null, 2) : '(empty line)';
    pretty.classList.remove('not-json');
  } catch (e) {
    pretty.textContent = `not valid JSON: ${e instanceof Error ? e.message : String(e)}`;
    pretty.classList.add('not-json');
  }
}

/** The agent's problems on the row, each with its quick fixes (src/core/dataset/quickFixes.ts) as buttons. */
function showProblems(row: number, text: string): void {
  const found = problemsOf(row);
  rowProblems.hidden = found.length === 0;
  rowProblems.replaceChildren(...found.map((p) => {
    const el = document.createElement('div');
    el.className = `problem ${p.severity}`;
    const what = document.createElement('span');
    what.textContent = `${p.severity === 'error' ? 'Error' : p.severity === 'warning' ? 'Warning' : 'Note'} (${p.code}, line ${p.line}): ${p.message}`;
    el.append(what);
    if (editable) {
      for (const fix of fixesFor(p, text)) {
        const b = document.createElement('vscode-button') as Button;
        b.className = 'fix';
        b.setAttribute('appearance', 'secondary');
        b.textContent = fix.title;
        b.addEventListener('click', () => edit(fix.kind === 'delete' ? { kind: 'delete', row } : { kind: 'replace', row, text: fix.text }));
        el.append(b);
      }
    }
    return el;
  }));
}

/** Asks for the selected row's template view, once the selection rests. */
function requestRender(): void {
  window.clearTimeout(renderTimer);
  const id = ++renderId;
  if (selected === null) { templateBody.replaceChildren(); return; }
  if (!context?.model) {
    templateBody.textContent = 'No run config names this file with a model: open it from the config\'s Preview dataset to see the text after the chat template.';
    return;
  }
  templateBody.textContent = 'Rendering with the model\'s chat template…';
  const row = selected;
  renderTimer = window.setTimeout(() => post({ type: 'render', id, row }), 250);
}

function showTab(which: 'row' | 'stats'): void {
  rowPane.hidden = which !== 'row';
  statsPaneEl.hidden = which !== 'stats';
  $('tab-row').setAttribute('aria-selected', String(which === 'row'));
  $('tab-stats').setAttribute('aria-selected', String(which === 'stats'));
}

function showLabels(): void {
  const fromAgent = inspection ? Object.entries(inspection.labels).sort((a, b) => b[1] - a[1]).map(([l]) => l) : [];
  labelSet = [...fromAgent, ...addedLabels.filter((l) => !fromAgent.includes(l))];
  labelSetEl.replaceChildren(...labelSet.slice(0, 9).map((label, i) => {
    const b = document.createElement('button');
    b.className = 'label-key';
    b.dataset.key = String(i + 1);
    b.title = `Key ${i + 1}: label the selected rows "${label}"`;
    const key = document.createElement('kbd');
    key.textContent = String(i + 1);
    const name = document.createElement('span');
    name.textContent = label;
    b.append(key, name);
    b.addEventListener('click', () => labelSelection(label));
    return b;
  }));
  if (!labelSet.length) labelSetEl.textContent = inspection ? 'none yet: add one' : 'from the agent once it has read the file, or add one';
}

function labelSelection(label: string | null): void {
  const rows = selectedRows();
  if (!rows.length || !editable || state.rowCount === null) return;
  post({ type: 'label', rows, label });
}

/** Moves the selection by places of the grid (the view's order), from the selected row's place. */
function selectPlace(place: number, extend: boolean): void {
  const total = placeCount();
  if (!total) return;
  select(rowAtPlace(Math.max(0, Math.min(total - 1, place))), true, extend);
}

function currentPlace(): number {
  return selected === null ? -1 : placeOfRow(selected);
}

function notice(level: 'info' | 'error', text: string): void {
  noticeEl.hidden = false;
  noticeEl.textContent = text;
  noticeEl.className = `notice ${level}`;
}

function edit(e: RowEdit): void {
  post({ type: 'edit', edit: e });
}

buttons.apply.addEventListener('click', () => {
  if (selected === null) return;
  const text = rowText.value.replace(/\r?\n/g, ' ');
  // Applied: from now on the box follows the row again.
  rowTextTyped = false;
  edit({ kind: 'replace', row: selected, text });
});
buttons.duplicate.addEventListener('click', () => { if (selected !== null) edit({ kind: 'duplicate', row: selected }); });
buttons.insert.addEventListener('click', () => { if (selected !== null) edit({ kind: 'insert', row: selected + 1, text: '{}' }); });
buttons.delete.addEventListener('click', () => { if (selected !== null) edit({ kind: 'delete', row: selected }); });
rowText.addEventListener('input', () => { rowTextTyped = true; });
rowText.addEventListener('keydown', (e) => {
  // Enter applies (a row is one line); Escape puts the row's text back.
  if (e.key === 'Enter' && !e.shiftKey) { e.preventDefault(); buttons.apply.click(); }
  if (e.key === 'Escape' && selected !== null) { rowText.value = textOf(selected) ?? rowText.value; rowTextTyped = false; }
});

grid.addEventListener('scroll', redraw);
window.addEventListener('resize', redraw);
grid.addEventListener('click', (e) => {
  const row = (e.target as HTMLElement).closest<HTMLElement>('.row');
  if (row) select(Number(row.dataset.row), false, e.shiftKey);
});
grid.addEventListener('keydown', (e) => {
  const visible = Math.max(1, Math.floor(grid.clientHeight / ROW_HEIGHT) - 1);
  const moves: Record<string, number> = { ArrowDown: 1, ArrowUp: -1, PageDown: visible, PageUp: -visible };
  if (e.key in moves) { e.preventDefault(); selectPlace(currentPlace() + moves[e.key], e.shiftKey); }
  else if (e.key === 'Home' && e.ctrlKey) { e.preventDefault(); selectPlace(0, e.shiftKey); }
  else if (e.key === 'End' && e.ctrlKey) { e.preventDefault(); selectPlace(placeCount() - 1, e.shiftKey); }
  else if (e.key === 'Enter' && selected !== null) { e.preventDefault(); rowText.focus(); }
  else if (e.key === 'Escape' && anchor !== null) { e.preventDefault(); select(selected); }
  else if (/^[0-9]$/.test(e.key) && !e.ctrlKey && !e.metaKey && !e.altKey) {
    // 1–9: the label set's label; 0: no label.
    const n = Number(e.key);
    if (n === 0) { e.preventDefault(); labelSelection(null); }
    else if (labelSet[n - 1] !== undefined) { e.preventDefault(); labelSelection(labelSet[n - 1]); }
  }
});
newLabelEl.addEventListener('keydown', (e) => {
  if (e.key !== 'Enter') return;
  const label = newLabelEl.value.trim();
  if (!label) return;
  if (!addedLabels.includes(label)) addedLabels.push(label);
  newLabelEl.value = '';
  showLabels();
  grid.focus();
});
rawToggle.addEventListener('change', () => { pretty.hidden = !rawToggle.checked; formatted.hidden = rawToggle.checked; });
$('tab-row').addEventListener('click', () => showTab('row'));
$('tab-stats').addEventListener('click', () => showTab('stats'));
buttons.negative.addEventListener('click', () => {
  if (selected === null) return;
  const t = textOf(selected);
  const pa = t === undefined ? { error: 'the row is still loading' } : promptAndAnswer(viewRow(t));
  if ('error' in pa) { notice('error', `Make a negative: ${pa.error}`); return; }
  negativeText.value = pa.answer;
  negativePane.hidden = false;
  negativeText.focus();
});
$('negative-save').addEventListener('click', () => {
  if (selected === null) return;
  post({ type: 'negative', row: selected, rejected: negativeText.value, target: negativeTarget.value === 'file' ? 'file' : 'pairs' });
  negativePane.hidden = true;
});
$('negative-cancel').addEventListener('click', () => { negativePane.hidden = true; });
const tool = (name: ToolName) => () => {
  const rows = selectedRows();
  const range = rows.length > 1 && rows[rows.length - 1] - rows[0] === rows.length - 1 ? { from: rows[0], to: rows[rows.length - 1] } : null;
  // A range runs the tool on those rows; one row or none, on the whole file.
  post({ type: 'tool', tool: name, from: range && range.to > range.from ? range.from : null, to: range && range.to > range.from ? range.to : null });
};
$('tool-synonyms').addEventListener('click', tool('synonyms'));
$('tool-perturb').addEventListener('click', tool('perturb'));
$('tool-iob').addEventListener('click', tool('iob'));
gotoEl.addEventListener('keydown', (e) => {
  if (e.key !== 'Enter') return;
  const n = Number(gotoEl.value);
  if (Number.isInteger(n) && n >= 1) { select(n - 1, true); grid.focus(); }
});

function searchFor(text: string): { pattern: string; regex: boolean; caseSensitive: boolean } {
  const mode = searchMode.value as SearchMode;
  return mode === 'text' ? { pattern: text, regex: regexEl.checked, caseSensitive: caseEl.checked } : fieldSearch(mode, text);
}

function startSearch(): void {
  post({ type: 'cancelSearch', id: searchId });
  searchId = nextId++;
  hits = [];
  hitAt = -1;
  const text = searchEl.value;
  hitsEl.textContent = text ? 'searching…' : '';
  if (text) post({ type: 'search', id: searchId, ...searchFor(text) });
  // A field filter shows only its rows, as they are found.
  if (text && searchMode.value !== 'text') setView('matches', hits);
  else if (view?.kind === 'matches') setView('matches', hits);
  redraw();
}

searchMode.addEventListener('change', () => {
  regexEl.disabled = caseEl.disabled = searchMode.value !== 'text';
  searchEl.placeholder = searchMode.value === 'text' ? 'Search (Enter)' : searchMode.value === 'field' ? 'Key name (Enter)' : 'Value (Enter)';
});

showEl.addEventListener('change', () => {
  const kind = showEl.value as ViewKind;
  if (kind === 'all') setView('all', null);
  else if (kind === 'matches') setView('matches', hits);
  else if (kind === 'problems') setView('problems', [...new Set(problemRows)]);
  else {
    sortId = nextId++;
    viewInfo.textContent = 'sorting…';
    post({ type: 'sort', id: sortId, by: kind });
  }
  grid.focus();
});

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
      // An answer to a request made before this is about rows that may have moved: its id is forgotten.
      requests.clear();
      rowsVersion = m.version;
      context = m.context;
      $('context').textContent = context ? `read for ${context.config}${context.model ? ` · ${context.model}` : ''}${context.maxLength ? ` · max_length ${context.maxLength}` : ''}` : 'no run config names this file';
      $('readonly').hidden = !m.readOnly;
      $('readonly').textContent = m.readOnly ?? '';
      $('annotate-bar').hidden = !m.editable;
      requestRender();
      break;
    case 'inspection': {
      inspection = m.result;
      problems = m.problems;
      problemRows = problems.map((p) => p.row);
      if (view?.kind === 'problems') { view.rows = [...new Set(problemRows)]; placeOf = null; }
      inspectState.textContent = m.state === 'running' ? `agent reading${m.progress && m.progress.total ? ` ${Math.round((100 * m.progress.done) / m.progress.total)}%` : '…'}`
        : m.state === 'done' && inspection ? `${inspection.bad_rows.toLocaleString('en-US')} bad of ${inspection.rows.toLocaleString('en-US')} · ${problems.length.toLocaleString('en-US')} problems` : m.state === 'error' ? 'agent error' : '';
      document.body.dataset.inspection = m.state;
      inspectNow.hidden = m.state === 'running' || m.state === 'unavailable';
      inspectNow.textContent = m.state === 'idle' ? 'Read with the agent' : 'Read again';
      if (m.state === 'done' && inspection) stats.show(inspection, { model: context?.model ?? null, maxLength: context?.maxLength ?? null });
      else if (m.state === 'idle') { stats.showNote(m.message ?? 'Not read yet.'); inspectState.textContent = 'not read yet'; }
      else if (m.state === 'running') stats.showLoading(m.message ?? 'The agent is reading the file…', m.progress ?? undefined);
      else stats.showError(m.message ?? 'No stats');
      showLabels();
      break;
    }
    case 'render':
      if (m.id !== renderId) return;
      if (m.error) templateBody.textContent = m.error;
      else if (m.result) templateBody.replaceChildren(renderTokens(m.result.sequences, m.result.max_length));
      document.body.dataset.rendered = String(m.id);
      return;
    case 'notice':
      notice(m.level, m.text);
      return;
    case 'state': {
      const before = state.rowCount;
      state = m.state;
      rowsVersion = m.version;
      if (m.changed) { pages = new Map(); pending.clear(); requests.clear(); }
      // A sort's order names every row once: rows added or removed make it wrong, so the grid goes back to file order.
      if ((view?.kind === 'length' || view?.kind === 'label') && state.rowCount !== before) {
        setView('all', null);
        notice('info', 'Rows were added or removed: the grid is back in file order. Sort again to see the new order.');
      }
      break;
    }
    case 'rowsResult': {
      const page = requests.get(m.id);
      requests.delete(m.id);
      if (page === undefined || !pending.delete(page)) return; // an answer about rows that have moved since
      // Read before the rows last changed: asked again when next drawn.
      if (m.version !== rowsVersion) { redraw(); return; }
      pages.set(page, m.texts);
      if (selected !== null && Math.floor(selected / PAGE) === page) showDetail();
      break;
    }
    case 'order':
      if (m.id !== sortId) return;
      if (m.error || !m.rows) { notice('error', `Sort: ${m.error ?? 'no order'}`); setView('all', null); return; }
      noticeEl.hidden = true;
      setView(showEl.value === 'label' ? 'label' : 'length', m.rows);
      return;
    case 'hits':
      if (m.id !== searchId) return;
      hits = [...hits, ...m.rows].sort((a, b) => a - b);
      if (view?.kind === 'matches') { view.rows = hits; viewInfo.textContent = `${hits.length.toLocaleString('en-US')} of ${rowCount().toLocaleString('en-US')} rows`; }
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
