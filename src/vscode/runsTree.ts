// The Runs view: one item per run, kept current from the RunStore.
import * as vscode from 'vscode';
import { describeRun } from '../core/runs/runLabels';
import type { RunStore } from '../core/runs/runStore';
import type { RunRecord } from '../core/runs/types';

export const SHOW_METRICS_COMMAND = 'tunelab.showMetrics';

export class RunsTreeProvider implements vscode.TreeDataProvider<RunRecord>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private pending: NodeJS.Timeout | undefined;
  private readonly subscription: { dispose(): void };

  constructor(private readonly store: RunStore) {
    // A replay delivers thousands of events at once; one redraw per burst is enough.
    this.subscription = store.onChange(() => {
      this.pending ??= setTimeout(() => {
        this.pending = undefined;
        this.changed.fire();
      }, 100);
    });
  }

  getChildren(element?: RunRecord): RunRecord[] {
    return element ? [] : this.store.list();
  }

  getTreeItem(run: RunRecord): vscode.TreeItem {
    const l = describeRun(run);
    const item = new vscode.TreeItem(l.label, vscode.TreeItemCollapsibleState.None);
    item.id = run.runId;
    item.description = l.description;
    item.tooltip = l.tooltip;
    item.iconPath = new vscode.ThemeIcon(l.icon.id, l.icon.color ? new vscode.ThemeColor(l.icon.color) : undefined);
    item.contextValue = l.contextValue;
    item.command = { command: SHOW_METRICS_COMMAND, title: 'Show Metrics', arguments: [run] };
    return item;
  }

  dispose(): void {
    clearTimeout(this.pending);
    this.subscription.dispose();
    this.changed.dispose();
  }
}
