// One webview panel: the metrics dashboard of one run, or 2–6 runs compared. While it is open its runs are
// shown (HistoryLoader.open), so the store keeps their points and markers: each run's history first,
// then live ones. The webview asks with `ready` (again after every reload), gets `init` with everything
// so far, then `append` per change of one of its runs, `init` again when a history lands, and `link` when
// the agent link drops or returns. Its controls ask the host (stop, Save/Eval now, a checkpoint's
// chat/evaluate/resume, export) and every request is checked against the panel's own runs first.
import * as vscode from 'vscode';
import { writeFileAtomic } from '../core/files/atomicWrite';
import { configDiff } from '../core/runs/configDiff';
import { runTitle } from '../core/runs/runLabels';
import type { HistoryLoader } from '../core/runs/historyLoader';
import type { RunChange, RunStore } from '../core/runs/runStore';
import { isActive, type RunRecord } from '../core/runs/types';
import { parseWebviewMessage, pngBytes, type ConfigDiff, type HostMessage, type WebviewMessage } from '../../webview/metrics/protocol';
import { makeNonce, metricsHtml } from './metricsHtml';

/** The Stop Run command's own logic (runCommands.stopRun): true when the agent took the request. */
export type StopRun = (run: RunRecord) => Promise<boolean>;

/** What the dashboard needs of the agent connection beyond stopping (dashboardDeps.ts). */
export interface DashboardDeps {
  /** control_run save/eval; true when the agent took the request. */
  controlRun(run: RunRecord, action: 'save' | 'eval'): Promise<boolean>;
  connected(): boolean;
  onDidChangeLink(listener: (connected: boolean) => void): vscode.Disposable;
}

/** The commands a checkpoint marker's menu runs; other parts of Tunelab implement them. */
export const CHECKPOINT_COMMANDS = {
  chat: 'tunelab.chatWithCheckpoint',
  evaluate: 'tunelab.evaluateCheckpoint',
  resume: 'tunelab.resumeRun',
} as const;

export class MetricsPanel implements vscode.Disposable {
  static readonly viewType = 'tunelab.metrics';
  private readonly panel: vscode.WebviewPanel;
  private readonly disposables: Array<{ dispose(): void }> = [];
  private ready = false;
  private disposed = false;
  private readonly closed = new vscode.EventEmitter<void>();
  readonly onDidClose = this.closed.event;

  constructor(
    readonly runIds: readonly string[],
    private readonly store: RunStore,
    history: HistoryLoader,
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    private readonly stopRun: StopRun,
    private readonly deps: DashboardDeps,
    /** A panel VS Code restored after a reload (the serializer); a new one otherwise. */
    restored?: vscode.WebviewPanel,
  ) {
    const options = {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
    };
    const panel = (this.panel = restored ?? vscode.window.createWebviewPanel(MetricsPanel.viewType, this.title(), vscode.ViewColumn.Active, options));
    if (restored) {
      panel.webview.options = options;
      panel.title = this.title();
    }
    panel.webview.html = this.html();
    this.disposables.push(
      ...runIds.map((id) => history.open(id)),
      panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)),
      // Hidden webviews are torn down; the reloaded page sends `ready` again and gets a fresh `init`.
      panel.onDidChangeViewState(() => { if (!panel.visible) this.ready = false; }),
      store.onChange((c) => { if (runIds.includes(c.runId)) this.onRunChanged(c); }),
      deps.onDidChangeLink((connected) => { if (this.ready) this.post({ type: 'link', connected }); }),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  reveal(): void {
    this.panel.reveal();
  }

  private get compare(): boolean {
    return this.runIds.length > 1;
  }

  private run(runId: string): RunRecord {
    // start_run answers before the run's first event arrives; show the run as starting until then.
    return this.store.get(runId) ?? {
      runId, name: runId, state: 'starting', created: Date.now() / 1000,
      step: 0, maxSteps: null, loss: null, tokensPerSec: null, etaS: null, error: null, damaged: null, diskLow: null,
    };
  }

  private title(): string {
    // Start time and short id: two runs of one config get two tabs that can be told apart.
    const names = this.runIds.map((id) => runTitle(this.run(id)));
    return this.compare ? `Compare: ${names.join(', ')}` : `Metrics: ${names[0]}`;
  }

  private html(): string {
    const webview = this.panel.webview;
    return metricsHtml({
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview', 'metrics.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', 'metrics.css')).toString(),
      scriptNonce: makeNonce(),
      styleNonce: makeNonce(),
      title: this.title(),
    });
  }

  private onMessage(raw: unknown): void {
    const m = parseWebviewMessage(raw);
    if (!m) {
      this.log.warn(`metrics panel: ignored an unknown message from the webview: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    switch (m.type) {
      case 'error':
        this.log.error(`metrics panel (${this.runIds.join(', ')}): ${m.message}`);
        return;
      case 'ready':
        this.ready = true;
        this.postInit();
        return;
      case 'stop':
        void this.stop(m.runId);
        return;
      case 'control':
        void this.control(m.runId, m.action);
        return;
      case 'checkpoint':
        void this.checkpoint(m);
        return;
      case 'exportCsv':
        void this.export(m.fileName, m.csv, 'CSV');
        return;
      case 'exportPng': {
        const bytes = pngBytes(m.dataUrl);
        if (!bytes) {
          this.log.warn('metrics panel: refused a PNG export whose data is not a PNG image');
          this.post({ type: 'exportDone', ok: false, message: 'The chart image was not a PNG; nothing was written.' });
          return;
        }
        void this.export(m.fileName, bytes, 'PNG');
        return;
      }
    }
  }

  private postInit(): void {
    const runs = this.runIds.map((id) => ({
      run: this.run(id),
      points: this.store.points(id),
      markers: this.store.markers(id),
      history: this.store.history(id) ?? { state: 'loading' as const },
    }));
    this.post({ type: 'init', runs, diff: this.diff(), connected: this.deps.connected() });
  }

  private diff(): ConfigDiff | null {
    if (!this.compare) return null;
    const { rows, notes } = configDiff(this.runIds.map((id) => ({ label: this.run(id).name, yaml: this.store.config(id) })));
    return { runIds: [...this.runIds], rows, notes };
  }

  /** The page controls only its own single run, and only while it can still be controlled; a mismatch means a confused page. */
  private ownActiveRun(runId: string, what: string): RunRecord | undefined {
    const run = this.run(runId);
    if (this.compare || runId !== this.runIds[0] || !isActive(run)) {
      this.log.warn(`metrics panel (${this.runIds.join(', ')}): refused ${what} for ${runId} (run ${run.state})`);
      return undefined;
    }
    return run;
  }

  private async stop(runId: string): Promise<void> {
    const run = this.ownActiveRun(runId, 'stop');
    const ok = run ? await this.stopRun(run) : false;
    if (!this.disposed) this.post({ type: 'stopDone', ok });
  }

  private async control(runId: string, action: 'save' | 'eval'): Promise<void> {
    const run = this.ownActiveRun(runId, action);
    const ok = run ? await this.deps.controlRun(run, action) : false;
    if (!this.disposed) this.post({ type: 'controlDone', action, ok });
  }

  private async checkpoint(m: Extract<WebviewMessage, { type: 'checkpoint' }>): Promise<void> {
    // Only a checkpoint this panel marked: the page cannot make the host act on a run or name it does not show.
    const known = this.runIds.includes(m.runId) && this.store.markers(m.runId).some((k) => k.checkpoint === m.checkpoint);
    if (!known) {
      this.log.warn(`metrics panel: refused ${m.action} for ${m.runId}/${m.checkpoint}: not a checkpoint this panel shows`);
      return;
    }
    try {
      this.log.info(`metrics panel: ${CHECKPOINT_COMMANDS[m.action]} ${m.runId} ${m.checkpoint}`);
      await vscode.commands.executeCommand(CHECKPOINT_COMMANDS[m.action], { runId: m.runId, checkpoint: m.checkpoint });
    } catch (e) {
      void vscode.window.showErrorMessage(`Tunelab could not ${m.action === 'chat' ? 'open a chat with' : m.action} ${m.checkpoint}: ${e instanceof Error ? e.message : String(e)}`);
    }
  }

  private async export(fileName: string, data: string | Uint8Array, kind: 'CSV' | 'PNG'): Promise<void> {
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const target = await vscode.window.showSaveDialog({
      title: `Export ${kind}`,
      defaultUri: folder ? vscode.Uri.joinPath(folder, fileName) : undefined,
      filters: kind === 'CSV' ? { 'CSV files': ['csv'] } : { 'PNG images': ['png'] },
    });
    if (!target) return;
    if (target.scheme !== 'file') {
      this.post({ type: 'exportDone', ok: false, message: `Exports are written to local files; ${target.toString()} is not one.` });
      return;
    }
    try {
      await writeFileAtomic(target.fsPath, data);
      this.log.info(`metrics panel: exported ${kind} to ${target.fsPath}`);
      this.post({ type: 'exportDone', ok: true, message: `Saved ${target.fsPath}` });
    } catch (e) {
      const message = `Could not write ${target.fsPath}: ${e instanceof Error ? e.message : String(e)}`;
      void vscode.window.showErrorMessage(`Tunelab: ${message}`);
      this.post({ type: 'exportDone', ok: false, message });
    }
  }

  private onRunChanged(change: RunChange): void {
    // A deleted run has nothing left to chart.
    if (change.removed) return this.dispose();
    this.panel.title = this.title();
    if (!this.ready) return;
    if (change.reset) this.postInit();
    else this.post({ type: 'append', run: this.run(change.runId), points: change.points, markers: change.markers ?? [] });
  }

  private post(message: HostMessage): void {
    if (!this.disposed) void this.panel.webview.postMessage(message);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    while (this.disposables.length) this.disposables.pop()?.dispose();
    this.panel.dispose();
    this.closed.fire();
    this.closed.dispose();
  }
}
