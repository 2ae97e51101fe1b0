// What a run or checkpoint command acts on: the tree item it was invoked on, a plain `{ runId, checkpoint }`
// from another part (the dashboard, the chat panel), or, with no argument, what the person picks.
import * as vscode from 'vscode';
import type { Checkpoint } from '../../core/protocol/messages';
import type { RunStore } from '../../core/runs/runStore';
import type { RunRecord } from '../../core/runs/types';
import { formatBytes } from '../../core/remote/transfers';
import type { AgentConnection } from '../agentConnection';
import { resolveRun } from '../commands/runCommands';

export interface CheckpointRef {
  run: RunRecord;
  checkpoint: string;
}

/** A checkpoint named by `arg` ({ runId, checkpoint }), or picked: first the run (unless `arg` names one), then its checkpoint. */
export async function resolveCheckpoint(
  store: RunStore, connection: AgentConnection, arg: unknown, what: string, runFilter: (r: RunRecord) => boolean = () => true,
): Promise<CheckpointRef | undefined> {
  const a = (arg ?? {}) as { runId?: unknown; checkpoint?: unknown };
  if (typeof a.runId === 'string' && typeof a.checkpoint === 'string') {
    const run = store.get(a.runId);
    if (!run) {
      void vscode.window.showErrorMessage(`Tunelab: no run ${a.runId} on the selected host.`);
      return undefined;
    }
    return { run, checkpoint: a.checkpoint };
  }
  const run = await resolveRun(store, typeof a.runId === 'string' ? a.runId : undefined, runFilter, `Run whose checkpoint to ${what}`);
  if (!run) return undefined;
  const client = await connection.connected();
  const { checkpoints } = await client.request('list_checkpoints', { run_id: run.runId });
  if (!checkpoints.length) {
    void vscode.window.showInformationMessage(`Tunelab: ${run.name} has no checkpoints yet.`);
    return undefined;
  }
  const picked = await pickCheckpoint(checkpoints, `Tunelab: checkpoint of ${run.name} to ${what}`);
  return picked && { run, checkpoint: picked.name };
}

export async function pickCheckpoint(checkpoints: Checkpoint[], title: string): Promise<Checkpoint | undefined> {
  const items = [...checkpoints].sort((a, b) => b.step - a.step).map((c) => ({
    label: `${c.is_best ? '$(star-full) ' : ''}${c.name}`,
    description: [`step ${c.step}`, c.eval_loss != null ? `eval loss ${c.eval_loss.toFixed(4)}` : '', c.is_best ? 'best' : ''].filter(Boolean).join(' · '),
    detail: `${c.files.length} files, ${formatBytes(c.files.reduce((n, f) => n + f.size, 0))}`,
    checkpoint: c,
  }));
  if (items.length === 1) return items[0].checkpoint;
  return (await vscode.window.showQuickPick(items, { title, matchOnDescription: true, ignoreFocusOut: true }))?.checkpoint;
}
