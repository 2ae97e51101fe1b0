// The Runs view's checkpoint list (core/runs/checkpointList.ts) against the real agent training a tiny model:
// listed once, then kept current by the live checkpoint, checkpoint_removed and eval events, and in the end the
// same as what list_checkpoints says, with the agent's best starred.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AgentClient } from '../../src/core/agent/client';
import { defaultPython, ensureLocalAgent } from '../../src/core/host/localAgent';
import { FINAL_RUN_STATES } from '../../src/core/protocol/messages';
import { CheckpointList } from '../../src/core/runs/checkpointList';
import { stopEverything } from '../support/agentProcesses';
import { repoRoot } from '../support/repoRoot';
import { NO_EARLY_STOP, makeTinyModel, runConfig, writeDataset } from '../support/trainingFixture';

const python = defaultPython(repoRoot());
let root = '';
let data = '';
let client: AgentClient | undefined;

before(() => {
  assert.ok(existsSync(python), `no agent Python at ${python}: run "npm run setup" first`);
  root = mkdtempSync(join(tmpdir(), 'tunelab-it-ckpt-root-'));
  data = mkdtempSync(join(tmpdir(), 'tunelab-it-ckpt-data-'));
  writeDataset(join(data, 'train.jsonl'));
  makeTinyModel(python, join(data, 'model'), join(data, 'train.jsonl'));
});

after(async () => {
  client?.dispose();
  if (root) await stopEverything(root);
  for (const dir of [root, data]) if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
});

test('the checkpoint list follows a real run live and ends as the agent lists it', { timeout: 600_000 }, async (t) => {
  client = new AgentClient({ endpoint: () => ensureLocalAgent({ python, root, dataDirs: [data] }), clientName: 'tunelab-integration-test/0.1.0', requestTimeoutMs: 60_000 });
  await client.connect();
  const c = client;
  let listings = 0;
  const list = new CheckpointList(async (runId) => {
    listings++;
    return (await c.request('list_checkpoints', { run_id: runId })).checkpoints;
  });
  const configPath = join(data, 'ckpt.tunelab.yaml');
  writeFileSync(configPath, runConfig({ name: 'ckpt', maxSteps: 60, evalSteps: 10, saveSteps: 10, extra: `  save_total_limit: 2\n${NO_EARLY_STOP}` }));
  const seen = new Set<string>();
  let ended!: () => void;
  const done = new Promise<void>((r) => (ended = r));
  let runId = '';
  c.onEvent((e) => {
    list.apply(e);
    if (e.run_id === runId && e.kind === 'run_state' && FINAL_RUN_STATES.includes(e.data.state)) ended();
  });
  list.onChange((id) => {
    const s = list.get(id);
    if (s.state === 'loaded') for (const ck of s.checkpoints) seen.add(ck.name);
  });
  await c.subscribe(await c.request('list_runs', {}).then((r) => r.head));
  ({ run_id: runId } = await c.request('start_run', { config: readFileSync(configPath, 'utf8'), config_path: configPath }));
  assert.deepEqual(list.get(runId), { state: 'loading' }, 'the first get lists the run');
  await done;
  // The final listing (the run ended) settles; wait for it.
  for (let i = 0; i < 100 && list.get(runId).state !== 'loaded'; i++) await new Promise((r) => setTimeout(r, 100));
  const final = list.get(runId);
  assert.equal(final.state, 'loaded');
  const { checkpoints } = await c.request('list_checkpoints', { run_id: runId });
  const names = final.state === 'loaded' ? final.checkpoints.map((x) => `${x.name}${x.isBest ? '*' : ''}`) : [];
  t.diagnostic(`seen over the run: ${[...seen].join(', ')}; final: ${names.join(', ')}; listings: ${listings}`);
  assert.deepEqual(names, [...checkpoints].sort((a, b) => b.step - a.step).map((x) => `${x.name}${x.is_best ? '*' : ''}`));
  // Six checkpoints were written and at most three kept: the others were seen live, then removed.
  assert.ok(seen.size >= 5, `checkpoints seen live: ${[...seen].join(', ')}`);
  assert.equal(listings, 2, 'listed when first asked and once when the run ended; everything between came from events');
  const evalLosses = final.state === 'loaded' ? final.checkpoints.map((x) => x.evalLoss) : [];
  assert.ok(evalLosses.every((l) => typeof l === 'number'), `each checkpoint has its eval loss: ${evalLosses.join(', ')}`);
});
