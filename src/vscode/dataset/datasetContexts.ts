// Which run config each dataset file open in the editor belongs to. Preview dataset and Show training data name
// the config they come from; a file opened otherwise gets the first workspace config whose dataset.train or
// dataset.eval is that file. The editor reads the file as that config's run would (configContext.ts).
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import { datasetContextOf, type DatasetContext } from '../../core/dataset/configContext';

const SEARCHED = 50;

export class DatasetContexts {
  /** Configs named by the command that opened a dataset, by the dataset's URI. */
  private readonly named = new Map<string, vscode.Uri>();

  /** The next editor of `dataset` reads it with `config`'s model and options. */
  remember(dataset: vscode.Uri, config: vscode.Uri): void {
    this.named.set(dataset.toString(), config);
  }

  async contextOf(dataset: vscode.Uri): Promise<DatasetContext | undefined> {
    const named = this.named.get(dataset.toString());
    const candidates = named ? [named] : await vscode.workspace.findFiles('**/*.tunelab.{yaml,yml}', '**/node_modules/**', SEARCHED);
    for (const config of candidates) {
      try {
        const text = Buffer.from(await vscode.workspace.fs.readFile(config)).toString('utf8');
        const context = datasetContextOf(text, config.fsPath, dataset.fsPath, existsSync);
        if (context) return context;
      } catch {
        // An unreadable config names no dataset.
      }
    }
    return undefined;
  }
}
