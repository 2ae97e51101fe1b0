// Stop Run, Delete Run, Show Metrics and Refresh Runs: each acts on a run from the tree, or one picked by name.
import * as vscode from 'vscode';
import { AgentError } from '../../core/agent/errors';
import { formatLoss, formatProgress, runTitle } from '../../core/runs/runLabels';
import type { RunStore } from '../../core/runs/runStore';
import { isActive, type RunRecord } from '../../core/runs/types';
import { message, type AgentConnection } from '../agentConnection';
import type { MetricsPanels } from '../metricsPanels';
import { UNTRUSTED_MESSAGE } from '../trust';

/** The tree passes its RunRecord; older snapshots or no argument are resolved against the store. */
export async function resolveRun(store: RunStore, arg: unknown, filter: (r: RunRecord) => boolean, placeHolder: string, none = 'Tunelab: no matching runs.'): Promise<RunRecord | undefined> {
  const runId = typeof arg === 'string' ? arg : (arg as Partial<RunRecord> | undefined)?.runId;
  if (typeof runId === 'string') return store.get(runId) ?? undefined;
  const runs = store.list().filter(filter);
  if (runs.length === 0) {
    void vscode.window.showInformationMessage(none);
    return undefined;
  }
  const picked = await vscode.window.showQuickPick(
    // Newest first; the title tells runs of one config apart, and typing a state ("completed") filters on the description.
    [...runs].sort((a, b) => b.created - a.created).map((r) => ({
      label: runTitle(r),
      description: [r.state, formatProgress(r), formatLoss(r.loss)].filter(Boolean).join(' · '),
      detail: r.runId,
      run: r,
    })),
    // The first step of commands that ask more after it: a panel taking focus must not cancel the whole command.
    { placeHolder, matchOnDescription: true, matchOnDetail: true, ignoreFocusOut: true },
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
    // From the palette: a picker of the active runs only.
    const run = await resolveRun(store, arg, isActive, 'Run to stop', 'Tunelab: no run is starting or training, so there is nothing to stop.');
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

/** Deletes a finished run on its agent, after a modal confirmation that names it. */
export function deleteRunCommand(store: RunStore, connection: AgentConnection, log: vscode.LogOutputChannel) {
  return async (arg?: unknown): Promise<void> => {
    // Deleting reaches the agent like starting a run does; an untrusted workspace does neither.
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showErrorMessage(UNTRUSTED_MESSAGE);
      return;
    }
    const run = await resolveRun(store, arg, (r) => !isActive(r), 'Run to delete');
    if (!run) return;
    if (isActive(run)) {
      void vscode.window.showInformationMessage(`Tunelab: ${run.name} is still ${run.state}; stop it before deleting it.`);
      return;
    }
    const where = connection.host ? ` on ${connection.host}` : '';
    const choice = await vscode.window.showWarningMessage(
      `Delete run "${run.name}"?`,
      { modal: true, detail: `Its events, logs and checkpoints (${run.runId})${where} are removed. This cannot be undone.` },
      DELETE,
    );
    if (choice !== DELETE) return;
    try {
      const client = await connection.connected();
      await client.request('delete_run', { run_id: run.runId });
      store.remove(run.runId);
      log.info(`deleted run ${run.runId}${where}`);
    } catch (e) {
      log.error(`delete_run ${run.runId}: ${message(e)}`);
      const why = e instanceof AgentError && e.code === 'unknown_method' ? 'this agent is older than the extension and cannot delete runs' : message(e);
      void vscode.window.showErrorMessage(`Tunelab could not delete ${run.name}: ${why}`);
    }
  };
}

const DELETE = 'Delete';
