// A live local agent is reused only when it runs the agent code this interpreter would start: one running
// other code (an older version, a changed copy) is replaced, and a run it started keeps training.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { AgentClient } from '../../src/core/agent/client';
import { readListeningLine } from '../../src/core/host/listeningLine';
import { defaultPython, ensureLocalAgent, installedAgentHash } from '../../src/core/host/localAgent';
import { agentSourceHash } from '../../src/core/remote/agentSource';
import type { AgentEvent } from '../../src/core/protocol/messages';
import { stopEverything } from '../support/agentProcesses';
import { repoRoot } from '../support/repoRoot';
import { makeTinyModel, runConfig, writeDataset } from '../support/trainingFixture';

const repo = repoRoot();
const python = defaultPython(repo);
const dirs: string[] = [];
const clients: AgentClient[] = [];
let root = '';

after(async () => {
  for (const c of clients) c.dispose();
  if (root) await stopEverything(root);
  for (const d of dirs) rmSync(d, { recursive: true, force: true, maxRetries: 5 });
});

function temp(prefix: string): string {
  const d = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(d);
  return d;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('the probe, the shipped sources and a running server agree on the agent code hash', async () => {
  const shipped = agentSourceHash(join(repo, 'python-agent'));
  assert.equal(await installedAgentHash(python), shipped, 'the venv imports this checkout (editable install)');
  const r = spawnSync(python, ['-c', 'from tunelab_agent import source_hash; print(source_hash.package_hash())'], { encoding: 'utf8' });
  assert.equal(r.stdout.trim(), shipped);
  assert.equal(await installedAgentHash('/nonexistent/python'), undefined);
});

test('an agent running other code is replaced while its run keeps training', { timeout: 300_000 }, async () => {
  root = temp('tunelab-replace-root-');
  const data = temp('tunelab-replace-data-');
  writeDataset(join(data, 'train.jsonl'));
  makeTinyModel(python, join(data, 'model'), join(data, 'train.jsonl'));
  writeFileSync(join(data, 'r.tunelab.yaml'), runConfig({ name: 'outlives', maxSteps: 60, evalSteps: 30, saveSteps: 30 }));

  // The "old" agent: a copy of the package with one changed line, imported first through PYTHONPATH.
  const other = temp('tunelab-other-code-');
  cpSync(join(repo, 'python-agent', 'tunelab_agent'), join(other, 'tunelab_agent'), {
    recursive: true, filter: (src) => !src.includes('__pycache__'),
  });
  appendFileSync(join(other, 'tunelab_agent', '__init__.py'), '\n# an older agent\n');
  const old = spawn(python, ['-m', 'tunelab_agent', 'serve', '--root', root, '--data-dir', data], {
    detached: true, stdio: ['ignore', 'pipe', 'ignore'], cwd: other, env: { ...process.env, PYTHONPATH: other },
  });
  const listening = await readListeningLine(old, 60_000);
  old.stdout?.destroy();
  old.unref();
  const info = JSON.parse(readFileSync(join(root, 'agent.json'), 'utf8')) as { pid: number; source_hash: string; package_dir: string };
  assert.equal(info.pid, listening.pid);
  assert.equal(info.package_dir, join(other, 'tunelab_agent'));
  assert.notEqual(info.source_hash, agentSourceHash(join(repo, 'python-agent')));

  const token = readFileSync(join(root, 'token'), 'utf8').trim();
  const first = new AgentClient({ endpoint: async () => ({ url: `ws://127.0.0.1:${listening.port}`, token }), clientName: 'replace-test/0' });
  clients.push(first);
  await first.connect();
  const config = readFileSync(join(data, 'r.tunelab.yaml'), 'utf8');
  const { run_id: runId } = await first.request('start_run', { config, config_path: join(data, 'r.tunelab.yaml') });
  const started: AgentEvent[] = [];
  first.onEvent((e) => started.push(e));
  await first.subscribe(0);
  while (!started.some((e) => e.run_id === runId && e.kind === 'metrics')) await new Promise((r) => setTimeout(r, 100));
  first.dispose();

  const logs: string[] = [];
  const endpoint = await ensureLocalAgent({ python, root, dataDirs: [data], onLog: (l) => logs.push(l) });
  assert.match(logs.join('\n'), new RegExp(`the agent serving .* \\(pid ${listening.pid}\\) runs other agent code .*; replacing it`));
  const now = JSON.parse(readFileSync(join(root, 'agent.json'), 'utf8')) as { pid: number; source_hash: string };
  assert.notEqual(now.pid, listening.pid);
  assert.equal(now.source_hash, agentSourceHash(join(repo, 'python-agent')));
  assert.equal(pidAlive(listening.pid), false, 'the old server is gone');

  // The run the old server started trains on, and the new server follows it to the end.
  const second = new AgentClient({ endpoint: async () => endpoint, clientName: 'replace-test/0' });
  clients.push(second);
  await second.connect();
  const events: AgentEvent[] = [];
  second.onEvent((e) => events.push(e));
  await second.subscribe(0);
  const deadline = Date.now() + 240_000;
  const final = (): string | undefined => {
    const states = events.flatMap((e) => (e.run_id === runId && e.kind === 'run_state' ? [e.data.state] : []));
    return states.find((s) => s !== 'running' && s !== 'starting');
  };
  while (!final() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 200));
  assert.equal(final(), 'completed');
  const steps = events.filter((e) => e.run_id === runId && e.kind === 'metrics').map((e) => (e.kind === 'metrics' ? e.data.step : 0));
  assert.equal(Math.max(...steps), 60);

  // Reused next time: same code, nothing to replace.
  const again: string[] = [];
  await ensureLocalAgent({ python, root, dataDirs: [data], onLog: (l) => again.push(l) });
  assert.match(again.join('\n'), /using the agent already serving/);
  assert.ok(existsSync(join(root, 'agent.json')));
});
