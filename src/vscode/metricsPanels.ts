// Keeps at most one metrics panel per run, revealing the existing one when asked again.
import * as vscode from 'vscode';
import type { HistoryLoader } from '../core/runs/historyLoader';
import type { RunStore } from '../core/runs/runStore';
import { MetricsPanel, type StopRun } from './metricsPanel';

export class MetricsPanels implements vscode.Disposable {
  private readonly panels = new Map<string, MetricsPanel>();

  constructor(
    private readonly store: RunStore,
    private readonly history: HistoryLoader,
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    private readonly stopRun: StopRun,
  ) {}

  show(runId: string): void {
    const existing = this.panels.get(runId);
    if (existing) return existing.reveal();
    const panel = new MetricsPanel(runId, this.store, this.history, this.extensionUri, this.log, this.stopRun);
    this.panels.set(runId, panel);
    panel.onDidClose(() => this.panels.delete(runId));
  }

  dispose(): void {
    for (const p of [...this.panels.values()]) p.dispose();
    this.panels.clear();
  }
}
