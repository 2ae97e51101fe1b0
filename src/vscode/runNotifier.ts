// Shows what core/runs/runNotifications.ts decides: toasts with the action that fits, and saved checkpoints
// in the status bar only. The setting tunelab.notifications mutes kinds; it is read per event, so a change
// applies at once.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { RunNotifications, mutedKinds, type NoticeAction, type RunNotice } from '../core/runs/runNotifications';
import type { RunStore } from '../core/runs/runStore';
import type { AgentConnection } from './agentConnection';
import { SHOW_METRICS_COMMAND } from './runsTree';
import { SHOW_LOG_COMMAND } from './statusBar';

/** Built by another part of Tunelab; called with { runId, checkpoint }. */
export const CHAT_WITH_CHECKPOINT_COMMAND = 'tunelab.chatWithCheckpoint';
const STATUS_MESSAGE_MS = 15_000;

const TITLES: Record<NoticeAction['kind'], string> = {
  showLog: 'Show Log',
  openMetrics: 'Open Metrics',
  chatWithBest: 'Chat with Best Checkpoint',
};

export interface RunNotifierDeps {
  connection: AgentConnection;
  store: RunStore;
  /** The local agent's root, where runs/<id>/train.log is; undefined while the agent is on an SSH host. */
  localRoot(): string | undefined;
}

export function registerRunNotifier(context: vscode.ExtensionContext, deps: RunNotifierDeps): void {
  const decide = new RunNotifications();
  context.subscriptions.push(deps.connection.onDidReceiveEvent((event) => {
    const muted = mutedKinds(vscode.workspace.getConfiguration('tunelab').get('notifications'));
    const notice = decide.consider(event, deps.store.get(event.run_id)?.name, muted);
    if (notice) show(notice, deps);
  }));
}

function show(notice: RunNotice, deps: RunNotifierDeps): void {
  if (notice.severity === 'status') {
    vscode.window.setStatusBarMessage(`$(save) ${notice.text}`, STATUS_MESSAGE_MS);
    return;
  }
  const titles = notice.actions.map((a) => TITLES[a.kind]);
  const toast = notice.severity === 'error' ? vscode.window.showErrorMessage
    : notice.severity === 'warning' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
  void toast(notice.text, ...titles).then((choice) => {
    const action = notice.actions.find((a) => TITLES[a.kind] === choice);
    // A command that is missing or fails (e.g. chat not installed in this build) is said, not dropped.
    if (action) act(action, notice.runId, deps).catch((e: unknown) =>
      void vscode.window.showWarningMessage(`Tunelab: ${TITLES[action.kind]} did not work: ${e instanceof Error ? e.message : String(e)}`));
  });
}

async function act(action: NoticeAction, runId: string, deps: RunNotifierDeps): Promise<void> {
  switch (action.kind) {
    case 'openMetrics':
      // The record as it is now; the command resolves an id too.
      await vscode.commands.executeCommand(SHOW_METRICS_COMMAND, deps.store.get(runId) ?? runId);
      return;
    case 'chatWithBest':
      await vscode.commands.executeCommand(CHAT_WITH_CHECKPOINT_COMMAND, { runId, ...(action.checkpoint ? { checkpoint: action.checkpoint } : {}) });
      return;
    case 'showLog': {
      // The run's own log when it is on this machine (the traceback is there); else the extension's log, which has the cause.
      const root = deps.localRoot();
      const trainLog = root ? join(root, 'runs', runId, 'train.log') : undefined;
      if (trainLog && existsSync(trainLog)) {
        const doc = await vscode.workspace.openTextDocument(vscode.Uri.file(trainLog));
        const editor = await vscode.window.showTextDocument(doc, { preview: true });
        // The end of the log is where a failure is.
        const last = doc.lineCount - 1;
        editor.revealRange(new vscode.Range(last, 0, last, 0));
      } else {
        await vscode.commands.executeCommand(SHOW_LOG_COMMAND);
      }
    }
  }
}
