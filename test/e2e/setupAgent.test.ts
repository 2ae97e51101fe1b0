// A freshly installed extension has no Python environment for its agent: VS Code offers to set one up, and
// accepting it runs the real venv + pip install (from this machine's local package index) and connects.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openSession, results, type Session } from './session';

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
});
