// "Preview dataset" above dataset.train and dataset.eval (CodeLens), and Tunelab: Preview Dataset: the agent reads
// the file with the config's model and options (inspect_dataset), renders its first good rows as the trainer
// builds them (render_sample), and the page opens beside the config as a Markdown preview (previewMarkdown.ts).
import { existsSync, statSync } from 'node:fs';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import * as vscode from 'vscode';
import { previewMarkdown, type PreviewInput } from '../../core/dataset/previewMarkdown';
import { parseConfig } from '../../core/configEditor/parse';
import type { DatasetInspection, TrainOn } from '../../core/protocol/messages';
import { message, type AgentConnection } from '../agentConnection';
import { activeConfigUri } from '../configFiles';

export const PREVIEW_DATASET = 'tunelab.previewDataset';
export const PREVIEW_SCHEME = 'tunelab-dataset-preview';
const SAMPLES = 3;
const TIMEOUT_MS = 600_000;

type Split = 'dataset.train' | 'dataset.eval';

/** The pages made so far, by URI, for the Markdown preview to read. */
export class DatasetPreviews implements vscode.TextDocumentContentProvider {
  private readonly pages = new Map<string, string>();
  private readonly changed = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.changed.event;

  set(uri: vscode.Uri, text: string): void {
    this.pages.set(uri.toString(), text);
    this.changed.fire(uri);
  }

  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.pages.get(uri.toString()) ?? '# Dataset preview\n\nThis preview is gone: use Preview dataset above the config\'s `dataset.train` again.';
  }
}

export function previewDatasetCommand(connection: AgentConnection, previews: DatasetPreviews, log: vscode.LogOutputChannel) {
  return async (configArg?: unknown, keyArg?: unknown): Promise<void> => {
    const configUri = configArg instanceof vscode.Uri ? configArg : activeConfigUri();
    if (!configUri || !/\.tunelab\.ya?ml$/.test(configUri.path)) {
      void vscode.window.showErrorMessage('Tunelab: Preview Dataset needs a run config (*.tunelab.yaml) open, or its CodeLens above dataset.train.');
      return;
    }
    const key: Split = keyArg === 'dataset.eval' ? 'dataset.eval' : 'dataset.train';
    const doc = await vscode.workspace.openTextDocument(configUri);
    const config = parseConfig(doc.getText()).value as { model?: unknown; dataset?: Record<string, unknown> } | undefined;
    const written = config?.dataset?.[key.split('.')[1]];
    if (typeof written !== 'string' || !written) {
      void vscode.window.showErrorMessage(`Tunelab: ${key} is not set in ${basename(configUri.fsPath)}.`);
      return;
    }
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showErrorMessage('Tunelab: the agent reads datasets only in a trusted workspace.');
      return;
    }
    if (connection.host) {
      // The selected host gets the config's files at Start Run; this file is not there yet to be read.
      const open = 'Open the File';
      const choice = await vscode.window.showInformationMessage(
        `Tunelab: Preview Dataset asks the agent to read the file, and the selected host (${connection.host}) gets the config's files only at Start Run. Select "This machine" as the host to preview it here.`, open);
      if (choice === open) await vscode.window.showTextDocument(vscode.Uri.file(resolve(dirname(configUri.fsPath), written)));
      return;
    }
    const path = isAbsolute(written) ? written : resolve(dirname(configUri.fsPath), written);
    if (!existsSync(path) || !statSync(path).isFile()) {
      void vscode.window.showErrorMessage(`Tunelab: ${key}: ${written} is not a file (looked for ${path}).`);
      return;
    }
    const modelName = typeof config?.model === 'string' ? config.model : (config?.model as { name?: unknown } | undefined)?.name;
    const model = typeof modelName === 'string' ? (existsSync(resolve(dirname(configUri.fsPath), modelName)) ? resolve(dirname(configUri.fsPath), modelName) : modelName) : undefined;
    const options = config?.dataset ?? {};
    try {
      const page = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Tunelab: reading ${basename(path)} with the agent…`, cancellable: false },
        async () => {
          const client = await connection.connected();
          const common: { format?: string; train_on?: TrainOn; max_length?: number } = {};
          if (typeof options.format === 'string') common.format = options.format;
          if (options.train_on === 'all' || options.train_on === 'assistant') common.train_on = options.train_on;
          if (typeof options.max_length === 'number') common.max_length = options.max_length;
          const inspection = await client.request('inspect_dataset', { path, ...common, ...(model ? { model } : {}) }, TIMEOUT_MS);
          const samples: PreviewInput['samples'] = [];
          for (const line of goodLines(inspection, SAMPLES)) {
            if (!model) break;
            try {
              const r = await client.request('render_sample', { model, path, line, ...common }, TIMEOUT_MS);
              samples.push({ line, sequences: r.sequences });
            } catch (e) {
              samples.push({ line, error: message(e) });
            }
          }
          return previewMarkdown({ key, written, configName: basename(configUri.fsPath), model: model ? String(modelName) : '(no model)', inspection, samples });
        },
      );
      const uri = vscode.Uri.from({ scheme: PREVIEW_SCHEME, path: `/${basename(path)}.preview.md`, query: `${configUri.toString()}#${key}` });
      previews.set(uri, page);
      await vscode.commands.executeCommand('markdown.showPreviewToSide', uri).then(undefined, async (e: unknown) => {
        // Without the Markdown extension the page still reads well as text.
        log.warn(`Markdown preview unavailable (${message(e)}); showing the dataset preview as text`);
        await vscode.window.showTextDocument(await vscode.workspace.openTextDocument(uri), { viewColumn: vscode.ViewColumn.Beside, preview: true });
      });
    } catch (e) {
      log.error(`preview ${path}: ${message(e)}`);
      void vscode.window.showErrorMessage(`Tunelab could not preview ${written}: ${message(e)}`);
    }
  };
}

/** The first `n` rows the agent reported nothing wrong with (it lists its first diagnostics by line). */
function goodLines(inspection: DatasetInspection, n: number): number[] {
  const bad = new Set(inspection.diagnostics.filter((d) => d.severity === 'error').map((d) => d.line));
  const out: number[] = [];
  for (let line = 1; line <= inspection.lines && out.length < n; line++) if (!bad.has(line)) out.push(line);
  return out;
}
