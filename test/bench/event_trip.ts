// One metric event's trip: eventlog.append on the host -> agent server -> SSH tunnel -> AgentClient listener,
// against a loopback sshd, in one run with a direct (no SSH) connection to the same agent as the baseline
// (npm run bench:events). The "host" is this machine, so receive time - event.time uses one clock.
// Usage: node out/bench/event_trip.js [fastSeconds=5] [slowSeconds=4] [idleSeconds=10].
// Goal (issue 4): p95 <= 50 ms through the tunnel and no drops at 1,000 events/s.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { AgentClient, type AgentEndpoint } from '../../src/core/agent/client';
import { defaultPython } from '../../src/core/host/localAgent';
import type { ConnectUi } from '../../src/core/remote/auth';
import { connectHost } from '../../src/core/remote/connection';
import { RemoteAgentLink } from '../../src/core/remote/remoteAgentLink';
import { resolveHost } from '../../src/core/remote/sshConfig';
import { stopEverything } from '../support/agentProcesses';
import { repoRoot } from '../support/repoRoot';
import { startSshd, TEST_HOST_ALIAS } from '../support/sshd';

const [fastSeconds, slowSeconds, idleSeconds] = [5, 4, 10].map((d, i) => Number(process.argv[2 + i] ?? d));
const GOAL_P95_MS = 50;
const agentSource = join(repoRoot(), 'python-agent');
const python = defaultPython(repoRoot());
const writerScript = join(repoRoot(), 'test', 'bench', 'event_writer.py');
const writers = new Set<ChildProcess>();

// Sub-millisecond wall clock, comparable with Python's time.time() on the same machine.
const nowMs = () => performance.timeOrigin + performance.now();

const noPrompts: ConnectUi = {
  passphrase: async () => { throw new Error('the bench key has no passphrase'); },
  password: async () => { throw new Error('the bench sshd takes keys only'); },
  confirmUnknownHost: async () => { throw new Error('the host key is in known_hosts'); },
};

interface WriterResult { sent: number; first_seq: number; last_seq: number; seconds: number; worst_lag_ms: number }
interface Phase { name: string; rate: number; seconds: number }
interface PhaseResult extends Phase { mode: string; sent: number; received: number; drops: number; dups: number; rate_achieved: number; latencies: number[] }

/** Runs event_writer.py (the project's venv, this agent's code) and returns its summary line. */
function runWriter(root: string, runId: string, rate: number, seconds: number): Promise<WriterResult> {
  const child = spawn(python, [writerScript, root, runId, String(rate), String(seconds)], {
    env: { ...process.env, PYTHONPATH: agentSource, OMP_NUM_THREADS: '1' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  writers.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      writers.delete(child);
      if (code === 0) resolve(JSON.parse(out.trim().split('\n').at(-1)!) as WriterResult);
      else reject(new Error(`event_writer.py exited ${code}: ${err}`));
    });
  });
}

async function measure(client: AgentClient, root: string, mode: string, phase: Phase): Promise<PhaseResult> {
  const runId = `bench-${mode}-${phase.rate}per-s`;
  const latencies: number[] = [];
  const seen = new Map<number, number>(); // seq -> times delivered
  let lastSeq = 0;
  let arrived: () => void = () => {};
  const sub = client.onEvent((e) => {
    if (e.run_id !== runId || e.kind !== 'metrics') return;
    latencies.push(nowMs() - e.time * 1000);
    seen.set(e.seq, (seen.get(e.seq) ?? 0) + 1);
    lastSeq = Math.max(lastSeq, e.seq);
    arrived();
  });
  try {
    const w = await runWriter(root, runId, phase.rate, phase.seconds);
    // Whatever has not arrived 3 s after the writer finished counts as dropped.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 3_000);
      arrived = () => { if (lastSeq >= w.last_seq) { clearTimeout(timer); resolve(); } };
      arrived();
    });
    let drops = 0;
    for (let s = w.first_seq; s <= w.last_seq; s++) if (!seen.has(s)) drops++;
    const dups = [...seen.values()].reduce((n, times) => n + times - 1, 0);
    return { ...phase, mode, sent: w.sent, received: latencies.length, drops, dups, rate_achieved: w.sent / w.seconds, latencies };
  } finally {
    sub.dispose();
  }
}

function pct(sorted: number[], p: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] : NaN;
}

/** CPU time of pid (user + system) over `seconds`, as % of one core, from /proc/<pid>/stat. */
async function cpuPercent(pid: number, seconds: number): Promise<number> {
  const ticks = () => {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[11], f[12] are fields 14, 15 (utime, stime)
    return Number(f[11]) + Number(f[12]);
  };
  const t0 = ticks();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  return ((ticks() - t0) / 100 / seconds) * 100; // CLK_TCK is 100 on Linux
}

async function phasesOver(mode: string, endpoint: () => Promise<AgentEndpoint>, root: string, since: number, phases: Phase[], clients: AgentClient[]) {
  const client = new AgentClient({ endpoint, clientName: `tunelab-bench-events/${mode}`, requestTimeoutMs: 60_000 });
  clients.push(client); // disposed by main's finally, even when a phase fails
  await client.connect();
  await client.subscribe(since);
  const results: PhaseResult[] = [];
  for (const phase of phases) results.push(await measure(client, root, mode, phase));
  return { client, results };
}

async function main(): Promise<void> {
  const sshd = await startSshd();
  const root = mkdtempSync(join(tmpdir(), 'tunelab-bench-events-'));
  const link = new RemoteAgentLink({
    label: 'loopback sshd', agentSource, root, python,
    connect: () => connectHost(resolveHost(TEST_HOST_ALIAS, sshd.sshConfigPath), noPrompts),
  });
  const clients: AgentClient[] = [];
  try {
    // The slow phase first: it shows the idle-wait latency; the fast one shows throughput and drops.
    const phases: Phase[] = [{ name: '50/s', rate: 50, seconds: slowSeconds }, { name: '1000/s', rate: 1000, seconds: fastSeconds }];
    const ssh = await phasesOver('ssh', () => link.endpoint(), root, 0, phases, clients);
    const agent = link.current!;
    const since = ssh.client.lastSeq;
    ssh.client.dispose(); // one subscriber at a time, so the baseline does not share the server
    const direct = await phasesOver('direct', async () => ({ url: `ws://127.0.0.1:${agent.port}`, token: agent.token }), root, since, phases, clients);

    console.log(`event trip, eventlog.append -> AgentClient listener (${agent.reused ? 'reused' : 'fresh'} agent pid ${agent.pid}):`);
    console.log('  phase   path     sent  recv  drops dups  writer/s   p50 ms   p95 ms   max ms');
    const p95 = new Map<string, number>();
    for (const r of [...ssh.results, ...direct.results]) {
      const sorted = [...r.latencies].sort((a, b) => a - b);
      p95.set(`${r.mode} ${r.name}`, pct(sorted, 95));
      console.log(`  ${r.name.padEnd(7)} ${r.mode.padEnd(7)} ${String(r.sent).padStart(5)} ${String(r.received).padStart(5)} ${String(r.drops).padStart(6)}`
        + ` ${String(r.dups).padStart(4)} ${r.rate_achieved.toFixed(0).padStart(9)} ${pct(sorted, 50).toFixed(1).padStart(8)}`
        + ` ${pct(sorted, 95).toFixed(1).padStart(8)} ${(sorted.at(-1) ?? NaN).toFixed(1).padStart(8)}`);
    }
    for (const { name } of phases) {
      console.log(`  ${name} p95 ratio ssh / direct: ${(p95.get(`ssh ${name}`)! / p95.get(`direct ${name}`)!).toFixed(2)}x`);
    }
    // The server polls the event log for each subscriber even when nothing happens; that is its idle cost.
    const idle = await cpuPercent(agent.pid, idleSeconds);
    console.log(`idle agent server CPU, one subscriber, ${idleSeconds} s: ${idle.toFixed(1)}% of one core`);
    const clean = [...ssh.results, ...direct.results].every((r) => r.drops === 0 && r.dups === 0 && r.received === r.sent);
    const goal = clean && phases.every(({ name }) => p95.get(`ssh ${name}`)! <= GOAL_P95_MS);
    console.log(`goal p95 <= ${GOAL_P95_MS} ms through SSH, no drops at 1,000 events/s: ${goal ? 'met' : 'NOT met'}`);
    process.exitCode = goal ? 0 : 1;
  } finally {
    for (const c of clients) c.dispose();
    for (const w of writers) w.kill('SIGKILL');
    link.dispose();
    await stopEverything(root);
    await sshd.stop();
    rmSync(root, { recursive: true, force: true, maxRetries: 5 });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
