// A protocol-level test server: a real `ws` server that speaks just enough of the agent protocol
// (hello with token, requests, subscribe with replay) for unit tests of the client's edge cases:
// bad frames, timeouts, refused tokens, duplicate seqs, drops. It trains nothing; the real agent
// is exercised in test/integration.
import { WebSocketServer, type WebSocket } from 'ws';
import type { AgentEvent, EventDataOf, EventKind, ServerHello } from '../../../src/core/protocol/messages';

type Json = Record<string, unknown>;
export interface IncomingRequest {
  id: number;
  method: string;
  params: Json;
}
/** What a request handler returns: a result, an error, or 'silent' for no answer at all. */
export type Reply = { result: unknown } | { error: { code: string; message: string } } | 'silent';

export class ProtocolTestServer {
  token = 'good-token';
  protocol = 1;
  /** Events on "disk", replayed to subscribers. */
  readonly events: AgentEvent[] = [];
  /** `since` of every subscribe received, in order, across all connections. */
  readonly subscribes: number[] = [];
  /** Params of every subscribe received, in order. */
  readonly subscribeParams: Json[] = [];
  /** What the hello offers; with `event_batches`, a subscribe {batch: true} gets its replay in `events` frames. */
  capabilities: string[] = [];
  /** Events per `events` frame of a batched replay. */
  batchSize = 3;
  /** Extra seqs to replay before `since`+1, to prove the client drops overlaps. */
  replayOverlap = 0;
  connections = 0;
  handler: (req: IncomingRequest, ws: WebSocket) => Reply = (req) => ({ error: { code: 'unknown_method', message: `no handler for ${req.method}` } });

  private readonly subscribers = new Set<WebSocket>();
  private constructor(private readonly wss: WebSocketServer) {}

  static async start(opts: { port?: number; autoPong?: boolean } = {}): Promise<ProtocolTestServer> {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: opts.port ?? 0, autoPong: opts.autoPong ?? true });
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve);
      wss.once('error', reject);
    });
    const server = new ProtocolTestServer(wss);
    wss.on('connection', (ws) => server.onConnection(ws));
    return server;
  }

  get port(): number {
    return (this.wss.address() as { port: number }).port;
  }

  get url(): string {
    return `ws://127.0.0.1:${this.port}`;
  }

  /** Appends an event ("to disk") and sends it to live subscribers. */
  emit<K extends EventKind>(kind: K, data: EventDataOf<K>, runId = 'run-1'): AgentEvent {
    const e = { type: 'event', seq: this.events.length + 1, time: Date.now() / 1000, run_id: runId, kind, data } as AgentEvent;
    this.events.push(e);
    for (const ws of this.subscribers) ws.send(JSON.stringify(e));
    return e;
  }

  /** Sends a raw text frame to every connected client. */
  sendRaw(text: string): void {
    for (const ws of this.wss.clients) ws.send(text);
  }

  dropAll(): void {
    for (const ws of this.wss.clients) ws.terminate();
  }

  close(): Promise<void> {
    this.dropAll();
    return new Promise((resolve) => this.wss.close(() => resolve()));
  }

  private onConnection(ws: WebSocket): void {
    this.connections++;
    let authed = false;
    ws.on('close', () => this.subscribers.delete(ws));
    ws.on('message', (data) => {
      const msg = JSON.parse(data.toString()) as Json;
      if (!authed) {
        if (msg.type !== 'hello' || msg.token !== this.token) {
          ws.send(JSON.stringify({ type: 'response', re: null, error: { code: 'unauthorized', message: 'bad token' } }));
          ws.close(4401, 'unauthorized');
          return;
        }
        authed = true;
        const hello: ServerHello = { type: 'hello', protocol: this.protocol, agent_version: '0.0.0-test', capabilities: this.capabilities };
        ws.send(JSON.stringify(hello));
        return;
      }
      const req = msg as unknown as IncomingRequest;
      if (req.method === 'subscribe') return this.onSubscribe(ws, req);
      const reply = this.handler(req, ws);
      if (reply !== 'silent') ws.send(JSON.stringify({ type: 'response', re: req.id, ...reply }));
    });
  }

  private onSubscribe(ws: WebSocket, req: IncomingRequest): void {
    const since = req.params.since as number;
    this.subscribes.push(since);
    this.subscribeParams.push(req.params);
    ws.send(JSON.stringify({ type: 'response', re: req.id, result: { head: this.events.length } }));
    const replay = this.events.filter((e) => e.seq > since - this.replayOverlap);
    if (req.params.batch === true && this.capabilities.includes('event_batches')) {
      for (let i = 0; i < replay.length; i += this.batchSize) {
        const group = replay.slice(i, i + this.batchSize);
        ws.send(JSON.stringify(group.length === 1 ? group[0] : { type: 'events', events: group }));
      }
    } else {
      for (const e of replay) ws.send(JSON.stringify(e));
    }
    this.subscribers.add(ws);
  }
}
