// Runs every test suite: type check, TS unit/integration/e2e (node:test), and the agent's pytest.
// Usage: node scripts/test.mjs [unit|integration|e2e|python|types]...   (default: all)
import { build } from 'esbuild';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { agentPython } from './paths.mjs';

const root = new URL('..', import.meta.url).pathname;
const wanted = process.argv.slice(2);
const suites = wanted.length ? wanted : ['types', 'unit', 'python', 'integration', 'e2e'];
// pip in tests (the agent-environment test) must fail over to a local index at once, not back off for minutes.
process.env.PIP_RETRIES ??= '0';
// One compute thread per training process: the tiny test models gain nothing from more, and with two suites
// running at once, OpenMP threads spinning on 2 shared cores slow every process down.
process.env.OMP_NUM_THREADS ??= '1';
process.env.MKL_NUM_THREADS ??= '1';
process.env.TOKENIZERS_PARALLELISM ??= 'false';
// The agent forks training processes from a prewarmed launcher (python-agent/tunelab_agent/serving/zygote.py),
// one per environment, shared by every suite's servers. Its sockets go in this run's own folder, and the
// launchers it started are stopped when the run ends instead of idling on for 20 minutes.
const warmDir = mkdtempSync(join(tmpdir(), 'tunelab-test-warm-'));
process.env.TUNELAB_WARM_START_DIR ??= warmDir;
const totals = { passed: 0, failed: 0, skipped: 0 };
const started = Date.now();

// Three chains of suites run at the same time: the TypeScript integration suite, the end-to-end suite and the
// agent's pytest suite. They use their own temp roots and ports, and much of each is spent waiting (process
// starts, SSH round trips, pip, a workbench redrawing), so overlapping them shortens the whole run by many minutes
// on 2 cores. Each suite's output is held and printed whole when it ends, so the log stays readable.
// The type check and the unit tests start each chain too, instead of running alone before them: a minute of
// wall time that the end-to-end chain, the longest, no longer waits for.
const CHAINS = [['unit', 'integration'], ['e2e'], ['types', 'python']];

function runAsync(cmd, args, opts = {}, held = true) {
  const header = `\n$ ${cmd} ${args.join(' ')}`;
  if (!held) console.log(header);
  return new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], ...opts });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => { out += d; if (!held) process.stdout.write(d); });
    child.stderr.on('data', (d) => { err += d; if (!held) process.stderr.write(d); });
    child.on('error', reject);
    child.on('close', (status) => {
      if (held) process.stdout.write(`${header}\n${out}${err}`);
      resolvePromise({ status, stdout: out });
    });
  });
}

function testFiles(dir) {
  const out = [];
  const walk = (d) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.test.ts')) out.push(p);
    }
  };
  if (existsSync(dir)) walk(dir);
  return out.sort();
}

async function nodeSuite(name, held = false) {
  const files = testFiles(join(root, 'test', name));
  if (!files.length) { console.log(`(no ${name} tests)`); return; }
  const outdir = join(root, 'out', 'test', name);
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: files, outdir, outbase: join(root, 'test', name), bundle: true, platform: 'node', target: 'node20',
    format: 'cjs', sourcemap: 'inline', packages: 'external', logLevel: 'warning',
  });
  const compiled = files.map((f) => join(outdir, relative(join(root, 'test', name), f)).replace(/\.ts$/, '.js'));
  const r = await runAsync(process.execPath, ['--enable-source-maps', '--test', '--test-concurrency=1', '--test-reporter=spec', ...compiled], {}, held);
  const num = (label) => Number((r.stdout.match(new RegExp(`ℹ ${label} (\\d+)`)) ?? [])[1] ?? 0);
  totals.passed += num('pass');
  totals.failed += num('fail') + (r.status !== 0 && num('fail') === 0 ? 1 : 0);
  totals.skipped += num('skipped') + num('todo');
}

// The agent's pytest suite runs as two pytest processes side by side: these files (a third of its time: many
// training processes each) in one, the rest in the other. Alone it used one core; beside the other suites, it
// was the chain that ran on by itself for minutes after they had finished.
const PYTHON_HEAVY = ['test_disk_faults.py', 'test_preference_training.py', 'test_checkpoint_kills.py', 'test_launch.py',
  'test_multi_process.py'].map((f) => `python-agent/tests/${f}`);

async function pythonSuite(held = false) {
  await Promise.all([
    pytest(held, PYTHON_HEAVY),
    pytest(held, ['python-agent/tests', ...PYTHON_HEAVY.map((f) => `--ignore=${f}`)]),
  ]);
}

async function pytest(held, args) {
  const r = await runAsync(agentPython(root), ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-o', 'faulthandler_timeout=300',
    '--durations=15', ...args], {}, held);
  const m = (label) => Number((r.stdout.match(new RegExp(`(\\d+) ${label}`)) ?? [])[1] ?? 0);
  totals.passed += m('passed');
  totals.failed += m('failed') + m('error') + (r.status !== 0 && m('failed') + m('error') === 0 ? 1 : 0);
  totals.skipped += m('skipped');
}

function stopWarmLaunchers(dir) {
  const locks = readdirSync(dir).filter((n) => n.endsWith('.lock'));
  console.log(`\nstopping ${locks.length} prewarmed training launcher(s)`);
  for (const name of locks) {
    const pid = Number(readFileSync(join(dir, name), 'utf8').trim());
    try { if (pid > 0) process.kill(pid, 'SIGTERM'); } catch { /* already gone */ }
  }
  rmSync(dir, { recursive: true, force: true });
}

// code-server's first install takes minutes of npm work. Done here, before the suites start, it does not eat
// into the end-to-end tests' time while the other chain's training saturates the cores.
async function installCodeServer() {
  const outfile = join(root, 'out', 'test', 'tools', 'installCodeServer.js');
  await build({ entryPoints: [join(root, 'test', 'e2e', 'installCodeServer.ts')], outfile, bundle: true, platform: 'node',
    target: 'node20', format: 'cjs', packages: 'external', logLevel: 'warning' });
  const { codeServerDir, ensureCodeServer } = createRequire(import.meta.url)(outfile);
  await ensureCodeServer(codeServerDir());
}
if (suites.includes('e2e')) await installCodeServer();

const chains = CHAINS.map((chain) => chain.filter((s) => suites.includes(s))).filter((chain) => chain.length);
const chained = chains.length > 1 ? new Set(chains.flat()) : new Set();
let chainsRun = false;
for (const s of suites) {
  if (chained.has(s)) {
    if (chainsRun) continue;
    chainsRun = true;
    console.log(`\nrunning ${chains.map((c) => c.join(' then ')).join(' alongside ')} (each suite's output follows when it ends)`);
    await Promise.all(chains.map(async (chain) => {
      for (const t of chain) await runSuite(t, true);
    }));
  } else await runSuite(s, false);
}

async function runSuite(s, held) {
  if (s === 'types') {
    const r = await runAsync(join(root, 'node_modules/.bin/tsc'), ['--noEmit', '-p', '.'], {}, held);
    if (r.status === 0) totals.passed += 1; else totals.failed += 1;
  } else if (s === 'python') await pythonSuite(held);
  else await nodeSuite(s, held);
}

stopWarmLaunchers(warmDir);
const minutes = ((Date.now() - started) / 60000).toFixed(1);
console.log(`\nAll suites (${suites.join(', ')}) in ${minutes} min`);
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed ? 1 : 0);
