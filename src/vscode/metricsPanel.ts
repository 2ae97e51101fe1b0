// One webview panel charting one run. While it is open the run is shown (HistoryLoader.open), so the
// store keeps its points: the run's history first, then live ones. The webview asks for data with
// `ready` (again after every reload), gets `init` with everything so far, then `append` for each change
// of its run, and `init` again when the history lands. Its Stop button asks with `stop` and hears back `stopDone`.
import * as vscode from 'vscode';
import { runTitle } from '../core/runs/runLabels';
import type { HistoryLoader } from '../core/runs/historyLoader';
import type { RunChange, RunStore } from '../core/runs/runStore';
import { isActive, type RunRecord } from '../core/runs/types';
import { parseWebviewMessage, type HostMessage } from '../../webview/metrics/protocol';
import { makeNonce, metricsHtml } from './metricsHtml';

/** The Stop Run command's own logic (runCommands.stopRun): true when the agent took the request. */
export type StopRun = (run: RunRecord) => Promise<boolean>;

export class MetricsPanel implements vscode.Disposable {
  static readonly viewType = 'tunelab.metrics';
  private readonly panel: vscode.WebviewPanel;
  private readonly disposables: Array<{ dispose(): void }> = [];
  private ready = false;
  private disposed = false;
  private readonly closed = new vscode.EventEmitter<void>();
  readonly onDidClose = this.closed.event;

  constructor(
    private readonly runId: string,
    private readonly store: RunStore,
    history: HistoryLoader,
    private readonly extensionUri: vscode.Uri,
    private readonly log: vscode.LogOutputChannel,
    private readonly stopRun: StopRun,
  ) {
    const panel = (this.panel = vscode.window.createWebviewPanel(MetricsPanel.viewType, this.title(), vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(extensionUri, 'dist'), vscode.Uri.joinPath(extensionUri, 'media')],
    }));
    panel.webview.html = this.html();
    this.disposables.push(
      history.open(runId),
      panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)),
      // Hidden webviews are torn down; the reloaded page sends `ready` again and gets a fresh `init`.
      panel.onDidChangeViewState(() => { if (!panel.visible) this.ready = false; }),
      store.onChange((c) => { if (c.runId === runId) this.onRunChanged(c); }),
      panel.onDidDispose(() => this.dispose()),
    );
  }

  reveal(): void {
    this.panel.reveal();
  }

  private run(): RunRecord {
    // start_run answers before the run's first event arrives; show the run as starting until then.
    return this.store.get(this.runId) ?? {
      runId: this.runId, name: this.runId, state: 'starting', created: Date.now() / 1000,
      step: 0, maxSteps: null, loss: null, tokensPerSec: null, etaS: null, error: null, damaged: null, diskLow: null,
    };
  }

  private title(): string {
    // Start time and short id: two runs of one config get two tabs that can be told apart.
    return `Metrics: ${runTitle(this.run())}`;
  }

  private html(): string {
    const webview = this.panel.webview;
    return metricsHtml({
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'dist', 'webview', 'metrics.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(this.extensionUri, 'media', 'metrics.css')).toString(),
      scriptNonce: makeNonce(),
      styleNonce: makeNonce(),
      title: this.run().name,
    });
  }

  private onMessage(raw: unknown): void {
    const m = parseWebviewMessage(raw);
    if (!m) {
      this.log.warn(`metrics panel: ignored an unknown message from the webview: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    if (m.type === 'error') {
      this.log.error(`metrics panel (${this.runId}): ${m.message}`);
      return;
    }
    if (m.type === 'stop') {
      void this.stop(m.runId);
      return;
    }
    this.ready = true;
    this.postInit();
  }

  private postInit(): void {
    this.post({ type: 'init', run: this.run(), points: this.store.points(this.runId), history: this.store.history(this.runId) ?? { state: 'loading' } });
  }

  private async stop(runId: string): Promise<void> {
    const run = this.run();
    // The page controls only its own run, and only while it can still be stopped; a mismatch means a confused page.
    if (runId !== this.runId || !isActive(run)) {
      this.log.warn(`metrics panel (${this.runId}): refused stop for ${runId} (run ${run.state})`);
      this.post({ type: 'stopDone', ok: false });
      return;
    }
    const ok = await this.stopRun(run);
    if (!this.disposed) this.post({ type: 'stopDone', ok });
  }

  private onRunChanged(change: RunChange): void {
    // A deleted run has nothing left to chart.
    if (change.removed) return this.dispose();
    this.panel.title = this.title();
    if (!this.ready) return;
    if (change.reset) this.postInit();
    else this.post({ type: 'append', run: this.run(), points: change.points });
  }

  private post(message: HostMessage): void {
    void this.panel.webview.postMessage(message);
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
