// End to end in a real VS Code (code-server) and Chromium, with the real agent training a tiny model:
// the metrics dashboard's grid, its Save now / Eval now controls marked on the chart, the grad-norm band,
// a checkpoint marker's menu, comparing two runs with their config diff, and a panel back after a reload.
// One code-server session for the whole file.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Frame, Page } from 'playwright-core';
import { NO_EARLY_STOP, makeTinyModel, runConfig, writeDataset } from '../support/trainingFixture';
import { openSession, python, results, type Session } from './session';
import { GiveUp, waitFor } from './waitFor';
import { findFrame, openFile, runCommand, waitForWorkbench } from './workbench';

const LONG = 'dash-long';
const SHORT = 'dash-short';
const SHORT_STEPS = 12;

/** A long run the test controls (Save now, Eval now, then Stop), and a short one that differs in two keys, to compare. */
function makeWorkspace(dir: string): void {
  writeDataset(join(dir, 'train.jsonl'), 4);
  // eval/save far apart: the markers the test waits for can only come from Save now / Eval now.
  writeFileSync(join(dir, `${LONG}.tunelab.yaml`), runConfig({ name: LONG, maxSteps: 100_000, evalSteps: 50_000, saveSteps: 50_000, extra: NO_EARLY_STOP }));
  writeFileSync(join(dir, `${SHORT}.tunelab.yaml`), runConfig({ name: SHORT, maxSteps: SHORT_STEPS, evalSteps: 6, saveSteps: 6 })
    .replace('learning_rate: 0.001', 'learning_rate: 0.0005').replace('  r: 4', '  r: 8'));
  makeTinyModel(python, join(dir, 'model'), join(dir, 'train.jsonl'));
}

let session: Session | undefined;
let page: Page;

before(async () => {
  session = await openSession({ name: 'dashboard', trusted: true, prepareWorkspace: makeWorkspace, stepPaceS: 0.25 });
  ({ page } = session);
});

after(async () => {
  await session?.close();
});

/** The Tunelab output channel's log file of this session, as written so far. */
function tunelabLog(): string {
  const walk = (dir: string): string[] => readdirSync(dir, { withFileTypes: true }).flatMap((d) => (d.isDirectory() ? walk(join(dir, d.name)) : [join(dir, d.name)]));
  const logs = join(dirname(session!.agentRoot), 'user-data', 'logs');
  return walk(logs).filter((p) => p.endsWith('Tunelab.log')).map((p) => readFileSync(p, 'utf8')).join('\n');
}

const attr = (frame: Frame, selector: string, name: string) => frame.$eval(selector, (e, n) => e.getAttribute(n), name);
const markersOf = async (frame: Frame) => ((await attr(frame, '#chart', 'data-markers')) ?? '').split(' ').filter(Boolean);
const disabled = (frame: Frame, selector: string) => frame.$eval(selector, (b) => (b as HTMLElement & { disabled: boolean }).disabled);

/** Pixels of `canvasId` drawn in `color` (a CSS colour with alpha), compared on straight RGBA values. */
const pixelsIn = (frame: Frame, canvasId: string, color: string) => frame.evaluate(([id, css]) => {
  const probe = document.createElement('canvas').getContext('2d')!;
  probe.fillStyle = css;
  probe.fillRect(0, 0, 1, 1);
  const [r, g, b, a] = probe.getImageData(0, 0, 1, 1).data;
  const canvas = document.getElementById(id) as HTMLCanvasElement;
  const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
  let n = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (Math.abs(data[i] - r) < 10 && Math.abs(data[i + 1] - g) < 10 && Math.abs(data[i + 2] - b) < 10 && Math.abs(data[i + 3] - a) < 6) n++;
  }
  return n;
}, [canvasId, color] as const);

/** The grad-norm band's colour as the webview computes it (theme green at 14 % alpha, chartGrid.ts). */
const bandColour = (frame: Frame) => frame.evaluate(() => {
  const green = getComputedStyle(document.documentElement).getPropertyValue('--vscode-charts-green').trim();
  const probe = document.createElement('canvas').getContext('2d')!;
  probe.fillStyle = green;
  probe.fillRect(0, 0, 1, 1);
  const [r, g, b] = probe.getImageData(0, 0, 1, 1).data;
  return `rgba(${r}, ${g}, ${b}, 0.14)`;
});

async function stepOf(frame: Frame): Promise<number> {
  const text = await frame.$eval('#run-step', (e) => e.textContent ?? '');
  return Number(text.split('/')[0]);
}

let longFrame: Frame;

test('the dashboard grid charts a live run; Save now and Eval now are marked on the chart; the grad-norm band is drawn', { timeout: 420_000 }, async (t) => {
  await openFile(page, `${LONG}.tunelab.yaml`);
  await runCommand(page, 'Tunelab: Start Run');
  const frame = (longFrame = await findFrame(page, '#run-name', 'the dashboard of the long run', 120_000, LONG));
  await waitFor('the run to train a few steps', async () => {
    if ((await frame.$eval('#run-state', (e) => e.textContent)) === 'failed') throw new GiveUp(await frame.$eval('#run-error', (e) => e.textContent ?? ''));
    return (await stepOf(frame)) >= 3 || undefined;
  }, { timeoutMs: 180_000 });
  // The grid: loss, learning rate, grad norm and throughput, all on one step axis; no GPU chart on this CPU host.
  const charts = await waitFor('the grid to show its charts', async () => {
    const c = await frame.$eval('#charts', (e) => (e as HTMLElement).dataset.charts ?? '');
    return c.includes('gradNorm') && c.includes('tokensPerSec') ? c : undefined;
  }, { timeoutMs: 30_000 });
  assert.deepEqual(charts.split(' '), ['loss', 'learningRate', 'gradNorm', 'tokensPerSec']);
  assert.ok(Number(await attr(frame, '#chart-gradNorm', 'data-points')) >= 3, 'grad norm is charted from the metrics events');

  // No scheduled eval or save in this run (every 50,000 steps): markers can only come from the buttons.
  assert.deepEqual(await markersOf(frame), []);
  assert.equal(await disabled(frame, '#save-now'), false, 'a running run can be saved now');
  await frame.click('#save-now');
  const saved = await waitFor('a Save now marker on the chart', async () => (await markersOf(frame)).find((m) => m.startsWith('save@')), { timeoutMs: 120_000 });
  await frame.click('#eval-now');
  const evaluated = await waitFor('an Eval now marker on the chart', async () => (await markersOf(frame)).find((m) => m.startsWith('eval@')), { timeoutMs: 120_000 });
  t.diagnostic(`markers: ${(await markersOf(frame)).join(' ')}`);
  // The save wrote a real checkpoint, marked too, and both markers are on every chart of the grid.
  const saveStep = Number(saved.split('@')[1]);
  await waitFor('the checkpoint of the save to be marked', async () => (await markersOf(frame)).includes(`checkpoint@${saveStep}`) || undefined, { timeoutMs: 60_000 });
  assert.ok((await attr(frame, '#chart-gradNorm', 'data-markers'))?.includes(evaluated), 'the grad-norm chart carries the same markers');
  assert.equal(await frame.$eval('#control-status', (e) => e.textContent), 'Eval now requested: it is marked on the chart when the run gets to it.');

  // The band: the grad-norm chart's y axis always reaches the band, and its fill is on the canvas.
  const band = await bandColour(frame);
  const bandPixels = await pixelsIn(frame, 'chart-gradNorm', band);
  assert.ok(bandPixels > 2000, `the 2–5 band is shaded on the grad-norm chart (${bandPixels} pixels in ${band})`);
  assert.equal(await pixelsIn(frame, 'chart-tokensPerSec', band), 0, 'and only there');
  assert.equal(await frame.$eval('body', (b) => b.dataset.cspViolations), '0', 'the dashboard ran under its CSP without violations');
  await page.screenshot({ path: join(results, 'e2e-dashboard.png') });
});

test('a stopped run greys out its controls; a checkpoint marker opens its menu, and its actions go to the checkpoint commands', { timeout: 120_000 }, async () => {
  const frame = longFrame;
  // Stopped first: a live tiny run adds several steps a second, and the markers move left as the axis grows.
  await frame.click('#stop-run');
  await waitFor('the long run to stop', async () => (await frame.$eval('#run-state', (e) => e.textContent)) === 'stopped' || undefined, { timeoutMs: 120_000 });
  assert.equal(await disabled(frame, '#save-now'), true, 'a stopped run cannot be saved now');
  assert.equal(await disabled(frame, '#eval-now'), true, 'nor evaluated now');
  const flags = JSON.parse((await attr(frame, '#chart', 'data-marker-flags')) ?? '[]') as Array<{ kind: string; checkpoint: string | null; x: number; y: number }>;
  const flag = flags.find((f) => f.kind === 'checkpoint' && f.checkpoint);
  assert.ok(flag, `a checkpoint flag is on the loss chart (${JSON.stringify(flags)})`);
  const box = (await (await frame.$('#chart'))!.boundingBox())!;
  await page.mouse.click(box.x + flag.x, box.y + flag.y + 2);
  await frame.locator('#marker-menu:not([hidden])').waitFor({ timeout: 10_000 }).catch(async (e: Error) => {
    await page.screenshot({ path: join(results, 'e2e-dashboard-marker-click-failed.png') });
    throw new Error(`${e.message}; flag ${JSON.stringify(flag)}, canvas box ${JSON.stringify(box)}, the chart saw the click as ${await attr(frame, '#chart', 'data-last-click')}; flags now ${await attr(frame, '#chart', 'data-marker-flags')}`);
  });
  assert.match(await frame.$eval('#marker-menu .marker-text', (e) => e.textContent ?? ''), new RegExp(`${flag.checkpoint} saved`));
  assert.deepEqual(await frame.$$eval('#marker-menu vscode-button', (bs) => bs.map((b) => (b as HTMLElement).dataset.action)), ['chat', 'evaluate', 'resume']);
  await page.screenshot({ path: join(results, 'e2e-dashboard-marker-menu.png') });
  await frame.click('#marker-menu vscode-button[data-action="chat"]');
  // The panel runs the chat command with this run and checkpoint (the extension's log records it), and the
  // chat panel opens in front of the dashboard.
  const runId = readdirSync(join(session!.agentRoot, 'runs')).find((r) => r.includes(LONG))!;
  await waitFor('the log to show the chat command run for the checkpoint', () =>
    tunelabLog().includes(`metrics panel: tunelab.chatWithCheckpoint ${runId} ${flag.checkpoint}`) || undefined, { timeoutMs: 30_000 });
  await page.locator('.tabs-container .tab', { hasText: `Chat: ${LONG}` }).first().waitFor({ timeout: 60_000 });

});

test('two runs compare in one dashboard, with the config keys that differ', { timeout: 420_000 }, async () => {
  await openFile(page, `${SHORT}.tunelab.yaml`);
  await runCommand(page, 'Tunelab: Start Run');
  const short = await findFrame(page, '#run-name', 'the dashboard of the short run', 120_000, SHORT);
  await waitFor('the short run to complete', async () => {
    const state = await short.$eval('#run-state', (e) => e.textContent);
    if (state === 'failed') throw new GiveUp(await short.$eval('#run-error', (e) => e.textContent ?? ''));
    return state === 'completed' || undefined;
  }, { timeoutMs: 300_000, intervalMs: 500 });

  await runCommand(page, 'Tunelab: Compare Runs');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  for (const name of [LONG, SHORT]) {
    await input.fill(name);
    await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: name }).first().click();
  }
  await input.press('Enter');
  const frame = await findFrame(page, '#config-diff', 'the compare dashboard', 60_000);
  assert.equal(await frame.$eval('#run-name', (e) => e.textContent), 'Comparing 2 runs');
  assert.equal(await attr(frame, '#chart', 'data-runs'), '2');
  const rows = await waitFor('the config diff to list the differing keys', async () => {
    const r = await frame.$$eval('#config-diff tbody tr', (trs) => trs.map((tr) => Array.from(tr.querySelectorAll('td')).map((td) => td.textContent)));
    return r.length >= 3 ? r : undefined;
  }, { timeoutMs: 60_000 });
  // One column per run, in the order the pick listed them (newest first).
  const columns = await frame.$$eval('#config-diff thead th', (ths) => ths.map((th) => th.textContent));
  assert.deepEqual(columns, ['key', SHORT, LONG]);
  const byKey = new Map(rows.map(([key, ...values]) => [key, values]));
  assert.deepEqual(byKey.get('training.learning_rate'), ['0.0005', '0.001']);
  assert.deepEqual(byKey.get('lora.r'), ['8', '4']);
  assert.deepEqual(byKey.get('training.max_steps'), [String(SHORT_STEPS), '100000']);
  assert.ok(!byKey.has('model') && !byKey.has('name'), 'keys that agree (and the names) are not rows');
  // Both runs' lines, one colour each, on the shared charts; the single-run controls are gone.
  assert.ok(Number(await attr(frame, '#chart', 'data-points')) > 2 * SHORT_STEPS, 'both runs are charted');
  assert.equal(await frame.$eval('.run-controls', (e) => getComputedStyle(e).display), 'none');
  assert.equal(await frame.$eval('body', (b) => b.dataset.cspViolations), '0');
  await page.screenshot({ path: join(results, 'e2e-dashboard-compare.png') });
  await frame.$eval('#compare', (e) => e.scrollIntoView());
  await page.screenshot({ path: join(results, 'e2e-dashboard-compare-diff.png') });
});

test('metrics panels come back after a window reload', { timeout: 300_000 }, async () => {
  // As a person reloads: VS Code saves its editors (and each webview's state) on the way down; a bare
  // browser reload can race that save and lose the newest editor.
  await runCommand(page, 'Developer: Reload Window');
  await page.waitForEvent('load', { timeout: 60_000 }).catch(() => undefined);
  await waitForWorkbench(page, true);
  const frame = await findFrame(page, '#run-name', 'the compare dashboard, restored', 180_000, 'Comparing 2 runs').catch(async (e: Error) => {
    await page.screenshot({ path: join(results, 'e2e-dashboard-restore-failed.png') });
    throw e;
  });
  await waitFor('the restored dashboard to chart both runs again', async () =>
    (await attr(frame, '#chart', 'data-runs')) === '2' && Number(await attr(frame, '#chart', 'data-points')) > 2 * SHORT_STEPS || undefined, { timeoutMs: 120_000 });
  await frame.locator('#config-diff tbody tr[data-key="lora.r"]').waitFor({ timeout: 60_000 });
  await page.screenshot({ path: join(results, 'e2e-dashboard-restored.png') });
});
