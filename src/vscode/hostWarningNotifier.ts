// Pops up host warnings (disk nearly full) as they arrive live; which events qualify, and the words, are
// decided in core/runs/hostWarnings.ts.
import * as vscode from 'vscode';
import type { AgentEvent } from '../core/protocol/messages';
import { HostWarnings } from '../core/runs/hostWarnings';
import type { RunStore } from '../core/runs/runStore';
import { SHOW_METRICS_COMMAND } from './runsTree';

const SHOW_METRICS = 'Show Metrics';

export class HostWarningNotifier implements vscode.Disposable {
  private readonly warnings = new HostWarnings();
  private readonly subscription: vscode.Disposable;

  constructor(onEvent: vscode.Event<AgentEvent>, private readonly store: RunStore) {
    this.subscription = onEvent((e) => this.onEvent(e));
  }

  private onEvent(event: AgentEvent): void {
    const warning = this.warnings.consider(event, this.store.get(event.run_id)?.name);
    if (!warning) return;
    void vscode.window.showWarningMessage(warning.text, SHOW_METRICS).then((choice) => {
      if (choice !== SHOW_METRICS) return;
      // The record as it is now (the run may have moved on since the warning came); the command resolves an id too.
      void vscode.commands.executeCommand(SHOW_METRICS_COMMAND, this.store.get(warning.runId) ?? warning.runId);
    });
  }

  dispose(): void {
    this.subscription.dispose();
  }
}
