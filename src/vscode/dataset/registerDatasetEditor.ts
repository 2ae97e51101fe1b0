// The dataset editor's registration: the custom editor for JSONL and text datasets (Open With… Tunelab Dataset),
// and Open in Tunelab Dataset Editor for the Explorer and the palette.
import * as vscode from 'vscode';
import { DATASET_VIEW_TYPE, DatasetEditorProvider } from './datasetEditor';

export const OPEN_DATASET_COMMAND = 'tunelab.openDatasetEditor';

export function registerDatasetEditor(context: vscode.ExtensionContext, log: vscode.LogOutputChannel): void {
  context.subscriptions.push(
    vscode.window.registerCustomEditorProvider(DATASET_VIEW_TYPE, new DatasetEditorProvider(context.extensionUri, log), {
      // A hidden panel is rebuilt from the document (it asks again with `ready`); a 1 GB file is never held twice.
      webviewOptions: { retainContextWhenHidden: false },
      supportsMultipleEditorsPerDocument: false,
    }),
    vscode.commands.registerCommand(OPEN_DATASET_COMMAND, async (arg?: unknown) => {
      const uri = arg instanceof vscode.Uri ? arg : activeFileUri();
      if (!uri) {
        void vscode.window.showErrorMessage('Tunelab: open a .jsonl or .txt dataset first, or use this from the Explorer.');
        return;
      }
      log.info(`dataset editor: opening ${uri.toString()}`);
      await vscode.commands.executeCommand('vscode.openWith', uri, DATASET_VIEW_TYPE);
    }),
  );
}

/**
 * The file of the active tab. Not activeTextEditor: VS Code does not hand a large file's text to extensions,
 * and a large file is what this editor is for, so its text editor is not one the extension sees.
 */
function activeFileUri(): vscode.Uri | undefined {
  const input = vscode.window.tabGroups.activeTabGroup.activeTab?.input;
  if (input instanceof vscode.TabInputText || input instanceof vscode.TabInputCustom) return input.uri;
  return vscode.window.activeTextEditor?.document.uri;
}
