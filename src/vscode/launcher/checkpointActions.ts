// Checkpoint actions of the Runs view: Evaluate on a dataset file you pick (progress, then the scores against the
// targets), Export Merged (progress, into the workspace; from an SSH host, downloaded and verified), and Chat
// with (the chat panel's tunelab.chatWithCheckpoint). Each takes a tree item or { runId, checkpoint }.
import { existsSync, readdirSync } from 'node:fs';
import { join, posix } from 'node:path';
import * as vscode from 'vscode';
import { AgentError } from '../../core/agent/errors';
import type { CheckpointList } from '../../core/runs/checkpointList';
import { evaluationLines, targetsVerdict } from '../../core/runs/checkpointLabels';
import type { RunStore } from '../../core/runs/runStore';
import { downloadFile, formatBytes, uploadFile } from '../../core/remote/transfers';
import { message, type AgentConnection } from '../agentConnection';
import { UNTRUSTED_MESSAGE } from '../trust';
import { pickRowsFile } from '../datasetFilePicker';
import { resolveCheckpoint } from './pickers';

export const CHAT_WITH_CHECKPOINT_COMMAND = 'tunelab.chatWithCheckpoint';
/** Where merged exports go: <first workspace folder>/tunelab-exports/<run id>/<checkpoint>-merged. */
export const EXPORT_FOLDER = 'tunelab-exports';
/** Evaluation runs the model once per row; a large file takes a while even on a GPU. */
const EVALUATE_TIMEOUT_MS = 6 * 60 * 60_000;
const EXPORT_TIMEOUT_MS = 60 * 60_000;

type Progress = vscode.Progress<{ message?: string; increment?: number }>;

function trusted(): boolean {
  if (vscode.workspace.isTrusted) return true;
  void vscode.window.showErrorMessage(UNTRUSTED_MESSAGE);
  return false;
}

/** Reports stream `progress` frames as increments of one notification. */
function progressReporter(progress: Progress, prefix = '') {
  let shown = 0;
  return (done: number, total: number, what?: string) => {
    const pct = total ? Math.min(100, (100 * done) / total) : 0;
    progress.report({ increment: pct - shown, message: `${prefix}${what ?? `${done} of ${total}`}` });
    shown = pct;
  };
}

export function evaluateCheckpointCommand(store: RunStore, connection: AgentConnection, checkpoints: CheckpointList, log: vscode.LogOutputChannel) {
  return async (arg?: unknown): Promise<void> => {
    if (!trusted()) return;
    try {
      const ref = await resolveCheckpoint(store, connection, arg, 'evaluate');
      if (!ref) return;
      const file = await pickRowsFile(`Tunelab: rows to evaluate ${ref.checkpoint} of ${ref.run.name} on`, 'Evaluate');
      if (!file) return;
      const host = connection.host;
      const result = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Tunelab: evaluating ${ref.checkpoint} of ${ref.run.name}`, cancellable: true },
        async (progress, token) => {
          const client = await connection.connected();
          let path = file.fsPath;
          if (host) {
            // The agent on the host reads the rows from its own disk: upload them (skipped when already there).
            const ssh = connection.remote?.link.ssh;
            const root = connection.remote?.link.current?.root;
            if (!ssh || !root) throw new Error(`not connected to ${host}`);
            progress.report({ message: `uploading ${vscode.workspace.asRelativePath(file)}` });
            path = (await uploadFile(ssh, file.fsPath, posix.join(root, 'uploads'), undefined, { host })).remotePath;
          }
          const report = progressReporter(progress);
          let requestId: number | undefined;
          token.onCancellationRequested(() => {
            if (requestId !== undefined) void client.request('cancel', { request_id: requestId }).catch(() => undefined);
          });
          return client.request('evaluate', { run_id: ref.run.runId, checkpoint: ref.checkpoint, file: path }, EVALUATE_TIMEOUT_MS, {
            onSent: (id) => (requestId = id),
            onStream: (m) => { if (m.kind === 'progress') report(m.data.done, m.data.total, `row ${m.data.done} of ${m.data.total}`); },
          });
        },
      );
      checkpoints.setScores(ref.run.runId, ref.checkpoint, result);
      const lines = evaluationLines(result);
      log.info(`evaluated ${ref.checkpoint} of ${ref.run.runId} on ${file.fsPath} (${result.rows} rows, ${result.seconds.toFixed(1)} s):\n${lines.join('\n')}`);
      const verdict = targetsVerdict(result) || 'no target applies to this file';
      const show = verdict.includes('missed') ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
      await show(`Tunelab: ${ref.checkpoint} of ${ref.run.name} on ${vscode.workspace.asRelativePath(file)}: ${verdict}`, {
        modal: true,
        detail: `${result.rows} rows in ${result.seconds.toFixed(1)} s\n\n${lines.join('\n')}`,
      });
    } catch (e) {
      const cancelled = e instanceof AgentError && e.code === 'cancelled';
      log[cancelled ? 'info' : 'error'](`evaluate: ${message(e)}`);
      if (!cancelled) void vscode.window.showErrorMessage(`Tunelab could not evaluate the checkpoint: ${message(e)}`);
    }
  };
}

export function exportCheckpointCommand(store: RunStore, connection: AgentConnection, log: vscode.LogOutputChannel) {
  return async (arg?: unknown): Promise<void> => {
    if (!trusted()) return;
    const folder = vscode.workspace.workspaceFolders?.find((f) => f.uri.scheme === 'file');
    if (!folder) {
      void vscode.window.showErrorMessage('Tunelab: open a folder to export the merged model into.');
      return;
    }
    try {
      const ref = await resolveCheckpoint(store, connection, arg, 'export merged');
      if (!ref) return;
      const host = connection.host;
      const localDest = freeFolder(join(folder.uri.fsPath, EXPORT_FOLDER, ref.run.runId), `${ref.checkpoint}-merged`);
      const done = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Tunelab: exporting ${ref.checkpoint} of ${ref.run.name} merged with its base model`, cancellable: false },
        async (progress) => {
          const client = await connection.connected();
          const report = progressReporter(progress, host ? `on ${host}: ` : '');
          const onStream = (m: { kind: string; data: unknown }) => {
            if (m.kind !== 'progress') return;
            const d = m.data as { done: number; total: number; message?: string };
            report(host ? d.done / 2 : d.done, d.total, d.message);
          };
          if (!host) {
            return client.request('export_checkpoint', { run_id: ref.run.runId, checkpoint: ref.checkpoint, dest: localDest }, EXPORT_TIMEOUT_MS, { onStream });
          }
          const ssh = connection.remote?.link.ssh;
          const root = connection.remote?.link.current?.root;
          if (!ssh || !root) throw new Error(`not connected to ${host}`);
          const remoteDest = posix.join(root, 'exports', ref.run.runId, `${localDest.split(/[\\/]/).pop()}`);
          const exported = await client.request('export_checkpoint', { run_id: ref.run.runId, checkpoint: ref.checkpoint, dest: remoteDest }, EXPORT_TIMEOUT_MS, { onStream });
          // Then each file down, checked against the size and sha256 the export reported.
          const total = exported.files.reduce((n, f) => n + f.size, 0);
          let before = 0;
          for (const f of exported.files) {
            await downloadFile(ssh, posix.join(exported.path, f.name), join(localDest, f.name), { host, expectedSize: f.size, expectedSha256: f.sha256 },
              (bytes) => report(total ? 50 + (50 * (before + bytes)) / total : 100, 100, `downloading ${f.name}: ${formatBytes(before + bytes)} of ${formatBytes(total)}`));
            before += f.size;
          }
          return { path: localDest, files: exported.files };
        },
      );
      const size = formatBytes(done.files.reduce((n, f) => n + f.size, 0));
      log.info(`exported ${ref.checkpoint} of ${ref.run.runId} merged to ${done.path} (${done.files.length} files, ${size})`);
      const reveal = await vscode.window.showInformationMessage(
        `Tunelab: ${ref.checkpoint} merged into ${vscode.workspace.asRelativePath(done.path)} (${done.files.length} files, ${size}).`, 'Reveal in Explorer');
      if (reveal) await vscode.commands.executeCommand('revealInExplorer', vscode.Uri.file(done.path));
    } catch (e) {
      log.error(`export_checkpoint: ${message(e)}`);
      void vscode.window.showErrorMessage(`Tunelab could not export the checkpoint: ${message(e)}`);
    }
  };
}

/** Chat with: hands { runId, checkpoint } to the chat panel (tunelab.chatWithCheckpoint). */
export function chatWithCheckpointItemCommand(store: RunStore, connection: AgentConnection) {
  return async (arg?: unknown): Promise<void> => {
    try {
      const ref = await resolveCheckpoint(store, connection, arg, 'chat with');
      if (ref) await vscode.commands.executeCommand(CHAT_WITH_CHECKPOINT_COMMAND, { runId: ref.run.runId, checkpoint: ref.checkpoint });
    } catch (e) {
      void vscode.window.showErrorMessage(`Tunelab could not open the chat: ${message(e)}`);
    }
  };
}

/** `<dir>/<name>`, or `<name>-2`, `-3`… when that folder already holds something (an export needs a new folder). */
function freeFolder(dir: string, name: string): string {
  for (let i = 1; ; i++) {
    const path = join(dir, i === 1 ? name : `${name}-${i}`);
    if (!existsSync(path) || readdirSync(path).length === 0) return path;
  }
}
