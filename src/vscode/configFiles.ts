// Finds the run config a command should act on: the active *.tunelab.yaml editor, or one picked from the workspace.
import * as vscode from 'vscode';

export const CONFIG_PATTERN = /\.tunelab\.ya?ml$/;

export async function pickRunConfig(uri?: vscode.Uri): Promise<vscode.TextDocument | undefined> {
  if (uri && CONFIG_PATTERN.test(uri.fsPath)) return vscode.workspace.openTextDocument(uri);
  const active = vscode.window.activeTextEditor?.document;
  if (active && CONFIG_PATTERN.test(active.fileName)) return active;
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
