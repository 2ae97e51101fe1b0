// Messages between the dataset editor's host (a CustomEditorProvider) and its webview, and their validators.
// Flow: webview -> `ready`; host -> `init` (file name, the first rows read before any index, the index state);
// host -> `state` as the index builds and after every edit, undo, redo, save or revert; the page asks for the
// rows it shows (`rows` by request id) and gets them back (`rowsResult`). Search streams `hits` for its id, then
// `searchDone`. Each side drops what does not validate.
import { hasKeys, isObj, readyOrError } from '../../src/core/protocol/shapes';

export interface IndexState {
  rowCount: number | null;
  done: number;
  total: number;
  error: string | null;
}

export type HostMessage =
  | { type: 'init'; fileName: string; firstRows: string[]; state: IndexState; dirty: boolean; editable: boolean }
  | { type: 'state'; state: IndexState; dirty: boolean; /** Rows may have moved: cached pages are stale. */ changed: boolean }
  | { type: 'rowsResult'; id: number; start: number; texts: string[] }
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
  | { type: 'cancelSearch'; id: number };

/** One row's text: a line of the file. Far above a real row, low enough that a page cannot flood the host. */
export const MAX_ROW_TEXT = 10_000_000;
export const MAX_PAGE = 1000;
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
    default:
      return undefined;
  }
}

const isState = (v: unknown): v is IndexState => isObj(v) && hasKeys(v, 'rowCount', 'done', 'total', 'error')
  && (v.rowCount === null || isCount(v.rowCount)) && isCount(v.done) && isCount(v.total) && (v.error === null || typeof v.error === 'string');
const isTexts = (v: unknown): v is string[] => Array.isArray(v) && v.length <= MAX_PAGE && v.every((t) => typeof t === 'string');

export function parseHostMessage(v: unknown): HostMessage | undefined {
  if (!isObj(v)) return undefined;
  switch (v.type) {
    case 'init':
      return hasKeys(v, 'type', 'fileName', 'firstRows', 'state', 'dirty', 'editable') && typeof v.fileName === 'string' && isTexts(v.firstRows)
        && isState(v.state) && typeof v.dirty === 'boolean' && typeof v.editable === 'boolean'
        ? { type: 'init', fileName: v.fileName, firstRows: v.firstRows, state: v.state, dirty: v.dirty, editable: v.editable } : undefined;
    case 'state':
      return hasKeys(v, 'type', 'state', 'dirty', 'changed') && isState(v.state) && typeof v.dirty === 'boolean' && typeof v.changed === 'boolean'
        ? { type: 'state', state: v.state, dirty: v.dirty, changed: v.changed } : undefined;
    case 'rowsResult':
      return hasKeys(v, 'type', 'id', 'start', 'texts') && isCount(v.id) && isCount(v.start) && isTexts(v.texts)
        ? { type: 'rowsResult', id: v.id, start: v.start, texts: v.texts } : undefined;
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
