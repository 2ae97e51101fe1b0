// "Launch · Estimate" above a run config's first line: the two things a person does with a finished config,
// without leaving the text. Both are the launcher's commands (launchConfig.ts), given this file. "Preview
// dataset" above dataset.train and dataset.eval (previewDataset.ts).
import * as vscode from 'vscode';
import { isScalar } from 'yaml';
import { parseConfig } from '../../core/configEditor/parse';
import { locate } from '../../core/configEditor/yamlNodes';
import { isRunConfig } from './convert';
import { PREVIEW_DATASET } from './previewDataset';

export const LAUNCH = 'tunelab.launchConfig';
export const ESTIMATE = 'tunelab.estimateConfig';

export const configCodeLenses: vscode.CodeLensProvider = {
  provideCodeLenses(doc) {
    if (!isRunConfig(doc) || doc.uri.scheme !== 'file') return [];
    const top = new vscode.Range(0, 0, 0, 0);
    return [
      new vscode.CodeLens(top, { title: '$(play) Launch', tooltip: 'Preflight on the selected host, then start the run', command: LAUNCH, arguments: [doc.uri] }),
      new vscode.CodeLens(top, { title: 'Estimate', tooltip: 'Memory, fit, disk and data from the agent\'s preflight; starts nothing', command: ESTIMATE, arguments: [doc.uri] }),
      ...datasetLenses(doc),
    ];
  },
};

/** "Preview dataset" above each data file the config names. */
function datasetLenses(doc: vscode.TextDocument): vscode.CodeLens[] {
  const { doc: yaml } = parseConfig(doc.getText());
  if (yaml.errors.length) return [];
  return (['train', 'eval'] as const).flatMap((split) => {
    const at = locate(yaml, ['dataset', split]);
    if (at.depth !== 2 || !at.key || !isScalar(at.node) || typeof at.node.value !== 'string') return [];
    const line = new vscode.Range(doc.positionAt(at.key.start), doc.positionAt(at.key.start));
    return [new vscode.CodeLens(line, {
      title: 'Preview dataset', tooltip: `What the trainer makes of dataset.${split}: format, bad rows, tokens, and its first rows through the chat template`,
      command: PREVIEW_DATASET, arguments: [doc.uri, `dataset.${split}`],
    })];
  });
}
