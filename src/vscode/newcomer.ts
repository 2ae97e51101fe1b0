// Wires the newcomer-facing services into activate() in one call: run notifications, the onboarding context
// keys, and the run-config problems reporter that Start Run uses.
import * as vscode from 'vscode';
import type { RunStore } from '../core/runs/runStore';
import type { AgentConnection } from './agentConnection';
import { ConfigProblemsUi } from './configProblemsUi';
import { registerOnboarding } from './onboarding';
import { registerRunNotifier } from './runNotifier';
import { openSampleConfigCommand } from './commands/openSampleConfig';
import { readAgentSettings } from './settings';

export interface NewcomerDeps {
  connection: AgentConnection;
  store: RunStore;
  log: vscode.LogOutputChannel;
}

export function registerNewcomer(context: vscode.ExtensionContext, deps: NewcomerDeps): { configProblems: ConfigProblemsUi } {
  const agentSettings = () => readAgentSettings(context.extensionUri.fsPath, deps.connection.managedVenvDir);
  const configProblems = new ConfigProblemsUi(() => agentSettings().python, deps.log);
  registerRunNotifier(context, { connection: deps.connection, store: deps.store, localRoot: () => (deps.connection.host ? undefined : agentSettings().root) });
  registerOnboarding(context, deps.connection, deps.store, deps.log);
  context.subscriptions.push(
    configProblems,
    vscode.commands.registerCommand('tunelab.openSampleConfig', openSampleConfigCommand(context.extensionUri.fsPath, deps.log)),
  );
  return { configProblems };
}
