// The connect sequence with the real AgentClient against a real `ws` server speaking the protocol
// (support/protocolTestServer.ts): list_runs, subscribe from the listing's head, shown runs' history,
// and reconnects, with every chart point exactly once.
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { AgentClient } from '../../src/core/agent/client';
import type { AgentEvent, HistorySeries, ResultOf, RunSummary } from '../../src/core/protocol/messages';
import { HISTORY_UNKNOWN_TO_AGENT, HistoryLoader } from '../../src/core/runs/historyLoader';
import { RunStore } from '../../src/core/runs/runStore';
import { RunSync } from '../../src/core/runs/runSync';
import type { MetricPoint } from '../../src/core/runs/types';
import { ProtocolTestServer, type IncomingRequest, type Reply } from './support/protocolTestServer';
import { stateKind, untilSeq } from './support/waitFor';

const A = 'run-a';
const B = 'run-b';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

/** Answers list_runs and run_history from the server's events, as the agent does from its logs. */
function agentAnswers(server: ProtocolTestServer, overrides: Partial<Record<string, (req: IncomingRequest) => Reply>> = {}) {
  const requests: string[] = [];
  server.handler = (req) => {
    requests.push(req.method);
    const override = overrides[req.method];
    if (override) return override(req);
    if (req.method === 'list_runs') return { result: listing(server.events) };
    if (req.method === 'run_history') return { result: history(server.events, req.params.run_id as string, server.events.length) };
    return { error: { code: 'unknown_method', message: `unknown method "${req.method}"` } };
  };
  return requests;
}

function listing(events: AgentEvent[]): ResultOf<'list_runs'> {
  const runs = new Map<string, RunSummary>();
  for (const e of events) {
    const run = runs.get(e.run_id) ?? { run_id: e.run_id, name: e.run_id, state: 'running', created: e.time, step: 0, max_steps: null, loss: null, error: null };
    if (e.kind === 'metrics') Object.assign(run, { step: e.data.step, max_steps: e.data.max_steps, loss: e.data.loss });
    runs.set(e.run_id, run);
  }
  return { runs: [...runs.values()], total: runs.size, head: events.length };
}

function history(events: AgentEvent[], runId: string, head: number): ResultOf<'run_history'> {
  const series = (): HistorySeries => ({ step: [], value: [], segment: [], total: 0 });
  const loss = series();
  for (const e of events) {
    if (e.run_id !== runId || e.seq > head || e.kind !== 'metrics' || e.data.loss === null) continue;
    loss.step.push(e.data.step);
    loss.value.push(e.data.loss);
    loss.segment.push(e.data.segment ?? 0);
    loss.total++;
  }
  return { run_id: runId, head, series: { loss } };
}

const step = (server: ProtocolTestServer, runId: string, n: number) =>
  server.emit('metrics', { step: n, max_steps: 1000, epoch: 0, loss: 10 - n / 100, learning_rate: null, grad_norm: null, tokens_per_sec: 1, eta_s: 1 }, runId);

/** The extension's wiring (AgentConnection) without VS Code: client, store, history loader, sync on every connect. */
async function extension(server: ProtocolTestServer, store = new RunStore(), loader = new HistoryLoader(store)) {
  const client = new AgentClient({
    endpoint: async () => ({ url: server.url, token: server.token }), clientName: 'unit-test', reconnectMinMs: 10, reconnectMaxMs: 40,
  });
  cleanups.push(() => client.dispose());
  const sync = new RunSync(client, store, loader);
  const synced: Array<Promise<void>> = [];
  client.onEvent((e) => store.apply(e));
  client.onState((s) => { if (s.kind === 'connected') synced.push(sync.connected()); });
  await client.connect();
  await synced[0];
  return { client, store, loader, synced };
}

async function startServer(): Promise<ProtocolTestServer> {
  const server = await ProtocolTestServer.start();
  cleanups.push(() => server.close());
  return server;
}

const lossSteps = (points: MetricPoint[]) => points.map((p) => p.step);
const until = async (what: string, cond: () => boolean) => {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(cond(), `timed out waiting for ${what}`);
};

test('connect lists the runs and subscribes from the listing\'s head: nothing before it is replayed', async () => {
  const server = await startServer();
  const requests = agentAnswers(server);
  for (let n = 1; n <= 500; n++) step(server, n % 2 ? A : B, n);
  const replayed: number[] = [];
  const { client, store } = await extension(server);
  client.onEvent((e) => replayed.push(e.seq));
  assert.deepEqual(requests, ['list_runs']);
  assert.deepEqual(server.subscribes, [500]);
  assert.deepEqual(store.list().map((r) => [r.runId, r.step]).sort(), [[A, 499], [B, 500]]);
  assert.deepEqual(store.points(A), [], 'no run is shown: no points are kept');
  step(server, A, 501);
  await untilSeq(client, 501);
  assert.deepEqual(replayed, [501]);
  assert.equal(store.get(A)!.step, 501);
});

test('opening a chart loads its history, then live points follow with none doubled or lost, including those sent while the history was on its way', async () => {
  const server = await startServer();
  let answer: (() => void) | undefined;
  const requests = agentAnswers(server, {
    run_history: (req) => {
      // The agent reads the log now (head = 103 after the events below), but answers only later.
      answer = () => {
        const result = history(server.events, req.params.run_id as string, 103);
        server.sendRaw(JSON.stringify({ type: 'response', re: req.id, result }));
      };
      return 'silent';
    },
  });
  for (let n = 1; n <= 100; n++) step(server, A, n);
  const { client, store, loader } = await extension(server);
  loader.open(A);
  step(server, A, 101); // 101..103 arrive while the request is in flight and are in the history too
  step(server, A, 102);
  step(server, A, 103);
  await until('the run_history request', () => requests.includes('run_history') && !!answer);
  step(server, A, 104); // after the history's head, still before its answer: held, then merged
  await untilSeq(client, 104);
  assert.deepEqual(lossSteps(store.points(A)), [101, 102, 103, 104], 'held live points are shown meanwhile');
  answer!();
  await until('the history', () => store.history(A)?.state === 'loaded');
  step(server, A, 105);
  await untilSeq(client, 105);
  assert.deepEqual(lossSteps(store.points(A)), Array.from({ length: 105 }, (_, i) => i + 1));
});

test('after a drop the client resubscribes from the last seq it saw; the shown chart stays whole', async () => {
  const server = await startServer();
  const requests = agentAnswers(server);
  for (let n = 1; n <= 20; n++) step(server, A, n);
  const { client, store, loader, synced } = await extension(server);
  loader.open(A);
  await until('the history', () => store.history(A)?.state === 'loaded');
  step(server, A, 21);
  await untilSeq(client, 21);
  client.dropConnectionForTest();
  step(server, A, 22); // while away
  step(server, B, 1);
  await stateKind(client, 'reconnecting');
  await stateKind(client, 'connected');
  await untilSeq(client, 23);
  await synced[1];
  step(server, A, 23);
  await untilSeq(client, 24);
  assert.deepEqual(server.subscribes, [20, 21]);
  assert.deepEqual(requests, ['list_runs', 'run_history', 'list_runs'], 'a reconnect lists again (repair) but does not reload a loaded history');
  assert.deepEqual(lossSteps(store.points(A)), Array.from({ length: 23 }, (_, i) => i + 1));
  assert.equal(store.get(B)!.step, 1);
});

test('a client replacing another (settings changed) continues from the store\'s seq, not a new head', async () => {
  const server = await startServer();
  agentAnswers(server);
  for (let n = 1; n <= 10; n++) step(server, A, n);
  const store = new RunStore();
  const first = await extension(server, store);
  first.loader.open(A);
  await until('the history', () => store.history(A)?.state === 'loaded');
  first.loader.streamLost();
  first.client.dispose();
  for (let n = 11; n <= 15; n++) step(server, A, n); // nobody listening
  const second = await extension(server, store, first.loader); // the chart stays open across the switch
  await untilSeq(second.client, 15);
  assert.deepEqual(server.subscribes, [10, 10]);
  assert.deepEqual(lossSteps(store.points(A)), Array.from({ length: 15 }, (_, i) => i + 1));
});

test('an agent without run_history: the chart says the history is unavailable and shows what arrives live', async () => {
  const server = await startServer();
  agentAnswers(server, { run_history: () => ({ error: { code: 'unknown_method', message: 'unknown method "run_history"' } }) });
  for (let n = 1; n <= 10; n++) step(server, A, n);
  const { client, store, loader } = await extension(server);
  loader.open(A);
  await until('the refusal', () => store.history(A)?.state === 'unavailable');
  assert.deepEqual(store.history(A), { state: 'unavailable', reason: HISTORY_UNKNOWN_TO_AGENT });
  step(server, A, 11);
  await untilSeq(client, 11);
  assert.deepEqual(lossSteps(store.points(A)), [11]);
});

test('a listing the client cannot use falls back to the stream alone, from seq 0', async () => {
  const server = await startServer();
  // An agent from before listings carried a head answers {runs} only, which the schema refuses.
  agentAnswers(server, { list_runs: () => ({ result: { runs: [] } }) });
  for (let n = 1; n <= 5; n++) step(server, A, n);
  const client = new AgentClient({ endpoint: async () => ({ url: server.url, token: server.token }), clientName: 'unit-test' });
  cleanups.push(() => client.dispose());
  const store = new RunStore();
  const sync = new RunSync(client, store);
  client.onEvent((e) => store.apply(e));
  await client.connect();
  await assert.rejects(sync.connected(), /malformed list_runs result/);
  await untilSeq(client, 5);
  assert.deepEqual(server.subscribes, [0]);
  assert.equal(store.get(A)!.step, 5);
});
