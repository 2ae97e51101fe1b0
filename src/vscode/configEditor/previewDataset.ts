// "Preview dataset" above dataset.train and dataset.eval (CodeLens), Tunelab: Preview Dataset, and a run's Show
// Training Data: the config's data file opens in the dataset editor beside the config, read as that config's run
// would read it (its model's tokenizer and template, max_length) for the stats, problems and template view.
import { existsSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { datasetPathOf } from '../../core/dataset/configContext';
import type { DatasetContexts } from '../dataset/datasetContexts';
import { DATASET_VIEW_TYPE } from '../dataset/datasetEditor';
import { activeConfigUri } from '../configFiles';

export const PREVIEW_DATASET = 'tunelab.previewDataset';

type Split = 'dataset.train' | 'dataset.eval';

export function previewDatasetCommand(contexts: DatasetContexts, log: vscode.LogOutputChannel) {
  return async (configArg?: unknown, keyArg?: unknown): Promise<void> => {
    const configUri = configArg instanceof vscode.Uri ? configArg : activeConfigUri();
    if (!configUri || !/\.tunelab\.ya?ml$/.test(configUri.path)) {
      void vscode.window.showErrorMessage('Tunelab: Preview Dataset needs a run config (*.tunelab.yaml) open, or its CodeLens above dataset.train.');
      return;
    }
    const key: Split = keyArg === 'dataset.eval' ? 'dataset.eval' : 'dataset.train';
    const doc = await vscode.workspace.openTextDocument(configUri);
    const path = datasetPathOf(doc.getText(), configUri.fsPath, key === 'dataset.eval' ? 'eval' : 'train');
    if (!path) {
      void vscode.window.showErrorMessage(`Tunelab: ${key} is not set in ${basename(configUri.fsPath)}.`);
      return;
    }
    if (!existsSync(path) || !statSync(path).isFile()) {
      void vscode.window.showErrorMessage(`Tunelab: ${key} of ${basename(configUri.fsPath)} is not a file (looked for ${path}).`);
      return;
    }
    const dataset = vscode.Uri.file(path);
    contexts.remember(dataset, configUri);
    log.info(`preview dataset: ${path} for ${configUri.fsPath}`);
    await vscode.commands.executeCommand('vscode.openWith', dataset, DATASET_VIEW_TYPE, vscode.ViewColumn.Beside);
  };
}
