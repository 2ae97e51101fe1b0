// Keeps at most one metrics panel per run (and per set of compared runs), revealing the existing one when
// asked again, and brings panels back after a window reload (WebviewPanelSerializer).
import * as vscode from 'vscode';
import type { HistoryLoader } from '../core/runs/historyLoader';
import type { RunStore } from '../core/runs/runStore';
import { MAX_COMPARED, restoredRunIds } from '../../webview/metrics/protocol';
import { MetricsPanel, type DashboardDeps, type StopRun } from './metricsPanel';

export class MetricsPanels implements vscode.Disposable, vscode.WebviewPanelSerializer {
  private readonly panels = new Map<string, MetricsPanel>();

  constructor(
    private readonly store: RunStore,
    private readonly history: HistoryLoader,
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    private readonly stopRun: StopRun,
    private readonly deps: DashboardDeps,
  ) {}

  show(runId: string): void {
    this.open([runId]);
  }

  /** One panel overlaying 2–6 runs (in the order given, duplicates dropped). */
  compare(runIds: readonly string[]): void {
    const ids = [...new Set(runIds)];
    if (ids.length < 2 || ids.length > MAX_COMPARED) throw new Error(`compare takes 2 to ${MAX_COMPARED} runs, not ${ids.length}`);
    this.open(ids);
  }

  /** VS Code restores a panel of the last session: chart the same runs again, if the state names them. */
  async deserializeWebviewPanel(panel: vscode.WebviewPanel, state: unknown): Promise<void> {
    const ids = restoredRunIds(state);
    if (!ids) {
      this.log.warn(`metrics panel: could not restore a panel whose saved state names no runs: ${JSON.stringify(state)?.slice(0, 200)}`);
      panel.dispose();
      return;
    }
    const key = ids.join('\u0000');
    if (this.panels.has(key)) {
      panel.dispose();
      return;
    }
    this.track(key, new MetricsPanel(ids, this.store, this.history, this.extensionUri, this.log, this.stopRun, this.deps, panel));
  }

  private open(ids: string[]): void {
    const key = ids.join('\u0000');
    const existing = this.panels.get(key);
    if (existing) return existing.reveal();
    this.track(key, new MetricsPanel(ids, this.store, this.history, this.extensionUri, this.log, this.stopRun, this.deps));
  }

  private track(key: string, panel: MetricsPanel): void {
    this.panels.set(key, panel);
    panel.onDidClose(() => this.panels.delete(key));
  }

  dispose(): void {
    for (const p of [...this.panels.values()]) p.dispose();
    this.panels.clear();
  }
}
