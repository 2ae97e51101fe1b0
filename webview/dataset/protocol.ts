// Messages between the dataset editor's host (a CustomEditorProvider) and its webview, and their validators.
// Flow: webview -> `ready`; host -> `init` (file name, the first rows read before any index, the index state);
// host -> `state` as the index builds and after every edit, undo, redo, save or revert; the page asks for the
// rows it shows (`rows` by request id) and gets them back (`rowsResult`). Search streams `hits` for its id, then
// `searchDone`. The agent's reading of the file arrives as `inspection` (progress, then the stats and the rows'
// problems); the template view of a row as `render` for its id. Each side drops what does not validate.
import { hasKeys, isObj, readyOrError } from '../../src/core/protocol/shapes';
import type { DatasetInspection } from '../../src/core/protocol/messages';
import { parseInspection } from './statsProtocol';

export interface IndexState {
  rowCount: number | null;
  done: number;
  total: number;
  error: string | null;
}

/** The run config the file is read for: its model's tokenizer and template, and its max_length. */
export interface ReadingContext { config: string; model: string | null; maxLength: number | null }

/** One of the agent's diagnostics, on the row it is now shown at. */
export interface RowProblem { row: number; line: number; severity: 'error' | 'warning' | 'info'; code: string; message: string }

/** `idle`: not read yet (a file too big to read unasked); the page offers to. */
export type InspectionState = 'idle' | 'running' | 'done' | 'error' | 'unavailable';

export interface RenderedView {
  sequences: Array<{ name: string; tokens: Array<{ text: string; trained: boolean }>; length: number; trained_tokens: number }>;
  max_length: number | null;
  over_length: boolean;
}

export type ToolName = 'synonyms' | 'perturb' | 'iob';
export type SortKey = 'length' | 'label';

export type HostMessage =
  | { type: 'init'; fileName: string; firstRows: string[]; state: IndexState; dirty: boolean; editable: boolean; readOnly: string | null; context: ReadingContext | null; version: number }
  | { type: 'inspection'; state: InspectionState; message: string | null; progress: { done: number; total: number } | null; result: DatasetInspection | null; problems: RowProblem[] }
  | { type: 'render'; id: number; result: RenderedView | null; error: string | null }
  | { type: 'notice'; level: 'info' | 'error'; text: string }
  /** A sort's order of the rows (every row once), or why there is none. */
  | { type: 'order'; id: number; rows: number[] | null; error: string | null }
  /** `version`: the rows' version (datasetDocument.ts); a page read at another one is stale. */
  | { type: 'state'; state: IndexState; dirty: boolean; /** Rows may have moved: cached pages are stale. */ changed: boolean; version: number }
  | { type: 'rowsResult'; id: number; start: number; version: number; texts: string[] }
  | { type: 'hits'; id: number; rows: number[] }
  | { type: 'searchDone'; id: number; total: number; error: string | null };

export type RowEdit =
  | { kind: 'replace'; row: number; text: string }
  | { kind: 'delete'; row: number }
  | { kind: 'insert'; row: number; text: string }
  | { kind: 'duplicate'; row: number };

export type WebviewMessage =
  | { type: 'ready' }
  | { type: 'error'; message: string }
  | { type: 'rows'; id: number; start: number; count: number }
  | { type: 'edit'; edit: RowEdit }
  | { type: 'search'; id: number; pattern: string; regex: boolean; caseSensitive: boolean }
  | { type: 'cancelSearch'; id: number }
  /** Sets (null: removes) the label of these rows (ascending): one undo step. */
  | { type: 'label'; rows: number[]; label: string | null }
  /** The rows in an order: longest first, or grouped by label (rows without one last); answered by `order`. */
  | { type: 'sort'; id: number; by: SortKey }
  | { type: 'render'; id: number; row: number }
  /** Make a negative: `rejected` is the person's edited copy of the row's answer. */
  | { type: 'negative'; row: number; rejected: string; target: 'file' | 'pairs' }
  | { type: 'inspect' }
  | { type: 'tool'; tool: ToolName; from: number | null; to: number | null };

/** One row's text: a line of the file. Far above a real row, low enough that a page cannot flood the host. */
export const MAX_ROW_TEXT = 10_000_000;
export const MAX_PAGE = 1000;
/** Rows one label message may change: a bulk label is one undo step held in memory. */
export const MAX_LABEL_ROWS = 100_000;
const MAX_PROBLEMS = 10_000;
/** Rows a sort orders: far above the 1.6 M rows of a 1 GB file. */
const MAX_ORDER = 50_000_000;
const MAX_TOKENS = 200_000;
const isCount = (v: unknown, max = Number.MAX_SAFE_INTEGER): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= max;
const isRowText = (v: unknown): v is string => typeof v === 'string' && v.length <= MAX_ROW_TEXT && !/[\r\n]/.test(v);

function parseEdit(v: unknown): RowEdit | undefined {
  if (!isObj(v) || !isCount(v.row)) return undefined;
  switch (v.kind) {
    case 'replace':
    case 'insert':
      return hasKeys(v, 'kind', 'row', 'text') && isRowText(v.text) ? { kind: v.kind, row: v.row, text: v.text } : undefined;
    case 'delete':
    case 'duplicate':
      return hasKeys(v, 'kind', 'row') ? { kind: v.kind, row: v.row } : undefined;
    default:
      return undefined;
  }
}

export function parseWebviewMessage(v: unknown): WebviewMessage | undefined {
  if (!isObj(v)) return undefined;
  switch (v.type) {
    case 'ready':
    case 'error':
      return readyOrError(v);
    case 'rows':
      return hasKeys(v, 'type', 'id', 'start', 'count') && isCount(v.id) && isCount(v.start) && isCount(v.count, MAX_PAGE)
        ? { type: 'rows', id: v.id, start: v.start, count: v.count } : undefined;
    case 'edit': {
      const edit = hasKeys(v, 'type', 'edit') ? parseEdit(v.edit) : undefined;
      return edit ? { type: 'edit', edit } : undefined;
    }
    case 'search':
      return hasKeys(v, 'type', 'id', 'pattern', 'regex', 'caseSensitive') && isCount(v.id) && typeof v.pattern === 'string' && v.pattern.length <= 1000
        && typeof v.regex === 'boolean' && typeof v.caseSensitive === 'boolean'
        ? { type: 'search', id: v.id, pattern: v.pattern, regex: v.regex, caseSensitive: v.caseSensitive } : undefined;
    case 'cancelSearch':
      return hasKeys(v, 'type', 'id') && isCount(v.id) ? { type: 'cancelSearch', id: v.id } : undefined;
    case 'label':
      return hasKeys(v, 'type', 'rows', 'label') && Array.isArray(v.rows) && v.rows.length > 0 && v.rows.length <= MAX_LABEL_ROWS
        && v.rows.every((r, i, all) => isCount(r) && (i === 0 || r > (all[i - 1] as number)))
        && (v.label === null || (typeof v.label === 'string' && v.label.length > 0 && v.label.length <= 200 && !/[\r\n]/.test(v.label)))
        ? { type: 'label', rows: v.rows as number[], label: v.label } : undefined;
    case 'sort':
      return hasKeys(v, 'type', 'id', 'by') && isCount(v.id) && (v.by === 'length' || v.by === 'label') ? { type: 'sort', id: v.id, by: v.by } : undefined;
    case 'render':
      return hasKeys(v, 'type', 'id', 'row') && isCount(v.id) && isCount(v.row) ? { type: 'render', id: v.id, row: v.row } : undefined;
    case 'negative':
      return hasKeys(v, 'type', 'row', 'rejected', 'target') && isCount(v.row) && typeof v.rejected === 'string' && v.rejected.length <= MAX_ROW_TEXT
        && (v.target === 'file' || v.target === 'pairs') ? { type: 'negative', row: v.row, rejected: v.rejected, target: v.target } : undefined;
    case 'inspect':
      return hasKeys(v, 'type') ? { type: 'inspect' } : undefined;
    case 'tool':
      return hasKeys(v, 'type', 'tool', 'from', 'to') && (v.tool === 'synonyms' || v.tool === 'perturb' || v.tool === 'iob')
        && (v.from === null || isCount(v.from)) && (v.to === null || isCount(v.to)) && (v.from === null) === (v.to === null)
        ? { type: 'tool', tool: v.tool, from: v.from as number | null, to: v.to as number | null } : undefined;
    default:
      return undefined;
  }
}

const isState = (v: unknown): v is IndexState => isObj(v) && hasKeys(v, 'rowCount', 'done', 'total', 'error')
  && (v.rowCount === null || isCount(v.rowCount)) && isCount(v.done) && isCount(v.total) && (v.error === null || typeof v.error === 'string');
const isTexts = (v: unknown): v is string[] => Array.isArray(v) && v.length <= MAX_PAGE && v.every((t) => typeof t === 'string');

const isSeverity = (v: unknown): v is RowProblem['severity'] => v === 'error' || v === 'warning' || v === 'info';
const isContext = (v: unknown): v is ReadingContext => isObj(v) && hasKeys(v, 'config', 'model', 'maxLength') && typeof v.config === 'string'
  && (v.model === null || typeof v.model === 'string') && (v.maxLength === null || isCount(v.maxLength));
const isProblem = (v: unknown): v is RowProblem => isObj(v) && hasKeys(v, 'row', 'line', 'severity', 'code', 'message') && isCount(v.row) && isCount(v.line)
  && isSeverity(v.severity) && typeof v.code === 'string' && typeof v.message === 'string';
const isRendered = (v: unknown): v is RenderedView => isObj(v) && hasKeys(v, 'sequences', 'max_length', 'over_length') && Array.isArray(v.sequences)
  && v.sequences.length <= 4 && (v.max_length === null || isCount(v.max_length)) && typeof v.over_length === 'boolean'
  && v.sequences.every((q) => isObj(q) && typeof q.name === 'string' && isCount(q.length) && isCount(q.trained_tokens) && Array.isArray(q.tokens)
    && q.tokens.length <= MAX_TOKENS && q.tokens.every((t) => isObj(t) && typeof t.text === 'string' && typeof t.trained === 'boolean'));

/** The render view keeps of a token only what it draws. */
function renderedOf(v: RenderedView): RenderedView {
  return {
    sequences: v.sequences.map((q) => ({ name: q.name, length: q.length, trained_tokens: q.trained_tokens, tokens: q.tokens.map((t) => ({ text: t.text, trained: t.trained })) })),
    max_length: v.max_length, over_length: v.over_length,
  };
}

export function parseHostMessage(v: unknown): HostMessage | undefined {
  if (!isObj(v)) return undefined;
  switch (v.type) {
    case 'init':
      return hasKeys(v, 'type', 'fileName', 'firstRows', 'state', 'dirty', 'editable', 'readOnly', 'context', 'version') && typeof v.fileName === 'string' && isTexts(v.firstRows)
        && isState(v.state) && typeof v.dirty === 'boolean' && typeof v.editable === 'boolean' && (v.readOnly === null || typeof v.readOnly === 'string')
        && (v.context === null || isContext(v.context)) && isCount(v.version)
        ? { type: 'init', fileName: v.fileName, firstRows: v.firstRows, state: v.state, dirty: v.dirty, editable: v.editable, readOnly: v.readOnly, context: v.context, version: v.version } : undefined;
    case 'inspection': {
      if (!hasKeys(v, 'type', 'state', 'message', 'progress', 'result', 'problems')) return undefined;
      const result = v.result === null ? null : parseInspection(v.result);
      const progress = v.progress;
      const okProgress = progress === null || (isObj(progress) && hasKeys(progress, 'done', 'total') && isCount(progress.done) && isCount(progress.total));
      return (v.state === 'idle' || v.state === 'running' || v.state === 'done' || v.state === 'error' || v.state === 'unavailable') && (v.message === null || typeof v.message === 'string')
        && okProgress && result !== undefined && Array.isArray(v.problems) && v.problems.length <= MAX_PROBLEMS && v.problems.every(isProblem)
        ? { type: 'inspection', state: v.state, message: v.message, progress: progress as { done: number; total: number } | null, result, problems: v.problems } : undefined;
    }
    case 'render':
      return hasKeys(v, 'type', 'id', 'result', 'error') && isCount(v.id) && (v.result === null || isRendered(v.result)) && (v.error === null || typeof v.error === 'string')
        ? { type: 'render', id: v.id, result: v.result === null ? null : renderedOf(v.result), error: v.error } : undefined;
    case 'order':
      return hasKeys(v, 'type', 'id', 'rows', 'error') && isCount(v.id) && (v.error === null || typeof v.error === 'string')
        && (v.rows === null || (Array.isArray(v.rows) && v.rows.length <= MAX_ORDER && v.rows.every((r) => isCount(r))))
        ? { type: 'order', id: v.id, rows: v.rows as number[] | null, error: v.error } : undefined;
    case 'notice':
      return hasKeys(v, 'type', 'level', 'text') && (v.level === 'info' || v.level === 'error') && typeof v.text === 'string'
        ? { type: 'notice', level: v.level, text: v.text } : undefined;
    case 'state':
      return hasKeys(v, 'type', 'state', 'dirty', 'changed', 'version') && isState(v.state) && typeof v.dirty === 'boolean' && typeof v.changed === 'boolean' && isCount(v.version)
        ? { type: 'state', state: v.state, dirty: v.dirty, changed: v.changed, version: v.version } : undefined;
    case 'rowsResult':
      return hasKeys(v, 'type', 'id', 'start', 'version', 'texts') && isCount(v.id) && isCount(v.start) && isCount(v.version) && isTexts(v.texts)
        ? { type: 'rowsResult', id: v.id, start: v.start, version: v.version, texts: v.texts } : undefined;
    case 'hits':
      return hasKeys(v, 'type', 'id', 'rows') && isCount(v.id) && Array.isArray(v.rows) && v.rows.length <= 100_000 && v.rows.every((r) => isCount(r))
        ? { type: 'hits', id: v.id, rows: v.rows } : undefined;
    case 'searchDone':
      return hasKeys(v, 'type', 'id', 'total', 'error') && isCount(v.id) && isCount(v.total) && (v.error === null || typeof v.error === 'string')
        ? { type: 'searchDone', id: v.id, total: v.total, error: v.error } : undefined;
    default:
      return undefined;
  }
}
