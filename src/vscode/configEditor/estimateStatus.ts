// The estimate beside a run config being edited, in the status bar: the memory preflight expects and whether it
// fits the selected host, from the agent's latest answer about this text (agentCheck.ts asks ~350 ms after typing
// stops). A click shows the whole report (Estimate). While the text has changed since that answer it says so.
import * as vscode from 'vscode';
import { estimateLine, type EstimateLine } from '../../core/configEditor/estimateLine';
import type { AgentConnection } from '../agentConnection';
import type { AgentCheck } from './agentCheck';
import { isRunConfig } from './convert';

export class EstimateStatus implements vscode.Disposable {
  private readonly item = vscode.window.createStatusBarItem('tunelab.configEstimate', vscode.StatusBarAlignment.Right, 100);
  private readonly subscriptions: vscode.Disposable[];
  /** Configs whose text changed after the answer now shown. */
  private readonly editing = new Set<string>();

  constructor(private readonly agent: AgentCheck, private readonly connection: AgentConnection, private readonly ownErrors: (doc: vscode.TextDocument) => boolean) {
    this.item.name = 'Tunelab: run config estimate';
    this.item.command = 'tunelab.estimateConfig';
    this.subscriptions = [
      vscode.window.onDidChangeActiveTextEditor(() => this.refresh()),
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (!e.contentChanges.length || !isRunConfig(e.document)) return;
        this.editing.add(e.document.uri.toString());
        this.refresh();
      }),
      connection.onDidChangeState(() => this.refresh()),
    ];
    this.refresh();
  }

  /** The agent answered about `uri` (or the config's own checks changed). */
  answered(uri: vscode.Uri): void {
    this.editing.delete(uri.toString());
    this.refresh();
  }

  refresh(): void {
    const doc = vscode.window.activeTextEditor?.document;
    if (!doc || !isRunConfig(doc)) {
      this.item.hide();
      return;
    }
    const line = this.lineFor(doc);
    this.show(`$(${line.icon}) ${line.text}`, line.tooltip);
  }

  /** The same words for a config shown elsewhere (the form), with `updating` as this item tracks it. */
  lineFor(doc: vscode.TextDocument): EstimateLine {
    return estimateLine({
      ownErrors: this.ownErrors(doc),
      agentReady: this.connection.current.kind === 'connected' && vscode.workspace.isTrusted,
      report: this.agent.report(doc),
      updating: this.editing.has(doc.uri.toString()),
    });
  }

  private show(text: string, tooltip: string): void {
    this.item.text = text;
    this.item.tooltip = tooltip;
    this.item.show();
  }

  dispose(): void {
    this.subscriptions.forEach((s) => s.dispose());
    this.item.dispose();
  }
}
