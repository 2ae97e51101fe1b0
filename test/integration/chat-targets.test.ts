// The chat panel's pane choices against the real agent: the base and checkpoints of a run, plus the checkpoints
// of other runs on the same base model (list_checkpoints names it) and none of a run on another model.
// The runs and their checkpoints are written through the agent's own code (runs.create, write_checkpoint), as a
// training process writes them; training itself is not what this checks.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AgentClient } from '../../src/core/agent/client';
import { defaultPanes, listTargets } from '../../src/core/chat/targets';
import { defaultPython, ensureLocalAgent } from '../../src/core/host/localAgent';
import type { RunRecord } from '../../src/core/runs/types';
import { stopEverything } from '../support/agentProcesses';
import { repoRoot } from '../support/repoRoot';

const python = defaultPython(repoRoot());
let root = '';
let client: AgentClient | undefined;

const MAKE_RUNS = `
import json, os, sys
from tunelab_agent.rundir.checkpoints import write_checkpoint
from tunelab_agent.serving import runs
root = sys.argv[1]
def adapter(folder):
    with open(os.path.join(folder, "adapter_config.json"), "w") as f:
        f.write("{}")
made = {}
for name, model, steps in [("alpha", "/models/tiny", [10, 20]), ("beta", "/models/tiny", [5]), ("gamma", "/models/other", [7])]:
    run_id = runs.create(root, name, f"name: {name}\\n", None, {"model": model, "train": "t"})
    for step in steps:
        write_checkpoint(runs.run_dir(root, run_id), step, adapter)
    made[name] = run_id
print(json.dumps(made))
`;

const record = (runId: string, name: string): RunRecord => ({
  runId, name, state: 'completed', created: 0, step: 0, maxSteps: null, loss: null, tokensPerSec: null, etaS: null, error: null, damaged: null, diskLow: null,
});

let made: Record<string, string> = {};

before(async () => {
  assert.ok(existsSync(python), `no agent Python at ${python}: run "npm run setup" first`);
  root = mkdtempSync(join(tmpdir(), 'tunelab-chat-targets-'));
  made = JSON.parse(execFileSync(python, ['-c', MAKE_RUNS, root], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: join(repoRoot(), 'python-agent') } }));
  client = new AgentClient({ endpoint: () => ensureLocalAgent({ python, root, dataDirs: [] }), clientName: 'tunelab-integration-test/0.1.0' });
  await client.connect();
});

after(async () => {
  client?.dispose();
  if (root) {
    await stopEverything(root);
    rmSync(root, { recursive: true, force: true, maxRetries: 5 });
  }
});

test('a run\'s panes are its base and checkpoints plus those of runs on the same base model', async () => {
  const { model, checkpoints } = await client!.request('list_checkpoints', { run_id: made.alpha });
  assert.equal(model, '/models/tiny', 'list_checkpoints names the run\'s base model');
  assert.deepEqual(checkpoints.map((c) => c.name), ['checkpoint-10', 'checkpoint-20']);

  const runs = [record(made.alpha, 'alpha'), record(made.beta, 'beta'), record(made.gamma, 'gamma')];
  const targets = await listTargets(client!, runs[0], runs);
  assert.deepEqual(targets.map((t) => `${t.runName}/${t.adapter}`), ['alpha/base', 'alpha/checkpoint-10', 'alpha/checkpoint-20', 'beta/checkpoint-5']);
  assert.deepEqual(defaultPanes(targets, made.alpha).map((t) => t.adapter), ['base', 'checkpoint-10', 'checkpoint-20']);
  // From the other model's side, nothing of the tiny model's runs is offered.
  assert.deepEqual((await listTargets(client!, runs[2], runs)).map((t) => `${t.runName}/${t.adapter}`), ['gamma/base', 'gamma/checkpoint-7']);
});
