// The sidebar run launcher: the Hosts and Configs views, the checkpoints under each run of the Runs view, and
// the run and checkpoint actions. activate() calls createCheckpointList (for the Runs tree) and registerLauncher.
import * as vscode from 'vscode';
import { CheckpointList } from '../../core/runs/checkpointList';
import type { RunStore } from '../../core/runs/runStore';
import type { AgentConnection } from '../agentConnection';
import { SETUP_AGENT_COMMAND } from '../agentConnection';
import { selectHost } from '../hostSettings';
import type { MetricsPanels } from '../metricsPanels';
import { UNTRUSTED_MESSAGE } from '../trust';
import { chatWithCheckpointItemCommand, evaluateCheckpointCommand, exportCheckpointCommand } from './checkpointActions';
import { ConfigsTreeProvider } from './configsTree';
import { HostsTreeProvider, type HostsNode } from './hostsTree';
import { estimateConfigCommand, launchConfigCommand } from './launchConfig';
import { newRunConfigCommand } from '../commands/newRunConfig';
import { LaunchedConfigs } from './launchedConfigs';
import { compareSelectedRunsCommand, controlRunCommand, resumeRunCommand, revealConfigCommand, showTrainingDataCommand } from './runActions';

/** The checkpoint lists of the Runs view, fed by the connection's events and listed again after a reconnect. */
export function createCheckpointList(connection: AgentConnection, store: RunStore): CheckpointList & vscode.Disposable {
  const list = new CheckpointList(async (runId) => (await (await connection.connected()).request('list_checkpoints', { run_id: runId })).checkpoints);
  const subscriptions = [
    connection.onDidReceiveEvent((e) => list.apply(e)),
    // A new link may have missed events (or reach another agent): expanded runs list their checkpoints again.
    connection.onDidChangeState((s) => { if (s.kind === 'connected' || s.kind === 'idle') list.clear(); }),
    store.onChange((c) => { if (c.removed) list.forget(c.runId); }),
  ];
  return Object.assign(list, { dispose: () => subscriptions.forEach((s) => s.dispose()) });
}

export interface LauncherDeps {
  connection: AgentConnection;
  store: RunStore;
  panels: MetricsPanels;
  checkpoints: CheckpointList;
  log: vscode.LogOutputChannel;
}

export function registerLauncher(context: vscode.ExtensionContext, d: LauncherDeps): void {
  const launched = new LaunchedConfigs(context.workspaceState);
  const hosts = new HostsTreeProvider(d.connection, d.log);
  const hostsView = vscode.window.createTreeView('tunelab.hosts', { treeDataProvider: hosts });
  hosts.setVisible(hostsView.visible);
  const configs = new ConfigsTreeProvider();
  const configsView = vscode.window.createTreeView('tunelab.configs', { treeDataProvider: configs });
  const cmd = (id: string, fn: (...args: never[]) => unknown) => vscode.commands.registerCommand(id, fn as (...args: unknown[]) => unknown);

  context.subscriptions.push(
    hosts, hostsView, configs, configsView,
    hostsView.onDidChangeVisibility((e) => hosts.setVisible(e.visible)),
    cmd('tunelab.launchConfig', launchConfigCommand(d.connection, d.panels, launched, d.log)),
    cmd('tunelab.estimateConfig', estimateConfigCommand(d.connection, d.log)),
    cmd('tunelab.newRunConfig', newRunConfigCommand(context.extensionUri.fsPath, d.store, d.connection, d.log)),
    cmd('tunelab.refreshHosts', () => hosts.refreshInfo()),
    cmd('tunelab.hosts.select', (node?: HostsNode) => selectHostNode(node)),
    cmd('tunelab.hosts.connect', async (node?: HostsNode) => {
      if (node?.kind === 'host' && !isSelected(node, d.connection)) return selectHostNode(node);
      await d.connection.start();
    }),
    cmd('tunelab.hosts.setUpAgent', async (node?: HostsNode) => {
      if (!vscode.workspace.isTrusted) return void vscode.window.showErrorMessage(UNTRUSTED_MESSAGE);
      if (node?.kind !== 'host' || node.local) return vscode.commands.executeCommand(SETUP_AGENT_COMMAND);
      // Connecting to an SSH host installs the agent, or replaces one running other code: a reconnect is the update.
      d.log.info(`${node.name}: checking the agent (installed and updated when it differs from this extension's)`);
      if (!isSelected(node, d.connection)) return selectHostNode(node);
      return d.connection.restart();
    }),
    cmd('tunelab.saveNow', controlRunCommand('save', d.store, d.connection, d.log)),
    cmd('tunelab.evalNow', controlRunCommand('eval', d.store, d.connection, d.log)),
    cmd('tunelab.resumeRun', resumeRunCommand(d.store, d.connection, d.panels, d.log)),
    cmd('tunelab.compareSelectedRuns', compareSelectedRunsCommand()),
    cmd('tunelab.revealRunConfig', revealConfigCommand(d.store, launched)),
    cmd('tunelab.showTrainingData', showTrainingDataCommand(d.store, launched)),
    cmd('tunelab.evaluateCheckpoint', evaluateCheckpointCommand(d.store, d.connection, d.checkpoints, d.log)),
    cmd('tunelab.exportCheckpoint', exportCheckpointCommand(d.store, d.connection, d.log)),
    cmd('tunelab.chatWithCheckpointItem', chatWithCheckpointItemCommand(d.store, d.connection)),
  );
}

function isSelected(node: Extract<HostsNode, { kind: 'host' }>, connection: AgentConnection): boolean {
  return node.local ? !connection.host : connection.host === node.name;
}

/** Selecting a host saves tunelab.host; the settings listener in activate() then connects to it. */
async function selectHostNode(node?: HostsNode): Promise<void> {
  if (!vscode.workspace.isTrusted) return void vscode.window.showErrorMessage(UNTRUSTED_MESSAGE);
  if (node?.kind !== 'host') return void (await vscode.commands.executeCommand('tunelab.selectHost'));
  await selectHost(node.local ? undefined : node.name);
}
