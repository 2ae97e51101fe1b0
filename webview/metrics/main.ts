// Metrics dashboard (browser side): announces `ready`, then draws whatever the host sends, for one run or
// for 2–6 compared runs. The pieces each do one job; this file wires them to the messages.
import './toolkit';
import { ChartGrid, type ViewSettings } from './chartGrid';
import type { ToggleKey } from './chartSpecs';
import { renderCompareTable } from './compareTable';
import { ControlButtons } from './controlButtons';
import { safeFileName, seriesCsv } from './exportCsv';
import { renderHeader } from './header';
import { renderHistoryNote } from './historyNote';
import { MarkerMenu } from './markerMenu';
import { parseHostMessage, type HistoryStatus, type RunRecord, type WebviewMessage } from './protocol';
import { RunData } from './runData';
import { bindSeriesToggles, isToggleKey } from './seriesToggles';
import { StopButton } from './stopButton';
import { onThemeChange, readThemeColors } from './theme';
import type { Button, Checkbox } from './toolkit';

/** What VS Code keeps for a reloaded or restored panel: the runs it showed (the serializer reopens them) and the view. */
interface PanelState { runIds: string[]; hiddenSeries: ToggleKey[]; smoothing: number; logScale: boolean }

declare function acquireVsCodeApi(): {
  postMessage(message: WebviewMessage): void;
  getState(): unknown;
  setState(state: PanelState): void;
};

const vscode = acquireVsCodeApi();
const byId = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

// A CSP violation would silently break the panel; count them where the end-to-end test can read them.
let cspViolations = 0;
document.addEventListener('securitypolicyviolation', (e) => {
  cspViolations += 1;
  document.body.dataset.cspViolations = String(cspViolations);
  vscode.postMessage({ type: 'error', message: `CSP blocked ${e.blockedURI || 'inline code'} (${e.violatedDirective})` });
});
document.body.dataset.cspViolations = '0';

const saved = (vscode.getState() ?? {}) as Partial<PanelState>;
const state: PanelState = {
  runIds: Array.isArray(saved.runIds) ? saved.runIds.filter((r): r is string => typeof r === 'string') : [],
  hiddenSeries: Array.isArray(saved.hiddenSeries) ? saved.hiddenSeries.filter(isToggleKey) : [],
  smoothing: typeof saved.smoothing === 'number' && saved.smoothing >= 0 && saved.smoothing < 1 ? saved.smoothing : 0,
  logScale: saved.logScale === true,
};
const settings = (): ViewSettings => ({ hidden: new Set(state.hiddenSeries), smoothing: state.smoothing, logScale: state.logScale });
const save = () => vscode.setState(state);

let runs: RunData[] = [];
let initialised = false;
let connected = true;
let historyState: HistoryStatus['state'] = 'loading';
const compare = () => runs.length > 1;

const menu = new MarkerMenu((runId, checkpoint, action) => vscode.postMessage({ type: 'checkpoint', runId, checkpoint, action }));
const grid = new ChartGrid(byId('charts'), settings(), {
  markerClicked: (marker, x, y) => menu.open(marker, x, y, connected),
  zoomed: (range) => { byId('reset-zoom').hidden = range === null; },
});
const stopButton = new StopButton(byId<Button>('stop-run'), (runId) => vscode.postMessage({ type: 'stop', runId }));
const controls = new ControlButtons(
  { save: byId<Button>('save-now'), eval: byId<Button>('eval-now') },
  byId('control-status'),
  (runId, action) => vscode.postMessage({ type: 'control', runId, action }),
);

// ---- view controls --------------------------------------------------------------------------

bindSeriesToggles(document, state.hiddenSeries, (key, visible) => {
  state.hiddenSeries = visible ? state.hiddenSeries.filter((k) => k !== key) : [...new Set([...state.hiddenSeries, key])];
  save();
  redraw();
});

const smoothing = byId<HTMLInputElement>('smoothing');
const smoothingValue = byId('smoothing-value');
smoothing.value = String(state.smoothing);
smoothingValue.textContent = state.smoothing.toFixed(2);
smoothing.addEventListener('input', () => {
  const w = Number(smoothing.value);
  state.smoothing = Number.isFinite(w) ? Math.min(0.99, Math.max(0, w)) : 0;
  smoothingValue.textContent = state.smoothing.toFixed(2);
  save();
  redraw();
});

const logScale = byId<Checkbox>('log-scale');
logScale.checked = state.logScale;
logScale.addEventListener('change', () => {
  state.logScale = logScale.checked;
  save();
  redraw();
});

byId('reset-zoom').addEventListener('click', () => grid.setZoom(null));

byId('export-csv').addEventListener('click', () => {
  const name = compare() ? 'tunelab-compare' : runs[0]?.run.name ?? 'tunelab';
  vscode.postMessage({ type: 'exportCsv', fileName: safeFileName(`${name}-metrics`, 'csv'), csv: seriesCsv(grid.visibleSeries(), grid.zoom) });
});

byId('charts').addEventListener('click', (e) => {
  const button = (e.target as HTMLElement).closest<HTMLElement>('.png');
  const chart = grid.charts().find((c) => c.id === button?.dataset.chart);
  if (!chart) return;
  // Drawn on the editor's background: a transparent PNG of light text is unreadable elsewhere.
  const out = document.createElement('canvas');
  out.width = chart.canvas.width;
  out.height = chart.canvas.height;
  const ctx = out.getContext('2d')!;
  ctx.fillStyle = readThemeColors().background;
  ctx.fillRect(0, 0, out.width, out.height);
  ctx.drawImage(chart.canvas, 0, 0);
  const name = compare() ? 'tunelab-compare' : runs[0]?.run.name ?? 'tunelab';
  vscode.postMessage({ type: 'exportPng', fileName: safeFileName(`${name}-${chart.id}`, 'png'), dataUrl: out.toDataURL('image/png') });
});

// ---- messages from the host -------------------------------------------------------------------

let frame = 0;
/** Appends arrive per training step; a burst of them is drawn once, at the next frame. */
function redraw(): void {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    const t0 = performance.now();
    grid.setSettings(settings());
    grid.render();
    renderEmpty();
    // How long the last redraw took, where the UI bench (test/bench/ui_dashboard.ts) reads it.
    document.body.dataset.renderMs = (performance.now() - t0).toFixed(2);
    document.body.dataset.renders = String(Number(document.body.dataset.renders ?? 0) + 1);
  });
}

function setLink(up: boolean): void {
  connected = up;
  document.body.dataset.link = up ? 'up' : 'down';
  byId('link-note').hidden = up;
  controls.setConnected(up);
  stopButton.setConnected(up);
}

function renderRuns(): void {
  document.body.dataset.mode = compare() ? 'compare' : 'single';
  if (compare()) {
    byId('run-name').textContent = `Comparing ${runs.length} runs`;
    document.title = `Compare: ${runs.map((r) => r.run.name).join(', ')}`;
    stopButton.showRun(undefined);
    controls.showRun(undefined);
    return;
  }
  const run = runs[0].run;
  renderHeader(run);
  stopButton.showRun(run);
  controls.showRun(run);
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const message = parseHostMessage(event.data);
  if (!message) {
    vscode.postMessage({ type: 'error', message: `metrics panel ignored an invalid message: ${JSON.stringify(event.data)?.slice(0, 200)}` });
    return;
  }
  switch (message.type) {
    case 'stopDone':
      stopButton.stopDone(message.ok);
      return;
    case 'controlDone':
      controls.done(message.action, message.ok);
      return;
    case 'exportDone': {
      const status = byId('control-status');
      status.textContent = message.message;
      status.dataset.ok = String(message.ok);
      return;
    }
    case 'link':
      setLink(message.connected);
      return;
    case 'init': {
      initialised = true;
      // Everything again from scratch: a reloaded page, or a history that landed, never doubles a point.
      runs = message.runs.map((p) => {
        const data = new RunData(p.run);
        data.add(p.points);
        data.addMarkers(p.markers);
        return data;
      });
      const first = message.runs[0];
      historyState = first.history.state;
      renderHistoryNote(compare() ? combinedHistory(message.runs.map((r) => r.history)) : first.history);
      renderCompareTable(byId('compare'), message.diff, runs.map((r) => r.run));
      state.runIds = runs.map((r) => r.runId);
      save();
      setLink(message.connected);
      renderRuns();
      grid.setRuns(runs);
      redraw();
      return;
    }
    case 'append': {
      // An append before init would be drawn on top of an unknown history; init always follows ready.
      if (!initialised) return;
      const data = runs.find((r) => r.runId === message.run.runId);
      if (!data) return;
      data.run = message.run;
      data.add(message.points);
      data.addMarkers(message.markers);
      renderRuns();
      redraw();
      return;
    }
  }
});

/** Compared runs load their histories one by one; the note speaks for the one that is furthest behind. */
function combinedHistory(all: HistoryStatus[]): HistoryStatus {
  return all.find((h) => h.state === 'failed') ?? all.find((h) => h.state === 'loading') ?? all.find((h) => h.state === 'unavailable')
    ?? all.reduce<HistoryStatus>((acc, h) => (acc.state === 'loaded' && h.state === 'loaded'
      ? { state: 'loaded', received: acc.received + h.received, logged: acc.logged + h.logged } : acc), { state: 'loaded', received: 0, logged: 0 });
}

function renderEmpty(): void {
  const empty = document.getElementById('chart-empty');
  if (!empty) return;
  const hasPoints = runs.some((r) => r.keys().size > 0);
  empty.hidden = hasPoints;
  empty.textContent = emptyText(runs[0]?.run);
  empty.dataset.failed = String(runs[0]?.run.state === 'failed');
}

/** What an empty chart is waiting for, or why it will stay empty. */
function emptyText(run: RunRecord | undefined): string {
  if (!run || historyState === 'loading') return 'Loading history…';
  // A run that fails before its first step would otherwise sit on "Waiting…" for ever.
  if (run.state === 'failed') return `The run failed before its first training step${run.error ? `: ${run.error}` : '.'}`;
  if (run.state === 'starting' || run.state === 'running') return 'Waiting for the first training step…';
  return historyState === 'loaded' ? 'This run logged no training steps.' : 'No points to show: the history could not be loaded.';
}

onThemeChange(() => grid.applyColors());
vscode.postMessage({ type: 'ready' });
