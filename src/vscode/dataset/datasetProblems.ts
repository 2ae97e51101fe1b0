// The agent's row diagnostics for dataset files, in the Problems panel with their file and line, and the quick
// fixes where the fix is clear (src/core/dataset/quickFixes.ts) for the same lines in the text editor. The
// dataset editor shows the same diagnostics on its rows and offers the same fixes there.
import * as vscode from 'vscode';
import { fixesFor } from '../../core/dataset/quickFixes';
import type { Diagnostic } from '../../core/protocol/messages';

const SEVERITY = { error: vscode.DiagnosticSeverity.Error, warning: vscode.DiagnosticSeverity.Warning, info: vscode.DiagnosticSeverity.Information };

export class DatasetProblems implements vscode.CodeActionProvider, vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('tunelab-dataset');
  private readonly registration = vscode.languages.registerCodeActionsProvider(
    [{ scheme: 'file', pattern: '**/*.jsonl' }], this, { providedCodeActionKinds: [vscode.CodeActionKind.QuickFix] });

  set(uri: vscode.Uri, diagnostics: Diagnostic[]): void {
    this.collection.set(uri, diagnostics.map((d) => {
      const line = Math.max(0, d.line - 1);
      const out = new vscode.Diagnostic(new vscode.Range(line, 0, line, Number.MAX_SAFE_INTEGER), d.message, SEVERITY[d.severity]);
      out.source = 'Tunelab dataset';
      out.code = d.code;
      return out;
    }));
  }

  clear(uri: vscode.Uri): void {
    this.collection.delete(uri);
  }

  provideCodeActions(doc: vscode.TextDocument, range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const actions: vscode.CodeAction[] = [];
    for (const d of context.diagnostics) {
      if (d.source !== 'Tunelab dataset' || typeof d.code !== 'string') continue;
      const line = doc.lineAt(d.range.start.line);
      for (const fix of fixesFor({ code: d.code, message: d.message }, line.text)) {
        const action = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
        action.diagnostics = [d];
        action.edit = new vscode.WorkspaceEdit();
        if (fix.kind === 'delete') action.edit.delete(doc.uri, line.rangeIncludingLineBreak);
        else action.edit.replace(doc.uri, line.range, fix.text);
        actions.push(action);
      }
    }
    return actions;
  }

  dispose(): void {
    this.collection.dispose();
    this.registration.dispose();
  }
}
