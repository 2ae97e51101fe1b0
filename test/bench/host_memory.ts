// Extension-host memory after connecting to a big agent root (issue 11 goal: <= 100 MB above a fresh
// root). Each measurement runs in its own Node process (--expose-gc) holding what the extension host
// holds for the Runs view: AgentClient, RunStore, HistoryLoader, RunSync, wired as AgentConnection
// wires them, against the real agent (its own process, not counted). After the stream is idle it
// collects garbage twice and reads heapUsed and RSS.
// - fresh: an empty root (the baseline);
// - big: a root of many runs (given, or written here without training: test/support/syntheticRoot.ts);
// - big + chart: the same with one run's chart open (its history: needs run_history, issue 11 agent side);
// - old (--old): the extension before issue 11 on the big root: subscribe from seq 0 and keep every point
//   of every run (emulated with the RunStore showing every run live-only).
// Usage (npm run bench:memory): node out/bench/host_memory.js [ROOT] [--runs 300] [--steps 3000] [--old | --only-old]
// A given ROOT is only read (an agent is started on it if none runs, and left running).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AgentClient } from '../../src/core/agent/client';
import { defaultPython, ensureLocalAgent } from '../../src/core/host/localAgent';
import { HistoryLoader } from '../../src/core/runs/historyLoader';
import { RunStore } from '../../src/core/runs/runStore';
import { RunSync } from '../../src/core/runs/runSync';
import { stopEverything } from '../support/agentProcesses';
import { repoRoot } from '../support/repoRoot';
import { writeSyntheticRoot } from '../support/syntheticRoot';

const GOAL_MB = 100;
const MB = 1024 * 1024;
const python = defaultPython(repoRoot());

type Mode = 'new' | 'chart' | 'old';
interface Measure { mode: Mode; runs: number; head: number; heapMb: number; rssMb: number; connectS: number; points: number; drops: number; chart?: string }

// ---- one measurement, in a child process -------------------------------------------------------

async function measure(root: string, mode: Mode): Promise<Measure> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const store = new RunStore();
  const loader = new HistoryLoader(store);
  // The old way's replay of a million events queues the agent's pong behind them for minutes, and the link
  // would be declared dead again and again (the extension's 10 s pong timeout); here it is given the time.
  const client = new AgentClient({
    endpoint: () => ensureLocalAgent({ python, root, dataDirs: [] }), clientName: 'tunelab-bench/0', requestTimeoutMs: 1_800_000,
    pongTimeoutMs: mode === 'old' ? 1_800_000 : 10_000,
  });
  let drops = 0;
  client.onState((s) => { if (s.kind === 'reconnecting') drops++; });
  const head = readHead(root);
  const t0 = performance.now();
  if (mode === 'old') {
    // Before issue 11: every event from seq 0, every point of every run kept.
    client.onEvent((e) => {
      if (!store.isShown(e.run_id)) {
        store.show(e.run_id);
        store.historyMissing(e.run_id, store.historyEpoch(e.run_id)!, { state: 'unavailable', reason: 'the old way' });
      }
      store.apply(e);
    });
    // As AgentConnection did: the listing goes out on connect, the subscription from seq 0 right after it.
    await client.connect();
    const listing = client.request('list_runs', {});
    await client.subscribe(0);
    try {
      const { runs, head: listed } = await listing;
      store.seed(runs, listed);
    } catch (e) {
      console.error(`old way: list_runs failed (${(e as Error).message}); the stream alone builds the summaries`);
    }
  } else {
    const sync = new RunSync(client, store, loader);
    client.onEvent((e) => store.apply(e));
    const synced: Array<Promise<void>> = [];
    client.onState((s) => { if (s.kind === 'connected') synced.push(sync.connected()); });
    await client.connect();
    await synced[0];
  }
  // Idle: every event up to the root's head has been seen (none are written meanwhile).
  while (client.lastSeq < head) await new Promise((r) => setTimeout(r, 50));
  const connectS = (performance.now() - t0) / 1000;
  let chart: string | undefined;
  if (mode === 'chart') {
    const biggest = store.list().sort((a, b) => b.step - a.step)[0];
    if (biggest) {
      loader.open(biggest.runId);
      while (store.history(biggest.runId)?.state === 'loading') await new Promise((r) => setTimeout(r, 50));
      const h = store.history(biggest.runId)!;
      chart = h.state === 'loaded' ? `${h.received} of ${h.logged} points` : h.state === 'loading' ? 'loading' : `${h.state}: ${h.reason}`;
    }
  }
  await new Promise((r) => setTimeout(r, 200));
  gc();
  gc();
  const mem = process.memoryUsage();
  const points = store.list().reduce((n, r) => n + store.points(r.runId).length, 0);
  const out: Measure = { mode, runs: store.list().length, head, heapMb: mem.heapUsed / MB, rssMb: mem.rss / MB, connectS, points, drops, chart };
  client.dispose();
  return out;
}

function readHead(root: string): number {
  try {
    return Number(readFileSync(join(root, 'events.seq'), 'utf8').trim() || 0);
  } catch {
    return 0; // a fresh root has no events yet
  }
}

// ---- the comparison -----------------------------------------------------------------------------

function child(root: string, mode: Mode): Promise<Measure> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ['--expose-gc', __filename, '--measure', root, mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    p.stdout.on('data', (d: Buffer) => (out += d.toString()));
    p.once('error', reject);
    p.once('exit', (code) => (code === 0 ? resolve(JSON.parse(out.trim().split('\n').at(-1)!) as Measure) : reject(new Error(`${mode} measurement exited ${code}`))));
  });
}

function flag(args: string[], name: string, fallback: number): number {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : fallback;
}

async function main(args: string[]): Promise<void> {
  if (args[0] === '--measure') {
    console.log(JSON.stringify(await measure(args[1], args[2] as Mode)));
    process.exit(0);
  }
  const given = args[0] && !args[0].startsWith('--') ? args[0] : undefined;
  const nRuns = flag(args, '--runs', 300);
  const steps = flag(args, '--steps', 3000);
  const fresh = mkdtempSync(join(tmpdir(), 'tunelab-bench-fresh-'));
  const big = given ?? mkdtempSync(join(tmpdir(), 'tunelab-bench-big-'));
  try {
    if (!given) {
      const t0 = performance.now();
      const head = writeSyntheticRoot(big, Array.from({ length: nRuns }, (_, i) => ({ runId: `20261101-${String(i).padStart(6, '0')}-run-${String(i).padStart(4, '0')}`, steps, evalEvery: 100 })));
      console.log(`wrote ${nRuns} runs x ${steps} steps (${head.toLocaleString('en-US')} events) to ${big} in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const results: Measure[] = [];
    const modes = (args.includes('--only-old') ? ['old'] : ['new', 'chart', ...(args.includes('--old') ? ['old'] : [])]) as Mode[];
    const base = await child(fresh, 'new');
    console.log(`measured fresh: ${JSON.stringify(base)}`);
    const byMode = new Map<Mode, Measure>();
    for (const mode of modes) {
      const m = await child(big, mode);
      byMode.set(mode, m);
      console.log(`measured big ${mode}: ${JSON.stringify(m)}`);
    }
    const [bigNew, bigChart, old] = [byMode.get('new'), byMode.get('chart'), byMode.get('old')];
    const line = (label: string, m: Measure) =>
      `  ${label.padEnd(46)} heap ${m.heapMb.toFixed(1).padStart(7)} MB  rss ${m.rssMb.toFixed(1).padStart(7)} MB  ` +
      `(+${(m.heapMb - base.heapMb).toFixed(1)} MB heap, +${(m.rssMb - base.rssMb).toFixed(1)} MB rss; ratio ${(m.rssMb / base.rssMb).toFixed(2)} rss)  ` +
      `${m.runs} runs, ${m.points.toLocaleString('en-US')} points kept, connected in ${m.connectS.toFixed(1)} s${m.drops ? ` (${m.drops} link drops)` : ''}`;
    const any = bigNew ?? old!;
    console.log(`\nextension-host memory after connecting (Node, after GC), root of ${any.runs} runs / ${any.head.toLocaleString('en-US')} events vs a fresh root`);
    console.log(`  ${'fresh root (baseline)'.padEnd(46)} heap ${base.heapMb.toFixed(1).padStart(7)} MB  rss ${base.rssMb.toFixed(1).padStart(7)} MB`);
    if (bigNew) console.log(line('big root', bigNew));
    if (bigChart) console.log(line('big root, one chart open', bigChart) + (bigChart.chart ? `; chart: ${bigChart.chart}` : ''));
    if (old) console.log(line('big root, the old way (replay, every point)', old));
    const measured = [bigNew, bigChart].filter((m): m is Measure => !!m);
    if (measured.length) {
      const over = Math.max(...measured.map((m) => Math.max(m.rssMb - base.rssMb, m.heapMb - base.heapMb)));
      console.log(`  goal: <= ${GOAL_MB} MB above a fresh root: ${over <= GOAL_MB ? 'met' : 'NOT met'} (+${over.toFixed(1)} MB at most, heap or rss)`);
      if (over > GOAL_MB) process.exitCode = 1;
    }
  } finally {
    // Only the agents of roots made here are stopped: a given root's agent (and its runs) is someone's own.
    await stopEverything(fresh);
    rmSync(fresh, { recursive: true, force: true });
    if (!given) {
      await stopEverything(big);
      rmSync(big, { recursive: true, force: true });
    }
  }
}

void main(process.argv.slice(2)).catch((e) => {
  console.error(e);
  process.exit(1);
});
