// Metrics panel (browser side): announces `ready`, then draws whatever the host sends.
import { MetricsChart } from './chart';
import { renderHeader } from './header';
import { parseHostMessage, type WebviewMessage } from './protocol';
import { onThemeChange } from './theme';

declare function acquireVsCodeApi(): { postMessage(message: WebviewMessage): void };

const vscode = acquireVsCodeApi();
const canvas = document.getElementById('chart') as HTMLCanvasElement;
const empty = document.getElementById('chart-empty');
const chart = new MetricsChart(canvas);
let initialised = false;

// A CSP violation would silently break the panel; count them where the end-to-end test can read them.
let cspViolations = 0;
document.addEventListener('securitypolicyviolation', (e) => {
  cspViolations += 1;
  document.body.dataset.cspViolations = String(cspViolations);
  vscode.postMessage({ type: 'error', message: `CSP blocked ${e.blockedURI || 'inline code'} (${e.violatedDirective})` });
});
document.body.dataset.cspViolations = '0';

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const message = parseHostMessage(event.data);
  if (!message) {
    vscode.postMessage({ type: 'error', message: `metrics panel ignored an invalid message: ${JSON.stringify(event.data)?.slice(0, 200)}` });
    return;
  }
  // An append before init would be drawn on top of an unknown history; init always follows ready.
  if (message.type === 'append' && !initialised) return;
  initialised = true;
  renderHeader(message.run);
  chart.update(message.points, message.type === 'init');
  if (empty) empty.hidden = chart.pointCount > 0;
});

onThemeChange(() => chart.applyColors());
vscode.postMessage({ type: 'ready' });
