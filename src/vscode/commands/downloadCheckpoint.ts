// Tunelab: Download Checkpoint — copies a checkpoint from the SSH host into the workspace, every file
// checked against the checkpoint's manifest (size and sha256) before it counts as downloaded.
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { Checkpoint } from '../../core/protocol/messages';
import type { RunStore } from '../../core/runs/runStore';
import { downloadCheckpoint, formatBytes } from '../../core/remote/transfers';
import { message, type AgentConnection } from '../agentConnection';
import { resolveRun } from './runCommands';

/** Where downloads go: <first workspace folder>/tunelab-checkpoints/<run id>/<checkpoint>. */
export const DOWNLOAD_FOLDER = 'tunelab-checkpoints';

export function downloadCheckpointCommand(store: RunStore, connection: AgentConnection, log: vscode.LogOutputChannel) {
  return async (arg?: unknown): Promise<void> => {
    const host = connection.host;
    const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file');
    if (!host) {
      void vscode.window.showInformationMessage('Tunelab: runs on this machine keep their checkpoints on this machine already; Download Checkpoint is for runs on an SSH host.');
      return;
    }
    if (!folder) {
      void vscode.window.showErrorMessage('Tunelab: open a folder to download checkpoints into.');
      return;
    }
    const run = await resolveRun(store, arg, () => true, 'Run whose checkpoint to download');
    if (!run) return;
    try {
      const client = await connection.connected();
      const { checkpoints } = await client.request('list_checkpoints', { run_id: run.runId });
      if (!checkpoints.length) {
        void vscode.window.showInformationMessage(`Tunelab: ${run.name} has no checkpoints yet.`);
        return;
      }
      // A checkpoint item of the Runs view (or { runId, checkpoint }) names it; otherwise the person picks.
      const named = (arg as { checkpoint?: unknown } | undefined)?.checkpoint;
      const picked = typeof named === 'string' ? checkpoints.find((c) => c.name === named) : await pickCheckpoint(checkpoints);
      if (typeof named === 'string' && !picked) throw new Error(`${run.name} has no checkpoint ${named} (any more)`);
      if (!picked) return;
      const ssh = connection.remote?.link.ssh;
      if (!ssh) throw new Error(`not connected to ${host}`);
      const localDir = join(folder.uri.fsPath, DOWNLOAD_FOLDER, run.runId);
      const total = picked.files.reduce((n, f) => n + f.size, 0);
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Tunelab: downloading ${picked.name} of ${run.name} from ${host}`, cancellable: true },
        (progress, token) => {
          const abort = new AbortController();
          token.onCancellationRequested(() => abort.abort());
          let shown = 0;
          return downloadCheckpoint(ssh, picked, localDir, (done, all, file) => {
            const pct = all ? (100 * done) / all : 100;
            progress.report({ increment: pct - shown, message: `${file} · ${formatBytes(done)} of ${formatBytes(all)}` });
            shown = pct;
          }, { host, signal: abort.signal });
        },
      );
      log.info(`downloaded ${picked.name} of run ${run.runId} from ${host} to ${result.localPath} (${formatBytes(total)}, ${result.files.length} files verified)`);
      const reveal = await vscode.window.showInformationMessage(
        `Tunelab: ${picked.name} downloaded to ${vscode.workspace.asRelativePath(result.localPath)}: ${result.files.length} files, ${formatBytes(total)}, each matching the manifest's sha256.`,
        'Reveal in Explorer');
      if (reveal) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(result.localPath));
    } catch (e) {
      log.error(`download of a checkpoint of ${run.runId} from ${host}: ${message(e)}`);
      void vscode.window.showErrorMessage(`Tunelab could not download the checkpoint of ${run.name}: ${message(e)}`);
    }
  };
}

async function pickCheckpoint(checkpoints: Checkpoint[]): Promise<Checkpoint | undefined> {
  const items = [...checkpoints].sort((a, b) => b.step - a.step).map((c) => ({
    label: `${c.is_best ? '$(star-full) ' : ''}${c.name}`,
    description: [`step ${c.step}`, c.eval_loss != null ? `eval loss ${c.eval_loss.toFixed(4)}` : '', c.is_best ? 'best' : ''].filter(Boolean).join(' · '),
    detail: `${c.files.length} files, ${formatBytes(c.files.reduce((n, f) => n + f.size, 0))}`,
    checkpoint: c,
  }));
  if (items.length === 1) return items[0].checkpoint;
  return (await vscode.window.showQuickPick(items, { title: 'Tunelab: checkpoint to download', matchOnDescription: true, ignoreFocusOut: true }))?.checkpoint;
}
