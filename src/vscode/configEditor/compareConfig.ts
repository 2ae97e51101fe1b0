// "Compare with…": a diff editor between this run config and another config of the workspace or the config a run
// was started with, both normalised (normalize.ts) so the diff shows what differs in meaning. The two sides are
// read-only documents of the `tunelab-config` scheme, made when VS Code asks for them.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { normalizeConfig } from '../../core/configEditor/normalize';
import { runTitle } from '../../core/runs/runLabels';
import type { RunStore } from '../../core/runs/runStore';
import { message, type AgentConnection } from '../agentConnection';
import { activeConfigUri, CONFIG_PATTERN } from '../configFiles';

export const SCHEME = 'tunelab-config';
export const COMPARE_COMMAND = 'tunelab.compareConfig';

/** tunelab-config:/<label>?file=<path> or ?run=<id>: the normalised text of a file or of a run's config. */
export class NormalizedConfigs implements vscode.TextDocumentContentProvider {
  constructor(private readonly connection: AgentConnection) {}

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const query = new URLSearchParams(uri.query);
    const file = query.get('file');
    if (file) return normalizeConfig(new TextDecoder().decode(await vscode.workspace.fs.readFile(vscode.Uri.file(file))));
    const runId = query.get('run') ?? '';
    try {
      const client = await this.connection.connected();
      const history = await client.request('run_history', { run_id: runId, series: [], max_points: 2, details: true });
      return history.config == null ? `# run ${runId} has no config on record\n` : normalizeConfig(history.config);
    } catch (e) {
      return `# the config of run ${runId} could not be read: ${message(e)}\n`;
    }
  }
}

const sideOf = (label: string, query: Record<string, string>) =>
  vscode.Uri.from({ scheme: SCHEME, path: `/${label}`, query: new URLSearchParams(query).toString() });

export function compareConfigCommand(store: RunStore) {
  return async (arg?: unknown): Promise<void> => {
    const uri = arg instanceof vscode.Uri ? arg : activeConfigUri();
    if (!uri || !CONFIG_PATTERN.test(uri.path)) {
      void vscode.window.showErrorMessage('Tunelab: Compare with… needs a run config (*.tunelab.yaml) open or picked.');
      return;
    }
    const others = (await vscode.workspace.findFiles('**/*.tunelab.{yaml,yml}', '**/node_modules/**', 200))
      .filter((f) => f.fsPath !== uri.fsPath)
      .map((f) => ({ label: `$(file) ${vscode.workspace.asRelativePath(f)}`, description: 'config', side: sideOf(basename(f.fsPath), { file: f.fsPath }) }));
    const runs = [...store.list()].sort((a, b) => b.created - a.created)
      .map((r) => ({ label: `$(history) ${runTitle(r)}`, description: `run · ${r.state}`, side: sideOf(`${r.name} (run ${r.runId}).yaml`, { run: r.runId }) }));
    const picked = await vscode.window.showQuickPick([...others, ...runs], {
      title: `Compare ${basename(uri.fsPath)} with…`, placeHolder: 'Another config of the workspace, or the config a run was started with', matchOnDescription: true, ignoreFocusOut: true,
    });
    if (!picked) return;
    const left = sideOf(basename(uri.fsPath), { file: uri.fsPath });
    const title = `${basename(uri.fsPath)} ↔ ${picked.side.path.slice(1)} (normalised)`;
    await vscode.commands.executeCommand('vscode.diff', left, picked.side, title);
  };
}
