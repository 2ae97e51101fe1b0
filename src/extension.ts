// Entry point: wires the Tunelab services into VS Code. Behaviour lives in src/vscode and src/core.
import { join } from 'node:path';
import * as vscode from 'vscode';
import { HistoryLoader } from './core/runs/historyLoader';
import { RunStore } from './core/runs/runStore';
import { AgentConnection, SETUP_AGENT_COMMAND } from './vscode/agentConnection';
import { deleteRunCommand, refreshRunsCommand, showMetricsCommand, stopRun, stopRunCommand } from './vscode/commands/runCommands';
import { downloadCheckpointCommand } from './vscode/commands/downloadCheckpoint';
import { selectHostCommand } from './vscode/commands/selectHost';
import { reconnectCommand } from './vscode/commands/reconnect';
import { setupAgentCommand } from './vscode/commands/setupAgent';
import { forgetSavedSecrets } from './vscode/connectUi';
import { registerChat } from './vscode/chat/registerChat';
import { affectsHostSettings } from './vscode/hostSettings';
import { startRunCommand } from './vscode/commands/startRun';
import { HostWarningNotifier } from './vscode/hostWarningNotifier';
import { MetricsPanels } from './vscode/metricsPanels';
import { dashboardDeps, registerDashboard } from './vscode/dashboard';
import { RunsTreeProvider } from './vscode/runsTree';
import { lazyOutputChannel } from './vscode/lazyOutputChannel';
import { createCheckpointList, registerLauncher } from './vscode/launcher/registerLauncher';
import { affectsAgentSettings } from './vscode/settings';
import { SHOW_LOG_COMMAND, createStatusBar } from './vscode/statusBar';
import { registerNewcomer } from './vscode/newcomer';
import { registerConfigEditor } from './vscode/configEditor/registerConfigEditor';
import { registerDatasetEditor } from './vscode/dataset/registerDatasetEditor';

export function activate(context: vscode.ExtensionContext): void {
  const version = String(context.extension.packageJSON.version ?? '0.0.0');
  const log = vscode.window.createOutputChannel('Tunelab', { log: true });
  // pip's output while the agent is installed on an SSH host: long and noisy, so apart from the log.
  const installOutput = lazyOutputChannel('Tunelab: Remote Agent Install');
  const store = new RunStore();
  const history = new HistoryLoader(store, (line) => log.warn(line));
  const connection = new AgentConnection(
    context.extensionUri.fsPath, join(context.globalStorageUri.fsPath, 'agent-venv'), `tunelab-vscode/${version}`, store, history, log,
    context.secrets, installOutput);
  const panels = new MetricsPanels(store, history, context.extensionUri, log, (run) => stopRun(run, connection, log), dashboardDeps(connection, log));
  const checkpoints = createCheckpointList(connection, store);
  const tree = new RunsTreeProvider(store, checkpoints);
  // Many runs can be selected at once: Compare Runs takes the selection.
  const view = vscode.window.createTreeView('tunelab.runs', { treeDataProvider: tree, showCollapseAll: false, canSelectMany: true });
  const newcomer = registerNewcomer(context, { connection, store, log });
  registerLauncher(context, { connection, store, panels, checkpoints, log });
  newcomer.configProblems.liveDiagnostics = registerConfigEditor(context, { connection, store, log });

  context.subscriptions.push(
    log, installOutput, connection, panels, checkpoints, tree, view, createStatusBar(connection),
    new HostWarningNotifier(connection.onDidReceiveEvent, store),
    vscode.commands.registerCommand('tunelab.startRun', startRunCommand(connection, panels, log, newcomer.configProblems)),
    vscode.commands.registerCommand('tunelab.stopRun', stopRunCommand(store, connection, log)),
    vscode.commands.registerCommand('tunelab.deleteRun', deleteRunCommand(store, connection, log)),
    vscode.commands.registerCommand('tunelab.showMetrics', showMetricsCommand(store, panels)),
    vscode.commands.registerCommand('tunelab.refreshRuns', refreshRunsCommand(connection)),
    vscode.commands.registerCommand(SETUP_AGENT_COMMAND, setupAgentCommand(context.extensionUri.fsPath, connection, log)),
    vscode.commands.registerCommand(SHOW_LOG_COMMAND, () => log.show()),
    vscode.commands.registerCommand('tunelab.selectHost', selectHostCommand()),
    vscode.commands.registerCommand('tunelab.reconnect', reconnectCommand(connection)),
    vscode.commands.registerCommand('tunelab.downloadCheckpoint', downloadCheckpointCommand(store, connection, log)),
    vscode.commands.registerCommand('tunelab.forgetSecrets', async () => {
      const n = await forgetSavedSecrets(context.secrets);
      void vscode.window.showInformationMessage(`Tunelab: forgot ${n} saved SSH passphrase${n === 1 ? '' : 's'} and password${n === 1 ? '' : 's'}.`);
    }),
    vscode.workspace.onDidChangeConfiguration((e) => { if (affectsAgentSettings(e) || affectsHostSettings(e)) void connection.restart(); }),
    // A folder added later must be readable by the agent; ensureLocalAgent restarts the server serving it too.
    vscode.workspace.onDidChangeWorkspaceFolders(() => void connection.restart()),
    // The Runs view's welcome text (package.json viewsWelcome) explains restricted mode; trust granted later starts the agent.
    vscode.workspace.onDidGrantWorkspaceTrust(() => void connection.start()),
  );

  registerChat(context, { connection, store, log });
  registerDatasetEditor(context, { connection, log });
  registerDashboard(context, panels, store);
  void connection.start();
}

export function deactivate(): void {
  // Runs and the agent server are detached on purpose: training continues after the window closes.
}
