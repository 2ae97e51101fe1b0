// One webview panel charting one run. The webview asks for data with `ready` (again after every
// reload), gets `init` with everything so far, then `append` for each change of its run.
// Its Stop button asks with `stop` and hears back `stopDone`.
import * as vscode from 'vscode';
import type { RunStore } from '../core/runs/runStore';
import { isActive, type MetricPoint, type RunRecord } from '../core/runs/types';
import { parseWebviewMessage, type HostMessage } from '../../webview/metrics/protocol';
import { makeNonce, metricsHtml } from './metricsHtml';

/** The Stop Run command's own logic (runCommands.stopRun): true when the agent took the request. */
export type StopRun = (run: RunRecord) => Promise<boolean>;

export class MetricsPanel implements vscode.Disposable {
  static readonly viewType = 'tunelab.metrics';
  private readonly panel: vscode.WebviewPanel;
  private readonly disposables: vscode.Disposable[] = [];
  private ready = false;
  private disposed = false;
  private readonly closed = new vscode.EventEmitter<void>();
  readonly onDidClose = this.closed.event;

  constructor(
    private readonly runId: string,
    private readonly store: RunStore,
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
      panel.webview.onDidReceiveMessage((m: unknown) => this.onMessage(m)),
      // Hidden webviews are torn down; the reloaded page sends `ready` again and gets a fresh `init`.
      panel.onDidChangeViewState(() => { if (!panel.visible) this.ready = false; }),
      store.onChange((c) => { if (c.runId === runId) this.onRunChanged(c.points); }),
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
    return `Metrics: ${this.run().name}`;
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
    this.post({ type: 'init', run: this.run(), points: this.store.points(this.runId) });
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

  private onRunChanged(points: MetricPoint[]): void {
    this.panel.title = this.title();
    if (this.ready) this.post({ type: 'append', run: this.run(), points });
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
