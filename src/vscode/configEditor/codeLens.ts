// "Launch · Estimate" above a run config's first line: the two things a person does with a finished config,
// without leaving the text. Both are the launcher's commands (launchConfig.ts), given this file.
import * as vscode from 'vscode';
import { isRunConfig } from './convert';

export const LAUNCH = 'tunelab.launchConfig';
export const ESTIMATE = 'tunelab.estimateConfig';

export const configCodeLenses: vscode.CodeLensProvider = {
  provideCodeLenses(doc) {
    if (!isRunConfig(doc) || doc.uri.scheme !== 'file') return [];
    const top = new vscode.Range(0, 0, 0, 0);
    return [
      new vscode.CodeLens(top, { title: '$(play) Launch', tooltip: 'Preflight on the selected host, then start the run', command: LAUNCH, arguments: [doc.uri] }),
      new vscode.CodeLens(top, { title: 'Estimate', tooltip: 'Memory, fit, disk and data from the agent\'s preflight; starts nothing', command: ESTIMATE, arguments: [doc.uri] }),
    ];
  },
};
