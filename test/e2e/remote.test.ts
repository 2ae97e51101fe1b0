// End to end with an SSH host, in a real VS Code (code-server) and Chromium against a real OpenSSH sshd on
// loopback: pick the host from the ssh config, trust its unknown host key in the dialog, let the agent be
// bootstrapped there, start a run (its dataset and model folder are uploaded), keep watching it through a
// killed SSH connection, and download a checkpoint that is checked against its manifest.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Frame, Page } from 'playwright-core';
import { stopEverything } from '../support/agentProcesses';
import { startSshd, TEST_HOST_ALIAS, type Sshd } from '../support/sshd';
import { openSession, python, results, type Session } from './session';
import { GiveUp, waitFor } from './waitFor';
import { findFrame, openFile, pickItem, runCommand } from './workbench';
import { E2E_CONFIG, E2E_MAX_STEPS, E2E_RUN_NAME, makeWorkspace } from './workspaceFixture';

let session: Session | undefined;
let sshd: Sshd | undefined;
let page: Page;
let remoteRoot: string;
let knownHosts: string;
let workspace: string;

before(async () => {
  sshd = await startSshd();
  const dir = mkdtempSync(join(tmpdir(), 'tunelab-e2e-remote-'));
  remoteRoot = join(dir, 'host-agent-root');
  // The host is not in this known_hosts yet: the first connection must ask.
  knownHosts = join(dir, 'known_hosts');
  const sshConfig = join(dir, 'ssh_config');
  writeFileSync(sshConfig, readFileSync(sshd.sshConfigPath, 'utf8').replace(sshd.knownHostsPath, knownHosts));
  session = await openSession({
    name: 'e2e-remote',
    trusted: true,
    prepareWorkspace: (ws) => makeWorkspace(ws, python),
    settings: {
      'tunelab.ssh.configFile': sshConfig,
      // The project's environment as a venv folder: it already has this agent, so nothing is pip-installed.
      'tunelab.remoteHosts': { [TEST_HOST_ALIAS]: { python: dirname(dirname(python)), agentRoot: remoteRoot } },
    },
  });
  ({ page, workspace } = session);
});

after(async () => {
  await session?.close();
  if (remoteRoot) {
    if (existsSync(join(remoteRoot, 'agent.log'))) writeFileSync(join(results, 'e2e-remote-host-agent.log'), readFileSync(join(remoteRoot, 'agent.log')));
    await stopEverything(remoteRoot);
    rmSync(dirname(remoteRoot), { recursive: true, force: true });
  }
  await sshd?.stop();
});

const statusLabels = (p: Page) => p.locator('.part.statusbar [aria-label*="Tunelab agent"]').evaluateAll((els) => els.map((e) => e.getAttribute('aria-label') ?? ''));
const pointsIn = (frame: Frame) => frame.$eval('#chart', (c) => Number(c.getAttribute('data-points')));
const sha256 = (path: string) => createHash('sha256').update(readFileSync(path)).digest('hex');

test('picking an ssh config host asks about its unknown key, bootstraps the agent there and connects', { timeout: 240_000 }, async () => {
  await page.locator('.part.activitybar .action-item a[aria-label^="Tunelab"]').click();
  await runCommand(page, 'Tunelab: Select Training Host');
  await pickItem(page, TEST_HOST_ALIAS);

  const dialog = page.locator('.monaco-dialog-box', { hasText: 'authenticity of host' });
  await dialog.waitFor({ timeout: 60_000 });
  const text = await dialog.innerText();
  const fingerprint = /SHA256:[A-Za-z0-9+/]+/.exec(text)?.[0];
  assert.ok(fingerprint, `the dialog shows the SHA256 fingerprint: ${text}`);
  assert.equal(existsSync(knownHosts), false, 'nothing is trusted before the person answers');
  await page.screenshot({ path: join(results, 'e2e-remote-hostkey.png') });
  await dialog.getByRole('button', { name: 'Trust Host and Connect' }).click();

  await waitFor('the status bar to show the agent on the host connected', async () =>
    (await statusLabels(page)).find((l) => l.startsWith(`Tunelab agent on ${TEST_HOST_ALIAS}`) && l.endsWith(': connected')), { timeoutMs: 180_000 });
  assert.match(readFileSync(knownHosts, 'utf8'), new RegExp(`^\\[127\\.0\\.0\\.1\\]:${sshd!.port} ssh-ed25519 `, 'm'), 'the accepted key was added to known_hosts');
  assert.ok(existsSync(join(remoteRoot, 'agent.json')), 'the agent serves the root set for the host');
  assert.deepEqual(readdirSync(join(remoteRoot, 'runs')).length, 0);
});

test('Start Run uploads the run\'s inputs and trains on the host; the chart follows it through a killed SSH connection', { timeout: 600_000 }, async () => {
  await openFile(page, E2E_CONFIG);
  await runCommand(page, 'Tunelab: Start Run');
  const frame = await findFrame(page, '#run-name', 'the metrics webview of the remote run', 180_000, E2E_RUN_NAME);

  const runs = readdirSync(join(remoteRoot, 'runs'));
  assert.equal(runs.length, 1, 'the run was created on the host');
  const config = readFileSync(join(remoteRoot, 'runs', runs[0], 'config.yaml'), 'utf8');
  // The host has its own copy of the dataset and model, named by content hash under its uploads folder.
  assert.match(config, new RegExp(`train: ${remoteRoot}/uploads/[0-9a-f]{64}/train\\.jsonl`));
  assert.match(config, new RegExp(`model: ${remoteRoot}/uploads/[0-9a-f]{64}/model`));

  await waitFor('the remote run to be training', async () => (await pointsIn(frame)) > 0 || undefined, { timeoutMs: 180_000 });
  const seen: string[] = [];
  const watcher = setInterval(() => void statusLabels(page).then((l) => seen.push(...l)).catch(() => undefined), 100);
  const killed = sshd!.killConnections();
  assert.ok(killed >= 1, 'an SSH connection was there to kill');
  try {
    await waitFor('the run to complete in the panel header', async () => {
      const state = await frame.$eval('#run-state', (e) => e.textContent);
      if (state === 'failed' || state === 'stopped') throw new GiveUp(`the run ended ${state}: ${await frame.$eval('#run-error', (e) => e.textContent)}`);
      return state === 'completed' || undefined;
    }, { timeoutMs: 400_000, intervalMs: 500 });
  } finally {
    clearInterval(watcher);
  }
  assert.ok(seen.some((l) => /link lost|connecting/.test(l)), `the status bar showed the link going down: ${[...new Set(seen)].join(' | ')}`);
  assert.ok((await statusLabels(page)).some((l) => l.endsWith(': connected')), 'and back');
  assert.equal(await frame.$eval('#run-step', (e) => e.textContent), `${E2E_MAX_STEPS} / ${E2E_MAX_STEPS}`);
  assert.ok(await pointsIn(frame) >= 2 * E2E_MAX_STEPS, 'every step reached the chart despite the killed connection');
  await page.screenshot({ path: join(results, 'e2e-remote-run.png') });
});

test('Download Checkpoint copies a checkpoint from the host into the workspace, verified against its manifest', { timeout: 240_000 }, async () => {
  await runCommand(page, 'Tunelab: Download Checkpoint');
  await pickItem(page, E2E_RUN_NAME);
  await pickItem(page, 'checkpoint-');
  const toast = page.locator('.notifications-toasts .notification-toast', { hasText: 'downloaded to' }).first();
  await toast.waitFor({ timeout: 120_000 });
  const message = await toast.innerText();
  const rel = /downloaded to (\S+):/.exec(message)?.[1];
  assert.ok(rel, message);
  const local = join(workspace, rel);
  const name = rel.split('/').pop()!;
  const runId = readdirSync(join(remoteRoot, 'runs'))[0];
  const onHost = join(remoteRoot, 'runs', runId, 'checkpoints', name);
  const manifest = JSON.parse(readFileSync(join(onHost, 'manifest.json'), 'utf8')) as { files: Array<{ name: string; size: number; sha256: string }> };
  assert.ok(manifest.files.length >= 2, 'the checkpoint has an adapter and its config');
  for (const f of manifest.files) assert.equal(sha256(join(local, f.name)), f.sha256, `${f.name} matches the manifest`);
  assert.match(message, new RegExp(`${manifest.files.length} files`));
});
