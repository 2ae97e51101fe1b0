// Picks the JSONL file that Promote or Prefer appends to: the workspace's .jsonl files, or a new one named
// by a path inside a workspace folder (the agent serves the workspace folders and refuses anything else).
import { resolve } from 'node:path';
import * as vscode from 'vscode';
import { insideFolder } from '../../core/chat/inputs';

const NEW_FILE = '$(new-file) New file…';

export async function pickDatasetFile(title: string, suggestedName: string): Promise<string | undefined> {
  const folders = (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file');
  if (!folders.length) {
    void vscode.window.showErrorMessage('Tunelab: open a folder first; rows are appended to dataset files in the workspace.');
    return undefined;
  }
  const files = await vscode.workspace.findFiles('**/*.jsonl', '{**/node_modules/**,**/.git/**}', 500);
  const items = [
    ...files.map((uri) => ({ label: vscode.workspace.asRelativePath(uri), path: uri.fsPath }))
      .sort((a, b) => a.label.localeCompare(b.label)),
    { label: NEW_FILE, path: '' },
  ];
  const picked = await vscode.window.showQuickPick(items, { title, placeHolder: 'A .jsonl file of the workspace, or a new one' });
  if (!picked) return undefined;
  if (picked.path) return picked.path;
  const root = folders[0].uri.fsPath;
  const name = await vscode.window.showInputBox({
    title,
    prompt: `A new .jsonl file, relative to ${folders[0].name}`,
    value: suggestedName,
    validateInput: (v) => insideFolder(root, v) ? undefined : 'a path ending in .jsonl inside the workspace folder',
  });
  return name ? resolve(root, name) : undefined;
}
