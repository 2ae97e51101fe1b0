// Tunelab: Open Sample Run Config (the walkthrough's second step): opens a run config of the workspace, or
// copies the sample that ships with the extension (config + small dataset) into the workspace and opens it.
// The sample names a tiny model next to it that Start Run offers to build, so it works with no model hub.
import { cpSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';

const SAMPLE_FOLDER = 'tunelab-sample';
const SAMPLE_CONFIG = 'sentiment.tunelab.yaml';

export function openSampleConfigCommand(extensionRoot: string, log: vscode.LogOutputChannel) {
  return async (): Promise<void> => {
    const existing = await vscode.workspace.findFiles('**/*.tunelab.{yaml,yml}', '**/node_modules/**', 50);
    // The shipped sample first when the workspace has it (this repository, or a copy made earlier).
    const sample = existing.find((u) => u.path.endsWith(`/${SAMPLE_CONFIG}`)) ?? existing[0];
    if (sample) {
      await vscode.window.showTextDocument(sample);
      return;
    }
    const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file');
    if (!folder) {
      const choice = await vscode.window.showInformationMessage('Tunelab: open a folder to put the sample run config in.', 'Open Folder');
      if (choice === 'Open Folder') await vscode.commands.executeCommand('vscode.openFolder');
      return;
    }
    const source = join(extensionRoot, 'samples');
    const target = join(folder.uri.fsPath, SAMPLE_FOLDER);
    if (!existsSync(join(source, SAMPLE_CONFIG))) {
      void vscode.window.showErrorMessage(`Tunelab: this installation has no sample config (${join(source, SAMPLE_CONFIG)} is missing).`);
      return;
    }
    // Never over an existing folder: the person's files win.
    if (!existsSync(target)) {
      cpSync(source, target, { recursive: true, filter: (p) => !p.includes('tiny-model') && !p.includes('smoke-model') && !p.endsWith('.py') });
      log.info(`copied the sample run config and dataset to ${target}`);
    }
    await vscode.window.showTextDocument(vscode.Uri.file(join(target, SAMPLE_CONFIG)));
  };
}
