// The run config as a form: a custom text editor over the same TextDocument as the text editor, so undo/redo,
// the dirty state, save, revert and hot exit are VS Code's own. A field's input becomes the smallest text edit
// (core/configEditor/formEdit.ts) applied as a WorkspaceEdit; every change of the text (typed, undone, or from
// disk), of the checks, or of the agent's estimate sends the page the whole state again.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { formEdit } from '../../core/configEditor/formEdit';
import { FORM_FIELDS, parseInput, readForm } from '../../core/configEditor/formModel';
import { parseConfig } from '../../core/configEditor/parse';
import { keyRange } from '../../core/configEditor/yamlNodes';
import { parseWebviewMessage, type FieldProblem, type HostMessage, type WebviewMessage } from '../../../webview/configForm/protocol';
import { makeNonce, webviewShell } from '../webviewShell';
import type { ConfigDiagnostics } from './configDiagnostics';
import type { EstimateStatus } from './estimateStatus';
import { ESTIMATE, LAUNCH } from './codeLens';
import { toRange } from './convert';
import { activeConfigUri } from '../configFiles';

export const FORM_VIEW_TYPE = 'tunelab.runConfigForm';
export const OPEN_FORM_COMMAND = 'tunelab.openConfigForm';
export const OPEN_TEXT_COMMAND = 'tunelab.openConfigText';

export interface ConfigFormDeps {
  extensionUri: vscode.Uri;
  diagnostics: ConfigDiagnostics;
  estimate: EstimateStatus;
  log: vscode.LogOutputChannel;
}

export class ConfigFormProvider implements vscode.CustomTextEditorProvider {
  /** Open forms by document, so a change of the checks or the estimate reaches each. */
  private readonly forms = new Map<string, Set<() => void>>();

  constructor(private readonly deps: ConfigFormDeps) {}

  /** Something about `uri` changed (its checks were shown, the agent answered, the link changed): redraw its forms. */
  refresh(uri?: vscode.Uri): void {
    for (const [key, posts] of this.forms) if (!uri || key === uri.toString()) posts.forEach((post) => post());
  }

  resolveCustomTextEditor(document: vscode.TextDocument, panel: vscode.WebviewPanel): void {
    const webview = panel.webview;
    webview.options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(this.deps.extensionUri, 'dist'), vscode.Uri.joinPath(this.deps.extensionUri, 'media')],
    };
    webview.html = this.html(webview, document);
    let ready = false;
    const post = (m: HostMessage) => { if (ready) void webview.postMessage(m); };
    const sendState = () => post(this.state(document));
    const key = document.uri.toString();
    const posts = this.forms.get(key) ?? new Set<() => void>();
    posts.add(sendState);
    this.forms.set(key, posts);

    const subscriptions = [
      vscode.workspace.onDidChangeTextDocument((e) => { if (e.document === document && e.contentChanges.length) sendState(); }),
      webview.onDidReceiveMessage(async (raw: unknown) => {
        const m = parseWebviewMessage(raw);
        if (!m) {
          this.deps.log.warn(`run config form: ignored an invalid message from the webview: ${JSON.stringify(raw)?.slice(0, 200)}`);
          return;
        }
        if (m.type === 'ready') {
          ready = true;
          return sendState();
        }
        try {
          await this.handle(m, document, post);
        } catch (e) {
          this.deps.log.error(`run config form (${basename(document.uri.fsPath)}): ${m.type}: ${e instanceof Error ? e.message : String(e)}`);
        }
      }),
      // A hidden webview is torn down and sends `ready` again when shown.
      panel.onDidChangeViewState(() => { if (!panel.visible) ready = false; }),
    ];
    panel.onDidDispose(() => {
      subscriptions.forEach((s) => s.dispose());
      posts.delete(sendState);
      if (!posts.size) this.forms.delete(key);
    });
  }

  private async handle(m: WebviewMessage, document: vscode.TextDocument, post: (m: HostMessage) => void): Promise<void> {
    switch (m.type) {
      case 'error':
        return this.deps.log.error(`run config form: ${m.message}`);
      case 'edit': {
        const field = FORM_FIELDS.get(m.key);
        if (!field) return this.deps.log.warn(`run config form: no field ${m.key}`);
        const parsed = parseInput(field, m.input);
        if ('error' in parsed) return post({ type: 'refused', key: m.key, message: parsed.error });
        const text = document.getText();
        const result = formEdit(text, m.key.split('.'), parsed.value);
        if ('error' in result) return post({ type: 'refused', key: m.key, message: `${m.key}: ${result.error}` });
        if (!result.edits.length) return;
        const edit = new vscode.WorkspaceEdit();
        for (const e of result.edits) edit.replace(document.uri, toRange(document, e.range), e.newText);
        // The page shows the result when the document changes; a refused apply (the file changed meanwhile) says so.
        if (!(await vscode.workspace.applyEdit(edit))) post({ type: 'refused', key: m.key, message: `${m.key}: the edit could not be applied; try again` });
        return;
      }
      case 'reveal':
        return revealInText(document, m.key, m.line);
      case 'run':
        if (m.action === 'text') return revealInText(document, null, null);
        await vscode.commands.executeCommand(m.action === 'launch' ? LAUNCH : ESTIMATE, document.uri);
        return;
      default:
        return;
    }
  }

  private state(document: vscode.TextDocument): HostMessage {
    const problems: FieldProblem[] = this.deps.diagnostics.current(document).map((d) => ({
      key: d.key, severity: d.severity, message: d.message, source: d.code === 'agent' ? 'agent' : 'schema',
    }));
    return {
      type: 'state',
      fileName: basename(document.uri.fsPath),
      form: readForm(document.getText()),
      problems,
      estimate: this.deps.estimate.lineFor(document),
      editable: vscode.workspace.fs.isWritableFileSystem(document.uri.scheme) !== false,
    };
  }

  private html(webview: vscode.Webview, document: vscode.TextDocument): string {
    const asUri = (...p: string[]) => webview.asWebviewUri(vscode.Uri.joinPath(this.deps.extensionUri, ...p)).toString();
    return webviewShell({
      cspSource: webview.cspSource,
      scriptUri: asUri('dist', 'webview', 'configForm.js'),
      styleUri: asUri('media', 'configForm.css'),
      scriptNonce: makeNonce(),
      styleNonce: makeNonce(),
      title: `Run config: ${basename(document.uri.fsPath)}`,
    }, `  <header class="form-header">
    <div class="heading"><h1 id="file-name"></h1><span class="hint">Form view: every change is an edit of the YAML (Undo works in both views).</span></div>
    <div class="actions">
      <vscode-button id="launch">Launch</vscode-button>
      <vscode-button id="estimate-report" appearance="secondary">Estimate report</vscode-button>
      <vscode-button id="open-text" appearance="secondary">Open as Text</vscode-button>
    </div>
    <div class="estimate" id="estimate" role="status" aria-live="polite">
      <span class="estimate-label">Estimate</span> <span id="estimate-text"></span>
      <ul id="estimate-facts"></ul>
    </div>
  </header>
  <div class="broken" id="broken" role="alert" hidden>
    <span id="broken-text"></span>
    <vscode-button id="broken-show" appearance="secondary">Show in text</vscode-button>
  </div>
  <ul class="file-problems" id="file-problems" hidden></ul>
  <nav class="toc" id="toc" aria-label="Sections"></nav>
  <main id="groups"></main>`);
  }
}

/** The text editor beside (or instead of) the form, at a key or a line. */
async function revealInText(document: vscode.TextDocument, key: string | null, line: number | null): Promise<void> {
  let selection: vscode.Range | undefined;
  if (key) selection = toRange(document, keyRange(parseConfig(document.getText()).doc, key.split('.')));
  else if (line) selection = new vscode.Range(line - 1, 0, line - 1, 0);
  await vscode.window.showTextDocument(document, { selection, preview: false, viewColumn: vscode.ViewColumn.Active });
}

/** Opens a config (the active one, or the one given) in the form, or back in the text editor. */
export function registerFormCommands(): vscode.Disposable[] {
  const target = (arg: unknown): vscode.Uri | undefined => (arg instanceof vscode.Uri ? arg : activeConfigUri());
  return [
    vscode.commands.registerCommand(OPEN_FORM_COMMAND, async (arg?: unknown) => {
      const uri = target(arg);
      if (uri) await vscode.commands.executeCommand('vscode.openWith', uri, FORM_VIEW_TYPE);
    }),
    vscode.commands.registerCommand(OPEN_TEXT_COMMAND, async (arg?: unknown) => {
      const uri = target(arg);
      if (uri) await vscode.commands.executeCommand('vscode.openWith', uri, 'default');
    }),
  ];
}
