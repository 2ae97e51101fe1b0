// Quick fixes on the config editor's diagnostics (core/configEditor/quickFixes.ts decides them); the
// missing-file one asks for the file with the OS dialog and writes its path relative to the config.
import { dirname } from 'node:path';
import * as vscode from 'vscode';
import { configRelativePath } from '../../core/configEditor/files';
import { parseConfig } from '../../core/configEditor/parse';
import { quickFixes } from '../../core/configEditor/quickFixes';
import { valueRange } from '../../core/configEditor/yamlNodes';
import type { ConfigDiagnostics } from './configDiagnostics';
import { SOURCE, toRange } from './convert';

export const PICK_FILE_COMMAND = 'tunelab.configEditor.pickFile';

export class ConfigCodeActions implements vscode.CodeActionProvider {
  static readonly kinds = [vscode.CodeActionKind.QuickFix];

  constructor(private readonly diagnostics: ConfigDiagnostics) {}

  provideCodeActions(doc: vscode.TextDocument, _range: vscode.Range, context: vscode.CodeActionContext): vscode.CodeAction[] {
    const text = doc.getText();
    const ours = this.diagnostics.current(doc);
    const actions: vscode.CodeAction[] = [];
    for (const shown of context.diagnostics) {
      if (shown.source !== SOURCE) continue;
      // VS Code hands back copies: find ours by place and words.
      const d = ours.find((o) => o.message === shown.message && toRange(doc, o.range).isEqual(shown.range));
      if (!d) continue;
      for (const fix of quickFixes(d, text)) {
        const action = new vscode.CodeAction(fix.title, vscode.CodeActionKind.QuickFix);
        action.diagnostics = [shown];
        if (fix.kind === 'edit') {
          action.edit = new vscode.WorkspaceEdit();
          action.edit.replace(doc.uri, toRange(doc, fix.edit.range), fix.edit.newText);
          action.isPreferred = fix.preferred;
        } else {
          action.command = { command: PICK_FILE_COMMAND, title: fix.title, arguments: [doc.uri, fix.key] };
        }
        actions.push(action);
      }
    }
    return actions;
  }
}

const DATA_FILTERS = { 'Data files': ['jsonl', 'json', 'csv', 'tsv', 'parquet', 'txt'], 'All files': ['*'] };

/** Asks for the file of `key` and writes it, relative to the config, where the key's value is now. */
export async function pickFileCommand(uri: vscode.Uri, key: string): Promise<boolean> {
  const doc = await vscode.workspace.openTextDocument(uri);
  const configDir = dirname(uri.fsPath);
  const picked = await vscode.window.showOpenDialog({
    defaultUri: vscode.Uri.file(configDir), canSelectMany: false, canSelectFiles: true, canSelectFolders: false,
    openLabel: 'Use This File', title: `Tunelab: file for ${key}`, filters: DATA_FILTERS,
  });
  if (!picked?.length) return false;
  // The text may have moved since the light bulb was shown: place the value again.
  const range = valueRange(parseConfig(doc.getText()).doc, key.split('.'));
  const edit = new vscode.WorkspaceEdit();
  edit.replace(uri, toRange(doc, range), configRelativePath(configDir, picked[0].fsPath));
  return vscode.workspace.applyEdit(edit);
}
