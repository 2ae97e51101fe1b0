// The dataset editor's registration: the custom editor for dataset files (Open With… Tunelab Dataset), Open in
// Tunelab Dataset Editor for the Explorer and the palette, Preview Dataset (a config's data file, read as that
// config reads it), and the Problems panel's dataset diagnostics with their quick fixes.
import * as vscode from 'vscode';
import type { AgentConnection } from '../agentConnection';
import { PREVIEW_DATASET, previewDatasetCommand } from '../configEditor/previewDataset';
import { DatasetContexts } from './datasetContexts';
import { DATASET_VIEW_TYPE, DatasetEditorProvider } from './datasetEditor';
import { DatasetProblems } from './datasetProblems';
import { registerToolPreviews } from './datasetTools';

export const OPEN_DATASET_COMMAND = 'tunelab.openDatasetEditor';

export function registerDatasetEditor(context: vscode.ExtensionContext, d: { connection: AgentConnection; log: vscode.LogOutputChannel }): void {
  const { log } = d;
  const contexts = new DatasetContexts();
  const problems = new DatasetProblems();
  context.subscriptions.push(
    problems,
    registerToolPreviews(),
    vscode.window.registerCustomEditorProvider(DATASET_VIEW_TYPE, new DatasetEditorProvider(context.extensionUri, { connection: d.connection, contexts, problems, log }), {
      // A hidden panel is rebuilt from the document (it asks again with `ready`); a 1 GB file is never held twice.
      webviewOptions: { retainContextWhenHidden: false },
      supportsMultipleEditorsPerDocument: false,
    }),
    vscode.commands.registerCommand(PREVIEW_DATASET, previewDatasetCommand(contexts, log)),
    vscode.commands.registerCommand(OPEN_DATASET_COMMAND, async (arg?: unknown) => {
      const uri = arg instanceof vscode.Uri ? arg : activeFileUri();
      if (!uri) {
        void vscode.window.showErrorMessage('Tunelab: open a dataset file (.jsonl, .json, .csv, .tsv, .txt or .parquet) first, or use this from the Explorer.');
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
