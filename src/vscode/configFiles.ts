// Finds the run config a command should act on: the active *.tunelab.yaml editor, or one picked from the workspace.
import * as vscode from 'vscode';

export const CONFIG_PATTERN = /\.tunelab\.ya?ml$/;

/** The run config being edited: the active text editor's, or the active tab's when it shows the form (a custom editor). */
export function activeConfigUri(): vscode.Uri | undefined {
  const text = vscode.window.activeTextEditor?.document.uri;
  if (text && CONFIG_PATTERN.test(text.path)) return text;
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  return input instanceof vscode.TabInputCustom && CONFIG_PATTERN.test(input.uri.path) ? input.uri : undefined;
}

export async function pickRunConfig(uri?: vscode.Uri): Promise<vscode.TextDocument | undefined> {
  if (uri && CONFIG_PATTERN.test(uri.fsPath)) return vscode.workspace.openTextDocument(uri);
  const active = activeConfigUri();
  if (active) return vscode.workspace.openTextDocument(active);
  const files = await vscode.workspace.findFiles('**/*.tunelab.{yaml,yml}', '**/node_modules/**', 200);
  if (files.length === 0) {
    void vscode.window.showErrorMessage('Tunelab: no *.tunelab.yaml run config in this workspace. Create one (for example train.tunelab.yaml) and run this again.');
    return undefined;
  }
  const items = files
    .map((uri) => ({ label: vscode.workspace.asRelativePath(uri), uri }))
    .sort((a, b) => a.label.localeCompare(b.label));
  const picked = items.length === 1 ? items[0] : await vscode.window.showQuickPick(items, { placeHolder: 'Run config to start' });
  return picked && vscode.workspace.openTextDocument(picked.uri);
}
