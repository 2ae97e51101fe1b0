// Tunelab: Set Up Agent Environment — makes the Python environment an installed extension runs its agent in.
import { join } from 'node:path';
import * as vscode from 'vscode';
import { createAgentEnvironment } from '../../core/host/agentEnvironment';
import { message, type AgentConnection } from '../agentConnection';
import { UNTRUSTED_MESSAGE } from '../trust';

export function setupAgentCommand(extensionRoot: string, connection: AgentConnection, log: vscode.LogOutputChannel) {
  let running: Promise<void> | undefined;
  return (): Promise<void> => {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showErrorMessage(UNTRUSTED_MESSAGE);
      return Promise.resolve();
    }
    // A second click while pip is still busy would fight over the same folder.
    running ??= setUp(extensionRoot, connection, log).finally(() => (running = undefined));
    return running;
  };
}

async function setUp(extensionRoot: string, connection: AgentConnection, log: vscode.LogOutputChannel): Promise<void> {
  log.show(true);
  try {
    const python = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: 'Tunelab: setting up the agent', cancellable: false },
      (progress) => createAgentEnvironment({
        agentSource: join(extensionRoot, 'python-agent'),
        venvDir: connection.managedVenvDir,
        onOutput: (line) => log.info(`setup: ${line}`),
        onStep: (step) => {
          log.info(`setup: ${step}`);
          progress.report({ message: step });
        },
      }),
    );
    log.info(`setup: the agent's Python is ${python}`);
    void vscode.window.showInformationMessage('Tunelab: the agent is set up.');
    await connection.restart();
  } catch (e) {
    log.error(`setup failed: ${message(e)}`);
    void vscode.window.showErrorMessage(`Tunelab: setting up the agent failed: ${message(e).split('\n')[0]} (details in the Tunelab output)`);
  }
}
