// The TypeScript AgentClient against the real Python agent (started by ensureLocalAgent in a temp
// root), training a tiny model for real. The core claim: whatever drops, every event seq is seen
// exactly once.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { after, before, test } from 'node:test';
import { AgentClient, AgentError, AgentRefusedError, type AgentEndpoint } from '../../src/core/agent/client';
import { defaultPython, ensureLocalAgent, uncoveredDirs } from '../../src/core/host/localAgent';
import { FINAL_RUN_STATES, type AgentEvent } from '../../src/core/protocol/messages';
import { agentPid, seqsOnDisk, stopEverything } from '../support/agentProcesses';
import { repoRoot } from '../support/repoRoot';
import { makeTinyModel, runConfig, writeDataset } from '../support/trainingFixture';

const python = defaultPython(repoRoot());
let root = '';
let data = '';
let endpoint: () => Promise<AgentEndpoint>;
const clients: AgentClient[] = [];
let completedRunId = '';
const checkpointEvents: Array<Extract<AgentEvent, { kind: 'checkpoint' }>> = [];
const removedEvents: Array<Extract<AgentEvent, { kind: 'checkpoint_removed' }>> = [];

function newClient(ep = endpoint): AgentClient {
  const client = new AgentClient({ endpoint: ep, clientName: 'tunelab-integration-test/0.1.0', reconnectMinMs: 100, reconnectMaxMs: 1000, requestTimeoutMs: 60_000 });
  clients.push(client);
  return client;
}

before(() => {
  assert.ok(existsSync(python), `no agent Python at ${python}: run "npm run setup" first`);
  root = mkdtempSync(join(tmpdir(), 'tunelab-it-root-'));
  data = mkdtempSync(join(tmpdir(), 'tunelab-it-data-'));
  writeDataset(join(data, 'train.jsonl'));
  makeTinyModel(python, join(data, 'model'), join(data, 'train.jsonl'));
  endpoint = () => ensureLocalAgent({ python, root, dataDirs: [data] });
});

after(async () => {
  for (const c of clients) c.dispose();
  if (root) await stopEverything(root);
  for (const dir of [root, data]) if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
});

test('a run streams every event exactly once through repeated drops and an agent restart', { timeout: 600_000 }, async (t) => {
  const client = newClient();
  const seen: AgentEvent[] = [];
  let reconnects = 0;
  client.onState((s) => s.kind === 'reconnecting' && reconnects++);
  await client.connect();
  await client.subscribe(0);

  let runId: string | undefined;
  let killedAgentPid: number | undefined;
  let killedAt = 0;
  let drops = 0;
  // Each step fires once, on the first event (after start_run answered) that matches it. Replays
  // after a reconnect deliver every event eventually, so every step fires whatever the timing.
  const plan: Array<{ label: string; when: (e: AgentEvent) => boolean; act: 'drop' | 'kill agent' }> = [
    { label: 'first event after start_run', when: () => true, act: 'drop' },
    { label: 'metrics step 3', when: (e) => e.kind === 'metrics' && e.data.step >= 3, act: 'drop' },
    { label: 'first eval', when: (e) => e.kind === 'eval', act: 'drop' },
    { label: 'first checkpoint', when: (e) => e.kind === 'checkpoint', act: 'drop' },
    { label: 'metrics step 18', when: (e) => e.kind === 'metrics' && e.data.step >= 18, act: 'kill agent' },
    { label: 'metrics step 24', when: (e) => e.kind === 'metrics' && e.data.step >= 24, act: 'drop' },
    { label: 'the next event, inside a replay', when: () => true, act: 'drop' },
    { label: 'metrics step 32', when: (e) => e.kind === 'metrics' && e.data.step >= 32, act: 'drop' },
  ];
  const fired: string[] = [];
  let finish!: (e: AgentEvent) => void;
  const finished = new Promise<AgentEvent>((resolve) => (finish = resolve));

  client.onEvent((e) => {
    seen.push(e);
    if (e.kind === 'checkpoint') checkpointEvents.push(e);
    if (e.kind === 'checkpoint_removed') removedEvents.push(e);
    if (runId && e.run_id === runId && e.kind === 'run_state' && FINAL_RUN_STATES.includes(e.data.state)) finish(e);
    const step = plan[0];
    if (!runId || !step?.when(e)) return;
    plan.shift();
    fired.push(step.label);
    if (step.act === 'drop') {
      drops++;
      client.dropConnectionForTest();
    } else {
      killedAt = Date.now() / 1000;
      killedAgentPid = agentPid(root);
      process.kill(killedAgentPid, 'SIGKILL');
    }
  });

  const config = runConfig({ name: 'drops', maxSteps: 40, evalSteps: 10, saveSteps: 10 });
  writeFileSync(join(data, 'drops.tunelab.yaml'), config);
  runId = (await client.request('start_run', { config, config_path: join(data, 'drops.tunelab.yaml'), name: 'drops' })).run_id;

  const final = await finished;
  // Not asserted (timing varies by machine); says whether the restart landed inside the run this time.
  t.diagnostic(`${drops} drops; agent killed ${(final.time - killedAt).toFixed(1)} s before the run completed`);
  assert.equal(final.kind === 'run_state' && final.data.state, 'completed', `run ended ${JSON.stringify(final.data)}`);
  assert.deepEqual(plan.map((p) => p.label), [], `these moments never came: fired ${fired.join(', ')}`);
  assert.ok(drops >= 6, `only ${drops} drops`);
  assert.ok(reconnects >= 7, `only ${reconnects} reconnects`);
  assert.notEqual(agentPid(root), killedAgentPid, 'a new agent server should have been started');

  const seqs = seen.map((e) => e.seq);
  const expected = Array.from({ length: seqs.length }, (_, i) => i + 1);
  assert.deepEqual(seqs, expected, 'seqs seen must be 1..N with no gap and no duplicate');
  assert.deepEqual(seqsOnDisk(root).filter((s) => s <= client.lastSeq), seqs, 'the client saw exactly what is on disk');
  const runStates = seen.flatMap((e) => (e.run_id === runId && e.kind === 'run_state' ? [e.data.state] : []));
  assert.equal(runStates.at(-1), 'completed');
  const steps = seen.flatMap((e) => (e.kind === 'metrics' ? [e.data.step] : []));
  assert.equal(steps.at(-1), 40);
  completedRunId = runId;
});

test('list_checkpoints returns the checkpoints the run announced, with sha256 matching the files', async (t) => {
  if (!completedRunId) return t.skip('needs the run of the previous test');
  const client = newClient();
  await client.connect();
  const { checkpoints } = await client.request('list_checkpoints', { run_id: completedRunId });
  assert.ok(checkpoints.length > 0, 'no checkpoints');
  assert.deepEqual(
    checkpoints.map((c) => c.name).sort(),
    // Retention (training.save_total_limit, default 3) announces each checkpoint it removes.
    checkpointEvents.filter((e) => e.run_id === completedRunId).map((e) => e.data.name)
      .filter((name) => !removedEvents.some((r) => r.run_id === completedRunId && r.data.name === name)).sort(),
  );
  for (const c of checkpoints) {
    assert.ok(isAbsolute(c.path), `checkpoint path ${c.path} is not absolute`);
    assert.ok(c.files.length > 0, `${c.name} lists no files`);
    for (const f of c.files) {
      const file = join(c.path, f.name);
      assert.equal(statSync(file).size, f.size, `${file} size`);
      assert.equal(createHash('sha256').update(readFileSync(file)).digest('hex'), f.sha256, `${file} sha256`);
    }
  }
  const last = checkpoints.reduce((a, b) => (a.step > b.step ? a : b));
  const pieces: string[] = [];
  const { results } = await client.request('generate', {
    run_id: completedRunId, adapters: [last.name, 'base'],
    messages: [{ role: 'user', content: 'Classify the sentiment.\n\nI loved this film' }], sampling: { max_new_tokens: 4 },
  }, 120_000, { onStream: (m) => m.kind === 'token' && m.data.adapter === last.name && pieces.push(m.data.text) });
  assert.deepEqual(results.map((r) => r.adapter), [last.name, 'base']);
  assert.ok(results.every((r) => r.new_tokens <= 4));
  // The streamed pieces are the checkpoint's answer, as it was produced.
  assert.equal(pieces.join('').trim(), results[0].text.trim());
});

test('a wrong token is refused with a clear error, without endless retries', async () => {
  const good = await endpoint();
  let calls = 0;
  const client = newClient(async () => {
    calls++;
    return { url: good.url, token: 'not-the-token' };
  });
  await assert.rejects(client.connect(), (e: unknown) => e instanceof AgentRefusedError && e.code === 'unauthorized' && /^the agent refused the token/.test(e.message));
  assert.equal(client.state.kind, 'failed');
  assert.equal(calls, 1);
});

test('a bad run config is refused with bad_config naming the key', async () => {
  const client = newClient();
  await client.connect();
  const configPath = join(data, 'bad.tunelab.yaml');
  const bad = runConfig({ name: 'bad', maxSteps: 2, evalSteps: 1, saveSteps: 1 }).replace('learning_rate: 0.001', 'learning_rate: fast');
  writeFileSync(configPath, bad);
  await assert.rejects(
    client.request('start_run', { config: bad, config_path: configPath }),
    (e: unknown) => e instanceof AgentError && e.code === 'bad_config' && /training\.learning_rate/.test(e.message),
  );
  const missing = runConfig({ name: 'missing', maxSteps: 2, evalSteps: 1, saveSteps: 1 }).replace('train: train.jsonl', 'train: nowhere.jsonl');
  await assert.rejects(
    client.request('start_run', { config: missing, config_path: configPath }),
    (e: unknown) => e instanceof AgentError && e.code === 'bad_config' && /dataset\.train/.test(e.message) && /nowhere\.jsonl/.test(e.message),
  );
});

test('asking for a folder the running agent cannot read restarts it serving both, and old clients follow', async () => {
  const client = newClient();
  await client.connect();
  const before = agentPid(root);
  const extra = mkdtempSync(join(tmpdir(), 'tunelab-it-extra-'));
  try {
    const ep = await ensureLocalAgent({ python, root, dataDirs: [extra] });
    const info = JSON.parse(readFileSync(join(root, 'agent.json'), 'utf8')) as { pid: number; port: number; data_dirs: string[] };
    assert.notEqual(info.pid, before);
    assert.deepEqual(uncoveredDirs([data, extra], info.data_dirs), []);
    assert.equal(ep.url, `ws://127.0.0.1:${info.port}`);
    // The first client still asks for [data] only, which the new server covers: it reconnects without another restart.
    const { runs } = await client.request('list_runs', {});
    assert.ok(Array.isArray(runs));
    assert.equal(agentPid(root), info.pid);
  } finally {
    rmSync(extra, { recursive: true, force: true });
  }
});
