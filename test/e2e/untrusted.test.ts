// Restricted mode in a real VS Code: with the workspace untrusted, Tunelab starts no agent and refuses to launch runs.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { openSession, type Session } from './session';
import { runCommand } from './workbench';

let session: Session | undefined;

before(async () => {
  session = await openSession({
    name: 'e2e-untrusted',
    trusted: false,
    prepareWorkspace: (dir) => writeFileSync(join(dir, 'demo.tunelab.yaml'), 'name: demo\nmodel: model\ndataset:\n  train: train.jsonl\n'),
  });
});

after(async () => {
  await session?.close();
});

test('an untrusted workspace gets no agent and a clear refusal to start a run', { timeout: 180_000 }, async () => {
  const { page, agentRoot } = session!;
  await page.locator('.part.statusbar [aria-label*="Tunelab is restricted"]').first().waitFor({ state: 'attached', timeout: 60_000 });

  await page.locator('.part.activitybar .action-item a[aria-label^="Tunelab"]').click();
  await page.locator('.part.sidebar .welcome-view-content', { hasText: 'untrusted workspace' }).waitFor({ timeout: 30_000 });

  await runCommand(page, 'Tunelab: Start Run');
  await page.locator('.notifications-toasts .notification-toast', { hasText: 'does not start its agent or launch runs in an untrusted workspace' })
    .waitFor({ timeout: 30_000 });

  assert.equal(existsSync(join(agentRoot, 'agent.json')), false, 'no agent was started');
  assert.equal(existsSync(join(agentRoot, 'runs')), false, 'no run was created');
});
