// AgentClient edge cases against a protocol-level test server (see support/protocolTestServer.ts).
import assert from 'node:assert/strict';
import { afterEach, test } from 'node:test';
import { AgentClient, AgentError, AgentRefusedError, AgentRequestError, type ConnectionState } from '../../src/core/agent/client';
import { ProtocolTestServer } from './support/protocolTestServer';
import { sleep, stateKind, stateMatching, untilSeq } from './support/waitFor';

const cleanups: Array<() => unknown> = [];
afterEach(async () => {
  while (cleanups.length) await cleanups.pop()!();
});

async function setup(clientOpts: Partial<ConstructorParameters<typeof AgentClient>[0]> = {}, serverOpts = {}) {
  const server = await ProtocolTestServer.start(serverOpts);
  cleanups.push(() => server.close());
  const target = { url: server.url, token: server.token };
  let endpointCalls = 0;
  const client = new AgentClient({
    endpoint: async () => {
      endpointCalls++;
      return { ...target };
    },
    clientName: 'unit-test',
    reconnectMinMs: 10,
    reconnectMaxMs: 80,
    ...clientOpts,
  });
  cleanups.push(() => client.dispose());
  const logs: string[] = [];
  const states: ConnectionState[] = [];
  client.onLog((l) => logs.push(l));
  client.onState((s) => states.push(s));
  return { server, client, target, logs, states, endpointCalls: () => endpointCalls };
}

test('connects, says hello with the token, and returns typed results', async () => {
  const { server, client, states } = await setup();
  server.handler = (req) => (req.method === 'list_runs' ? { result: { runs: [], total: 0, head: 0 } } : 'silent');
  await client.connect();
  assert.deepEqual(states.map((s) => s.kind), ['connecting', 'connected']);
  assert.deepEqual(client.state, { kind: 'connected', agentVersion: '0.0.0-test' });
  assert.deepEqual(await client.request('list_runs', {}), { runs: [], total: 0, head: 0 });
});

test('a refused token fails connect with a clear error and is not retried', async () => {
  const { client, target, endpointCalls } = await setup();
  target.token = 'wrong-token';
  const err = await client.connect().then(() => assert.fail('connect should fail'), (e: unknown) => e);
  assert.ok(err instanceof AgentRefusedError);
  assert.equal(err.code, 'unauthorized');
  assert.match(err.message, /^the agent refused the token \(unauthorized: bad token\)/);
  assert.equal(client.state.kind, 'failed');
  await sleep(100); // ten times the reconnect delay: a retry would have happened by now
  assert.equal(endpointCalls(), 1);
});

test('a token refused on reconnect ends in failed instead of retrying for ever', async () => {
  const { server, client, endpointCalls } = await setup();
  await client.connect();
  server.token = 'rotated-token';
  client.dropConnectionForTest();
  const failed = await stateKind(client, 'failed');
  assert.match(failed.reason, /the agent refused the token/);
  await sleep(100);
  assert.equal(endpointCalls(), 2);
  assert.equal(client.state.kind, 'failed');
});

test('an endpoint error marked retryable: false on reconnect ends in failed; other endpoint errors are retried', async () => {
  let fail: Error | undefined;
  let calls = 0;
  const { client, target } = await setup({
    endpoint: async () => {
      calls++;
      if (fail) throw fail;
      return { ...target };
    },
  });
  await client.connect();
  // A network error heals: the client keeps trying until the endpoint works again.
  fail = new Error('the SSH connection closed while reaching the agent');
  client.dropConnectionForTest();
  await stateMatching(client, (s) => s.kind === 'reconnecting' && s.attempt >= 3);
  fail = undefined;
  await stateKind(client, 'connected');
  // A login the person cancelled does not: asking again in a loop would only nag.
  const before = calls;
  fail = Object.assign(new Error('login to gpu-box was cancelled'), { retryable: false });
  client.dropConnectionForTest();
  const failed = await stateKind(client, 'failed');
  assert.equal(failed.reason, 'login to gpu-box was cancelled');
  await sleep(100);
  assert.equal(calls, before + 1, 'no retry after a non-retryable endpoint error');
});

test('an agent speaking another protocol version is refused clearly', async () => {
  const { server, client } = await setup();
  server.protocol = 2;
  await assert.rejects(client.connect(), (e: unknown) => e instanceof AgentRefusedError && e.code === 'unsupported_protocol' && /protocol version 1 .*version 2/.test(e.message));
});

test('a request the agent never answers times out with a message naming the method', async () => {
  const { server, client, logs } = await setup();
  let lateAnswer: (() => void) | undefined;
  server.handler = (req, ws) => {
    if (req.method === 'generate') {
      lateAnswer = () => ws.send(JSON.stringify({ type: 'response', re: req.id, result: { results: [] } }));
      return 'silent';
    }
    return { result: { runs: [], total: 0, head: 0 } };
  };
  await client.connect();
  await assert.rejects(
    client.request('generate', { run_id: 'r1', adapters: ['base'], messages: [{ role: 'user', content: 'hi' }] }, 50),
    (e: unknown) => e instanceof AgentRequestError && e.reason === 'timeout' && e.message === 'the agent did not answer generate within 50 ms (request 1)',
  );
  lateAnswer!();
  assert.deepEqual(await client.request('list_runs', {}), { runs: [], total: 0, head: 0 });
  assert.ok(logs.some((l) => /response to request 1, which already timed out/.test(l)), logs.join('\n'));
});

test("the agent's error answer becomes an AgentError with its code and message", async () => {
  const { server, client } = await setup();
  server.handler = () => ({ error: { code: 'bad_config', message: 'demo.tunelab.yaml: training.learning_rate: expected number, got string "fast"' } });
  await client.connect();
  await assert.rejects(
    client.request('start_run', { config: 'x' }),
    (e: unknown) => e instanceof AgentError && e.code === 'bad_config' && e.method === 'start_run' && /training\.learning_rate/.test(e.message),
  );
});

test('malformed frames are logged with the reason and ignored; the link keeps working', async () => {
  const { server, client, logs } = await setup();
  server.handler = () => ({ result: { runs: [], total: 0, head: 0 } });
  await client.connect();
  await client.subscribe(0);
  server.sendRaw('not json at all');
  server.sendRaw('{"type":"bogus"}');
  server.sendRaw(JSON.stringify({ type: 'event', seq: 1, time: 1, run_id: 'r1', kind: 'metrics', data: { step: 'x' } }));
  server.sendRaw(JSON.stringify({ type: 'event', seq: 1, time: 1, run_id: 'r1', kind: 'log', data: { level: 'info', message: 'ok', extra: 1 } }));
  assert.deepEqual(await client.request('list_runs', {}), { runs: [], total: 0, head: 0 });
  const bad = logs.filter((l) => l.startsWith('ignored a malformed frame'));
  assert.equal(bad.length, 4, logs.join('\n'));
  assert.match(bad[0], /not valid JSON/);
  assert.match(bad[1], /\/type: expected "hello", "response", "event" or "stream", got "bogus"/);
  assert.match(bad[2], /event frame: \/data: must have required property 'max_steps'.*\/data\/step: must be integer/);
  assert.match(bad[3], /\/data: unknown property "extra"/);
  assert.equal(client.lastSeq, 0, 'a malformed event must not advance the seq');
  server.emit('log', { level: 'info', message: 'fine' });
  await untilSeq(client, 1);
});

test('a malformed answer rejects its request at once instead of by timeout', async () => {
  const { server, client } = await setup({ requestTimeoutMs: 60_000 });
  server.handler = (req, ws) => {
    if (req.method === 'list_runs') return { result: { runs: [{ run_id: 'r1' }], total: 1, head: 0 } };
    ws.send(JSON.stringify({ type: 'response', re: req.id, result: {}, surprise: true }));
    return 'silent';
  };
  await client.connect();
  await assert.rejects(client.request('list_runs', {}), (e: unknown) => e instanceof AgentRequestError && e.reason === 'bad_response' && /malformed list_runs result: \/runs\/0: must have required property 'name'/.test(e.message));
  await assert.rejects(client.request('stop_run', { run_id: 'r1' }), /malformed response to stop_run: response frame: \(top level\): unknown property "surprise"/);
});

test('a second answer to the same request is ignored', async () => {
  const { server, client, logs } = await setup();
  server.handler = (req, ws) => {
    ws.send(JSON.stringify({ type: 'response', re: req.id, result: { run_id: 'first' } }));
    ws.send(JSON.stringify({ type: 'response', re: req.id, result: { run_id: 'second' } }));
    return 'silent';
  };
  await client.connect();
  assert.deepEqual(await client.request('start_run', { config: 'x' }), { run_id: 'first' });
  await client.request('start_run', { config: 'x' }); // by now the duplicate of the first has been read
  assert.ok(logs.some((l) => /response to request 1, which already timed out or was answered/.test(l)), logs.join('\n'));
});

test('duplicate and out-of-order seqs are dropped', async () => {
  const { server, client } = await setup();
  const seen: number[] = [];
  client.onEvent((e) => seen.push(e.seq));
  await client.connect();
  await client.subscribe(0);
  const e1 = server.emit('run_state', { state: 'starting' });
  const e2 = server.emit('run_state', { state: 'running', max_steps: 3 });
  server.sendRaw(JSON.stringify(e2));
  server.sendRaw(JSON.stringify(e1));
  server.emit('run_state', { state: 'completed' });
  await untilSeq(client, 3);
  assert.deepEqual(seen, [1, 2, 3]);
});

test('after a drop the client reconnects with backoff and resubscribes from its last seq', async () => {
  const { server, client, states } = await setup();
  server.replayOverlap = 2; // the server replays two events the client already has
  const seen: number[] = [];
  client.onEvent((e) => seen.push(e.seq));
  await client.connect();
  await client.subscribe(0);
  for (let i = 0; i < 3; i++) server.emit('log', { level: 'info', message: `before ${i}` });
  await untilSeq(client, 3);

  client.dropConnectionForTest();
  server.emit('log', { level: 'info', message: 'while away 1' });
  server.emit('log', { level: 'info', message: 'while away 2' });
  await untilSeq(client, 5);
  server.emit('log', { level: 'info', message: 'after' });
  await untilSeq(client, 6);

  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(server.subscribes, [0, 3]);
  const reconnecting = states.find((s) => s.kind === 'reconnecting');
  assert.deepEqual(reconnecting, { kind: 'reconnecting', attempt: 1, reason: 'connection dropped by dropConnectionForTest()', delayMs: 10 });
  assert.equal(client.state.kind, 'connected');
});

test('an agent that offers event batches is asked for them; listeners see each event once, in order', async () => {
  const { server, client, logs } = await setup();
  server.capabilities = ['event_batches'];
  server.replayOverlap = 2; // the batches overlap what the client has: dropped by seq, as single frames are
  for (let i = 0; i < 10; i++) server.emit('log', { level: 'info', message: `stored ${i}` });
  const seen: number[] = [];
  client.onEvent((e) => seen.push(e.seq));
  await client.connect();
  await client.subscribe(4);
  await untilSeq(client, 10);
  server.emit('log', { level: 'info', message: 'live' }); // live events still come one frame each
  await untilSeq(client, 11);
  assert.deepEqual(seen, [5, 6, 7, 8, 9, 10, 11]);
  assert.deepEqual(server.subscribeParams, [{ since: 4, batch: true }]);
  assert.deepEqual(logs, []);

  client.dropConnectionForTest(); // the resubscribe asks for batches again
  for (let i = 0; i < 5; i++) server.emit('log', { level: 'info', message: `while away ${i}` });
  await untilSeq(client, 16);
  assert.deepEqual(seen, [5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
  assert.deepEqual(server.subscribeParams, [{ since: 4, batch: true }, { since: 11, batch: true }]);
});

test('an agent without event batches, or a client that turns them off, gets a plain subscribe', async () => {
  const plain = await setup();
  await plain.client.connect();
  await plain.client.subscribe(0);
  assert.deepEqual(plain.server.subscribeParams, [{ since: 0 }]);

  const off = await setup({ eventBatches: false });
  off.server.capabilities = ['event_batches'];
  await off.client.connect();
  await off.client.subscribe(0);
  assert.deepEqual(off.server.subscribeParams, [{ since: 0 }]);
});

test('a malformed event inside a batch is dropped alone; the others are delivered in order', async () => {
  const { server, client, logs } = await setup();
  server.capabilities = ['event_batches'];
  const seen: number[] = [];
  client.onEvent((e) => seen.push(e.seq));
  await client.connect();
  await client.subscribe(0);
  const event = (seq: number) => ({ type: 'event', seq, time: 1, run_id: 'r1', kind: 'log', data: { level: 'info', message: `m${seq}` } });
  server.sendRaw(JSON.stringify({ type: 'events', events: [event(1), { ...event(2), data: { level: 'loud' } }, event(3), { type: 'response', re: 1, result: {} }, event(4)] }));
  server.sendRaw(JSON.stringify({ type: 'events', events: [] }));
  server.sendRaw(JSON.stringify({ type: 'events', events: [event(5)], extra: 1 }));
  server.sendRaw(JSON.stringify(event(6)));
  await untilSeq(client, 6);
  assert.deepEqual(seen, [1, 3, 4, 6]);
  const bad = logs.filter((l) => l.startsWith('ignored a malformed frame'));
  assert.equal(bad.length, 4, logs.join('\n'));
  assert.match(bad[0], /event frame: .*\/data\/level: must be one of/);
  assert.match(bad[1], /events frame: \/type: must be "event", got "response"/);
  assert.match(bad[2], /events frame: \/events: must be a non-empty array/);
  assert.match(bad[3], /events frame: unknown property "extra"/);
});

test('a listener that drops the link mid-batch gets the rest of the batch after the resubscribe, not twice', async () => {
  const { server, client } = await setup();
  server.capabilities = ['event_batches'];
  server.batchSize = 10;
  for (let i = 0; i < 10; i++) server.emit('log', { level: 'info', message: `stored ${i}` });
  const seen: number[] = [];
  let dropped = false;
  client.onEvent((e) => {
    seen.push(e.seq);
    if (e.seq === 4 && !dropped) {
      dropped = true;
      client.dropConnectionForTest();
    }
  });
  await client.connect();
  await client.subscribe(0);
  await untilSeq(client, 10);
  assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
  assert.deepEqual(server.subscribes, [0, 4]);
});

test('a subscribe made while disconnected is sent when the link comes back', async () => {
  const { server, client } = await setup();
  await client.connect();
  client.dropConnectionForTest();
  await stateKind(client, 'reconnecting');
  await client.subscribe(7); // resolves at once: remembered for the next connection
  await stateKind(client, 'connected');
  server.emit('log', { level: 'info', message: 'x' }); // seq 1 <= 7: dropped
  await sleep(20);
  assert.deepEqual(server.subscribes, [7]);
  assert.equal(client.lastSeq, 7);
});

test('requests in flight when the link drops are rejected with the method named', async () => {
  const { server, client } = await setup();
  server.handler = () => 'silent';
  await client.connect();
  const pending = client.request('generate', { run_id: 'r1', adapters: ['base'], messages: [{ role: 'user', content: 'hi' }] });
  client.dropConnectionForTest();
  await assert.rejects(pending, (e: unknown) => e instanceof AgentRequestError && e.reason === 'disconnected' && /dropped before it answered generate \(request 1\)/.test(e.message));
});

test('a request made while reconnecting waits for the link and goes through', async () => {
  const { server, client } = await setup();
  server.handler = (req) => (req.method === 'list_runs' ? { result: { runs: [], total: 0, head: 0 } } : 'silent');
  await client.connect();
  client.dropConnectionForTest();
  await stateKind(client, 'reconnecting');
  const { runs } = await client.request('list_runs', {});
  assert.deepEqual(runs, []);
  assert.equal(server.connections, 2);
  assert.equal(client.state.kind, 'connected');
});

test('a request made while the agent stays away times out naming the wait', async () => {
  const { server, client } = await setup();
  await client.connect();
  await server.close();
  await stateKind(client, 'reconnecting');
  await assert.rejects(client.request('list_runs', {}, 300),
    (e: unknown) => e instanceof AgentRequestError && e.reason === 'timeout' && /list_runs timed out after 0.3 s waiting for the agent to reconnect/.test(e.message));
});

test('while the agent is down, endpoint() is asked again before every attempt, so a moved agent is found', async () => {
  const { server, client, target, endpointCalls } = await setup();
  await client.connect();
  await server.close();
  await stateMatching(client, (s) => s.kind === 'reconnecting' && s.attempt === 4);
  const callsWhileDown = endpointCalls();
  const replacement = await ProtocolTestServer.start(); // a restarted agent on another port
  cleanups.push(() => replacement.close());
  target.url = replacement.url;
  await stateKind(client, 'connected');
  assert.equal(callsWhileDown, 4, 'the first connect plus one call per failed attempt');
  assert.equal(replacement.connections, 1);
});

test('the reconnect delays follow the backoff sequence', async () => {
  const { server, client, states } = await setup();
  await client.connect();
  await server.close();
  await stateMatching(client, (s) => s.kind === 'reconnecting' && s.attempt === 5);
  const rec = states.filter((s): s is Extract<ConnectionState, { kind: 'reconnecting' }> => s.kind === 'reconnecting');
  assert.deepEqual(rec.map((s) => [s.attempt, s.delayMs]), [[1, 10], [2, 20], [3, 40], [4, 80], [5, 80]]);
  assert.match(rec[1].reason, /^cannot connect to the agent at ws:\/\/127\.0\.0\.1:\d+: connect ECONNREFUSED/);
});

test('a link whose peer stops answering pings is declared dead and reconnected', async () => {
  const { client } = await setup({ pingIntervalMs: 20, pongTimeoutMs: 40 }, { autoPong: false });
  await client.connect();
  const s = await stateKind(client, 'reconnecting');
  assert.equal(s.reason, 'no pong from the agent within 40 ms');
});

test('connect() during a reconnect waits for that reconnect', async () => {
  const { client } = await setup();
  await client.connect();
  client.dropConnectionForTest();
  await stateKind(client, 'reconnecting');
  await client.connect();
  assert.equal(client.state.kind, 'connected');
});

test('dispose rejects pending requests, closes, and never reconnects', async () => {
  const { server, client, endpointCalls } = await setup();
  server.handler = () => 'silent';
  await client.connect();
  const pending = client.request('list_runs', {});
  client.dispose();
  await assert.rejects(pending, (e: unknown) => e instanceof AgentRequestError && e.reason === 'disposed' && /list_runs \(request 1\) was cancelled/.test(e.message));
  assert.equal(client.state.kind, 'closed');
  await sleep(100);
  assert.equal(endpointCalls(), 1);
  assert.equal(server.connections, 1);
  await assert.rejects(client.connect(), /disposed/);
});

test('params that break the protocol are refused before they are sent', async () => {
  const { client } = await setup();
  await client.connect();
  // A JS caller (or a cast) can get past the types; the schema still catches it.
  const bad = { run_id: '../etc' } as { run_id: string };
  await assert.rejects(client.request('stop_run', bad), /stop_run request does not match the protocol: \/params\/run_id: must match pattern/);
});
