// Runs every test suite: type check, TS unit/integration/e2e (node:test), and the agent's pytest.
// Usage: node scripts/test.mjs [unit|integration|e2e|python|types]...   (default: all)
import { build } from 'esbuild';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { agentPython } from './paths.mjs';

const root = new URL('..', import.meta.url).pathname;
const wanted = process.argv.slice(2);
const suites = wanted.length ? wanted : ['types', 'unit', 'python', 'integration', 'e2e'];
// pip in tests (the agent-environment test) must fail over to a local index at once, not back off for minutes.
process.env.PIP_RETRIES ??= '0';
const totals = { passed: 0, failed: 0, skipped: 0 };
const started = Date.now();

function run(cmd, args, opts = {}) {
  console.log(`\n$ ${cmd} ${args.join(' ')}`);
  const r = spawnSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 28, ...opts });
  process.stdout.write(r.stdout ?? '');
  if (r.error) throw r.error;
  return r;
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

async function nodeSuite(name) {
  const files = testFiles(join(root, 'test', name));
  if (!files.length) { console.log(`(no ${name} tests)`); return; }
  const outdir = join(root, 'out', 'test', name);
  rmSync(outdir, { recursive: true, force: true });
  await build({
    entryPoints: files, outdir, outbase: join(root, 'test', name), bundle: true, platform: 'node', target: 'node20',
    format: 'cjs', sourcemap: 'inline', packages: 'external', logLevel: 'warning',
  });
  const compiled = files.map((f) => join(outdir, relative(join(root, 'test', name), f)).replace(/\.ts$/, '.js'));
  const r = run(process.execPath, ['--enable-source-maps', '--test', '--test-concurrency=1', '--test-reporter=spec', ...compiled]);
  const num = (label) => Number((r.stdout.match(new RegExp(`ℹ ${label} (\\d+)`)) ?? [])[1] ?? 0);
  totals.passed += num('pass');
  totals.failed += num('fail') + (r.status !== 0 && num('fail') === 0 ? 1 : 0);
  totals.skipped += num('skipped') + num('todo');
}

function pythonSuite() {
  const r = run(agentPython(root), ['-m', 'pytest', '-q', '-p', 'no:cacheprovider', '-o', 'faulthandler_timeout=300', 'python-agent/tests']);
  const m = (label) => Number((r.stdout.match(new RegExp(`(\\d+) ${label}`)) ?? [])[1] ?? 0);
  totals.passed += m('passed');
  totals.failed += m('failed') + m('error') + (r.status !== 0 && m('failed') + m('error') === 0 ? 1 : 0);
  totals.skipped += m('skipped');
}

for (const s of suites) {
  if (s === 'types') {
    const r = run(join(root, 'node_modules/.bin/tsc'), ['--noEmit', '-p', '.']);
    if (r.status === 0) totals.passed += 1; else totals.failed += 1;
  } else if (s === 'python') pythonSuite();
  else await nodeSuite(s);
}

const minutes = ((Date.now() - started) / 60000).toFixed(1);
console.log(`\nAll suites (${suites.join(', ')}) in ${minutes} min`);
console.log(`${totals.passed} passed, ${totals.failed} failed, ${totals.skipped} skipped`);
process.exit(totals.failed ? 1 : 0);
