// Tunelab: Start Run — sends the run config to the agent of the selected host and opens the new run's
// metrics. For an SSH host the run's dataset and local model folder are uploaded first (skipped when the
// host already has them) and the config sent points at the uploads.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { parse } from 'yaml';
import type { AgentClient } from '../../core/agent/client';
import { AgentError } from '../../core/agent/errors';
import type { ParamsOf } from '../../core/protocol/messages';
import { prepareRemoteRun } from '../../core/remote/remoteRun';
import { formatBytes } from '../../core/remote/transfers';
import { message, type AgentConnection } from '../agentConnection';
import { pickRunConfig } from '../configFiles';
import type { ConfigProblemsUi } from '../configProblemsUi';
import type { MetricsPanels } from '../metricsPanels';
import { UNTRUSTED_MESSAGE } from '../trust';

export function startRunCommand(connection: AgentConnection, panels: MetricsPanels, log: vscode.LogOutputChannel, problems: ConfigProblemsUi) {
  // `uri`: the Explorer's Launch on a *.tunelab.yaml passes the file; the palette passes nothing.
  const command = async (uri?: unknown): Promise<void> => {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showErrorMessage(UNTRUSTED_MESSAGE);
      return;
    }
    const doc = await pickRunConfig(uri instanceof vscode.Uri ? uri : undefined);
    if (!doc) return;
    // The agent reads the text we send, but relative paths resolve against the file; keep both in step.
    if (doc.isDirty && !(await doc.save())) {
      void vscode.window.showErrorMessage(`Tunelab: could not save ${vscode.workspace.asRelativePath(doc.uri)}; the run was not started.`);
      return;
    }
    const file = vscode.workspace.asRelativePath(doc.uri);
    const host = connection.host;
    try {
      const { run_id } = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Tunelab: starting ${file}${host ? ` on ${host}` : ''}…`, cancellable: !!host },
        async (progress, token) => {
          const client = await connection.connected();
          const params = host
            ? await remoteParams(connection, client, host, doc, progress, token, log)
            : { config: doc.getText(), config_path: doc.uri.fsPath };
          return client.request('start_run', params);
        },
      );
      log.info(`started run ${run_id} from ${doc.uri.fsPath}${host ? ` on ${host}` : ''}`);
      problems.clear(doc.uri);
      panels.show(run_id);
    } catch (e) {
      log.error(`start_run ${doc.uri.fsPath}: ${message(e)}`);
      // The progress toast has closed by now (withProgress settled), so the error never sits beside "starting…".
      if (e instanceof AgentError && e.code === 'bad_config') void problems.report(doc, e.message, () => command(doc.uri));
      else void vscode.window.showErrorMessage(startRunError(file, e));
    }
  };
  return command;
}

/** Uploads what the run reads and returns start_run's params for the host's agent. */
export async function remoteParams(
  connection: AgentConnection, client: AgentClient, host: string, doc: vscode.TextDocument,
  progress: vscode.Progress<{ message?: string; increment?: number }>, token: vscode.CancellationToken, log: vscode.LogOutputChannel,
): Promise<ParamsOf<'start_run'>> {
  const ssh = connection.remote?.link.ssh;
  const root = connection.remote?.link.current?.root;
  if (!ssh || !root || client.state.kind !== 'connected') throw new Error(`not connected to ${host}`);
  const abort = new AbortController();
  token.onCancellationRequested(() => abort.abort());
  let shown = 0;
  const prepared = await prepareRemoteRun(ssh, { configText: doc.getText(), configPath: doc.uri.fsPath, agentRoot: root, host, signal: abort.signal },
    (done, total, what) => {
      const pct = total ? (100 * done) / total : 100;
      progress.report({ increment: pct - shown, message: `uploading ${what}: ${formatBytes(done)} of ${formatBytes(total)}` });
      shown = pct;
    });
  for (const u of prepared.uploads) {
    log.info(`${u.key}: ${u.localPath} → ${host}:${u.remotePath} (${formatBytes(u.size)}${u.skipped ? ', already there' : ', uploaded and verified'})`);
  }
  progress.report({ message: 'starting the run' });
  // The host has no copy of the config file, so a config without a name is named after its file here, as the
  // local agent does (a name param would override one written in the config).
  const stem = basename(doc.uri.fsPath).split('.')[0];
  const named = typeof (parse(prepared.config) as { name?: unknown } | null)?.name === 'string';
  return { config: prepared.config, ...(stem && !named ? { name: stem } : {}) };
}

export function startRunError(file: string, e: unknown): string {
  if (e instanceof AgentError) {
    return `Tunelab could not start ${file}: ${e.message} (${e.code})`;
  }
  return `Tunelab could not start ${file}: ${message(e)}`;
}
