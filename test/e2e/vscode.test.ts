// End to end in a real VS Code (code-server) and Chromium: start a real training run from the
// command palette and watch its metrics chart and the Runs view fill in live.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Frame, type Page } from 'playwright-core';
import { killAgentProcesses } from './agentCleanup';
import { startCodeServer, type CodeServer } from './codeServer';
import { installExtension } from './extensionInstall';
import { ensureCodeServer } from './installCodeServer';
import { repoRoot } from './repoRoot';
import { GiveUp, waitFor } from './waitFor';
import { findFrame, openFile, runCommand, waitForWorkbench } from './workbench';
import { E2E_CONFIG, E2E_MAX_STEPS, E2E_RUN_NAME, makeWorkspace } from './workspaceFixture';

const repo = repoRoot();
const results = join(repo, 'test-results');
const python = join(repo, 'python-agent', '.venv', 'bin', 'python');
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

let base: string;
let agentRoot: string;
let server: CodeServer | undefined;
let browser: Browser | undefined;
let page: Page;

before(async () => {
  assert.ok(existsSync(python), `${python} is missing: run "node scripts/setup.mjs" first`);
  mkdirSync(results, { recursive: true });
  const entry = await ensureCodeServer(join(repo, '.tools', 'code-server'));
  base = mkdtempSync(join(tmpdir(), 'tunelab-e2e-'));
  agentRoot = join(base, 'agent-root');
  const workspace = join(base, 'workspace');
  makeWorkspace(workspace, python);
  installExtension(repo, join(base, 'extensions'));
  server = await startCodeServer({
    entry,
    userDataDir: join(base, 'user-data'),
    extensionsDir: join(base, 'extensions'),
    workspace,
    homeDir: join(base, 'home'),
    logFile: join(results, 'e2e-code-server.log'),
    settings: {
      'tunelab.agentRoot': agentRoot,
      'tunelab.pythonPath': python,
      'workbench.startupEditor': 'none',
      // A dark theme makes the screenshot show that the chart takes its colours from the theme.
      'workbench.colorTheme': 'Default Dark Modern',
      'workbench.tips.enabled': false,
      'telemetry.telemetryLevel': 'off',
      'extensions.autoUpdate': false,
      'extensions.autoCheckUpdates': false,
      'update.mode': 'none',
    },
  });
  browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
  await page.goto(server.url);
  await waitForWorkbench(page);
});

after(async () => {
  // Keep what explains a failure: the extension's own log ends up next to the screenshot.
  if (base) copyExtensionLog(join(base, 'user-data'), join(results, 'e2e-tunelab-output.log'));
  if (agentRoot) copyAgentLogs(agentRoot, results);
  await browser?.close().catch(() => undefined);
  await server?.stop();
  if (agentRoot) killAgentProcesses(agentRoot);
  if (base) rmSync(base, { recursive: true, force: true });
});

function copyExtensionLog(userData: string, to: string): void {
  const walk = (dir: string): string[] => readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
  const logs = existsSync(join(userData, 'logs')) ? walk(join(userData, 'logs')).filter((p) => p.endsWith('Tunelab.log')) : [];
  if (logs.length) cpSync(logs[logs.length - 1], to);
}

function copyAgentLogs(root: string, to: string): void {
  if (existsSync(join(root, 'agent.stderr.log'))) cpSync(join(root, 'agent.stderr.log'), join(to, 'e2e-agent.log'));
  const runs = join(root, 'runs');
  for (const run of existsSync(runs) ? readdirSync(runs) : []) {
    if (existsSync(join(runs, run, 'train.log'))) cpSync(join(runs, run, 'train.log'), join(to, `e2e-train-${run}.log`));
  }
}

/** What the panel header says, to explain a wait that timed out. */
const headerOf = (frame: Frame) => frame.$eval('header', (h) => Array.from(h.querySelectorAll('span:not(.label)')).map((e) => e.textContent).join(' | ')).catch((e: Error) => e.message);

const pointsIn = (frame: Frame) => frame.$eval('#chart', (c) => Number(c.getAttribute('data-points')));

test('the Tunelab activity bar entry opens the Runs view', { timeout: 120_000 }, async () => {
  const entry = page.locator('.part.activitybar .action-item a[aria-label^="Tunelab"]');
  await entry.waitFor({ timeout: 60_000 });
  await entry.click();
  // With a single view VS Code hides its pane header and titles the side bar "Tunelab: Runs".
  await page.locator('.part.sidebar .composite.title', { hasText: /Tunelab: Runs/i }).waitFor({ timeout: 30_000 });
  await page.locator('.part.sidebar .pane-header[aria-label^="Runs"]').waitFor({ state: 'attached', timeout: 30_000 });
  await waitFor('the status bar to show the agent connected', async () => {
    const labels = await page.locator('.part.statusbar [aria-label*="Tunelab agent"]').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label')));
    return labels.find((l) => /Tunelab agent [^:]*: connected/.test(l ?? ''));
  }, { timeoutMs: 120_000 });
});

test('Start Run from the palette trains for real and the chart and Runs view follow it live', { timeout: 600_000 }, async () => {
  await openFile(page, E2E_CONFIG);
  await runCommand(page, 'Tunelab: Start Run');

  const frame = await findFrame(page, '#chart', 'the metrics webview with its chart', 120_000);
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
  const colour = await frame.evaluate(() => {
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
  assert.ok(colour.css, 'the webview sees the theme variable --vscode-charts-blue');
  assert.ok(colour.matches > 20, `the canvas has pixels in ${colour.css} (found ${colour.matches})`);

  await page.screenshot({ path: join(results, 'e2e-metrics.png') });
  const runs = readdirSync(join(agentRoot, 'runs'));
  assert.equal(runs.length, 1, 'exactly one run was started');
  assert.match(readFileSync(join(agentRoot, 'runs', runs[0], 'config.yaml'), 'utf8'), new RegExp(`name: ${E2E_RUN_NAME}`));
});
