// The decisions around the agent's Python environment that need no pip: version checks and readiness.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { agentSourceVersion, environmentReady, findBasePython, newEnough, parsePythonVersion } from '../../src/core/host/agentEnvironment';
import { repoRoot } from '../support/repoRoot';

const root = repoRoot();

test('python --version output is parsed, and only 3.10 or newer is accepted', () => {
  assert.deepEqual(parsePythonVersion('Python 3.11.7\n'), [3, 11, 7]);
  assert.deepEqual(parsePythonVersion('Python 3.9'), [3, 9, 0]);
  assert.equal(parsePythonVersion('bash: python: not found'), undefined);
  assert.ok(newEnough([3, 10, 0]) && newEnough([3, 12, 1]) && newEnough([4, 0, 0]));
  assert.ok(!newEnough([3, 9, 18]) && !newEnough([2, 7, 18]));
});

test('the first interpreter that runs and is new enough is chosen; none found lists each one', async () => {
  assert.equal(await findBasePython(['/nonexistent/python3', 'python3']), 'python3');
  await assert.rejects(findBasePython(['/nonexistent/python3', '/bin/false']),
    (e: Error) => /no Python 3\.10 or newer found/.test(e.message) && e.message.includes('/nonexistent/python3: ') && /tunelab\.pythonPath/.test(e.message));
});

test('an environment is ready only with an interpreter and the stamp of the same agent version', () => {
  const source = join(root, 'python-agent');
  const version = agentSourceVersion(source);
  assert.match(version, /^\d+\.\d+\.\d+/);
  const venv = mkdtempSync(join(tmpdir(), 'tunelab-env-'));
  try {
    assert.ok(!environmentReady(venv, source));
    mkdirSync(join(venv, 'bin'));
    writeFileSync(join(venv, 'bin', 'python'), '');
    assert.ok(!environmentReady(venv, source), 'no stamp: an install cut short');
    writeFileSync(join(venv, '.tunelab-agent-version'), '0.0.0-older\n');
    assert.ok(!environmentReady(venv, source), 'another agent version: reinstall');
    writeFileSync(join(venv, '.tunelab-agent-version'), `${version}\n`);
    assert.ok(environmentReady(venv, source));
  } finally {
    rmSync(venv, { recursive: true, force: true });
  }
});
