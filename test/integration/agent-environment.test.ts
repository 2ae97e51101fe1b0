// Set Up Agent for real: a new virtual environment with the agent pip-installed from the extension's sources.
// It installs torch and friends; here they come from the machine's local package index (PIP_RETRIES=0).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { agentSourceVersion, createAgentEnvironment } from '../../src/core/host/agentEnvironment';
import { repoRoot } from '../support/repoRoot';

test('Set Up Agent makes a working environment once, then reuses it', { timeout: 900_000 }, async () => {
  const source = join(repoRoot(), 'python-agent');
  const before = readdirSync(source).sort();
  const parent = mkdtempSync(join(tmpdir(), 'tunelab-setup-'));
  const venvDir = join(parent, 'agent-venv');
  try {
    const steps: string[] = [];
    const lines: string[] = [];
    const python = await createAgentEnvironment({
      agentSource: source, venvDir, candidates: ['/nonexistent/python3', 'python3'],
      onStep: (s) => steps.push(s), onOutput: (l) => lines.push(l),
    });
    assert.equal(python, join(venvDir, 'bin', 'python'));
    const version = spawnSync(python, ['-c', 'import tunelab_agent, torch, peft, transformers, websockets; print(tunelab_agent.__version__)'], { encoding: 'utf8' });
    assert.equal(version.status, 0, version.stderr);
    assert.equal(version.stdout.trim(), agentSourceVersion(source));
    assert.ok(steps.some((s) => /installing tunelab-agent/.test(s)), steps.join(' | '));
    assert.ok(lines.some((l) => /Successfully installed/.test(l)), 'pip output reaches the output channel');
    assert.ok(!existsSync(`${venvDir}.partial`) && !existsSync(`${venvDir}.partial-src`), 'no half-made folders left');
    assert.deepEqual(readdirSync(source).sort(), before, 'nothing was built inside the extension folder');

    const again: string[] = [];
    assert.equal(await createAgentEnvironment({ agentSource: source, venvDir, onStep: (s) => again.push(s) }), python);
    assert.deepEqual(again, [], 'a ready environment is reused without running pip');
  } finally {
    rmSync(parent, { recursive: true, force: true });
  }
});
