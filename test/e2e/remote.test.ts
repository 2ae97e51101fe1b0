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
import { findFrame, openFile, pickItem, recordErrorToasts, runCommand, takeErrorToasts } from './workbench';
import { E2E_CONFIG, E2E_MAX_STEPS, E2E_RUN_NAME, makeWorkspace } from './workspaceFixture';

let session: Session | undefined;
let sshd: Sshd | undefined;
let page: Page;
let remoteRoot: string;
let knownHosts: string;
let workspace: string;
const LOCKED_HOST = 'tunelab-locked';
const PASSPHRASE = 'correct horse battery staple';

before(async () => {
  sshd = await startSshd();
  const dir = mkdtempSync(join(tmpdir(), 'tunelab-e2e-remote-'));
  remoteRoot = join(dir, 'host-agent-root');
  // The host is not in this known_hosts yet: the first connection must ask.
  knownHosts = join(dir, 'known_hosts');
  const sshConfig = join(dir, 'ssh_config');
  // A second alias of the same host whose only key is encrypted: the passphrase is asked in VS Code.
  const lockedKey = sshd.encryptedClientKey(PASSPHRASE);
  writeFileSync(sshConfig, [
    readFileSync(sshd.sshConfigPath, 'utf8').replace(sshd.knownHostsPath, knownHosts),
    `Host ${LOCKED_HOST}`, '  HostName 127.0.0.1', `  Port ${sshd.port}`, `  User ${sshd.user}`,
    `  IdentityFile ${lockedKey}`, '  IdentitiesOnly yes', `  UserKnownHostsFile ${knownHosts}`, '',
  ].join('\n'));
  session = await openSession({
    name: 'e2e-remote',
    trusted: true,
    prepareWorkspace: (ws) => makeWorkspace(ws, python),
    settings: {
      'tunelab.ssh.configFile': sshConfig,
      // The project's environment as a venv folder: it already has this agent, so nothing is pip-installed.
      'tunelab.remoteHosts': {
        [TEST_HOST_ALIAS]: { python: dirname(dirname(python)), agentRoot: remoteRoot },
        [LOCKED_HOST]: { python: dirname(dirname(python)), agentRoot: remoteRoot },
      },
    },
  });
  ({ page, workspace } = session);
  await recordErrorToasts(page);
});

/**
 * A healthy path shows no error notification. A completed remote run's screen once carried "Tunelab could not
 * reach the agent on tunelab-test: the agent client was disposed" (a superseded connection attempt, toasted).
 */
async function assertNoErrorToasts(): Promise<void> {
  assert.deepEqual(await takeErrorToasts(page), [], 'no error notification on a healthy path');
}

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
  await assertNoErrorToasts();
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
  await assertNoErrorToasts();
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
  await assertNoErrorToasts();
});

/** The input box VS Code shows for showInputBox, once its prompt contains `prompt`. */
async function answerInputBox(p: Page, prompt: string, answer: string): Promise<void> {
  const box = p.locator('.quick-input-widget', { has: p.locator('.quick-input-message', { hasText: prompt }) });
  await box.waitFor({ state: 'visible', timeout: 60_000 });
  assert.equal(await box.locator('.quick-input-box input').getAttribute('type'), 'password', 'a secret is typed into a password box');
  await box.locator('.quick-input-box input').fill(answer);
  await p.keyboard.press('Enter');
}

test('an encrypted key\'s passphrase is asked in an input box, asked again when wrong, and kept in SecretStorage only when the person agrees', { timeout: 240_000 }, async () => {
  await runCommand(page, 'Tunelab: Select Training Host');
  await pickItem(page, LOCKED_HOST);
  await answerInputBox(page, 'Passphrase for the key', 'not the passphrase');
  await answerInputBox(page, 'the last one was wrong', PASSPHRASE);
  await waitFor(`the status bar to show ${LOCKED_HOST} connected`, async () =>
    (await statusLabels(page)).find((l) => l.startsWith(`Tunelab agent on ${LOCKED_HOST}`) && l.endsWith(': connected')), { timeoutMs: 120_000 });

  const offer = page.locator('.notifications-toasts .notification-toast', { hasText: 'save the passphrase of' }).first();
  await offer.waitFor({ timeout: 30_000 });
  await offer.getByRole('button', { name: 'Save' }).click();
  await offer.waitFor({ state: 'hidden', timeout: 10_000 });

  // A fresh connection takes the saved passphrase: no question this time.
  let asked = false;
  const watch = setInterval(() => void page.locator('.quick-input-message', { hasText: 'Passphrase for the key' }).isVisible().then((v) => { asked ||= v; }).catch(() => undefined), 100);
  try {
    await runCommand(page, 'Tunelab: Reconnect to Agent');
    await waitFor('the link to go down and come back', async () => (await statusLabels(page)).some((l) => /connecting/.test(l)) || undefined, { timeoutMs: 30_000, intervalMs: 50 })
      .catch(() => undefined); // a reconnect can be quicker than the poll
    await waitFor(`${LOCKED_HOST} connected again`, async () =>
      (await statusLabels(page)).find((l) => l.startsWith(`Tunelab agent on ${LOCKED_HOST}`) && l.endsWith(': connected')), { timeoutMs: 60_000 });
  } finally {
    clearInterval(watch);
  }
  assert.equal(asked, false, 'the saved passphrase was used without asking');

  await runCommand(page, 'Tunelab: Forget Saved SSH Passphrases and Passwords');
  await page.locator('.notifications-toasts .notification-toast', { hasText: 'forgot 1 saved SSH passphrase' }).waitFor({ timeout: 30_000 });
  // Forgotten means asked again; cancelling the question ends in a clear failure instead of asking in a loop.
  await runCommand(page, 'Tunelab: Reconnect to Agent');
  const box = page.locator('.quick-input-widget', { has: page.locator('.quick-input-message', { hasText: 'Passphrase for the key' }) });
  await box.waitFor({ state: 'visible', timeout: 60_000 });
  await page.keyboard.press('Escape');
  const failed = await waitFor('the status bar to show the cancelled login', async () =>
    (await statusLabels(page)).find((l) => l.startsWith(`Tunelab agent on ${LOCKED_HOST} failed`)), { timeoutMs: 60_000 });
  assert.match(failed, /cancelled/);
  await page.screenshot({ path: join(results, 'e2e-remote-login-cancelled.png') });
});
