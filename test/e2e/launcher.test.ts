// End to end in a real VS Code (code-server) and Chromium: the sidebar run launcher. The Hosts view shows the
// host's GPUs from host_info and follows their load; ▶ Launch in the Configs view shows the preflight (memory
// against the GPU, fit, disk, warnings with their keys) before Start; the run's checkpoints appear under it live.
//
// The one double: this machine has no GPU, so the agent's NVML is test/e2e/gpuDouble/pynvml.py (a fake GPU
// read from a JSON file) and gpuDouble/sitecustomize.py lets hostinfo ask it although torch sees no CUDA.
// The agent, preflight, host_info, training and the extension are all real; training runs on the CPU.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { NO_EARLY_STOP, makeTinyModel, runConfig, writeDataset } from '../support/trainingFixture';
import { openSession, python, repo, results, type Session } from './session';
import { waitFor } from './waitFor';
import { findFrame, pickItem } from './workbench';

const RUN_NAME = 'launch-tiny';
const CONFIG = 'launch.tunelab.yaml';
const GPU_NAME = 'NVIDIA H100 80GB HBM3';
/** More steps than the test waits for: the run trains until the test has seen checkpoints arrive, then it is stopped. */
const MAX_STEPS = 5000;
/** The checkpoint the evaluate and export tests act on (the newest, set by the checkpoints test). */
let newest = '';

let session: Session | undefined;
let page: Page;
let agentRoot: string;
let scratch: string;
let gpuFile: string;

/** The fake GPU's state; the agent reads it on every host_info. */
function setGpu(over: { memory_total_mb?: number; memory_used_mb?: number; utilization?: number } = {}): void {
  writeFileSync(gpuFile, JSON.stringify([{ name: GPU_NAME, memory_total_mb: 81559, memory_used_mb: 1200, utilization: 37, compute_capability: [9, 0], ...over }]));
}

before(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'tunelab-e2e-launcher-'));
  gpuFile = join(scratch, 'gpus.json');
  setGpu();
  // Inherited by code-server, its extension host and so the agent it starts.
  process.env.TUNELAB_FAKE_GPUS = gpuFile;
  process.env.PYTHONPATH = [join(repo, 'test', 'e2e', 'gpuDouble'), join(repo, 'python-agent'), process.env.PYTHONPATH].filter(Boolean).join(':');
  // An SSH host to list (not connected: the remote path has its own e2e test, remote.test.ts).
  const sshConfig = join(scratch, 'ssh_config');
  writeFileSync(sshConfig, 'Host gpu-box\n  HostName 10.0.0.5\n  User trainer\n');
  session = await openSession({
    name: 'e2e-launcher',
    stepPaceS: 0.25,
    trusted: true,
    settings: { 'tunelab.ssh.configFile': sshConfig },
    prepareWorkspace: (dir) => {
      writeDataset(join(dir, 'train.jsonl'), 4);
      // A few held-out rows: evaluation generates an answer per row, on the CPU.
      writeFileSync(join(dir, 'heldout.jsonl'), readFileSync(join(dir, 'train.jsonl'), 'utf8').split('\n').filter((_, i) => i % 7 === 0).slice(0, 6).join('\n') + '\n');
      // Checkpoints every 20 steps, the last 2 (and the best) kept: they appear and rotate while the test watches.
      writeFileSync(join(dir, CONFIG), runConfig({ name: RUN_NAME, maxSteps: MAX_STEPS, evalSteps: 20, saveSteps: 20, extra: `  save_total_limit: 2\n${NO_EARLY_STOP}` }));
      mkdirSync(join(dir, 'sweeps'));
      writeFileSync(join(dir, 'sweeps', 'lr-high.tunelab.yaml'), runConfig({ name: 'lr-high', maxSteps: 40, evalSteps: 10, saveSteps: 10 }).replace('0.001', '0.01'));
      makeTinyModel(python, join(dir, 'model'), join(dir, 'train.jsonl'));
    },
  });
  ({ page, agentRoot } = session);
});

after(async () => {
  await session?.close();
  delete process.env.TUNELAB_FAKE_GPUS;
  if (scratch) rmSync(scratch, { recursive: true, force: true });
});

/** The sidebar pane of one of our views, by its title. */
const pane = (title: string): Locator => page.locator('.part.sidebar .pane', { has: page.locator(`.pane-header[aria-label^="${title}"]`) });
const rows = (title: string, text: string | RegExp): Locator => pane(title).locator('.monaco-list-row', { hasText: text });
const dialog = () => page.locator('.monaco-dialog-box');

test('the Hosts view shows this machine\'s link, agent version and GPU, and follows the GPU\'s load', { timeout: 180_000 }, async () => {
  await page.locator('.part.activitybar .action-item a[aria-label^="Tunelab"]').click();
  // A wider side bar, as a person gives a view they work in, so the screenshots show whole rows.
  const bar = await page.locator('.part.sidebar').boundingBox();
  if (bar) {
    await page.mouse.move(bar.x + bar.width + 1, bar.y + 300);
    await page.mouse.down();
    await page.mouse.move(bar.x + bar.width + 220, bar.y + 300, { steps: 5 });
    await page.mouse.up();
  }
  const local = rows('Hosts', 'This machine').first();
  const hostText = await waitFor('This machine to show its agent connected with a GPU', async () => {
    const t = await local.textContent();
    return t && /connected · agent [\d.]+ · 1 GPU/.test(t) ? t : undefined;
  }, { timeoutMs: 120_000 });
  t_diag(`host row: ${hostText}`);
  const gpu = rows('Hosts', GPU_NAME).first();
  await waitFor('the GPU row with its memory and load', async () => (await gpu.textContent())?.includes('GPU 0: 1.2 GiB / 79.6 GiB · 37%') || undefined, { timeoutMs: 30_000 });
  // The SSH host of the ssh config is listed, not selected.
  assert.match(await rows('Hosts', 'gpu-box').first().textContent() ?? '', /trainer@10\.0\.0\.5:22/);
  await page.screenshot({ path: join(results, 'e2e-launcher-hosts.png') });

  // The view asks host_info again while it is visible: a busier GPU shows within a few refreshes.
  setGpu({ memory_used_mb: 40_000, utilization: 93 });
  await waitFor('the GPU row to follow the new load', async () => (await gpu.textContent())?.includes('GPU 0: 39.1 GiB / 79.6 GiB · 93%') || undefined, { timeoutMs: 30_000 });
  setGpu();
});

test('▶ Launch in the Configs view shows the preflight: a GPU too small is refused with the key, one that fits starts the run', { timeout: 300_000 }, async () => {
  const config = rows('Configs', CONFIG).first();
  await config.waitFor({ timeout: 30_000 });
  assert.equal(await rows('Configs', 'lr-high.tunelab.yaml').count(), 1, 'configs in subfolders are listed too');
  const launch = async () => {
    await config.hover();
    await config.locator('.action-label[aria-label^="Launch Run"]').click();
    await dialog().waitFor({ timeout: 120_000 });
  };

  // A GPU with 64 MB: the estimate does not fit, so the dialog only offers to open the config at the key.
  setGpu({ memory_total_mb: 64, memory_used_mb: 0 });
  await launch();
  const refused = await dialog().innerText();
  assert.match(refused, /Preflight on this machine: does not fit on the GPU; cannot start \(1 error\)/);
  assert.match(refused, new RegExp(`GPU 0 \\(${GPU_NAME}\\): 64 MB, 64 MB free: does not fit`));
  assert.match(refused, /• model\.name: training needs about .* per GPU .* but GPU 0/);
  assert.equal(await dialog().locator('.monaco-button', { hasText: /^Start/ }).count(), 0, 'no Start when preflight has errors');
  await page.screenshot({ path: join(results, 'e2e-launcher-preflight-refused.png') });
  await dialog().locator('.monaco-button', { hasText: 'Cancel' }).click();
  await dialog().waitFor({ state: 'detached', timeout: 10_000 });
  assert.equal(readdirSync(join(agentRoot, 'runs')).length, 0, 'a refused launch starts nothing');

  // The real GPU size: it fits; the estimate, the GPU, the disk and the warnings with their keys are shown.
  setGpu();
  await launch();
  const shown = await dialog().innerText();
  assert.match(shown, /Preflight on this machine: fits on the GPU/);
  const size = '[\\d.]+ (?:MB|GiB)';
  assert.match(shown, new RegExp(`Memory: about ${size}: weights ${size}, LoRA \\+ optimizer ${size}, activations ${size}, overhead ${size}`));
  assert.match(shown, new RegExp(`GPU 0 \\(${GPU_NAME}\\): 79\\.6 GiB, 78\\.5 GiB free: fits`));
  assert.match(shown, /Disk: about .* \(3 checkpoints × .*\); .* free under the agent's root/);
  assert.match(shown, /Data \(train\): .*train\.jsonl, 80 rows, 0 bad/);
  const warns = /can start, with (\d+) warning/.exec(shown);
  const start = dialog().locator('.monaco-button', { hasText: warns ? 'Start Anyway' : /^Start$/ });
  if (warns) assert.match(shown, /Warnings:\n• [a-z_]+\.[a-z_.]+: /, 'each warning starts with its config key');
  await page.screenshot({ path: join(results, 'e2e-launcher-preflight.png') });
  await start.click();

  // The metrics dashboard opens on the new run.
  await findFrame(page, '#run-name', 'the metrics panel of the launched run', 120_000, RUN_NAME);
  assert.equal(readdirSync(join(agentRoot, 'runs')).length, 1, 'exactly one run was started');
});

test('the run\'s checkpoints appear under it live, with eval loss and a star on the best', { timeout: 400_000 }, async (t) => {
  const run = rows('Runs', RUN_NAME).first();
  await run.waitFor({ timeout: 60_000 });
  await run.locator('.monaco-tl-twistie').click();
  const checkpointRows = pane('Runs').locator('.monaco-list-row', { hasText: /^checkpoint-\d+step/ });
  const listed = async () => (await checkpointRows.allTextContents()).map((l) => l.split('step')[0]);
  const training = async () => {
    await run.hover();
    return (await run.locator('.action-label[aria-label="Stop Run"]').count()) === 1;
  };
  // The first checkpoints show up under the training run…
  const first = await waitFor('a first checkpoint under the training run', async () => {
    const names = await listed();
    return names.length ? names : undefined;
  }, { timeoutMs: 300_000, intervalMs: 200 });
  t.diagnostic(`first seen: ${first.join(', ')}; run row: ${await run.textContent()}`);
  assert.match(await checkpointRows.first().textContent() ?? '', /step \d+ · eval loss \d\.\d{4}/);
  // …and later ones arrive from the event stream while it trains, without a refresh.
  let probes = 0;
  const later = await waitFor('a newer checkpoint to arrive live', async () => {
    const names = await listed();
    if (++probes % 25 === 0) t.diagnostic(`probe ${probes}: ${(await pane('Runs').locator('.monaco-list-row').allTextContents()).join(' | ')}`);
    return names.some((n) => !first.includes(n)) ? names : undefined;
  }, { timeoutMs: 120_000, intervalMs: 200 }).catch(async (e: Error) => {
    await page.screenshot({ path: join(results, 'e2e-launcher-checkpoints-timeout.png') });
    throw e;
  });
  t.diagnostic(`then: ${later.join(', ')}`);
  assert.ok(await training(), 'the run was still training when the newer checkpoint appeared');

  await retrying('the run to stop', () => contextMenu(run, 'Stop Run'), async () => (await run.textContent())?.includes('stopped') || undefined);
  // When a run ends the agent settles its best checkpoint: the tree lists again and stars it.
  const best = pane('Runs').locator('.monaco-list-row:has(.codicon-star-full)');
  await best.first().waitFor({ timeout: 30_000 });
  assert.equal(await best.count(), 1, 'exactly one checkpoint is starred');
  t.diagnostic(`best: ${await best.first().textContent()}`);
  // save_total_limit 2 rotated older ones out (checkpoint_removed): the tree lists what the host keeps.
  const runDir = join(agentRoot, 'runs', readdirSync(join(agentRoot, 'runs'))[0]);
  const onDisk = () => readdirSync(join(runDir, 'checkpoints')).filter((n) => n.startsWith('checkpoint-')).sort();
  const final = await waitFor('the tree to list the checkpoints on disk', async () => {
    const names = (await listed()).sort();
    return JSON.stringify(names) === JSON.stringify(onDisk()) ? names : undefined;
  }, { timeoutMs: 30_000 }).catch(async (e: Error) => assert.fail(`${e.message}: the tree lists ${JSON.stringify((await listed()).sort())}, the disk holds ${JSON.stringify(onDisk())}`));
  t.diagnostic(`listed at the end (as on disk): ${final.join(', ')}`);
  newest = (await listed())[0];
  await page.screenshot({ path: join(results, 'e2e-launcher-checkpoints.png') });
});

/**
 * Does `act` until `done` says it worked: a training run's row is redrawn at every logged step, and a context
 * menu opened on it in the middle of a redraw can close before the click lands (a person would click again).
 */
async function retrying<T>(what: string, act: () => Promise<void>, done: () => Promise<T | undefined>, tries = 4): Promise<T> {
  for (let i = 1; ; i++) {
    await act().catch(() => page.keyboard.press('Escape'));
    try {
      return await waitFor(what, done, { timeoutMs: 30_000, intervalMs: 200 });
    } catch (e) {
      if (i >= tries) throw e;
    }
  }
}

/**
 * Right-click a row and pick a context menu entry, as a person does. A row redrawn under the menu (the tree
 * refreshes as a run logs) can leave the menu open with the click lost; then close it and do it again.
 */
async function contextMenu(row: Locator, entry: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await row.click({ button: 'right', timeout: 10_000 });
      await page.locator('.context-view .monaco-menu .action-item', { hasText: entry }).first().click({ timeout: 10_000 });
      await page.locator('.context-view .monaco-menu').first().waitFor({ state: 'hidden', timeout: 5_000 });
      return;
    } catch (e) {
      await page.screenshot({ path: join(results, `e2e-launcher-menu-${entry.replace(/\W+/g, '-')}-${attempt}.png`) });
      await page.keyboard.press('Escape');
      if (attempt >= 3) throw e;
    }
  }
}

test('Evaluate Checkpoint on a picked file shows each score against its target, then keeps the scores under the checkpoint', { timeout: 240_000 }, async () => {
  const row = rows('Runs', new RegExp(`^${newest}step`)).first();
  await contextMenu(row, 'Evaluate Checkpoint on a File');
  // The command got this checkpoint (a picker of runs here would mean the menu lost its row), and the
  // workspace's dataset files are offered in a quick pick, Browse… last.
  const title = page.locator('.quick-input-widget .quick-input-title');
  await title.filter({ hasText: /\S/ }).first().waitFor({ timeout: 30_000 });
  assert.equal(await title.first().textContent(), `Tunelab: rows to evaluate ${newest} of ${RUN_NAME} on`);
  const offered = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
  await offered.filter({ hasText: 'Browse…' }).first().waitFor({ timeout: 30_000 });
  assert.match((await offered.allTextContents()).join('|'), /heldout\.jsonl.*Browse…/);
  await pickItem(page, 'heldout', 'heldout.jsonl');
  // A progress notification counts the rows, then the report opens.
  await dialog().waitFor({ timeout: 180_000 }).catch(async (e: Error) => {
    await page.screenshot({ path: join(results, 'e2e-launcher-evaluation-timeout.png') });
    throw e;
  });
  const report = await dialog().innerText();
  assert.match(report, new RegExp(`${newest} of launch-tiny on heldout\\.jsonl: (targets met|\\d of \\d targets missed)`));
  assert.match(report, /6 rows in [\d.]+ s/);
  assert.match(report, /[✓✗] precision \d\.\d{3} \(target ≥ 0\.920\)/);
  assert.match(report, /[✓✗] recall \d\.\d{3} \(target ≥ 0\.920\)/);
  assert.match(report, /[✓✗] TTFT \d+ ms \(target < 300 ms\)/);
  assert.match(report, /(negative|positive): precision \d\.\d{3}, recall \d\.\d{3}/);
  await page.screenshot({ path: join(results, 'e2e-launcher-evaluation.png') });
  await dialog().locator('.monaco-button', { hasText: 'OK' }).click();
  await waitFor('the scores under the checkpoint', async () => {
    const t = await row.textContent();
    // A checkpoint saved at the stop, between evals (every 20 steps), has no eval loss of its own to show.
    const step = Number(newest.split('-')[1]);
    const evalLoss = step % 20 === 0 ? ' · eval loss \\d\\.\\d{4}' : '';
    const scored = new RegExp(`step ${step}${evalLoss} · P \\d\\.\\d\\d R \\d\\.\\d\\d · TTFT \\d+ ms · (targets met|\\d of 3 targets missed)`);
    return t && scored.test(t) ? t : undefined;
  }, { timeoutMs: 10_000 });
});

test('Export Merged Model writes the checkpoint merged with its base model into the workspace', { timeout: 180_000 }, async () => {
  await contextMenu(rows('Runs', new RegExp(`^${newest}step`)).first(), 'Export Merged Model');
  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'merged into' }).first();
  await toast.waitFor({ timeout: 150_000 });
  const text = await toast.innerText();
  const runId = readdirSync(join(agentRoot, 'runs'))[0];
  assert.match(text, new RegExp(`${newest} merged into tunelab-exports/${runId}/${newest}-merged \\(\\d+ files, `));
  const folder = join(session!.workspace, 'tunelab-exports', runId, `${newest}-merged`);
  for (const f of ['config.json', 'model.safetensors', 'tokenizer.json']) assert.ok(existsSync(join(folder, f)), `${f} in ${folder}: ${readdirSync(folder).join(', ')}`);
  assert.ok(!existsSync(`${folder}.partial`), 'no partial export left');
});

test('Reveal Run Config opens the file the run was launched from', { timeout: 60_000 }, async () => {
  await contextMenu(rows('Runs', RUN_NAME).first(), 'Reveal Run Config');
  await page.locator('.tabs-container .tab.active', { hasText: CONFIG }).waitFor({ timeout: 30_000 });
  // The side bar stays on Tunelab's views.
  assert.equal(await pane('Runs').count(), 1);
});

function t_diag(line: string): void {
  process.stdout.write(`# ${line}\n`);
}
