// The Runs view: one item per run, kept current from the RunStore, and under each run its checkpoints
// (core/runs/checkpointList.ts keeps them current from the event stream).
import * as vscode from 'vscode';
import { describeCheckpoint } from '../core/runs/checkpointLabels';
import type { CheckpointList } from '../core/runs/checkpointList';
import { describeRun } from '../core/runs/runLabels';
import type { RunStore } from '../core/runs/runStore';

export const SHOW_METRICS_COMMAND = 'tunelab.showMetrics';

/**
 * What the view's items stand for; commands get these as their argument. A run node carries `runId` like a
 * RunRecord does, and a checkpoint node is the `{ runId, checkpoint }` other parts pass to checkpoint commands.
 */
export type RunsNode =
  | { kind: 'run'; runId: string }
  | { kind: 'checkpoint'; runId: string; checkpoint: string }
  | { kind: 'note'; runId: string; text: string; icon: string };

export class RunsTreeProvider implements vscode.TreeDataProvider<RunsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<RunsNode | undefined>();
  readonly onDidChangeTreeData = this.changed.event;
  private pending: NodeJS.Timeout | undefined;
  private readonly subscriptions: Array<{ dispose(): void }>;
  /**
   * The run nodes handed to VS Code, one object per run: a refresh of one run names the very object the view
   * holds. What each run's row and checkpoints showed when last drawn, so only what changed is redrawn.
   */
  private readonly runNodes = new Map<string, RunsNode>();
  private drawn = new Map<string, string>();
  private drawnOrder = '';

  constructor(private readonly store: RunStore, private readonly checkpoints: CheckpointList) {
    // A replay delivers thousands of events at once; one redraw per burst is enough.
    const redraw = () => {
      this.pending ??= setTimeout(() => {
        this.pending = undefined;
        this.refresh();
      }, 100);
    };
    this.subscriptions = [store.onChange(redraw), checkpoints.onChange(redraw)];
  }

  /**
   * Redraws the runs whose row or checkpoints changed, or the whole list when runs came or went. A redraw
   * replaces the view's handles for a run's checkpoints; a context menu opened on one just then runs its
   * command with no argument (and a picker instead), so a quiet run is never redrawn.
   */
  private refresh(): void {
    const runs = this.store.list();
    const order = runs.map((r) => r.runId).join('\n');
    const next = new Map<string, string>();
    const changed: RunsNode[] = [];
    for (const run of runs) {
      // Checkpoints are listed when a run is first expanded; peek() never lists one.
      const list = this.checkpoints.peek(run.runId);
      const signature = JSON.stringify([describeRun(run), list?.state === 'loaded' ? list.checkpoints.map(describeCheckpoint) : list]);
      next.set(run.runId, signature);
      const node = this.runNodes.get(run.runId);
      if (node && this.drawn.get(run.runId) !== signature) changed.push(node);
    }
    this.drawn = next;
    if (order !== this.drawnOrder) {
      this.drawnOrder = order;
      for (const id of this.runNodes.keys()) if (!next.has(id)) this.runNodes.delete(id);
      this.changed.fire(undefined);
      return;
    }
    for (const node of changed) this.changed.fire(node);
  }

  private runNode(runId: string): RunsNode {
    let node = this.runNodes.get(runId);
    if (!node) this.runNodes.set(runId, (node = { kind: 'run', runId }));
    return node;
  }

  getChildren(element?: RunsNode): RunsNode[] {
    if (!element) return this.store.list().map((r) => this.runNode(r.runId));
    if (element.kind !== 'run') return [];
    const list = this.checkpoints.get(element.runId);
    const note = (text: string, icon: string): RunsNode[] => [{ kind: 'note', runId: element.runId, text, icon }];
    if (list.state === 'loading') return note('Listing checkpoints…', 'loading~spin');
    if (list.state === 'failed') return note(`Could not list checkpoints: ${list.reason}`, 'warning');
    if (!list.checkpoints.length) return note('No checkpoints yet', 'info');
    return list.checkpoints.map((c) => ({ kind: 'checkpoint', runId: element.runId, checkpoint: c.name }));
  }

  getTreeItem(node: RunsNode): vscode.TreeItem {
    if (node.kind === 'note') {
      const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
      item.id = `${node.runId}/:note`;
      item.iconPath = new vscode.ThemeIcon(node.icon);
      return item;
    }
    if (node.kind === 'checkpoint') return this.checkpointItem(node);
    const run = this.store.get(node.runId);
    const l = run ? describeRun(run) : undefined;
    // The label carries start time and short id (describeRun), so two runs of one config can be told apart.
    const item = new vscode.TreeItem(l?.label ?? node.runId, vscode.TreeItemCollapsibleState.Collapsed);
    item.id = node.runId;
    if (!run || !l) return item;
    item.description = l.description;
    item.tooltip = l.tooltip;
    item.iconPath = new vscode.ThemeIcon(l.icon.id, l.icon.color ? new vscode.ThemeColor(l.icon.color) : undefined);
    item.contextValue = l.contextValue;
    item.command = { command: SHOW_METRICS_COMMAND, title: 'Show Metrics', arguments: [node] };
    return item;
  }

  getParent(node: RunsNode): RunsNode | undefined {
    return node.kind === 'run' ? undefined : this.runNode(node.runId);
  }

  private checkpointItem(node: Extract<RunsNode, { kind: 'checkpoint' }>): vscode.TreeItem {
    const list = this.checkpoints.get(node.runId);
    const entry = list.state === 'loaded' ? list.checkpoints.find((c) => c.name === node.checkpoint) : undefined;
    const item = new vscode.TreeItem(node.checkpoint, vscode.TreeItemCollapsibleState.None);
    item.id = `${node.runId}/${node.checkpoint}`;
    if (!entry) return item;
    const l = describeCheckpoint(entry);
    item.description = l.description;
    item.tooltip = l.tooltip;
    item.iconPath = new vscode.ThemeIcon(l.icon.id, l.icon.color ? new vscode.ThemeColor(l.icon.color) : undefined);
    item.contextValue = l.contextValue;
    return item;
  }

  dispose(): void {
    clearTimeout(this.pending);
    for (const s of this.subscriptions) s.dispose();
    this.changed.dispose();
  }
}
