// The dataset editor: a CustomEditorProvider for dataset files of any size (Open With… Tunelab Dataset; the text
// editor stays the default). The document (datasetDocument.ts) holds the rows and the edits, the inspector
// (datasetInspector.ts) what the agent makes of the file; this wires each panel to them: pages of rows on
// request, edits and labels into VS Code's undo stack, a search in a worker that streams its hits, a row's
// template view (render_sample), Make a negative, and the data tools (datasetTools.ts).
import { basename, dirname, extname, join } from 'node:path';
import * as vscode from 'vscode';
import { searchInWorker } from '../../core/dataset/indexInWorker';
import { readingOptions } from '../../core/dataset/configContext';
import { setLabels } from '../../core/dataset/labelEdit';
import { orderByLabel, orderByLength, quickLabel } from '../../core/dataset/rowOrder';
import { promptAndAnswer, viewRow } from '../../core/dataset/rowView';
import { parseWebviewMessage, type HostMessage, type RenderedView, type RowEdit, type SortKey, type WebviewMessage } from '../../../webview/dataset/protocol';
import { message, type AgentConnection } from '../agentConnection';
import { appendDatasetRow } from '../appendDatasetRow';
import { makeNonce, webviewShell } from '../webviewShell';
import { DatasetDocument, type RowOp } from './datasetDocument';
import type { DatasetContexts } from './datasetContexts';
import { DatasetInspector } from './datasetInspector';
import type { DatasetProblems } from './datasetProblems';
import { runDatasetTool } from './datasetTools';

export const DATASET_VIEW_TYPE = 'tunelab.datasetEditor';

export interface DatasetEditorDeps {
  connection: AgentConnection;
  contexts: DatasetContexts;
  problems: DatasetProblems;
  log: vscode.LogOutputChannel;
}

const PAGE = 1000;
const RENDER_TIMEOUT_MS = 300_000;

export class DatasetEditorProvider implements vscode.CustomEditorProvider<DatasetDocument> {
  private readonly edits = new vscode.EventEmitter<vscode.CustomDocumentEditEvent<DatasetDocument>>();
  readonly onDidChangeCustomDocument = this.edits.event;
  private readonly inspectors = new Map<DatasetDocument, DatasetInspector>();
  private readonly log: vscode.LogOutputChannel;

  constructor(private readonly extensionUri: vscode.Uri, private readonly deps: DatasetEditorDeps) {
    this.log = deps.log;
  }

  private worker(name: 'datasetIndex' | 'datasetSearch'): string {
    return vscode.Uri.joinPath(this.extensionUri, 'dist', 'workers', `${name}.js`).fsPath;
  }

  async openCustomDocument(uri: vscode.Uri, context: vscode.CustomDocumentOpenContext): Promise<DatasetDocument> {
    if (uri.scheme !== 'file') throw new Error(`Tunelab's dataset editor reads files on this machine's disk; ${uri.toString()} is not one`);
    this.log.info(`dataset editor: reading ${uri.fsPath}${context.backupId ? ' with its unsaved edits' : ''}`);
    const doc = await DatasetDocument.open(uri, context.backupId, this.worker('datasetIndex'), this.log);
    doc.onDidEdit((e) => this.edits.fire(e));
    const inspector = new DatasetInspector(doc, await this.deps.contexts.contextOf(uri), this.deps.connection, this.deps.problems, this.log);
    this.inspectors.set(doc, inspector);
    doc.owned.push(inspector, { dispose: () => this.inspectors.delete(doc) });
    inspector.start();
    return doc;
  }

  resolveCustomEditor(doc: DatasetDocument, panel: vscode.WebviewPanel): void {
    const webview = panel.webview;
    webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.extensionUri, 'dist'), vscode.Uri.joinPath(this.extensionUri, 'media')],
    };
    const asUri = (...p: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, ...p)).toString();
    webview.html = webviewShell({
      cspSource: webview.cspSource, scriptUri: asUri('dist', 'webview', 'dataset.js'), styleUri: asUri('media', 'dataset.css'),
      scriptNonce: makeNonce(), styleNonce: makeNonce(), title: `Dataset: ${basename(doc.uri.fsPath)}`,
    }, DATASET_BODY);
    let ready = false;
    const post = (m: HostMessage) => { if (ready) void webview.postMessage(m); };
    const searches = new Map<number, AbortController>();
    const inspector = this.inspectors.get(doc)!;
    const postInspection = () => post({
      type: 'inspection', state: inspector.state, message: inspector.message, progress: inspector.progress, result: inspector.result, problems: inspector.rowProblems(),
    });
    const subscriptions = [
      doc.onDidChange(() => { post({ type: 'state', state: doc.state, dirty: doc.isDirty, changed: true, version: doc.version }); postInspection(); }),
      inspector.onDidChange(postInspection),
      panel.onDidChangeViewState(() => { if (!panel.visible) ready = false; }),
      webview.onDidReceiveMessage(async (raw: unknown) => {
        const m = parseWebviewMessage(raw);
        if (!m) {
          this.log.warn(`dataset editor: ignored an invalid message from the webview: ${JSON.stringify(raw)?.slice(0, 200)}`);
          return;
        }
        try {
          if (m.type === 'ready') {
            ready = true;
            const editable = doc.editable && vscode.workspace.fs.isWritableFileSystem(doc.uri.scheme) !== false;
            const c = inspector.context;
            post({
              type: 'init', fileName: basename(doc.uri.fsPath), firstRows: doc.firstRows, state: doc.state, dirty: doc.isDirty, editable, readOnly: doc.readOnlyReason, version: doc.version,
              context: c ? { config: vscode.workspace.asRelativePath(c.configPath), model: c.modelName, maxLength: c.maxLength } : null,
            });
            postInspection();
          } else await this.handle(m, doc, inspector, post, searches);
        } catch (e) {
          const text = e instanceof Error ? e.message : String(e);
          this.log.error(`dataset editor (${basename(doc.uri.fsPath)}): ${m.type}: ${text}`);
          if (m.type === 'edit' || m.type === 'label') void vscode.window.showErrorMessage(`Tunelab: the edit was not made: ${text}`);
          else if (m.type === 'sort') post({ type: 'order', id: m.id, rows: null, error: text });
          else if (m.type === 'render') post({ type: 'render', id: m.id, result: null, error: text });
          else if (m.type === 'negative' || m.type === 'tool') post({ type: 'notice', level: 'error', text });
        }
      }),
    ];
    panel.onDidDispose(() => {
      subscriptions.forEach((sub) => sub.dispose());
      for (const c of searches.values()) c.abort();
    });
  }

  private async handle(m: WebviewMessage, doc: DatasetDocument, inspector: DatasetInspector, post: (m: HostMessage) => void, searches: Map<number, AbortController>): Promise<void> {
    switch (m.type) {
      case 'inspect':
        return inspector.inspect(true);
      case 'label':
        return this.label(doc, m.rows, m.label);
      case 'sort':
        return post({ type: 'order', id: m.id, ...(await this.sort(doc, m.by, post)) });
      case 'render':
        return post({ type: 'render', id: m.id, result: await this.render(doc, inspector, m.row), error: null });
      case 'negative':
        return post({ type: 'notice', level: 'info', text: await this.negative(doc, inspector, m.row, m.rejected, m.target) });
      case 'tool': {
        const text = await runDatasetTool(m.tool, m.from === null ? null : { from: m.from, to: m.to! }, doc, inspector, this.log);
        if (text) post({ type: 'notice', level: 'info', text });
        return;
      }
      case 'error':
        return this.log.error(`dataset editor page: ${m.message}`);
      case 'rows': {
        const version = doc.version;
        return post({ type: 'rowsResult', id: m.id, start: m.start, version, texts: await doc.rows(m.start, m.count) });
      }
      case 'edit': {
        const [op, label] = await editOp(m.edit, doc);
        return doc.edit([op], label);
      }
      case 'cancelSearch':
        searches.get(m.id)?.abort();
        return;
      case 'search': {
        for (const c of searches.values()) c.abort();
        const controller = new AbortController();
        searches.set(m.id, controller);
        try {
          // The search reads the file as saved; its line numbers are placed on the rows shown (edits included).
          const total = await searchInWorker(doc.uri.fsPath, this.worker('datasetSearch'), {
            pattern: m.pattern, regex: m.regex, caseSensitive: m.caseSensitive, signal: controller.signal,
            onHits: (lines) => post({ type: 'hits', id: m.id, rows: doc.rowsOfLines(lines) }),
          });
          post({ type: 'searchDone', id: m.id, total, error: null });
        } catch (e) {
          if (!controller.signal.aborted) post({ type: 'searchDone', id: m.id, total: 0, error: e instanceof Error ? e.message : String(e) });
        } finally {
          searches.delete(m.id);
        }
        return;
      }
      default:
        return;
    }
  }

  /** Labels rows (one undo step); rows that already carry the label are left as they are. */
  private async label(doc: DatasetDocument, rows: number[], label: string | null): Promise<void> {
    const ops: RowOp[] = [];
    // Runs of consecutive rows are read a page at a time.
    for (let i = 0; i < rows.length;) {
      let end = i + 1;
      while (end < rows.length && end - i < PAGE && rows[end] === rows[end - 1] + 1) end++;
      const start = rows[i];
      const texts = await doc.rows(start, end - i);
      let labelled: string[];
      try {
        labelled = setLabels(texts, label);
      } catch (e) {
        throw new Error(`${message(e)} (rows ${start + 1}–${start + texts.length})`);
      }
      labelled.forEach((text, k) => { if (text !== texts[k]) ops.push({ op: 'replace', row: start + k, text }); });
      i = end;
    }
    const what = rows.length === 1 ? `row ${rows[0] + 1}` : rows[rows.length - 1] - rows[0] === rows.length - 1 ? `rows ${rows[0] + 1}–${rows[rows.length - 1] + 1}` : `${rows.length} rows`;
    await doc.edit(ops, label === null ? `Remove the label of ${what}` : `Label ${what} "${label}"`);
  }

  /** The rows in a sort's order; by label reads every row (a page at a time, with progress on the page). */
  private async sort(doc: DatasetDocument, by: SortKey, post: (m: HostMessage) => void): Promise<{ rows: number[] | null; error: string | null }> {
    const count = doc.state.rowCount;
    if (count === null) return { rows: null, error: 'the file is still being indexed; sort once its row count shows' };
    if (by === 'length') {
      const lengths = doc.rowLengths();
      if (lengths) return { rows: orderByLength(lengths), error: null };
      // A read-only table (JSON, CSV, Parquet) has no line index: its rows are measured as read.
    }
    const values: Array<string | undefined> = new Array(count);
    const lengths = new Float64Array(count);
    let shown = 0;
    for (let start = 0; start < count; start += PAGE) {
      const texts = await doc.rows(start, Math.min(PAGE, count - start));
      texts.forEach((t, i) => { if (by === 'label') values[start + i] = quickLabel(t); else lengths[start + i] = t.length; });
      const pct = Math.floor((100 * (start + texts.length)) / count);
      if (pct >= shown + 10) { shown = pct; post({ type: 'notice', level: 'info', text: `Sorting by ${by}: ${pct}% of the rows read…` }); }
    }
    return { rows: by === 'label' ? orderByLabel(values) : orderByLength(lengths), error: null };
  }

  /** What the trainer sees of a row: the text after the chat template, token by token, trained or not. */
  private async render(doc: DatasetDocument, inspector: DatasetInspector, row: number): Promise<RenderedView> {
    const context = inspector.context;
    if (!context?.model) throw new Error('no run config names this file with a model: open it from the config\'s Preview dataset, or name it in a *.tunelab.yaml');
    if (this.deps.connection.host) throw new Error(`the template view uses the agent on this machine; the selected host is ${this.deps.connection.host}`);
    const [text] = await doc.rows(row, 1);
    if (text === undefined) throw new Error(`there is no row ${row + 1}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (e) {
      throw new Error(`row ${row + 1} is not valid JSON (${message(e)})`);
    }
    if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error(`row ${row + 1} is not a JSON object`);
    const client = await this.deps.connection.connected();
    const r = await client.request('render_sample', { model: context.model, row: parsed as Record<string, unknown>, ...readingOptions(context) }, RENDER_TIMEOUT_MS);
    return {
      sequences: r.sequences.map((q) => ({ name: q.name, length: q.length, trained_tokens: q.trained_tokens, tokens: q.tokens.map((t) => ({ text: t.text, trained: t.trained })) })),
      max_length: r.max_length, over_length: r.over_length,
    };
  }

  /**
   * Make a negative: the row's prompt, its answer as chosen and the person's edited copy as rejected. Into this
   * file (a preference file: a new pair below the row, one undo step) or appended to a preference file beside it.
   */
  private async negative(doc: DatasetDocument, inspector: DatasetInspector, row: number, rejected: string, target: 'file' | 'pairs'): Promise<string> {
    const [text] = await doc.rows(row, 1);
    if (text === undefined) throw new Error(`there is no row ${row + 1}`);
    const pa = promptAndAnswer(viewRow(text));
    if ('error' in pa) throw new Error(`Make a negative: row ${row + 1}: ${pa.error}`);
    if (!rejected.trim()) throw new Error('Make a negative: the rejected answer is empty');
    if (rejected === pa.answer) throw new Error('Make a negative: the rejected answer is the same as the row\'s answer; change it first');
    if (target === 'file') {
      if (inspector.result && inspector.result.format !== 'preference') {
        throw new Error(`${basename(doc.uri.fsPath)} holds ${inspector.result.format} rows, not preference pairs: save the negative to a preference file beside it`);
      }
      const client = await this.deps.connection.connected();
      const head = doc.firstRows.slice(0, 20).join('\n') + '\n';
      const r = await client.request('format_dataset_row', { file_name: basename(doc.uri.fsPath), head, messages: pa.messages, answer: pa.answer, rejected });
      await doc.edit([{ op: 'insert', row: row + 1, texts: [r.row] }], `Make a negative of row ${row + 1}`);
      return `Pair added as row ${row + 2}: the row's answer chosen, your edit rejected.`;
    }
    const path = preferenceFileFor(doc.uri.fsPath);
    const r = await appendDatasetRow(this.deps.connection, path, pa.messages, pa.answer, rejected);
    this.log.info(`dataset editor: negative of row ${row + 1} written to ${r.path} line ${r.line}`);
    return `Pair written to ${basename(r.path)} at line ${r.line}: the row's answer chosen, your edit rejected.`;
  }

  saveCustomDocument(doc: DatasetDocument, cancellation: vscode.CancellationToken): Thenable<void> {
    return doc.save(cancellation);
  }

  saveCustomDocumentAs(doc: DatasetDocument, destination: vscode.Uri, cancellation: vscode.CancellationToken): Thenable<void> {
    return doc.saveAs(destination, cancellation);
  }

  revertCustomDocument(doc: DatasetDocument): Thenable<void> {
    return doc.revert();
  }

  backupCustomDocument(doc: DatasetDocument, context: vscode.CustomDocumentBackupContext): Thenable<vscode.CustomDocumentBackup> {
    return doc.backup(context.destination);
  }
}

/** The preference file beside a dataset: train.jsonl → train.preference.jsonl. */
export function preferenceFileFor(path: string): string {
  const ext = extname(path);
  return join(dirname(path), `${basename(path, ext)}.preference.jsonl`);
}

/** A page's edit as a log operation, with the label VS Code shows for undo. */
async function editOp(e: RowEdit, doc: DatasetDocument): Promise<[RowOp, string]> {
  switch (e.kind) {
    case 'replace': return [{ op: 'replace', row: e.row, text: e.text }, `Edit row ${e.row + 1}`];
    case 'delete': return [{ op: 'delete', row: e.row, count: 1 }, `Delete row ${e.row + 1}`];
    case 'insert': return [{ op: 'insert', row: e.row, texts: [e.text] }, `Insert row ${e.row + 1}`];
    case 'duplicate': {
      const [text] = await doc.rows(e.row, 1);
      if (text === undefined) throw new Error(`there is no row ${e.row + 1}`);
      return [{ op: 'insert', row: e.row + 1, texts: [text] }, `Duplicate row ${e.row + 1}`];
    }
  }
}

const DATASET_BODY = `  <header class="toolbar">
    <span class="file" id="file-name"></span>
    <span class="count" id="row-count" role="status"></span>
    <progress id="index-progress" max="1" value="0" aria-label="Indexing"></progress>
    <span class="context" id="context" title="The run config this file is read for"></span>
    <span class="spacer"></span>
    <label>Go to row <input id="goto" type="number" min="1" step="1" size="8"></label>
    <select id="search-mode" aria-label="What to search for">
      <option value="text">Text</option>
      <option value="label">Label is</option>
      <option value="role">Role is</option>
      <option value="field">Has field</option>
    </select>
    <input id="search" type="search" placeholder="Search (Enter)" aria-label="Search the rows">
    <label><input id="regex" type="checkbox"> regex</label>
    <label><input id="case" type="checkbox"> match case</label>
    <span class="hits" id="hits" role="status"></span>
    <vscode-button id="prev-hit" appearance="secondary" aria-label="Previous hit">↑</vscode-button>
    <vscode-button id="next-hit" appearance="secondary" aria-label="Next hit">↓</vscode-button>
  </header>
  <div class="toolbar second" id="annotate-bar">
    <span class="bar-title">Labels</span>
    <span class="labels" id="label-set" aria-label="Labels: keys 1 to 9 label the selected rows, 0 removes the label"></span>
    <input id="new-label" type="text" placeholder="New label (Enter)" aria-label="Add a label to the set" size="14">
    <span class="selection" id="selection-info" role="status"></span>
    <span class="spacer"></span>
    <label>Show <select id="show" aria-label="Which rows the grid shows, in which order">
      <option value="all">All rows</option>
      <option value="matches">Search matches only</option>
      <option value="problems">Rows with a problem</option>
      <option value="length">Longest first</option>
      <option value="label">By label</option>
    </select></label>
    <span class="selection" id="view-info" role="status"></span>
    <span class="bar-title">Data tools</span>
    <vscode-button id="tool-synonyms" appearance="secondary" title="New rows with words replaced by synonyms from a YAML or JSON file (seeded)">Synonyms…</vscode-button>
    <vscode-button id="tool-perturb" appearance="secondary" title="New rows whose label flips when an entity is swapped (seeded)">Perturb…</vscode-button>
    <vscode-button id="tool-iob" appearance="secondary" title="Check token tags: I- without B-, unknown tags, token and tag counts">Check IOB</vscode-button>
  </div>
  <div class="notice" id="notice" role="status" hidden></div>
  <div class="readonly" id="readonly" role="note" hidden></div>
  <div class="body">
    <div class="grid" id="grid" tabindex="0" role="grid" aria-label="Rows" aria-multiselectable="true">
      <div class="spacer-rows" id="spacer"></div>
    </div>
    <aside class="detail" id="detail" aria-label="Selected row">
      <div class="tabs" role="tablist">
        <button class="tab" id="tab-row" role="tab" aria-selected="true">Row</button>
        <button class="tab" id="tab-stats" role="tab" aria-selected="false">Stats</button>
        <span class="spacer"></span>
        <span class="inspect-state" id="inspect-state" role="status"></span>
        <vscode-button id="inspect-now" appearance="secondary" hidden title="Have the agent read the whole file: the stats and each row's problems">Read with the agent</vscode-button>
      </div>
      <section id="row-pane" role="tabpanel">
        <div class="detail-head"><span id="detail-title">No row selected</span>
          <label class="raw-toggle"><input id="raw-toggle" type="checkbox"> raw JSON</label></div>
        <div class="problems" id="row-problems" hidden></div>
        <div class="formatted" id="formatted"></div>
        <pre class="pretty" id="pretty" hidden></pre>
        <textarea id="row-text" spellcheck="false" aria-label="Row text" disabled></textarea>
        <div class="row-problem" id="row-problem" role="alert" hidden></div>
        <div class="detail-actions">
          <vscode-button id="apply" disabled>Apply</vscode-button>
          <vscode-button id="duplicate" appearance="secondary" disabled>Duplicate</vscode-button>
          <vscode-button id="insert" appearance="secondary" disabled>Insert below</vscode-button>
          <vscode-button id="delete" appearance="secondary" disabled>Delete</vscode-button>
          <vscode-button id="negative" appearance="secondary" disabled title="Edit a copy of the answer and save it as the rejected side of a preference pair">Make a negative…</vscode-button>
        </div>
        <div class="negative" id="negative-pane" hidden>
          <div class="section-title">Rejected answer (an edited copy of the row's answer)</div>
          <textarea id="negative-text" spellcheck="true" aria-label="Rejected answer"></textarea>
          <div class="detail-actions">
            <select id="negative-target" aria-label="Where the pair goes">
              <option value="pairs">Append to the preference file beside this one</option>
              <option value="file">Insert into this file, below the row</option>
            </select>
            <vscode-button id="negative-save">Save pair</vscode-button>
            <vscode-button id="negative-cancel" appearance="secondary">Cancel</vscode-button>
          </div>
        </div>
        <div class="template" id="template">
          <div class="section-title">What the trainer sees</div>
          <div id="template-body" class="template-body"></div>
        </div>
      </section>
      <section id="stats-pane" role="tabpanel" hidden></section>
    </aside>
  </div>`;
