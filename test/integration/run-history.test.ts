// The extension's side of run history against the real agent, on a root of runs written without
// training (support/syntheticRoot.ts): connect lists the runs and subscribes from the listing's head,
// a chart loads its run's history (downsampled) and then follows live events with every point once,
// and Delete Run removes a run.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { AgentClient, type AgentEndpoint } from '../../src/core/agent/client';
import { defaultPython, ensureLocalAgent } from '../../src/core/host/localAgent';
import type { AgentEvent } from '../../src/core/protocol/messages';
import { HistoryLoader } from '../../src/core/runs/historyLoader';
import { RunStore } from '../../src/core/runs/runStore';
import { RunSync } from '../../src/core/runs/runSync';
import type { TrainPoint } from '../../src/core/runs/types';
import { stopEverything } from '../support/agentProcesses';
import { repoRoot } from '../support/repoRoot';
import { appendMetrics, syntheticLoss, writeSyntheticRoot } from '../support/syntheticRoot';

const python = defaultPython(repoRoot());
const agentSource = join(repoRoot(), 'python-agent');
const DONE = '20261127-090000-done-0001';
const RESUMED = '20261127-100000-resumed-0002';
const LIVE = '20261127-110000-live-0003';
const DOOMED = '20261127-120000-doomed-0004';
let root = '';
let head = 0;
let endpoint: () => Promise<AgentEndpoint>;
const clients: AgentClient[] = [];

before(() => {
  assert.ok(existsSync(python), `no agent Python at ${python}: run "npm run setup" first`);
  root = mkdtempSync(join(tmpdir(), 'tunelab-it-history-'));
  head = writeSyntheticRoot(root, [
    { runId: DONE, steps: 3000, evalEvery: 500 },
    { runId: RESUMED, steps: 300, stepsBeforeResume: 200, resumeAt: 100 },
    { runId: LIVE, steps: 0, state: null },
    { runId: DOOMED, steps: 5 },
  ]);
  endpoint = () => ensureLocalAgent({ python, root, dataDirs: [] });
});

after(async () => {
  for (const c of clients) c.dispose();
  if (root) await stopEverything(root);
  if (root) rmSync(root, { recursive: true, force: true, maxRetries: 5 });
});

/** The extension's wiring without VS Code (AgentConnection does the same). */
async function connectExtension(maxPoints?: number) {
  const client = new AgentClient({ endpoint, clientName: 'tunelab-integration-test/0.1.0', reconnectMinMs: 100, reconnectMaxMs: 1000, requestTimeoutMs: 60_000 });
  clients.push(client);
  const store = new RunStore();
  const loader = new HistoryLoader(store, () => undefined, maxPoints);
  const sync = new RunSync(client, store, loader);
  const events: AgentEvent[] = [];
  client.onEvent((e) => {
    events.push(e);
    store.apply(e);
  });
  const synced: Array<Promise<void>> = [];
  client.onState((s) => { if (s.kind === 'connected') synced.push(sync.connected()); });
  await client.connect();
  await synced[0];
  return { client, store, loader, events };
}

async function until<T>(what: string, probe: () => T | undefined, timeoutMs = 30_000): Promise<T> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; await new Promise((r) => setTimeout(r, 20))) {
    const v = probe();
    if (v !== undefined && v !== false) return v;
  }
  throw new Error(`timed out waiting for ${what}`);
}

test('connect lists every run and subscribes from the listing\'s head: no past event is replayed', { timeout: 120_000 }, async () => {
  const { client, store, events } = await connectExtension();
  assert.equal(client.lastSeq, head);
  assert.deepEqual(store.list().map((r) => [r.runId, r.state, r.step]), [
    [DOOMED, 'completed', 5], [LIVE, 'starting', 0], [RESUMED, 'completed', 300], [DONE, 'completed', 3000],
  ]);
  assert.equal(events.length, 0, 'nothing before the head comes over the stream');
  assert.deepEqual(store.points(DONE), [], 'no chart is open: no points are kept');
  const seqs = await appendMetrics(python, agentSource, root, LIVE, [1, 2, 3], 1000);
  await until('the live events', () => client.lastSeq >= seqs.at(-1)!);
  assert.deepEqual(events.map((e) => e.seq), seqs);
  assert.equal(store.get(LIVE)!.step, 3);
});

test('a chart loads its run\'s history downsampled, with segments, then follows live events with every point once', { timeout: 180_000 }, async () => {
  const { client, store, loader } = await connectExtension(500);

  // A finished 3000-step run arrives thinned to at most 500 points a series, keeping its ends. The dashboard
  // charts four training series (loss, learning rate, grad norm, tokens/s) and the 6 evaluations.
  loader.open(DONE);
  await until('the history of the finished run', () => store.history(DONE)?.state === 'loaded' || undefined);
  const h = store.history(DONE);
  assert.ok(h?.state === 'loaded' && h.logged === 4 * 3000 + 6 && h.received <= 4 * 500 + 6, JSON.stringify(h));
  const losses = store.points(DONE).filter((p): p is TrainPoint => p.kind === 'train' && p.loss !== null);
  assert.ok(losses.length <= 500 && losses.length >= 100, `${losses.length} loss points`);
  assert.deepEqual([losses[0].step, losses.at(-1)!.step], [1, 3000]);
  for (const p of losses) assert.equal(p.loss, syntheticLoss(p.step), `loss at step ${p.step} is a value the run logged`);
  assert.equal(store.points(DONE).filter((p) => p.kind === 'eval').length, 6);

  // A resumed run keeps both segments.
  loader.open(RESUMED);
  await until('the history of the resumed run', () => store.history(RESUMED)?.state === 'loaded' || undefined);
  const bySegment = (seg: number) => store.points(RESUMED).filter((p) => p.kind === 'train' && p.segment === seg).map((p) => p.step);
  assert.deepEqual(bySegment(0), Array.from({ length: 200 }, (_, i) => i + 1));
  assert.deepEqual(bySegment(1), Array.from({ length: 200 }, (_, i) => i + 101));

  // A live run: its chart opens while events are being written, so some arrive while the request is in flight.
  const steps = Array.from({ length: 150 }, (_, i) => i + 4); // 1..3 were written by the previous test
  const writing = appendMetrics(python, agentSource, root, LIVE, steps, 1000, 100);
  await until('the first live events', () => (store.get(LIVE)!.step >= 20 ? true : undefined));
  loader.open(LIVE);
  const seqs = await writing;
  await until('the last live event', () => client.lastSeq >= seqs.at(-1)! || undefined);
  await until('the live run\'s history', () => store.history(LIVE)?.state === 'loaded' || undefined);
  assert.deepEqual(store.points(LIVE).map((p) => p.step).sort((a, b) => a - b), Array.from({ length: 153 }, (_, i) => i + 1), 'every step once');

  // Closing the charts evicts their points.
  store.hide(DONE);
  assert.deepEqual(store.points(DONE), []);
});

test('Delete Run: the agent removes the run and the next listing no longer has it', { timeout: 60_000 }, async () => {
  const { client, store } = await connectExtension();
  assert.deepEqual(await client.request('delete_run', { run_id: DOOMED }), { run_id: DOOMED });
  store.remove(DOOMED);
  assert.ok(!existsSync(join(root, 'runs', DOOMED)), 'the run folder is gone');
  const { runs, head: after } = await client.request('list_runs', {});
  assert.ok(!runs.some((r) => r.run_id === DOOMED));
  store.seed(runs, after);
  assert.equal(store.get(DOOMED), undefined);
  assert.ok(store.get(DONE));
});
