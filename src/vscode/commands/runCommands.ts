// Stop Run, Show Metrics and Refresh Runs: each acts on a run from the tree, or one picked by name.
import * as vscode from 'vscode';
import type { RunStore } from '../../core/runs/runStore';
import { isActive, type RunRecord } from '../../core/runs/types';
import { message, type AgentConnection } from '../agentConnection';
import type { MetricsPanels } from '../metricsPanels';

/** The tree passes its RunRecord; older snapshots or no argument are resolved against the store. */
export async function resolveRun(store: RunStore, arg: unknown, filter: (r: RunRecord) => boolean, placeHolder: string): Promise<RunRecord | undefined> {
  const runId = typeof arg === 'string' ? arg : (arg as Partial<RunRecord> | undefined)?.runId;
  if (typeof runId === 'string') return store.get(runId) ?? undefined;
  const runs = store.list().filter(filter);
  if (runs.length === 0) {
    void vscode.window.showInformationMessage('Tunelab: no matching runs.');
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    runs.map((r) => ({ label: r.name, description: `${r.state} · ${r.runId}`, run: r })),
    { placeHolder },
  );
  return picked?.run;
}

/** Asks the agent to stop one run and tells the user if it could not; false then. The Stop Run command and the metrics panel's Stop button share it. */
export async function stopRun(run: RunRecord, connection: AgentConnection, log: vscode.LogOutputChannel): Promise<boolean> {
  try {
    const client = await connection.connected();
    const { state } = await client.request('stop_run', { run_id: run.runId });
    log.info(`stop_run ${run.runId}: ${state}`);
    return true;
  } catch (e) {
    void vscode.window.showErrorMessage(`Tunelab could not stop ${run.name}: ${message(e)}`);
    return false;
  }
}

export function stopRunCommand(store: RunStore, connection: AgentConnection, log: vscode.LogOutputChannel) {
  return async (arg?: unknown): Promise<void> => {
    const run = await resolveRun(store, arg, isActive, 'Run to stop');
    if (run) await stopRun(run, connection, log);
  };
}

export function showMetricsCommand(store: RunStore, panels: MetricsPanels) {
  return async (arg?: unknown): Promise<void> => {
    const run = await resolveRun(store, arg, () => true, 'Run to chart');
    if (run) panels.show(run.runId);
  };
}

export function refreshRunsCommand(connection: AgentConnection) {
  return async (): Promise<void> => {
    try {
      await connection.refresh();
    } catch (e) {
      void vscode.window.showErrorMessage(`Tunelab could not list runs: ${message(e)}`);
    }
  };
}
