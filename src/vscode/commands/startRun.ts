// Tunelab: Start Run — sends the run config to the agent and opens the new run's metrics.
import * as vscode from 'vscode';
import { AgentError } from '../../core/agent/errors';
import { message, type AgentConnection } from '../agentConnection';
import { pickRunConfig } from '../configFiles';
import type { MetricsPanels } from '../metricsPanels';
import { UNTRUSTED_MESSAGE } from '../trust';

export function startRunCommand(connection: AgentConnection, panels: MetricsPanels, log: vscode.LogOutputChannel) {
  return async (): Promise<void> => {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showErrorMessage(UNTRUSTED_MESSAGE);
      return;
    }
    const doc = await pickRunConfig();
    if (!doc) return;
    // The agent reads the text we send, but relative paths resolve against the file; keep both in step.
    if (doc.isDirty && !(await doc.save())) {
      void vscode.window.showErrorMessage(`Tunelab: could not save ${vscode.workspace.asRelativePath(doc.uri)}; the run was not started.`);
      return;
    }
    const file = vscode.workspace.asRelativePath(doc.uri);
    try {
      const { run_id } = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Tunelab: starting ${file}…` },
        async () => {
          const client = await connection.connected();
          return client.request('start_run', { config: doc.getText(), config_path: doc.uri.fsPath });
        },
      );
      log.info(`started run ${run_id} from ${doc.uri.fsPath}`);
      panels.show(run_id);
    } catch (e) {
      log.error(`start_run ${doc.uri.fsPath}: ${message(e)}`);
      void vscode.window.showErrorMessage(startRunError(file, e));
    }
  };
}

function startRunError(file: string, e: unknown): string {
  if (e instanceof AgentError) {
    // bad_config text already names the file and key (e.g. "training.learning_rate: expected number").
    if (e.code === 'bad_config') return `Tunelab: invalid run config: ${e.message}`;
    return `Tunelab could not start ${file}: ${e.message} (${e.code})`;
  }
  return `Tunelab could not start ${file}: ${message(e)}`;
}
