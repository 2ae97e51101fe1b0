// One run's chart of 1 M steps (issue 11 goal: drawn in <= 500 ms), in headless Chromium, in one page:
// - new: the metrics webview given its run's history as the extension now asks for it (run_history with
//   max_points = HISTORY_MAX_POINTS per series; downsampled here by a bench LTTB standing in for the agent's),
//   converted by the extension host's own code (core/runs/history.ts);
// - old: the metrics webview given every logged point, as the extension sent them before (Chart.js
//   decimation thins what it draws);
// - baseline: plain Chart.js drawing every point, decimation off.
// Times are performance.now() in the page around the synchronous draw, and to the next frame; medians.
// Usage (npm run bench:chart): node out/bench/chart_draw.js [steps=1000000] [trials=5]
// Writes screenshots of the new chart to test-results/chart-bench-history.png, and of a chart without
// history (an agent older than run_history) to test-results/chart-bench-unavailable.png.
import { build } from 'esbuild';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CHROMIUM_ARGS, median, servePages } from './benchPages';
import { chromium } from 'playwright-core';
import type { HistorySeries, ResultOf } from '../../src/core/protocol/messages';
import { CHART_SERIES, HISTORY_MAX_POINTS, historyPoints } from '../../src/core/runs/history';
import { HISTORY_UNKNOWN_TO_AGENT } from '../../src/core/runs/historyLoader';
import type { HistoryStatus, MetricPoint, RunRecord } from '../../src/core/runs/types';
import { makeNonce, metricsHtml } from '../../src/vscode/metricsHtml';
import { repoRoot } from '../support/repoRoot';
import { syntheticEvalLoss, syntheticLoss, syntheticLr } from '../support/syntheticCurve';
import { lttb } from './lttb';

const STEPS = Number(process.argv[2] ?? 1_000_000);
const TRIALS = Number(process.argv[3] ?? 5);
const EVAL_EVERY = 1000;
const GOAL_MS = 500;
const root = repoRoot();

type Times = [number, number];
const ms = (v: number) => `${v.toFixed(v < 10 ? 1 : 0)} ms`;
const count = (n: number) => n.toLocaleString('en-US');

/** run_history as the agent answers it for this run: each series downsampled on its own. */
function historyAnswer(): ResultOf<'run_history'> {
  const series = (values: (step: number) => number, every: number): HistorySeries => {
    const steps: number[] = [];
    for (let step = every; step <= STEPS; step += every) steps.push(step);
    const ys = steps.map((step) => values(step));
    const keep = lttb(steps, ys, HISTORY_MAX_POINTS);
    return { step: keep.map((i) => steps[i]), value: keep.map((i) => ys[i]), segment: keep.map(() => 0), total: steps.length };
  };
  const s = { loss: series(syntheticLoss, 1), eval_loss: series(syntheticEvalLoss, EVAL_EVERY), learning_rate: series(syntheticLr, 1) };
  return { run_id: 'bench-1m', head: STEPS + STEPS / EVAL_EVERY, series: s };
}

/** The panel's real HTML (metricsHtml), plus a stand-in for VS Code's webview API and the bench's own script and canvas. */
function pageHtml(origin: string): string {
  const scriptNonce = makeNonce();
  const styleNonce = makeNonce();
  const html = metricsHtml({
    cspSource: origin, scriptUri: `${origin}/dist/webview/metrics.js`, styleUri: `${origin}/media/metrics.css`,
    scriptNonce, styleNonce, title: 'bench-1m',
  });
  const shim = `<script nonce="${scriptNonce}">window.__posted = []; window.acquireVsCodeApi = () => ({ postMessage: (m) => window.__posted.push(m), getState: () => undefined, setState: () => undefined });</script>`;
  const extra = `<style nonce="${styleNonce}">.baseline { position: absolute; left: 16px; top: 110vh; } body { --vscode-foreground: #cccccc; --vscode-editor-background: #1e1e1e; }</style>
  <div class="baseline"><canvas id="baseline"></canvas></div>
  <script nonce="${scriptNonce}" src="${origin}/out/bench/chart_page.js"></script>`;
  const withShim = html.replace(`<script nonce="${scriptNonce}" src=`, `${shim}\n  <script nonce="${scriptNonce}" src=`);
  return withShim.replace('</body>', `${extra}\n</body>`);
}

async function main(): Promise<void> {
  await build({
    entryPoints: [join(root, 'test/bench/chart_page.ts')], outfile: join(root, 'out/bench/chart_page.js'),
    bundle: true, platform: 'browser', target: 'es2022', format: 'iife', logLevel: 'warning',
  });
  readFileSync(join(root, 'dist/webview/metrics.js')); // built by `npm run bench:chart` (scripts/build.mjs)

  const answer = historyAnswer();
  const answerBytes = Buffer.byteLength(JSON.stringify(answer));
  const conversions: number[] = [];
  let converted = historyPoints(answer.series);
  for (let i = 0; i < 20; i++) {
    const t0 = performance.now();
    converted = historyPoints(answer.series);
    conversions.push(performance.now() - t0);
  }
  const history: HistoryStatus = { state: 'loaded', received: converted.received, logged: converted.logged };
  const run: RunRecord = {
    runId: 'bench-1m', name: 'bench-1m', state: 'completed', created: 1_800_000_000, step: STEPS, maxSteps: STEPS,
    loss: syntheticLoss(STEPS), tokensPerSec: 5000, etaS: null, error: null, damaged: null, diskLow: null,
  };

  const { server, origin } = await servePages((origin) => ({ '/': pageHtml(origin) }));
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${origin}/`);
    await page.waitForFunction(() => (window as unknown as { __posted: Array<{ type: string }> }).__posted.some((m) => m.type === 'ready'), undefined, { timeout: 30_000 });
    await page.evaluate(() => {
      // The baseline canvas gets the loss chart's size (the dashboard builds its cards on the first init:
      // the grid's width, and the loss card's 300 px), so both draw about the same pixels.
      const grid = document.getElementById('charts')!;
      const box = document.querySelector<HTMLElement>('.baseline')!;
      box.style.width = `${grid.clientWidth - 48}px`;
      box.style.height = '300px';
    });

    const drawPanel = (points: MetricPoint[] | null, status: HistoryStatus) =>
      page.evaluate(([r, p, h, steps, every]) => (window as unknown as { chartBench: { drawThroughPanel: (...a: unknown[]) => Promise<Times> } }).chartBench.drawThroughPanel(r, p, h, steps, every),
        [run, points, status, STEPS, EVAL_EVERY] as const);
    const drawAll = () =>
      page.evaluate(([steps, every]) => (window as unknown as { chartBench: { drawAll: (s: number, e: number) => Promise<Times> } }).chartBench.drawAll(steps, every), [STEPS, EVAL_EVERY] as const);

    const fresh: Times[] = [];
    const old: Times[] = [];
    const base: Times[] = [];
    for (let i = 0; i < TRIALS; i++) {
      fresh.push(await drawPanel(converted.points, history));
      old.push(await drawPanel(null, { state: 'loaded', received: converted.logged, logged: converted.logged }));
      base.push(await drawAll());
      console.log(`trial ${i + 1}/${TRIALS}: new ${ms(fresh[i][0])}, old ${ms(old[i][0])}, baseline ${ms(base[i][0])}`);
    }
    // Leave the new chart on screen, and look at it.
    await drawPanel(converted.points, history);
    const drawn = await page.evaluate(() => (window as unknown as { chartBench: { drawnPoints(): number } }).chartBench.drawnPoints());
    const note = await page.textContent('#history-note');
    mkdirSync(join(root, 'test-results'), { recursive: true });
    const shot = join(root, 'test-results', 'chart-bench-history.png');
    await page.screenshot({ path: shot });
    // And how a chart reads when the agent cannot send history: a few live points and the note saying so.
    const live = converted.points.filter((p) => p.step > STEPS - 50_000);
    await drawPanel(live, { state: 'unavailable', reason: HISTORY_UNKNOWN_TO_AGENT });
    await page.screenshot({ path: join(root, 'test-results', 'chart-bench-unavailable.png') });
    if (errors.length) throw new Error(`the page reported errors: ${errors.join('; ')}`);

    const med = (xs: Times[], i: 0 | 1) => median(xs.map((t) => t[i]));
    const [newDraw, newFrame] = [med(fresh, 0), med(fresh, 1)];
    const [oldDraw, oldFrame] = [med(old, 0), med(old, 1)];
    const [baseDraw, baseFrame] = [med(base, 0), med(base, 1)];
    const per = CHART_SERIES.filter((s) => answer.series[s]).map((s) => `${count(answer.series[s]!.step.length)} ${s}`).join(' + ');
    console.log(`\nchart of one run of ${count(STEPS)} steps (loss and learning rate every step, eval every ${EVAL_EVERY}), median of ${TRIALS}, headless Chromium, 1280x800`);
    console.log(`  history answer: ${per} = ${count(converted.received)} of ${count(converted.logged)} logged points, ${(answerBytes / 1024).toFixed(0)} kB of JSON; the host turns it into chart points in ${ms(median(conversions))}`);
    console.log(`  the chart shows ${count(drawn)} points; note: "${note}"`);
    console.log(`  new       metrics webview, downsampled history (max_points ${HISTORY_MAX_POINTS}):  drawn ${ms(newDraw)}, next frame ${ms(newFrame)}`);
    console.log(`  old       metrics webview, every logged point (Chart.js decimation):  drawn ${ms(oldDraw)}, next frame ${ms(oldFrame)}`);
    console.log(`  baseline  Chart.js, every logged point, no decimation:               drawn ${ms(baseDraw)}, next frame ${ms(baseFrame)}`);
    console.log(`  ratio new / baseline: ${(newDraw / baseDraw).toFixed(4)} drawn, ${(newFrame / baseFrame).toFixed(4)} to the next frame`);
    console.log(`  ratio new / old:      ${(newDraw / oldDraw).toFixed(4)} drawn, ${(newFrame / oldFrame).toFixed(4)} to the next frame`);
    console.log(`  goal: drawn in <= ${GOAL_MS} ms: ${newFrame <= GOAL_MS ? 'met' : 'NOT met'} (${ms(newFrame)} to the next frame)`);
    console.log(`  screenshot: ${shot}`);
    if (newFrame > GOAL_MS) process.exitCode = 1;
  } finally {
    await browser.close();
    server.close();
  }
}

void main().catch((e) => {
  console.error(e);
  process.exit(1);
});
