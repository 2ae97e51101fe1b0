// Run actions of the Runs view: Save Now and Eval Now (control_run), Resume from a checkpoint, Compare
// (the selected runs, handed to the dashboard's tunelab.compareRuns), and Reveal Config.
import * as vscode from 'vscode';
import { parse } from 'yaml';
import { AgentError } from '../../core/agent/errors';
import type { ControlAction } from '../../core/protocol/messages';
import { configForRun, selectedRunIds } from '../../core/runs/runRefs';
import type { RunStore } from '../../core/runs/runStore';
import { isActive } from '../../core/runs/types';
import { message, type AgentConnection } from '../agentConnection';
import { resolveRun } from '../commands/runCommands';
import type { MetricsPanels } from '../metricsPanels';
import { UNTRUSTED_MESSAGE } from '../trust';
import type { LaunchedConfigs } from './launchedConfigs';
import { resolveCheckpoint } from './pickers';

export const COMPARE_RUNS_COMMAND = 'tunelab.compareRuns';

const CONTROL_WORDS: Record<'save' | 'eval', { verb: string; done: string }> = {
  save: { verb: 'save a checkpoint of', done: 'saves a checkpoint at its next step' },
  eval: { verb: 'evaluate', done: 'evaluates at its next step' },
};

/** Save Now / Eval Now: the run acts at its next step; the checkpoint or eval then shows up under it. */
export function controlRunCommand(action: Extract<ControlAction, 'save' | 'eval'>, store: RunStore, connection: AgentConnection, log: vscode.LogOutputChannel) {
  return async (arg?: unknown): Promise<void> => {
    const run = await resolveRun(store, runIdArg(arg), isActive, `Run to ${CONTROL_WORDS[action].verb}`);
    if (!run) return;
    if (!isActive(run)) {
      void vscode.window.showInformationMessage(`Tunelab: ${run.name} is ${run.state}; only a training run can ${CONTROL_WORDS[action].verb.split(' ')[0]} now.`);
      return;
    }
    try {
      const client = await connection.connected();
      const { id } = await client.request('control_run', { run_id: run.runId, action });
      log.info(`control_run ${action} ${run.runId}: request ${id}`);
      void vscode.window.setStatusBarMessage(`Tunelab: ${run.name} ${CONTROL_WORDS[action].done}`, 5000);
    } catch (e) {
      log.error(`control_run ${action} ${run.runId}: ${message(e)}`);
      void vscode.window.showErrorMessage(`Tunelab could not ask ${run.name} to ${CONTROL_WORDS[action].verb.split(' ')[0]}: ${message(e)}`);
    }
  };
}

/** Resume a finished run from one of its checkpoints: training continues as a new segment of the same run. */
export function resumeRunCommand(store: RunStore, connection: AgentConnection, panels: MetricsPanels, log: vscode.LogOutputChannel) {
  return async (arg?: unknown): Promise<void> => {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showErrorMessage(UNTRUSTED_MESSAGE);
      return;
    }
    try {
      const ref = await resolveCheckpoint(store, connection, arg, 'resume from', (r) => !isActive(r));
      if (!ref) return;
      if (isActive(ref.run)) {
        void vscode.window.showInformationMessage(`Tunelab: ${ref.run.name} is still ${ref.run.state}; stop it before resuming it from a checkpoint.`);
        return;
      }
      const client = await connection.connected();
      const { segment } = await client.request('resume_run', { run_id: ref.run.runId, checkpoint: ref.checkpoint });
      log.info(`resumed ${ref.run.runId} from ${ref.checkpoint} (segment ${segment})`);
      panels.show(ref.run.runId);
    } catch (e) {
      const why = e instanceof AgentError && e.code === 'conflict' ? `${message(e)}` : message(e);
      log.error(`resume_run: ${why}`);
      void vscode.window.showErrorMessage(`Tunelab could not resume the run: ${why}`);
    }
  };
}

/** The Runs view's multi-select Compare: the dashboard's tunelab.compareRuns gets the run ids. */
export function compareSelectedRunsCommand() {
  return async (clicked?: unknown, selection?: unknown): Promise<void> => {
    const ids = selectedRunIds(clicked, selection);
    if (!ids.length) {
      void vscode.window.showInformationMessage('Tunelab: select the runs to compare in the Runs view (Ctrl/Cmd+click), then Compare Runs.');
      return;
    }
    await vscode.commands.executeCommand(COMPARE_RUNS_COMMAND, ids);
  };
}

/** Opens the config file the run was started from: recorded at launch, else the workspace config naming it. */
export function revealConfigCommand(store: RunStore, launched: LaunchedConfigs) {
  return async (arg?: unknown): Promise<void> => {
    const path = await configOfRun(store, launched, arg, 'Run whose config to open');
    // Opened in an editor; the side bar stays on the Runs view the person is working in.
    if (path) await vscode.window.showTextDocument(vscode.Uri.file(path), { preview: false });
  };
}

/** Show Training Data: the run's config's dataset.train in the dataset editor, read as that config reads it. */
export function showTrainingDataCommand(store: RunStore, launched: LaunchedConfigs) {
  return async (arg?: unknown): Promise<void> => {
    const path = await configOfRun(store, launched, arg, 'Run whose training data to show');
    if (path) await vscode.commands.executeCommand('tunelab.previewDataset', vscode.Uri.file(path), 'dataset.train');
  };
}

/** The config file a run was started from (recorded at launch, else the workspace config naming it), or a message. */
async function configOfRun(store: RunStore, launched: LaunchedConfigs, arg: unknown, placeHolder: string): Promise<string | undefined> {
  const run = await resolveRun(store, runIdArg(arg), () => true, placeHolder);
  if (!run) return undefined;
  let path = launched.get(run.runId);
  if (!path) {
    const files = await vscode.workspace.findFiles('**/*.tunelab.{yaml,yml}', '**/node_modules/**', 500);
    const configs = await Promise.all(files.map(async (uri) => ({ path: uri.fsPath, name: await declaredName(uri) })));
    path = configForRun(run.name, configs);
  }
  if (!path) {
    void vscode.window.showInformationMessage(`Tunelab: no run config in this workspace is named "${run.name}" (the run was started from elsewhere, or its config was renamed).`);
  }
  return path;
}

async function declaredName(uri: vscode.Uri): Promise<string | null> {
  try {
    const doc = parse(Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8')) as { name?: unknown } | null;
    return typeof doc?.name === 'string' ? doc.name : null;
  } catch {
    return null; // an unparsable config names nothing; the launch would report its error
  }
}

/** A run item, a `{ runId }` object or a run id string: the id; anything else asks. */
function runIdArg(arg: unknown): string | undefined {
  if (typeof arg === 'string') return arg;
  const id = (arg as { runId?: unknown } | undefined)?.runId;
  return typeof id === 'string' ? id : undefined;
}
