// The metrics panel's page: its static markup inside the shared webview shell (webviewShell.ts).
import { escapeHtml, webviewShell, type WebviewShellInput } from './webviewShell';

export { makeNonce, contentSecurityPolicy } from './webviewShell';
export type MetricsHtmlInput = WebviewShellInput;

export function metricsHtml(input: MetricsHtmlInput): string {
  const title = escapeHtml(input.title);
  return webviewShell(input, `  <header>
    <span class="name" id="run-name">${title}</span>
    <span class="field single"><span class="label">state</span><span class="state" id="run-state">connecting</span></span>
    <span class="field single"><span class="label">step</span><span id="run-step">–</span></span>
    <span class="field single"><span class="label">loss</span><span id="run-loss">–</span></span>
    <span class="field single"><span class="label">tokens/s</span><span id="run-speed">–</span></span>
    <span class="field single"><span class="label">eta</span><span id="run-eta">–</span></span>
  </header>
  <div class="error" id="run-error" role="alert" hidden></div>
  <div class="toolbar" role="toolbar" aria-label="Run controls">
    <span class="run-controls single">
      <vscode-button id="stop-run" appearance="secondary" disabled>Stop run</vscode-button>
      <vscode-button id="save-now" appearance="secondary" disabled>Save now</vscode-button>
      <vscode-button id="eval-now" appearance="secondary" disabled>Eval now</vscode-button>
    </span>
    <span class="series" role="group" aria-label="Series shown">
      <vscode-checkbox data-series="loss" checked><span class="swatch"></span>loss</vscode-checkbox>
      <vscode-checkbox data-series="evalLoss" checked><span class="swatch"></span>eval loss</vscode-checkbox>
      <vscode-checkbox data-series="learningRate" checked><span class="swatch"></span>learning rate</vscode-checkbox>
      <vscode-checkbox data-series="gradNorm" checked><span class="swatch"></span>grad norm</vscode-checkbox>
      <vscode-checkbox data-series="tokensPerSec" checked><span class="swatch"></span>tokens/s</vscode-checkbox>
    </span>
  </div>
  <div class="toolbar view-controls" role="toolbar" aria-label="View">
    <label class="smoothing" for="smoothing">Smoothing <input type="range" id="smoothing" min="0" max="0.99" step="0.01" value="0"><span id="smoothing-value">0.00</span></label>
    <vscode-checkbox id="log-scale">Log scale</vscode-checkbox>
    <vscode-button id="reset-zoom" appearance="secondary" hidden>Reset zoom</vscode-button>
    <vscode-button id="export-csv" appearance="secondary">Export CSV</vscode-button>
    <span class="hint">Drag across a chart to zoom; double-click to zoom out. Click a checkpoint marker for its actions.</span>
    <span class="status" id="control-status" role="status"></span>
  </div>
  <div class="link-note" id="link-note" role="alert" hidden>The agent link is down: the charts keep what they show, and the controls come back when it reconnects.</div>
  <div class="history-note" id="history-note" role="status" hidden></div>
  <main class="grid" id="charts" aria-label="Training charts"></main>
  <section class="compare" id="compare" aria-label="Config differences" hidden></section>`, 'data-mode="single" data-link="up"');
}
