// A freshly installed extension has no Python environment for its agent: VS Code offers to set one up, and
// accepting it runs the real venv + pip install (from this machine's local package index) and connects. The
// one full install of torch and friends in the suites: what the environment holds, and that a ready one is
// reused without pip, are checked here too.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { agentSourceVersion, createAgentEnvironment } from '../../src/core/host/agentEnvironment';
import { openSession, repo, results, type Session } from './session';

const agentSource = join(repo, 'python-agent');
const sourceBefore = readdirSync(agentSource).sort();

/** The extension's managed environment: <user data>/User/globalStorage/<extension id>/agent-venv. */
function managedVenv(agentRoot: string): string {
  const storage = join(dirname(agentRoot), 'user-data', 'User', 'globalStorage');
  const found = readdirSync(storage).map((d) => join(storage, d, 'agent-venv')).find((d) => existsSync(d));
  assert.ok(found, `no agent-venv under ${storage}: ${readdirSync(storage).join(', ')}`);
  return found;
}

let session: Session | undefined;

before(async () => {
  process.env.PIP_RETRIES ??= '0'; // code-server's extension host inherits it; see notes on the local index
  session = await openSession({
    name: 'e2e-setup',
    trusted: true,
    pythonPathSet: false,
    prepareWorkspace: (dir) => writeFileSync(join(dir, 'readme.txt'), 'a workspace with no run configs yet\n'),
  });
});

after(async () => {
  await session?.close();
});

test('without an agent environment, Set Up Agent creates one and the agent connects', { timeout: 900_000 }, async () => {
  const { page, agentRoot } = session!;
  // No *.tunelab.yaml here, so opening the Tunelab view is what activates the extension, as after a fresh install.
  await page.locator('.part.activitybar .action-item a[aria-label^="Tunelab"]').click();
  const offer = page.locator('.notifications-toasts .notification-toast', { hasText: 'Tunelab needs a Python environment for its training agent' });
  await offer.waitFor({ timeout: 120_000 });
  await page.locator('.part.statusbar [aria-label^="Tunelab agent failed"]').first().waitFor({ state: 'attached', timeout: 30_000 });
  assert.equal(existsSync(join(agentRoot, 'agent.json')), false, 'no agent can start before the environment exists');

  await offer.getByRole('button', { name: 'Set Up Agent' }).click();
  // pip installs torch, transformers and peft: minutes on a slow index, about one here.
  await page.locator('.part.statusbar [aria-label$=": connected"]').first().waitFor({ state: 'attached', timeout: 600_000 });
  await page.locator('.notifications-toasts .notification-toast', { hasText: 'the agent is set up' }).waitFor({ timeout: 30_000 });
  assert.ok(existsSync(join(agentRoot, 'agent.json')), 'the agent now serves the root');
  await page.screenshot({ path: join(results, 'e2e-setup-agent.png') });

  // The environment holds the agent of these sources and what it trains with; nothing half-made is left, and
  // nothing was built inside the extension's own folder.
  const venvDir = managedVenv(agentRoot);
  const python = join(venvDir, 'bin', 'python');
  const version = spawnSync(python, ['-c', 'import tunelab_agent, torch, peft, transformers, websockets; print(tunelab_agent.__version__)'], { encoding: 'utf8' });
  assert.equal(version.status, 0, version.stderr);
  assert.equal(version.stdout.trim(), agentSourceVersion(agentSource));
  assert.ok(!existsSync(`${venvDir}.partial`) && !existsSync(`${venvDir}.partial-src`), 'no half-made folders left');
  assert.deepEqual(readdirSync(agentSource).sort(), sourceBefore, 'nothing was built inside the extension folder');
  // pip's output reached the install channel (the extension's log folder holds each channel's file).
  const logs = join(dirname(agentRoot), 'user-data', 'logs');
  const channelText = (dir: string): string => readdirSync(dir, { withFileTypes: true }).map((e) =>
    e.isDirectory() ? channelText(join(dir, e.name)) : e.name.endsWith('.log') ? readFileSync(join(dir, e.name), 'utf8') : '').join('\n');
  assert.match(channelText(logs), /Successfully installed/, 'pip output reaches the output channel');
  // Set up again (a later window, a second click): a ready environment is reused without running pip.
  const again: string[] = [];
  assert.equal(await createAgentEnvironment({ agentSource, venvDir, onStep: (s) => again.push(s) }), python);
  assert.deepEqual(again, [], 'a ready environment is reused without running pip');
});
