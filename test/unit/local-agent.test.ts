// ensureLocalAgent's decisions that need no agent: reuse, stale records, and start-up errors.
// Starting the real agent is covered by test/integration/agent-client.test.ts.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, test } from 'node:test';
import { defaultPython, ensureLocalAgent, staleCode, uncoveredDirs } from '../../src/core/host/localAgent';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

function tempRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'tunelab-local-agent-'));
  cleanups.push(() => rmSync(root, { recursive: true, force: true }));
  return root;
}

async function listeningPort(): Promise<number> {
  const server: Server = createServer((s) => s.destroy());
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  cleanups.push(() => new Promise((r) => server.close(r)));
  return (server.address() as { port: number }).port;
}

const missingPython = '/nonexistent/python-agent/.venv/bin/python';

test('defaultPython is the venv inside the extension', () => {
  assert.equal(defaultPython('/ext'), '/ext/python-agent/.venv/bin/python');
});

test('a live agent named by agent.json is reused with the token from the token file', async () => {
  const root = tempRoot();
  const port = await listeningPort();
  writeFileSync(join(root, 'agent.json'), JSON.stringify({ pid: process.pid, port, version: '0.1.0', started: 0 }));
  writeFileSync(join(root, 'token'), 'the-token\n');
  const logs: string[] = [];
  const ep = await ensureLocalAgent({ python: missingPython, root, dataDirs: [], onLog: (l) => logs.push(l) });
  assert.deepEqual(ep, { url: `ws://127.0.0.1:${port}`, token: 'the-token' });
  assert.match(logs.join('\n'), new RegExp(`already serving .* \\(pid ${process.pid}, port ${port}\\)`));
});

test('a folder is covered by a served folder or one above it, never by a sibling with the same prefix', () => {
  const root = tempRoot();
  assert.deepEqual(uncoveredDirs([join(root, 'a'), join(root, 'a', 'b'), join(root, 'ab')], [join(root, 'a')]), [join(root, 'ab')]);
  assert.deepEqual(uncoveredDirs([root], []), [root]);
});

test('agent.json whose port is closed is stale, so a new agent is started', async () => {
  const root = tempRoot();
  const port = await listeningPort();
  cleanups.pop()!(); // close the listener again: the port is now refused
  await new Promise((r) => setImmediate(r));
  writeFileSync(join(root, 'agent.json'), JSON.stringify({ pid: process.pid, port, version: '0.1.0', started: 0 }));
  writeFileSync(join(root, 'token'), 'the-token\n');
  // It tries to start one, which fails on the missing interpreter: proof it did not reuse.
  await assert.rejects(ensureLocalAgent({ python: missingPython, root, dataDirs: [] }), /no Python interpreter/);
});

test('agent.json whose pid is dead is stale', async () => {
  const root = tempRoot();
  const port = await listeningPort();
  const dead = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  writeFileSync(join(root, 'agent.json'), JSON.stringify({ pid: Number(dead.stdout.trim()), port, version: '0.1.0', started: 0 }));
  await assert.rejects(ensureLocalAgent({ python: missingPython, root, dataDirs: [] }), /no Python interpreter/);
});

test('a missing interpreter says how to get one', async () => {
  await assert.rejects(
    ensureLocalAgent({ python: missingPython, root: tempRoot(), dataDirs: [] }),
    (e: Error) => e.message.includes(missingPython) && /run "npm run setup"/.test(e.message) && /tunelab\.pythonPath/.test(e.message),
  );
});

test('an interpreter without the agent package fails with its stderr in the message', async (t) => {
  const python = '/usr/bin/python3';
  const probe = spawnSync(python, ['-c', 'import tunelab_agent']);
  if (probe.error || probe.status === 0) return t.skip('needs a system python3 without tunelab_agent');
  await assert.rejects(
    ensureLocalAgent({ python, root: tempRoot(), dataDirs: [] }),
    (e: Error) => /^the agent server exited \(code 1\) before it was listening/.test(e.message) && /No module named tunelab_agent/.test(e.message),
  );
});

test('a live agent is reused only while it runs the wanted agent code from files that still exist', () => {
  const root = tempRoot();
  const here = { python: process.execPath, package_dir: root };
  assert.equal(staleCode({ ...here, source_hash: 'abc' }, 'abc'), undefined);
  assert.match(staleCode({ ...here, source_hash: 'abc' }, 'def') ?? '', /^runs other agent code \(abc, not def\)$/);
  assert.match(staleCode({ ...here }, 'def') ?? '', /predates agent code hashes/);
  assert.match(staleCode({ ...here, python: join(root, 'gone', 'python'), source_hash: 'abc' }, 'abc') ?? '', /which no longer exists/);
  assert.match(staleCode({ ...here, package_dir: join(root, 'deleted-clone'), source_hash: 'abc' }, undefined) ?? '', /deleted-clone, which no longer exists/);
  // An interpreter without the agent gives nothing to compare with: a working server is kept.
  assert.equal(staleCode({ ...here, source_hash: 'abc' }, undefined), undefined);
});
