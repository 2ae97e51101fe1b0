// A "remote" host reached through a real OpenSSH sshd on loopback: the agent is bootstrapped over SSH,
// reached through an ssh2 port forward, and a run survives the SSH connection being killed over and
// over, with every event seen exactly once. The host is this machine, so the test can read its disk.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Client } from 'ssh2';
import { AgentClient } from '../../src/core/agent/client';
import { defaultPython } from '../../src/core/host/localAgent';
import { FINAL_RUN_STATES, type AgentEvent } from '../../src/core/protocol/messages';
import { appendRowLocally } from '../../src/core/chat/appendRowLocally';
import { agentSourceHash } from '../../src/core/remote/agentSource';
import { bootstrapAgent, BootstrapError } from '../../src/core/remote/bootstrap';
import { LocalForward } from '../../src/core/remote/localForward';
import { RemoteAgentLink } from '../../src/core/remote/remoteAgentLink';
import { SshRemoteHost } from '../../src/core/remote/sshHost';
import { seqsOnDisk, stopEverything } from '../support/agentProcesses';
import { repoRoot } from '../support/repoRoot';
import { connectTestHost } from '../support/sshLogin';
import { startSshd, type Sshd } from '../support/sshd';
import { NO_EARLY_STOP, makeTinyModel, runConfig, writeDataset } from '../support/trainingFixture';

const agentSource = join(repoRoot(), 'python-agent');
const python = defaultPython(repoRoot());
let sshd: Sshd;
const roots: string[] = [];
const disposers: Array<() => void> = [];

const connect = (): Promise<Client> => connectTestHost(sshd);

function newRoot(): string {
  const root = mkdtempSync(join(tmpdir(), 'tunelab-remote-root-'));
  roots.push(root);
  return root;
}

before(async () => {
  assert.ok(existsSync(python), `no agent Python at ${python}: run "npm run setup" first`);
  sshd = await startSshd();
});

after(async () => {
  for (const d of disposers) d();
  for (const root of roots) await stopEverything(root);
  await sshd?.stop();
  for (const root of roots) rmSync(root, { recursive: true, force: true, maxRetries: 5 });
});

test('a run on a bootstrapped remote agent survives 20 killed SSH connections, every event seen once', { timeout: 600_000 }, async () => {
  const root = newRoot();
  const data = join(root, 'data'); // the remote agent serves its root; the data lives inside it
  mkdirSync(data);
  writeDataset(join(data, 'train.jsonl'), 4);
  makeTinyModel(python, join(data, 'model'), join(data, 'train.jsonl'));

  const steps: string[] = [];
  // The project's environment already holds this agent's code, so bootstrap reuses it instead of installing.
  const link = new RemoteAgentLink({ label: 'loopback sshd', connect, agentSource, root, python, onStep: (s) => steps.push(s) });
  disposers.push(() => link.dispose());
  const client = new AgentClient({ endpoint: () => link.endpoint(), clientName: 'tunelab-remote-test/0', reconnectMinMs: 100, reconnectMaxMs: 1000, requestTimeoutMs: 60_000 });
  disposers.push(() => client.dispose());
  let reconnects = 0;
  client.onState((s) => s.kind === 'reconnecting' && reconnects++);
  await client.connect();
  assert.equal(link.current?.reused, false);
  assert.ok(steps.includes('starting the agent') && !steps.some((s) => s.startsWith('installing')), steps.join(' | '));
  // Nothing listens on a public address: the agent's port is on the host's loopback only.
  assert.equal(link.current?.root, root);

  const seen: AgentEvent[] = [];
  let runId = '';
  let finish!: (e: AgentEvent) => void;
  const finished = new Promise<AgentEvent>((resolve) => (finish = resolve));
  client.onEvent((e) => {
    seen.push(e);
    if (e.run_id === runId && e.kind === 'run_state' && FINAL_RUN_STATES.includes(e.data.state)) finish(e);
  });
  await client.subscribe(0);
  const configPath = join(data, 'remote.tunelab.yaml');
  const config = runConfig({ name: 'remote', maxSteps: 2000, evalSteps: 400, saveSteps: 1000, extra: NO_EARLY_STOP });
  writeFileSync(configPath, config);
  ({ run_id: runId } = await client.request('start_run', { config, config_path: configPath }));

  let kills = 0;
  const deadline = Date.now() + 240_000;
  while (kills < 20) {
    assert.ok(Date.now() < deadline, `the link never came back after kill ${kills} (state: ${client.state.kind})`);
    await new Promise((r) => setTimeout(r, 100 + Math.random() * 500));
    if (client.state.kind !== 'connected') continue; // kill a live link, not one still coming back
    if (sshd.killConnections() > 0) kills++;
    const state = seen.filter((e) => e.run_id === runId && e.kind === 'run_state').at(-1);
    assert.ok(!state || !FINAL_RUN_STATES.includes((state.data as { state: 'running' }).state),
      `the run ended after only ${kills} kills; make it longer`);
  }
  // Twenty kills survived; the rest of the run would only add minutes. Stopping it is one more event the
  // client must see exactly once.
  // The last kill may still be taking the link down: ask again until a connection carries the answer.
  for (let tries = 0; ; tries++) {
    try {
      await client.request('stop_run', { run_id: runId });
      break;
    } catch (e) {
      if (tries >= 20 || !/dropped before it answered|not connected/.test((e as Error).message)) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const end = await finished;
  assert.equal((end.data as { state: string }).state, 'stopped');

  const seqs = seen.map((e) => e.seq);
  assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), 'seqs seen must be 1..N, none missing or twice');
  assert.deepEqual(seqsOnDisk(root).filter((s) => s <= client.lastSeq), seqs, 'the client saw exactly what the host has on disk');
  const logged = seen.filter((e) => e.kind === 'metrics').map((e) => (e.data as { step: number }).step);
  assert.ok(logged.length > 20, `only ${logged.length} steps logged`);
  assert.deepEqual(logged, Array.from({ length: logged.length }, (_, i) => i + 1));
  assert.ok(reconnects >= 20, `only ${reconnects} reconnects for 20 kills`);
});

test('a link that goes silent, as after a laptop sleeps, is noticed by keepalive and the client catches up on a new connection', { timeout: 300_000 }, async () => {
  const root = newRoot();
  const data = join(root, 'data');
  mkdirSync(data);
  writeDataset(join(data, 'train.jsonl'), 4);
  makeTinyModel(python, join(data, 'model'), join(data, 'train.jsonl'));
  // The product's 15 s x 3 keepalive, shortened so the test does not wait 45 s.
  const link = new RemoteAgentLink({
    label: 'loopback sshd', agentSource, root, python,
    connect: () => connectTestHost(sshd, { keepaliveIntervalMs: 500, keepaliveCountMax: 3 }),
  });
  disposers.push(() => link.dispose());
  const client = new AgentClient({
    endpoint: () => link.endpoint(), clientName: 'tunelab-remote-test/0', reconnectMinMs: 100, reconnectMaxMs: 1000,
    // 3 s, not 500 ms: the server imports torch on the first start_run (in a worker thread, but the import holds
    // the GIL for long stretches), which on a loaded 2-core machine delays a pong by a second or more. The product
    // waits 10 s; SSH keepalive (1.5 s here) still notices the frozen link first.
    pingIntervalMs: 500, pongTimeoutMs: 3000, requestTimeoutMs: 60_000,
  });
  disposers.push(() => client.dispose());
  const states: string[] = [];
  client.onState((s) => states.push(s.kind));
  await client.connect();
  const seen: AgentEvent[] = [];
  let runId = '';
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  client.onEvent((e) => {
    seen.push(e);
    if (e.run_id === runId && e.kind === 'run_state' && FINAL_RUN_STATES.includes(e.data.state)) finish();
  });
  await client.subscribe(0);
  const configPath = join(data, 'sleep.tunelab.yaml');
  // Short: the run only has to outlive the freeze's first seconds; whatever it logs while frozen must be caught up.
  const config = runConfig({ name: 'sleep', maxSteps: 80, evalSteps: 40, saveSteps: 40 });
  writeFileSync(configPath, config);
  ({ run_id: runId } = await client.request('start_run', { config, config_path: configPath }));
  while (!seen.some((e) => e.run_id === runId && e.kind === 'metrics')) await new Promise((r) => setTimeout(r, 50));

  // Freeze the connection's sshd processes: the socket stays open but nothing answers, so only keepalive
  // and the WebSocket ping can tell; no close or reset ever arrives.
  const frozen = sshd.connectionPids();
  assert.ok(frozen.length >= 1, 'there is a connection to freeze');
  for (const pid of frozen) process.kill(-pid, 'SIGSTOP');
  try {
    // A stuck link fails here with what the client went through, not as a bare test timeout.
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the run's end never arrived: client ${states.join(' → ')}; `
        + `${seen.length} events seen, last seq ${seen.at(-1)?.seq}; on disk up to ${Math.max(0, ...seqsOnDisk(root))}`)), 200_000);
    });
    await Promise.race([finished, stuck]).finally(() => clearTimeout(timer));
  } finally {
    for (const pid of frozen) {
      try { process.kill(-pid, 'SIGKILL'); process.kill(-pid, 'SIGCONT'); } catch { /* gone */ }
    }
  }
  assert.ok(states.includes('reconnecting'), `the silent link was noticed: ${states.join(' → ')}`);
  assert.equal(states.at(-1), 'connected');
  // The frozen ones may linger a moment as unreaped children of sshd, so look for the new one rather than their absence.
  assert.ok(sshd.connectionPids().some((pid) => !frozen.includes(pid)), 'the events came over a new SSH connection');
  const seqs = seen.map((e) => e.seq);
  assert.deepEqual(seqs, Array.from({ length: seqs.length }, (_, i) => i + 1), 'seqs seen must be 1..N, none missing or twice');
  const logged = seen.filter((e) => e.kind === 'metrics').map((e) => (e.data as { step: number }).step);
  assert.deepEqual(logged, Array.from({ length: 80 }, (_, i) => i + 1), 'every step logged while the link was frozen was caught up');
});

test('Promote on an SSH host: the agent there makes the row from the file\'s first lines, and it is appended here', { timeout: 120_000 }, async () => {
  const root = newRoot();
  const link = new RemoteAgentLink({ label: 'loopback sshd', connect, agentSource, root, python });
  disposers.push(() => link.dispose());
  const client = new AgentClient({ endpoint: () => link.endpoint(), clientName: 'tunelab-remote-test/0', requestTimeoutMs: 60_000 });
  disposers.push(() => client.dispose());
  await client.connect();
  // The workspace: a folder the remote agent does not serve, as a laptop's folder is not on the GPU host.
  const workspace = newRoot();
  const file = join(workspace, 'chat.jsonl');
  const first = { conversations: [{ from: 'human', value: 'hi' }, { from: 'gpt', value: 'hello' }] };
  writeFileSync(file, `${JSON.stringify(first)}\n`);
  await assert.rejects(client.request('inspect_dataset', { path: file }), /outside the folders this agent serves/);

  const messages = [{ role: 'user' as const, content: 'Is this film good?' }];
  const appended = await appendRowLocally(file, (head) => client.request('format_dataset_row', { file_name: 'chat.jsonl', head, messages, answer: 'yes' }));
  assert.deepEqual(appended, { path: file, format: 'sharegpt', line: 2 });
  const rows = readFileSync(file, 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(rows, [first, { conversations: [{ from: 'human', value: 'Is this film good?' }, { from: 'gpt', value: 'yes' }] }]);
  // The file as a whole reads back through the agent's reader (copied where that agent may read it).
  mkdirSync(join(root, 'data'), { recursive: true });
  writeFileSync(join(root, 'data', 'chat.jsonl'), readFileSync(file));
  const inspected = await client.request('inspect_dataset', { path: join(root, 'data', 'chat.jsonl') });
  assert.deepEqual([inspected.format, inspected.rows, inspected.bad_rows], ['sharegpt', 2, 0]);
  // A preference pair into a file of SFT rows is refused by the agent, and the file is left as it was.
  const before = readFileSync(file, 'utf8');
  await assert.rejects(appendRowLocally(file, (head) => client.request('format_dataset_row', { file_name: 'chat.jsonl', head, messages, answer: 'yes', rejected: 'no' })),
    /chat\.jsonl: holds sharegpt rows, not preference pairs/);
  assert.equal(readFileSync(file, 'utf8'), before);
});

test('bootstrapping again reuses the agent that serves this code, and replaces one that does not', { timeout: 120_000 }, async () => {
  const root = newRoot();
  const conn = await connect();
  disposers.push(() => conn.end());
  const host = new SshRemoteHost(conn, 'loopback sshd');
  const first = await bootstrapAgent(host, { agentSource, root, python });
  const again = await bootstrapAgent(host, { agentSource, root, python });
  assert.deepEqual({ ...again, reused: false }, first);
  assert.equal(again.reused, true);

  // An agent running other code (an older extension's) is stopped and a new one started.
  writeFileSync(join(root, 'agent-hash'), `older\n${python}\n`);
  const replaced = await bootstrapAgent(host, { agentSource, root, python });
  assert.equal(replaced.reused, false);
  assert.notEqual(replaced.pid, first.pid);
  assert.throws(() => process.kill(first.pid, 0), 'the old agent is gone');
  assert.equal(readFileSync(join(root, 'token'), 'utf8').trim(), replaced.token);
});

test('a host without a usable Python gets a clear message and nothing is started', { timeout: 60_000 }, async () => {
  const root = newRoot();
  const conn = await connect();
  disposers.push(() => conn.end());
  const host = new SshRemoteHost(conn, 'loopback sshd');
  await assert.rejects(bootstrapAgent(host, { agentSource, root, python: '/opt/no-such-python/bin/python3' }), (e: unknown) =>
    e instanceof BootstrapError
    && /loopback sshd: the Python set for this host \(\/opt\/no-such-python\/bin\/python3\) cannot run the agent, which needs Python >= 3.10/.test(e.message));
  // An env folder set for the host stands for its bin/python, so a folder that is no env is named that way.
  const notAnEnv = join(root, 'not-an-env');
  mkdirSync(notAnEnv);
  await assert.rejects(bootstrapAgent(host, { agentSource, root, python: notAnEnv }), (e: unknown) =>
    e instanceof BootstrapError && e.retryable === false && e.message.includes(`(${notAnEnv}/bin/python) cannot run the agent`));
  assert.equal(existsSync(join(root, 'agent.json')), false);
});

test('a host without the agent gets it uploaded over SFTP and installed with its own pip, then started', { timeout: 900_000 }, async () => {
  const root = newRoot();
  const conn = await connect();
  disposers.push(() => conn.end());
  const host = new SshRemoteHost(conn, 'loopback sshd');
  // A plain interpreter without tunelab_agent: the whole install path runs, from the local package index.
  const base = spawnSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).stdout.trim();
  const steps: string[] = [];
  const output: string[] = [];
  const uploaded = join(root, 'agent', `src-${agentSourceHash(agentSource).slice(0, 12)}`);
  const agent = await bootstrapAgent(host, {
    agentSource, root, python: base, onStep: (s) => steps.push(s), onOutput: (l) => output.push(l),
    pipEnv: { PIP_RETRIES: process.env.PIP_RETRIES ?? '0' }, // this machine has no internet; see shared/notes/python-env.md
  });
  assert.deepEqual(steps.filter((s) => /uploading|creating|installing|starting/.test(s)).map((s) => s.split(' ')[0]),
    ['uploading', 'creating', 'installing', 'starting']);
  assert.equal(agent.python, `${root}/agent/venv/bin/python`);
  assert.ok(output.some((l) => /Successfully installed .*tunelab-agent/.test(l)), output.slice(-5).join('\n'));
  assert.ok(existsSync(join(uploaded, 'tunelab_agent', 'serving', 'server.py')), `nothing uploaded to ${uploaded}`);

  // The installed agent serves: list_runs through a forward to its loopback port.
  const forward = await LocalForward.open(() => conn, agent.port);
  disposers.push(() => forward.close());
  const client = new AgentClient({ endpoint: async () => ({ url: `ws://127.0.0.1:${forward.port}`, token: agent.token }), clientName: 'tunelab-remote-test/0' });
  disposers.push(() => client.dispose());
  await client.connect();
  assert.deepEqual(await client.request('list_runs', {}), { runs: [], total: 0, head: 0 });
  // Bootstrapping again finds it running and reuses it.
  assert.equal((await bootstrapAgent(host, { agentSource, root, python: base })).reused, true);
});
