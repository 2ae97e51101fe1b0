// Quick picks of the workspace's dataset files: one to append rows to (Promote and Prefer in the chat panel),
// one to read rows from (Evaluate Checkpoint). A list of the files a person already has beats a file dialog
// that starts at the filesystem root; the last row still offers a new file or a browse.
import { resolve } from 'node:path';
import * as vscode from 'vscode';
import { insideFolder } from '../core/chat/inputs';

const NEW_FILE = '$(new-file) New file…';
const BROWSE = '$(folder-opened) Browse…';
/** Folders that hold no dataset a person picks: installs, history, and Tunelab's own exports. */
const EXCLUDE = '{**/node_modules/**,**/.git/**,**/.venv/**,**/tunelab-exports/**}';

interface FileItem extends vscode.QuickPickItem { path: string }

async function workspaceFiles(glob: string): Promise<FileItem[]> {
  const files = await vscode.workspace.findFiles(glob, EXCLUDE, 500);
  return files.map((uri) => ({ label: vscode.workspace.asRelativePath(uri), path: uri.fsPath }))
    .sort((a, b) => a.label.localeCompare(b.label));
}

function fileFolders(): readonly vscode.WorkspaceFolder[] {
  return (vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file');
}

/** A .jsonl file of the workspace to append to, or a new one named by a path inside the first folder. */
export async function pickDatasetFile(title: string, suggestedName: string): Promise<string | undefined> {
  const folders = fileFolders();
  if (!folders.length) {
    void vscode.window.showErrorMessage('Tunelab: open a folder first; rows are appended to dataset files in the workspace.');
    return undefined;
  }
  const items = [...await workspaceFiles('**/*.jsonl'), { label: NEW_FILE, path: '' }];
  const picked = await vscode.window.showQuickPick(items, { title, placeHolder: 'A .jsonl file of the workspace, or a new one', ignoreFocusOut: true });
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

/** An existing dataset file to read rows from: the workspace's JSONL/JSON/CSV/Parquet files, or one browsed to. */
export function pickRowsFile(title: string, openLabel: string): Promise<vscode.Uri | undefined> {
  return pickExistingFile(title, openLabel, ['jsonl', 'json', 'csv', 'parquet'], 'Datasets');
}

/** An existing file of the workspace with one of `extensions` (run configs left out), or one browsed to. */
export async function pickExistingFile(title: string, openLabel: string, extensions: string[], kind: string): Promise<vscode.Uri | undefined> {
  const found = await workspaceFiles(`**/*.{${extensions.join(',')}}`);
  const items = [...found.filter((f) => !/\.tunelab\.ya?ml$/.test(f.path)), { label: BROWSE, path: '' }];
  const picked = items.length > 1
    ? await vscode.window.showQuickPick(items, { title, placeHolder: `A file of the workspace (${extensions.map((e) => `.${e}`).join(', ')}), or Browse… for one elsewhere`, ignoreFocusOut: true })
    : items[0];
  if (!picked) return undefined;
  if (picked.path) return vscode.Uri.file(picked.path);
  const [file] = await vscode.window.showOpenDialog({
    title,
    openLabel,
    canSelectMany: false,
    defaultUri: fileFolders()[0]?.uri,
    filters: { [kind]: extensions, 'All files': ['*'] },
  }) ?? [];
  return file;
}
