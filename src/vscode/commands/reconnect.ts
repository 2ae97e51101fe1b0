// Tunelab: Reconnect to Agent — drops the link and connects afresh, and says how it went: a progress toast
// while it works, then "connected" or why not (a silent status-bar flicker looked like nothing happened).
import * as vscode from 'vscode';
import type { AgentConnection } from '../agentConnection';
import { SHOW_LOG_COMMAND } from '../statusBar';

export function reconnectCommand(connection: AgentConnection) {
  return async (): Promise<void> => {
    const where = connection.host ?? 'this machine';
    await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Tunelab: reconnecting to the agent on ${where}…` },
      () => connection.restart());
    const state = connection.current;
    if (state.kind === 'connected') {
      void vscode.window.showInformationMessage(`Tunelab: connected to the agent on ${where} (tunelab-agent ${state.agentVersion}).`);
    } else if (state.kind === 'failed' && !connection.host) {
      // An SSH host's failure has already been shown by the connection, with Retry / Select Host.
      const choice = await vscode.window.showErrorMessage(`Tunelab could not reach the agent on ${where}: ${state.reason}`, 'Show Log');
      if (choice === 'Show Log') await vscode.commands.executeCommand(SHOW_LOG_COMMAND);
    }
  };
}
