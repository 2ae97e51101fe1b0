// ▶ Launch from the Configs view: preflight on the selected host first (memory estimate against the GPUs,
// fit, disk, data, every error and warning with its key), then Start, or Start Anyway when it warns. The
// metrics dashboard opens on the new run. Errors block the start and offer to open the config at the key.
// Estimate (the config's CodeLens) shows the same report and starts nothing.
import * as vscode from 'vscode';
import type { AgentClient } from '../../core/agent/client';
import { lineOfKey } from '../../core/config/configProblems';
import { preflightReport, reportText, type PreflightReport } from '../../core/launch/preflightReport';
import type { HostInfo, ParamsOf } from '../../core/protocol/messages';
import { message, type AgentConnection } from '../agentConnection';
import { remoteParams, startRunError } from '../commands/startRun';
import { CONFIG_PATTERN, pickRunConfig } from '../configFiles';
import type { MetricsPanels } from '../metricsPanels';
import { UNTRUSTED_MESSAGE } from '../trust';
import type { LaunchedConfigs } from './launchedConfigs';

export const START = 'Start';
export const START_ANYWAY = 'Start Anyway';
export const OPEN_CONFIG = 'Open Config at the Error';

interface Checked {
  client: AgentClient;
  params: ParamsOf<'start_run'>;
  report: PreflightReport;
  file: string;
  where: string;
}

/** Preflight of the config `arg` names on the selected host, with progress; undefined when it could not run (said). */
async function checkConfig(connection: AgentConnection, log: vscode.LogOutputChannel, arg: unknown): Promise<{ doc: vscode.TextDocument; checked: Checked } | undefined> {
  if (!vscode.workspace.isTrusted) {
    void vscode.window.showErrorMessage(UNTRUSTED_MESSAGE);
    return undefined;
  }
  const doc = await configDocument(arg);
  if (!doc) return undefined;
  if (doc.isDirty && !(await doc.save())) {
    void vscode.window.showErrorMessage(`Tunelab: could not save ${vscode.workspace.asRelativePath(doc.uri)}; nothing was checked.`);
    return undefined;
  }
  const file = vscode.workspace.asRelativePath(doc.uri);
  const host = connection.host;
  const where = host ?? 'this machine';
  try {
    const checked = await vscode.window.withProgress(
      { location: vscode.ProgressLocation.Notification, title: `Tunelab: checking ${file} on ${where}…`, cancellable: !!host },
      async (progress, token) => {
        const client = await connection.connected();
        // A remote run reads uploaded copies of its data; preflight checks the config the run would get.
        const params = host
          ? await remoteParams(connection, client, host, doc, progress, token, log)
          : { config: doc.getText(), config_path: doc.uri.fsPath };
        progress.report({ message: 'preflight: memory, disk and data' });
        const [result, info] = await Promise.all([
          client.request('preflight', { config: params.config, ...(params.config_path ? { config_path: params.config_path } : {}) }, 120_000),
          client.request('host_info', {}).catch((e: unknown): HostInfo | null => {
            log.warn(`host_info on ${where}: ${message(e)}`);
            return null;
          }),
        ]);
        return { client, params, report: preflightReport(result, info, where), file, where };
      },
    );
    log.info(`preflight ${file} on ${where}: ${checked.report.headline}\n${reportText(checked.report)}`);
    return { doc, checked };
  } catch (e) {
    log.error(`preflight ${doc.uri.fsPath}: ${message(e)}`);
    void vscode.window.showErrorMessage(startRunError(file, e).replace('could not start', 'could not check'));
    return undefined;
  }
}

export function launchConfigCommand(connection: AgentConnection, panels: MetricsPanels, launched: LaunchedConfigs, log: vscode.LogOutputChannel) {
  return async (arg?: unknown): Promise<void> => {
    const found = await checkConfig(connection, log, arg);
    if (!found) return;
    const { doc, checked: { client, params, report, where } } = found;
    if (!(await confirm(report, doc))) return;
    try {
      const { run_id } = await client.request('start_run', params);
      log.info(`launched run ${run_id} from ${doc.uri.fsPath} on ${where}`);
      await launched.record(run_id, doc.uri.fsPath);
      panels.show(run_id);
    } catch (e) {
      log.error(`start_run ${doc.uri.fsPath}: ${message(e)}`);
      void vscode.window.showErrorMessage(startRunError(found.checked.file, e));
    }
  };
}

/** The config's CodeLens "Estimate": the same preflight as Launch, shown without starting anything. */
export function estimateConfigCommand(connection: AgentConnection, log: vscode.LogOutputChannel) {
  return async (arg?: unknown): Promise<void> => {
    const found = await checkConfig(connection, log, arg);
    if (!found) return;
    const { report } = found.checked;
    const detail = reportText(report);
    if (report.verdict === 'errors') {
      const choice = await vscode.window.showErrorMessage(report.headline, { modal: true, detail }, OPEN_CONFIG);
      if (choice === OPEN_CONFIG) await openAtKey(found.doc, report.problems.find((p) => p.severity === 'error')?.key ?? null);
      return;
    }
    await vscode.window.showInformationMessage(report.headline, { modal: true, detail });
  };
}

/** The modal with the report; true when the person chose to start. */
async function confirm(report: PreflightReport, doc: vscode.TextDocument): Promise<boolean> {
  const detail = reportText(report);
  if (report.verdict === 'errors') {
    const choice = await vscode.window.showErrorMessage(report.headline, { modal: true, detail }, OPEN_CONFIG);
    if (choice === OPEN_CONFIG) await openAtKey(doc, report.problems.find((p) => p.severity === 'error')?.key ?? null);
    return false;
  }
  const button = report.verdict === 'warnings' ? START_ANYWAY : START;
  const show = report.verdict === 'warnings' ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
  return (await show(report.headline, { modal: true, detail }, button)) === button;
}

async function openAtKey(doc: vscode.TextDocument, key: string | null): Promise<void> {
  const line = key ? lineOfKey(doc.getText(), key.split('.')) ?? undefined : undefined;
  const at = new vscode.Position(Math.max(0, (line ?? 1) - 1), 0);
  await vscode.window.showTextDocument(doc, { selection: new vscode.Range(at, at), preview: false });
}

/** The config of a Configs view item ({ uri }) or an Explorer URI, else the active editor's or a picked one. */
async function configDocument(arg: unknown): Promise<vscode.TextDocument | undefined> {
  const uri = arg instanceof vscode.Uri ? arg : (arg as { uri?: unknown } | undefined)?.uri;
  if (uri instanceof vscode.Uri) {
    if (!CONFIG_PATTERN.test(uri.path)) {
      void vscode.window.showErrorMessage(`Tunelab: ${vscode.workspace.asRelativePath(uri)} is not a run config (*.tunelab.yaml).`);
      return undefined;
    }
    return vscode.workspace.openTextDocument(uri);
  }
  return pickRunConfig();
}
