// `npm run demo` end to end on a shortened config: the built dist/demo.js builds its model, trains through a
// real agent, shows progress and prints the base-vs-checkpoint table. Guards the README's first command.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { stopEverything } from '../support/agentProcesses';
import { repoRoot } from '../support/repoRoot';
import { runConfig, writeDataset } from '../support/trainingFixture';

const repo = repoRoot();
const dirs: string[] = [];
after(async () => {
  for (const d of dirs) {
    await stopEverything(join(d, 'root'));
    rmSync(d, { recursive: true, force: true });
  }
});

function runDemo(args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [join(repo, 'dist', 'demo.js'), ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('close', (code) => resolve({ code, out }));
  });
}

test('the demo trains, reports progress and ends with the comparison table', { timeout: 600_000 }, async () => {
  assert.ok(existsSync(join(repo, 'dist', 'demo.js')), 'dist/demo.js is built by the test runner first');
  const dir = mkdtempSync(join(tmpdir(), 'tunelab-demo-test-'));
  dirs.push(dir);
  writeDataset(join(dir, 'train.jsonl'), 3);
  const config = join(dir, 'short.tunelab.yaml');
  writeFileSync(config, runConfig({ name: 'demo-test', maxSteps: 12, evalSteps: 6, saveSteps: 6 }));
  const heldout = join(dir, 'heldout.jsonl');
  writeFileSync(heldout, readFileSync(join(dir, 'train.jsonl'), 'utf8').split('\n').slice(0, 3).join('\n'));

  const { code, out } = await runDemo(['--config', config, '--heldout', heldout, '--make-tiny-model'], { ...process.env, TUNELAB_ROOT: join(dir, 'root') });
  assert.equal(code, 0, out);
  assert.ok(existsSync(join(dir, 'model', 'config.json')), 'the missing model was built');
  assert.match(out, /step +\d+\/12 \[[#.]+\] +\d+% loss \d/, 'live progress lines with bar and loss');
  assert.match(out, /grad [\d.e-]+ +[\d.e+]+ tok\/s +ETA \d\d:\d\d/);
  assert.match(out, /saved checkpoint-6 .*\n[^]*saved checkpoint-12 /);
  assert.match(out, /# +│ held-out prompt +│ expected +│ base +│ checkpoint-6 +│ checkpoint-12/);
  assert.match(out, /exact match on all 3 held-out prompts +│ +│ \d+% +│ \d+% +│ \d+%/);
  assert.match(out, /training: \d\d:\d\d, loss [\d.e-]+ → [\d.e-]+; exact match: base \d+% → checkpoint-12 \d+%/);
});

test('a config with a bad key stops the demo with the key named, not a stack trace', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'tunelab-demo-test-'));
  dirs.push(dir);
  writeDataset(join(dir, 'train.jsonl'));
  const config = join(dir, 'bad.tunelab.yaml');
  writeFileSync(config, runConfig({ name: 'bad', maxSteps: 2, evalSteps: 1, saveSteps: 1, extra: '  warmup: 3' }));
  const { code, out } = await runDemo(['--config', config, '--heldout', join(dir, 'train.jsonl')], { ...process.env, TUNELAB_ROOT: join(dir, 'root') });
  assert.equal(code, 1);
  assert.match(out, /demo failed: .*training\.warmup: unknown key/);
  assert.doesNotMatch(out, /at .*\.js:\d+/);
});
