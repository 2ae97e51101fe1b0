// End to end in a real VS Code (code-server) and Chromium: start a real training run from the
// command palette and watch its metrics chart and the Runs view fill in live.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Frame, Page } from 'playwright-core';
import { openSession, python, repo, results, type Session } from './session';
import { GiveUp, waitFor } from './waitFor';
import { findFrame, openFile, recordErrorToasts, runCommand, takeErrorToasts } from './workbench';
import { E2E_BAD_CONFIG, E2E_CONFIG, E2E_LONG_CONFIG, E2E_LONG_RUN_NAME, E2E_MAX_STEPS, E2E_RUN_NAME, makeWorkspace } from './workspaceFixture';

let session: Session | undefined;
let page: Page;
let agentRoot: string;

before(async () => {
  session = await openSession({ name: 'e2e', trusted: true, prepareWorkspace: (dir) => makeWorkspace(dir, python), stepPaceS: 0.25 });
  ({ page, agentRoot } = session);
  await recordErrorToasts(page);
});

/** A healthy path shows no error notification (an internal reconnect detail once showed as one). */
async function assertNoErrorToasts(): Promise<void> {
  assert.deepEqual(await takeErrorToasts(page), [], 'no error notification on a healthy path');
}

after(async () => {
  await session?.close();
});

/** What the panel header says, to explain a wait that timed out. */
const headerOf = (frame: Frame) => frame.$eval('header', (h) => Array.from(h.querySelectorAll('span:not(.label)')).map((e) => e.textContent).join(' | ')).catch((e: Error) => e.message);

/** Alive and not a zombie: an exited run stays a zombie until the agent server that spawned it reaps it. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

const pointsIn = (frame: Frame) => frame.$eval('#chart', (c) => Number(c.getAttribute('data-points')));
const visibleSeries = (frame: Frame) => frame.$eval('#chart', (c) => c.getAttribute('data-visible-series'));
const stopDisabled = (frame: Frame) => frame.$eval('#stop-run', (b) => (b as HTMLElement & { disabled: boolean }).disabled);

/** The CSS value of `--vscode-charts-blue` (the loss series colour) and how many canvas pixels are drawn in it. */
const lossColourPixels = (frame: Frame) => frame.evaluate(() => {
  const css = getComputedStyle(document.documentElement).getPropertyValue('--vscode-charts-blue').trim();
  const probe = document.createElement('canvas').getContext('2d')!;
  probe.fillStyle = css;
  probe.fillRect(0, 0, 1, 1);
  const [r, g, b] = probe.getImageData(0, 0, 1, 1).data;
  const canvas = document.getElementById('chart') as HTMLCanvasElement;
  const data = canvas.getContext('2d')!.getImageData(0, 0, canvas.width, canvas.height).data;
  let matches = 0;
  for (let i = 0; i < data.length; i += 4) {
    if (Math.abs(data[i] - r) < 12 && Math.abs(data[i + 1] - g) < 12 && Math.abs(data[i + 2] - b) < 12 && data[i + 3] > 200) matches++;
  }
  return { css, matches };
});

test('the Tunelab activity bar entry opens the Hosts, Configs and Runs views', { timeout: 120_000 }, async () => {
  const entry = page.locator('.part.activitybar .action-item a[aria-label^="Tunelab"]');
  await entry.waitFor({ timeout: 60_000 });
  await entry.click();
  await page.locator('.part.sidebar .composite.title', { hasText: /Tunelab/i }).waitFor({ timeout: 30_000 });
  for (const view of ['Hosts', 'Configs', 'Runs']) {
    await page.locator(`.part.sidebar .pane-header[aria-label^="${view}"]`).waitFor({ state: 'visible', timeout: 30_000 });
  }
  await waitFor('the status bar to show the agent connected', async () => {
    const labels = await page.locator('.part.statusbar [aria-label*="Tunelab agent"]').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));
    return labels.find((l) => /Tunelab agent [^:]*: connected/.test(l ?? ''));
  }, { timeoutMs: 120_000 });
  await assertNoErrorToasts();
});

test('Start Run from the palette trains for real and the chart and Runs view follow it live', { timeout: 600_000 }, async (t) => {
  await openFile(page, E2E_CONFIG);
  await runCommand(page, 'Tunelab: Start Run');

  const frame = await findFrame(page, '#run-name', 'the metrics webview of the run', 120_000, E2E_RUN_NAME);
  // Each step of the real run adds points; seeing the count grow twice proves the live path (event → store → postMessage → chart).
  const seen = [await pointsIn(frame)];
  for (let i = 0; i < 2; i++) {
    const previous = seen[seen.length - 1];
    seen.push(await waitFor(`the chart to grow past ${previous} points (seen ${seen.join(' → ')})`, async () => {
      const n = await pointsIn(frame);
      if (n > previous) return n;
      const state = await frame.$eval('#run-state', (e) => e.textContent);
      if (state === 'failed' || state === 'stopped') throw new GiveUp(`the run ended early: ${await headerOf(frame)}; ${await frame.$eval('#run-error', (e) => e.textContent)}`);
      return undefined;
    }, { timeoutMs: 180_000, intervalMs: 100 }));
  }
  assert.ok(seen[2] > seen[1] && seen[1] > seen[0], `points grew: ${seen.join(' → ')}`);
  t.diagnostic(`chart points seen growing: ${seen.join(' → ')}`);

  assert.equal(await frame.$eval('body', (b) => b.dataset.cspViolations), '0', 'the panel ran under its CSP without violations');
  assert.equal(await frame.$eval('#run-name', (e) => e.textContent), E2E_RUN_NAME);

  const row = page.locator('.part.sidebar .monaco-list-row', { hasText: E2E_RUN_NAME }).first();
  await row.waitFor({ timeout: 60_000 });

  await waitFor('the run to complete in the panel header', async () =>
    (await frame.$eval('#run-state', (e) => e.textContent)) === 'completed' || undefined, { timeoutMs: 300_000, intervalMs: 500 });
  assert.equal(await frame.$eval('#run-step', (e) => e.textContent), `${E2E_MAX_STEPS} / ${E2E_MAX_STEPS}`);
  await waitFor('the Runs view to show the finished run', async () => {
    const text = await row.textContent();
    return text?.includes(`${E2E_MAX_STEPS}/${E2E_MAX_STEPS}`) ? text : undefined;
  }, { timeoutMs: 30_000 });
  assert.ok(await pointsIn(frame) >= 2 * E2E_MAX_STEPS, 'every step has a loss and a learning-rate point');

  // The chart is drawn in the theme's colours: the loss series colour (--vscode-charts-blue) is on the canvas.
  const colour = await lossColourPixels(frame);
  assert.ok(colour.css, 'the webview sees the theme variable --vscode-charts-blue');
  assert.ok(colour.matches > 20, `the canvas has pixels in ${colour.css} (found ${colour.matches})`);
  assert.equal(await stopDisabled(frame), true, 'a finished run cannot be stopped from the panel');
  await page.screenshot({ path: join(results, 'e2e-metrics.png') });

  // The toolbar's series checkboxes: switching loss off takes its line off the canvas.
  assert.equal(await visibleSeries(frame), 'loss evalLoss learningRate gradNorm tokensPerSec');
  await frame.click('vscode-checkbox[data-series="loss"]');
  await waitFor('the loss series to be hidden', async () => (await visibleSeries(frame)) === 'evalLoss learningRate gradNorm tokensPerSec' || undefined, { timeoutMs: 10_000 });
  const hidden = await lossColourPixels(frame);
  assert.ok(hidden.matches < colour.matches / 10, `the loss line left the canvas (${colour.matches} → ${hidden.matches} pixels in ${colour.css})`);
  assert.equal(await frame.$eval('body', (b) => b.dataset.cspViolations), '0', 'the toolkit components ran under the CSP without violations');
  const runs = readdirSync(join(agentRoot, 'runs'));
  assert.equal(runs.length, 1, 'exactly one run was started');
  assert.match(readFileSync(join(agentRoot, 'runs', runs[0], 'config.yaml'), 'utf8'), new RegExp(`name: ${E2E_RUN_NAME}`));
  await assertNoErrorToasts();
});

test('a bad run config is refused with a message that names the key', { timeout: 120_000 }, async () => {
  await openFile(page, E2E_BAD_CONFIG);
  await runCommand(page, 'Tunelab: Start Run');
  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'training.learning_rate' }).first();
  await toast.waitFor({ timeout: 60_000 });
  assert.match(await toast.innerText(), /invalid run config: .*training\.learning_rate/);
  assert.equal(readdirSync(join(agentRoot, 'runs')).length, 1, 'the refused config created no run');
  const errors = await takeErrorToasts(page);
  assert.equal(errors.length, 1, `the config error is the only error: ${errors.join(' | ')}`);
  await toast.locator('.codicon-notifications-clear, .codicon-close').first().click().catch(() => undefined);
});

test('the metrics panel\'s Stop button stops a running run and its training process', { timeout: 300_000 }, async () => {
  await openFile(page, E2E_LONG_CONFIG);
  await runCommand(page, 'Tunelab: Start Run');
  const frame = await findFrame(page, '#run-name', 'the metrics webview of the long run', 120_000, E2E_LONG_RUN_NAME);
  await waitFor('the long run to be training', async () => (await pointsIn(frame)) > 0 || undefined, { timeoutMs: 180_000 });
  assert.equal(await stopDisabled(frame), false, 'a running run can be stopped from the panel');

  const row = page.locator('.part.sidebar .monaco-list-row', { hasText: E2E_LONG_RUN_NAME }).first();
  await row.hover();
  // The inline Stop action exists only for contextValue run.active (package.json menus); both share one stop path.
  assert.equal(await row.locator('.action-label[aria-label="Stop Run"]').count(), 1, 'a running run offers the inline Stop action');

  await page.screenshot({ path: join(results, 'e2e-metrics-running.png') });
  await frame.click('#stop-run');
  assert.equal(await stopDisabled(frame), true, 'the button disables while the stop is pending');

  await waitFor('the panel to show the run stopped', async () =>
    (await frame.$eval('#run-state', (e) => e.textContent)) === 'stopped' || undefined, { timeoutMs: 120_000 });
  await waitFor('the Runs view to show the run stopped', async () => (await row.textContent())?.includes('stopped') || undefined, { timeoutMs: 30_000 });
  assert.equal(await row.locator('.action-label[aria-label="Stop Run"]').count(), 0, 'a stopped run offers no Stop action');
  assert.equal(await stopDisabled(frame), true, 'a stopped run cannot be stopped again from the panel');
  assert.equal(await frame.$eval('body', (b) => b.dataset.cspViolations), '0');

  const runId = readdirSync(join(agentRoot, 'runs')).find((r) => r.includes(E2E_LONG_RUN_NAME))!;
  const { pid } = JSON.parse(readFileSync(join(agentRoot, 'runs', runId, 'run.json'), 'utf8')) as { pid: number };
  await waitFor(`the training process ${pid} to exit`, () => !isRunning(pid) || undefined, { timeoutMs: 60_000 });
  await assertNoErrorToasts();
});

// Written through the agent's own event log, as a training process writes: a run whose events.jsonl has a
// damaged line in the middle, and a disk_low warning for the finished e2e run. That the training process
// emits disk_low on a nearly full disk is tested against a real tmpfs in python-agent/tests/test_disk_faults.py.
const INJECT = `
import sys
from tunelab_agent.rundir import eventlog
from tunelab_agent.serving import runs
root, target_name = sys.argv[1], sys.argv[2]
damaged = runs.create(root, "damaged-run", "name: damaged-run\\n", None, {"model": "m", "train": "t"})
with open(eventlog.events_path(root, damaged), "a") as f:
    f.write('{"type": "event", "seq": 7, "time": 0, "run_id": "x", "ki{"type": "event"}\\n')
eventlog.append(root, damaged, "run_state", {"state": "failed", "error": "an earlier crash"})
target = next(r for r in runs.all_run_ids(root) if runs.read_meta(root, r)["name"] == target_name)
eventlog.append(root, target, "disk_low", {"step": 42, "free_mb": 180.0, "checkpoint_mb": 120.0, "path": "/scratch",
    "message": "disk almost full: 180 MB free on /scratch, and the next checkpoint needs about 120 MB; free some space or the run will fail at its next save"})
`;

test('a damaged run is listed as damaged, and a disk_low warning pops up with Show Metrics', { timeout: 180_000 }, async () => {
  execFileSync(python, ['-c', INJECT, agentRoot, E2E_RUN_NAME], { cwd: repo });
  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'disk almost full' }).first();
  await toast.waitFor({ timeout: 60_000 });
  assert.match(await toast.innerText(), new RegExp(`Tunelab: run ${E2E_RUN_NAME}: disk almost full: 180 MB free on /scratch`));

  await runCommand(page, 'Tunelab: Refresh Runs');
  const row = page.locator('.part.sidebar .monaco-list-row', { hasText: 'damaged-run' }).first();
  // The row reads "damaged-run" + its description; the description must say damaged too.
  const text = await waitFor('the Runs view to mark the run damaged', async () => {
    const t = await row.textContent();
    return t?.includes('· damaged') ? t : undefined;
  }, { timeoutMs: 30_000 });
  assert.match(text, /step 0 · failed · damaged$/);
  // The other runs are listed as before: one damaged log hides nothing else.
  await page.locator('.part.sidebar .monaco-list-row', { hasText: E2E_RUN_NAME }).first().waitFor({ timeout: 10_000 });
  await page.screenshot({ path: join(results, 'e2e-host-faults.png') });

  await toast.locator('.monaco-button', { hasText: 'Show Metrics' }).click();
  const frame = await findFrame(page, '#run-name', 'the metrics panel of the warned run', 60_000, E2E_RUN_NAME);
  // The page is served with the run's name and "connecting" in its header; the state follows the panel's init.
  await waitFor('the warned run\'s panel to show it completed', async () =>
    (await frame.$eval('#run-state', (e) => e.textContent)) === 'completed' || undefined, { timeoutMs: 30_000 });
  // The injected run's failure event is news (it was appended just now); nothing else may show as an error.
  const errors = (await takeErrorToasts(page)).filter((t) => !t.startsWith('Tunelab: run damaged-run: failed'));
  assert.deepEqual(errors, [], 'no other error notification');
});
