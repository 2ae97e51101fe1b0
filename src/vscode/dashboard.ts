// Wires the metrics dashboard into VS Code beyond Show Metrics: the Compare Runs command, the serializer
// that brings panels back after a reload, and what the panels need of the agent connection.
import * as vscode from 'vscode';
import type { RunStore } from '../core/runs/runStore';
import type { RunRecord } from '../core/runs/types';
import { MAX_COMPARED } from '../../webview/metrics/protocol';
import type { AgentConnection } from './agentConnection';
import { message } from './agentConnection';
import { MetricsPanel, type DashboardDeps } from './metricsPanel';
import type { MetricsPanels } from './metricsPanels';

export const COMPARE_RUNS_COMMAND = 'tunelab.compareRuns';

export function dashboardDeps(connection: AgentConnection, log: vscode.LogOutputChannel): DashboardDeps {
  return {
    async controlRun(run: RunRecord, action: 'save' | 'eval'): Promise<boolean> {
      try {
        const client = await connection.connected();
        const { id } = await client.request('control_run', { run_id: run.runId, action });
        log.info(`control_run ${action} ${run.runId}: request ${id}`);
        return true;
      } catch (e) {
        void vscode.window.showErrorMessage(`Tunelab could not ask ${run.name} to ${action === 'save' ? 'save a checkpoint' : 'evaluate'}: ${message(e)}`);
        return false;
      }
    },
    connected: () => connection.current.kind === 'connected',
    onDidChangeLink: (listener) => connection.onDidChangeState((s) => listener(s.kind === 'connected')),
  };
}

export function registerDashboard(context: vscode.ExtensionContext, panels: MetricsPanels, store: RunStore): void {
  context.subscriptions.push(
    vscode.window.registerWebviewPanelSerializer(MetricsPanel.viewType, panels),
    vscode.commands.registerCommand(COMPARE_RUNS_COMMAND, compareRunsCommand(store, panels)),
  );
}

/** Takes run ids (the Runs view's multi-select passes them), or asks for 2–6 runs with a multi-pick. */
export function compareRunsCommand(store: RunStore, panels: MetricsPanels) {
  return async (arg?: unknown, selected?: unknown): Promise<void> => {
    let ids = runIdsOf(selected) ?? runIdsOf(arg);
    if (!ids) {
      const picked = await vscode.window.showQuickPick(
        store.list().map((r) => ({ label: r.name, description: `${r.state} · step ${r.step}`, detail: r.runId, runId: r.runId })),
        { canPickMany: true, title: `Compare runs (pick 2 to ${MAX_COMPARED})`, placeHolder: 'Runs to overlay' },
      );
      if (!picked) return;
      ids = picked.map((p) => p.runId);
    }
    const unknown = ids.filter((id) => !store.get(id));
    if (unknown.length) {
      void vscode.window.showErrorMessage(`Tunelab: no run ${unknown.join(', ')} on this agent.`);
      return;
    }
    if (ids.length < 2 || ids.length > MAX_COMPARED) {
      void vscode.window.showWarningMessage(`Tunelab compares 2 to ${MAX_COMPARED} runs; ${ids.length} ${ids.length === 1 ? 'was' : 'were'} chosen.`);
      return;
    }
    panels.compare(ids);
  };
}

/** Run ids from a command argument: an array of ids, or of tree items / records that carry `runId`. */
function runIdsOf(arg: unknown): string[] | undefined {
  if (!Array.isArray(arg) || !arg.length) return undefined;
  const ids = arg.map((a) => (typeof a === 'string' ? a : typeof a === 'object' && a !== null && typeof (a as { runId?: unknown }).runId === 'string' ? (a as { runId: string }).runId : undefined));
  return ids.every((id): id is string => id !== undefined) ? [...new Set(ids)] : undefined;
}
