// The dataset editor: a CustomEditorProvider for line-per-row dataset files of any size (Open With… Tunelab
// Dataset; the text editor stays the default). The document (datasetDocument.ts) holds the index and the edits;
// this wires each panel to it: pages of rows on request, edits into VS Code's undo stack, and a search that runs
// in a worker and streams its hits.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { searchInWorker } from '../../core/dataset/indexInWorker';
import type { EditOp } from '../../core/dataset/editLog';
import { parseWebviewMessage, type HostMessage, type RowEdit, type WebviewMessage } from '../../../webview/dataset/protocol';
import { makeNonce, webviewShell } from '../webviewShell';
import { DatasetDocument } from './datasetDocument';

export const DATASET_VIEW_TYPE = 'tunelab.datasetEditor';

export class DatasetEditorProvider implements vscode.CustomEditorProvider<DatasetDocument> {
  private readonly edits = new vscode.EventEmitter<vscode.CustomDocumentEditEvent<DatasetDocument>>();
  readonly onDidChangeCustomDocument = this.edits.event;

  constructor(private readonly extensionUri: vscode.Uri, private readonly log: vscode.LogOutputChannel) {}

  private worker(name: 'datasetIndex' | 'datasetSearch'): string {
    return vscode.Uri.joinPath(this.extensionUri, 'dist', 'workers', `${name}.js`).fsPath;
  }

  async openCustomDocument(uri: vscode.Uri, context: vscode.CustomDocumentOpenContext): Promise<DatasetDocument> {
    if (uri.scheme !== 'file') throw new Error(`Tunelab's dataset editor reads files on this machine's disk; ${uri.toString()} is not one`);
    this.log.info(`dataset editor: reading ${uri.fsPath}${context.backupId ? ' with its unsaved edits' : ''}`);
    const doc = await DatasetDocument.open(uri, context.backupId, this.worker('datasetIndex'), this.log);
    doc.onDidEdit((e) => this.edits.fire(e));
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
    const subscriptions = [
      doc.onDidChange(() => post({ type: 'state', state: doc.state, dirty: doc.isDirty, changed: true })),
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
            const editable = vscode.workspace.fs.isWritableFileSystem(doc.uri.scheme) !== false;
            post({ type: 'init', fileName: basename(doc.uri.fsPath), firstRows: doc.firstRows, state: doc.state, dirty: doc.isDirty, editable });
          } else await this.handle(m, doc, post, searches);
        } catch (e) {
          const text = e instanceof Error ? e.message : String(e);
          this.log.error(`dataset editor (${basename(doc.uri.fsPath)}): ${m.type}: ${text}`);
          if (m.type === 'edit') void vscode.window.showErrorMessage(`Tunelab: the edit was not made: ${text}`);
        }
      }),
    ];
    panel.onDidDispose(() => {
      subscriptions.forEach((s) => s.dispose());
      for (const c of searches.values()) c.abort();
    });
  }

  private async handle(m: WebviewMessage, doc: DatasetDocument, post: (m: HostMessage) => void, searches: Map<number, AbortController>): Promise<void> {
    switch (m.type) {
      case 'error':
        return this.log.error(`dataset editor page: ${m.message}`);
      case 'rows':
        return post({ type: 'rowsResult', id: m.id, start: m.start, texts: await doc.rows(m.start, m.count) });
      case 'edit':
        return doc.edit(...(await editOp(m.edit, doc)));
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

/** A page's edit as a log operation, with the label VS Code shows for undo. */
async function editOp(e: RowEdit, doc: DatasetDocument): Promise<[Extract<EditOp, { op: 'replace' | 'delete' | 'insert' }>, string]> {
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
    <span class="spacer"></span>
    <label>Go to row <input id="goto" type="number" min="1" step="1" size="8"></label>
    <input id="search" type="search" placeholder="Search (Enter)" aria-label="Search the rows">
    <label><input id="regex" type="checkbox"> regex</label>
    <label><input id="case" type="checkbox"> match case</label>
    <span class="hits" id="hits" role="status"></span>
    <vscode-button id="prev-hit" appearance="secondary" aria-label="Previous hit">↑</vscode-button>
    <vscode-button id="next-hit" appearance="secondary" aria-label="Next hit">↓</vscode-button>
  </header>
  <div class="body">
    <div class="grid" id="grid" tabindex="0" role="grid" aria-label="Rows">
      <div class="spacer-rows" id="spacer"></div>
    </div>
    <aside class="detail" id="detail" aria-label="Selected row">
      <div class="detail-head"><span id="detail-title">No row selected</span></div>
      <pre class="pretty" id="pretty"></pre>
      <textarea id="row-text" spellcheck="false" aria-label="Row text" disabled></textarea>
      <div class="row-problem" id="row-problem" role="alert" hidden></div>
      <div class="detail-actions">
        <vscode-button id="apply" disabled>Apply</vscode-button>
        <vscode-button id="duplicate" appearance="secondary" disabled>Duplicate</vscode-button>
        <vscode-button id="insert" appearance="secondary" disabled>Insert below</vscode-button>
        <vscode-button id="delete" appearance="secondary" disabled>Delete</vscode-button>
      </div>
    </aside>
  </div>`;
