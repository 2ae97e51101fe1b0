// Metrics panel (browser side): announces `ready`, then draws whatever the host sends.
import './toolkit';
import { MetricsChart, type SeriesKey } from './chart';
import { renderHeader } from './header';
import { renderHistoryNote } from './historyNote';
import { isActive } from '../../src/core/runs/types';
import { parseHostMessage, type HistoryStatus, type RunRecord, type WebviewMessage } from './protocol';
import { bindSeriesToggles, isSeriesKey } from './seriesToggles';
import { StopButton } from './stopButton';
import { onThemeChange } from './theme';
import type { Button } from './toolkit';

interface PanelState { hiddenSeries: SeriesKey[] }

declare function acquireVsCodeApi(): {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: PanelState): void;
};

const vscode = acquireVsCodeApi();
const canvas = document.getElementById('chart') as HTMLCanvasElement;
const empty = document.getElementById('chart-empty');
const chart = new MetricsChart(canvas);
const stopButton = new StopButton(document.getElementById('stop-run') as Button, (runId) => vscode.postMessage({ type: 'stop', runId }));
let initialised = false;
let historyState: HistoryStatus['state'] = 'loading';

// A CSP violation would silently break the panel; count them where the end-to-end test can read them.
let cspViolations = 0;
document.addEventListener('securitypolicyviolation', (e) => {
  cspViolations += 1;
  document.body.dataset.cspViolations = String(cspViolations);
  vscode.postMessage({ type: 'error', message: `CSP blocked ${e.blockedURI || 'inline code'} (${e.violatedDirective})` });
});
document.body.dataset.cspViolations = '0';

// VS Code reloads a hidden webview from scratch; its saved state keeps the series the user switched off.
const saved = vscode.getState() as Partial<PanelState> | undefined;
const hidden = new Set(Array.isArray(saved?.hiddenSeries) ? saved.hiddenSeries.filter(isSeriesKey) : []);
bindSeriesToggles(document, [...hidden], (key, visible) => {
  chart.setVisible(key, visible);
  if (visible) hidden.delete(key);
  else hidden.add(key);
  vscode.setState({ hiddenSeries: [...hidden] });
});

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const message = parseHostMessage(event.data);
  if (!message) {
    vscode.postMessage({ type: 'error', message: `metrics panel ignored an invalid message: ${JSON.stringify(event.data)?.slice(0, 200)}` });
    return;
  }
  if (message.type === 'stopDone') {
    stopButton.stopDone(message.ok);
    return;
  }
  // An append before init would be drawn on top of an unknown history; init always follows ready.
  if (message.type === 'append' && !initialised) return;
  initialised = true;
  if (message.type === 'init') {
    renderHistoryNote(message.history);
    historyState = message.history.state;
  }
  renderHeader(message.run);
  stopButton.showRun(message.run);
  chart.update(message.points, message.type === 'init');
  if (empty) {
    empty.hidden = chart.pointCount > 0;
    empty.textContent = emptyText(message.run);
  }
});

/** What an empty chart is waiting for, if anything. */
function emptyText(run: RunRecord): string {
  if (historyState === 'loading') return 'Loading history…';
  if (isActive(run)) return 'Waiting for the first training step…';
  return historyState === 'loaded' ? 'This run logged no training steps.' : 'No points to show: the history could not be loaded.';
}

onThemeChange(() => chart.applyColors());
vscode.postMessage({ type: 'ready' });
