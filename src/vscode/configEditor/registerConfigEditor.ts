// Text editing of *.tunelab.yaml: diagnostics as you type (the editor's own, then the agent's), completion,
// hover and quick fixes. activate() calls registerConfigEditor once.
import * as vscode from 'vscode';
import type { RunStore } from '../../core/runs/runStore';
import type { AgentConnection } from '../agentConnection';
import { AgentCheck } from './agentCheck';
import { ConfigCodeActions, PICK_FILE_COMMAND, pickFileCommand } from './codeActions';
import { configCodeLenses } from './codeLens';
import { COMPARE_COMMAND, NormalizedConfigs, SCHEME, compareConfigCommand } from './compareConfig';
import { ConfigDiagnostics } from './configDiagnostics';
import { ConfigFormProvider, FORM_VIEW_TYPE, registerFormCommands } from './configForm';
import { EstimateStatus } from './estimateStatus';
import { CONFIG_SELECTOR, isRunConfig } from './convert';
import { completionProvider, hoverProvider } from './languageProviders';

export interface ConfigEditorDeps {
  connection: AgentConnection;
  store: RunStore;
  log: vscode.LogOutputChannel;
}

/** Returns the diagnostics the live checks show for a config, so that Start Run's refusal does not repeat them. */
export function registerConfigEditor(context: vscode.ExtensionContext, d: ConfigEditorDeps): (uri: vscode.Uri) => readonly vscode.Diagnostic[] {
  const diagnostics = new ConfigDiagnostics();
  let status: EstimateStatus | undefined;
  // The status first: the form redraws when the diagnostics are shown, and reads whether the estimate is current.
  const agent = new AgentCheck(d.connection, d.log, (uri) => { status?.answered(uri); diagnostics.agentAnswered(uri); });
  status = new EstimateStatus(agent, d.connection, (doc) => diagnostics.current(doc).some((x) => x.severity === 'error' && x.code !== 'agent'));
  const form = new ConfigFormProvider({ extensionUri: context.extensionUri, diagnostics, estimate: status, log: d.log });
  // A text that stops passing the schema gets no agent answer: its own checks must update the status themselves.
  diagnostics.onShown = (doc) => { status?.refresh(); form.refresh(doc.uri); };
  diagnostics.attach(agent);
  const recheckAll = () => vscode.workspace.textDocuments.filter(isRunConfig).forEach((doc) => diagnostics.update(doc));

  context.subscriptions.push(
    diagnostics, agent, status,
    vscode.languages.registerCompletionItemProvider(CONFIG_SELECTOR, completionProvider, ' '),
    vscode.languages.registerHoverProvider(CONFIG_SELECTOR, hoverProvider),
    vscode.languages.registerCodeLensProvider(CONFIG_SELECTOR, configCodeLenses),
    vscode.workspace.registerTextDocumentContentProvider(SCHEME, new NormalizedConfigs(d.connection)),
    vscode.commands.registerCommand(COMPARE_COMMAND, compareConfigCommand(d.store)),
    vscode.languages.registerCodeActionsProvider(CONFIG_SELECTOR, new ConfigCodeActions(diagnostics), { providedCodeActionKinds: ConfigCodeActions.kinds }),
    vscode.commands.registerCommand(PICK_FILE_COMMAND, pickFileCommand),
    vscode.window.registerCustomEditorProvider(FORM_VIEW_TYPE, form, { supportsMultipleEditorsPerDocument: true }),
    ...registerFormCommands(),
    // A link that comes up (or reaches another host) can check what is open.
    d.connection.onDidChangeState((s) => { if (s.kind === 'connected') recheckAll(); form.refresh(); }),
  );
  return (uri) => diagnostics.shownFor(uri);
}
