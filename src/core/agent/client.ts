// The extension's connection to one agent: typed requests, and an event stream that survives
// dropped links by resubscribing from the last seq it saw (the agent replays the gap from disk).
import { EVENT_BATCHES_CAPABILITY, type AgentEvent, type Method, type ParamsOf, type RequestMessage, type ResultOf, type ServerMessage, type StreamMessage } from '../protocol/messages';
import { validateClientMessage, validateResult } from '../protocol/validate';
import { backoffDelay } from './backoff';
import { AgentError, AgentRefusedError, AgentRequestError } from './errors';
import { Listeners, type Disposable } from './listeners';
import { PendingRequests } from './pendingRequests';
import { AgentSocket, type AgentEndpoint } from './socket';

export type { AgentEndpoint } from './socket';
export { AgentError, AgentRefusedError, AgentRequestError } from './errors';

export type ConnectionState =
  | { kind: 'connecting' }
  | { kind: 'connected'; agentVersion: string }
  | { kind: 'reconnecting'; attempt: number; reason: string; delayMs: number }
  | { kind: 'closed' }
  | { kind: 'failed'; reason: string };

export interface RequestHooks {
  onStream?: (m: StreamMessage) => void;
  onSent?: (id: number) => void;
}

export interface AgentClientOptions {
  /** Called before every connection attempt: the agent may have restarted on another port with a new token. */
  endpoint: () => Promise<AgentEndpoint>;
  clientName: string;
  requestTimeoutMs?: number;
  reconnectMinMs?: number;
  reconnectMaxMs?: number;
  pingIntervalMs?: number;
  pongTimeoutMs?: number;
  /** Time allowed for the TCP connect plus the hello exchange. */
  helloTimeoutMs?: number;
  /**
   * Ask an agent that offers it (`event_batches`) to send replays as `events` frames of many events each
   * (default true): a 10,000-event gap then costs a few frames, not 10,000. Listeners see no difference.
   */
  eventBatches?: boolean;
}

export class AgentClient {
  private readonly requestTimeoutMs: number;
  private readonly reconnectMinMs: number;
  private readonly reconnectMaxMs: number;
  private readonly pending = new PendingRequests();
  private readonly events = new Listeners<AgentEvent>((e) => this.log(`an event listener threw: ${describe(e)}`));
  private readonly states = new Listeners<ConnectionState>((e) => this.log(`a state listener threw: ${describe(e)}`));
  private readonly logs = new Listeners<string>(() => undefined);
  private readonly abort = new AbortController();

  private socket: AgentSocket | undefined;
  /** Bumped for every connection attempt, so callbacks of an older socket are recognised and ignored. */
  private generation = 0;
  private current: ConnectionState = { kind: 'closed' };
  private nextId = 1;
  private subscribed = false;
  /** Whether the current connection's agent accepts subscribe {batch: true}. */
  private batches = false;
  private seq = 0;
  private reconnectAttempt = 0;
  private reconnectTimer: NodeJS.Timeout | undefined;
  private opening: Promise<void> | undefined;
  private disposed = false;

  constructor(private readonly opts: AgentClientOptions) {
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 30_000;
    this.reconnectMinMs = opts.reconnectMinMs ?? 1_000;
    this.reconnectMaxMs = opts.reconnectMaxMs ?? 30_000;
  }

  get state(): ConnectionState {
    return this.current;
  }

  /** The seq of the newest event delivered to onEvent listeners (0 before any). */
  get lastSeq(): number {
    return this.seq;
  }

  /**
   * Resolves once the agent said hello. Rejects when this attempt fails (the state becomes
   * `failed`); a refused token or protocol rejects with AgentRefusedError. While the client is
   * already reconnecting on its own, waits for that to succeed or fail instead.
   */
  connect(): Promise<void> {
    if (this.disposed) return Promise.reject(new Error('the agent client was disposed'));
    if (this.current.kind === 'connected') return Promise.resolve();
    if (this.current.kind === 'reconnecting') return this.waitForConnection();
    if (!this.opening) {
      this.setState({ kind: 'connecting' });
      this.opening = this.openSession()
        .catch((e: Error) => {
          if (!this.disposed) this.setState({ kind: 'failed', reason: e.message });
          throw e;
        })
        .finally(() => (this.opening = undefined));
    }
    return this.opening;
  }

  /**
   * Sends one request; rejects with AgentError when the agent answers with an error, AgentRequestError when no answer comes.
   * `hooks.onStream` receives the request's stream frames (generate tokens, progress); `hooks.onSent` its id, for `cancel`.
   */
  request<M extends Method>(method: M, params: ParamsOf<M>, timeoutMs = this.requestTimeoutMs, hooks: RequestHooks = {}): Promise<ResultOf<M>> {
    if (this.disposed) return Promise.reject(new AgentRequestError(`cannot send ${method}: the agent client was disposed`, 'disposed'));
    const socket = this.socket;
    if (!socket && (this.current.kind === 'reconnecting' || this.current.kind === 'connecting')) {
      // A link that is coming back is the common case after a drop or an agent restart: a Stop pressed
      // meanwhile should go through when it returns, within the request's own time budget.
      return this.requestAfterReconnect(method, params, timeoutMs, hooks);
    }
    if (!socket) {
      return Promise.reject(new AgentRequestError(`cannot send ${method}: not connected to the agent (${describeState(this.current)})`, 'not_connected'));
    }
    const id = this.nextId++;
    const frame = { type: 'request', id, method, params } as RequestMessage;
    const checked = validateClientMessage(frame);
    if (!checked.ok) return Promise.reject(new Error(`${method} request does not match the protocol: ${checked.error}`));
    const answer = this.pending.add(id, method, timeoutMs, hooks.onStream);
    try {
      socket.send(frame);
      hooks.onSent?.(id);
    } catch (e) {
      this.pending.take(id);
      return Promise.reject(new AgentRequestError(`cannot send ${method}: ${describe(e)}`, 'disconnected'));
    }
    return answer as Promise<ResultOf<M>>;
  }

  /**
   * Asks for every event after `since` (default: the last seq seen), then live ones. The
   * subscription is remembered and re-sent with the last seq after every reconnect; when the
   * client is not connected right now it resolves at once and subscribes on the next connection.
   */
  async subscribe(since?: number): Promise<void> {
    if (since !== undefined) {
      if (!Number.isInteger(since) || since < 0) throw new Error(`subscribe: since must be an integer >= 0, got ${since}`);
      this.seq = since;
    }
    this.subscribed = true;
    if (this.socket) await this.request('subscribe', this.subscribeParams());
  }

  onEvent(fn: (e: AgentEvent) => void): Disposable {
    return this.events.add(fn);
  }

  onState(fn: (s: ConnectionState) => void): Disposable {
    return this.states.add(fn);
  }

  /** Things worth a line in an output channel: ignored malformed frames, late responses, listener errors. */
  onLog(fn: (line: string) => void): Disposable {
    return this.logs.add(fn);
  }

  /** Terminates the socket abruptly, as a dead link would; the client then reconnects as usual. */
  dropConnectionForTest(): void {
    this.socket?.terminate('connection dropped by dropConnectionForTest()');
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.abort.abort();
    clearTimeout(this.reconnectTimer);
    this.pending.rejectAll((method, id) => new AgentRequestError(`${method} (request ${id}) was cancelled: the agent client was disposed`, 'disposed'));
    this.socket?.close('the agent client was disposed');
    this.socket = undefined;
    this.setState({ kind: 'closed' });
    this.events.clear();
    this.states.clear();
    this.logs.clear();
  }

  // ---- connection lifecycle ---------------------------------------------------------------

  private async openSession(): Promise<void> {
    const gen = ++this.generation;
    const ep = await this.opts.endpoint();
    if (this.disposed) throw new Error('the agent client was disposed');
    const { socket, hello } = await AgentSocket.open(
      ep,
      {
        clientName: this.opts.clientName,
        helloTimeoutMs: this.opts.helloTimeoutMs ?? 10_000,
        pingIntervalMs: this.opts.pingIntervalMs ?? 15_000,
        pongTimeoutMs: this.opts.pongTimeoutMs ?? 10_000,
        signal: this.abort.signal,
      },
      {
        frame: (m) => gen === this.generation && this.onFrame(m),
        badFrame: (error, parsed) => gen === this.generation && this.onBadFrame(error, parsed),
        closed: (reason) => gen === this.generation && this.onClosed(reason),
      },
    );
    this.socket = socket;
    this.batches = (this.opts.eventBatches ?? true) && hello.capabilities.includes(EVENT_BATCHES_CAPABILITY);
    this.reconnectAttempt = 0;
    this.setState({ kind: 'connected', agentVersion: hello.agent_version });
    if (this.subscribed) this.resubscribe(gen);
  }

  private subscribeParams(): ParamsOf<'subscribe'> {
    return this.batches ? { since: this.seq, batch: true } : { since: this.seq };
  }

  private resubscribe(gen: number): void {
    this.request('subscribe', this.subscribeParams()).catch((e: Error) => {
      if (gen !== this.generation || this.disposed) return;
      this.log(`resubscribing after reconnect failed: ${e.message}`);
      // Without a subscription this link would stay silent; a fresh connection retries it.
      if (e instanceof AgentRequestError && e.reason === 'timeout') this.socket?.terminate(`resubscribe failed: ${e.message}`);
    });
  }

  private onClosed(reason: string): void {
    this.socket = undefined;
    this.pending.rejectAll(
      (method, id) => new AgentRequestError(`the connection to the agent dropped before it answered ${method} (request ${id}): ${reason}`, 'disconnected'),
    );
    if (!this.disposed) this.scheduleReconnect(reason);
  }

  private scheduleReconnect(reason: string): void {
    const attempt = ++this.reconnectAttempt;
    const delayMs = backoffDelay(attempt, { minMs: this.reconnectMinMs, maxMs: this.reconnectMaxMs });
    this.setState({ kind: 'reconnecting', attempt, reason, delayMs });
    this.reconnectTimer = setTimeout(() => {
      this.openSession().catch((e: Error) => {
        if (this.disposed) return;
        if (cannotHeal(e)) this.setState({ kind: 'failed', reason: e.message });
        else this.scheduleReconnect(e.message);
      });
    }, delayMs);
  }

  private async requestAfterReconnect<M extends Method>(method: M, params: ParamsOf<M>, timeoutMs: number, hooks: RequestHooks): Promise<ResultOf<M>> {
    const deadline = Date.now() + timeoutMs;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new AgentRequestError(
        `${method} timed out after ${timeoutMs / 1000} s waiting for the agent to reconnect (${describeState(this.current)})`, 'timeout')), timeoutMs);
    });
    try {
      await Promise.race([this.waitForConnection(), timedOut]);
    } catch (e) {
      if (e instanceof AgentRequestError) throw e;
      throw new AgentRequestError(`cannot send ${method}: ${describe(e)}`, 'not_connected');
    } finally {
      clearTimeout(timer);
    }
    return this.request(method, params, Math.max(1, deadline - Date.now()), hooks);
  }

  private waitForConnection(): Promise<void> {
    return new Promise((resolve, reject) => {
      const sub = this.states.add((s) => {
        if (s.kind === 'connected') resolve();
        else if (s.kind === 'failed') reject(new Error(s.reason));
        else if (s.kind === 'closed') reject(new Error('the agent client was disposed'));
        else return;
        sub.dispose();
      });
    });
  }

  private setState(s: ConnectionState): void {
    this.current = s;
    this.states.emit(s);
  }

  // ---- incoming frames --------------------------------------------------------------------

  private onFrame(m: ServerMessage): void {
    if (m.type === 'event') return this.onAgentEvent(m);
    if (m.type === 'hello') return this.log('ignored a second hello from the agent');
    if (m.type === 'stream') {
      if (!this.pending.stream(m)) this.log(`ignored a ${m.kind} frame for request ${m.re}, which already ended`);
      return;
    }
    if (m.re === null) {
      const detail = 'error' in m ? `${m.error.code}: ${m.error.message}` : 'a result';
      return this.log(`the agent sent a response not tied to a request (${detail})`);
    }
    const p = this.pending.take(m.re);
    if (!p) return this.log(`ignored a response to request ${m.re}, which already timed out or was answered`);
    if ('error' in m) return p.reject(new AgentError(m.error.code, m.error.message, p.method));
    const checked = validateResult(p.method, m.result);
    if (checked.ok) p.resolve(checked.value);
    else p.reject(new AgentRequestError(`the agent sent a malformed ${p.method} result: ${checked.error}`, 'bad_response'));
  }

  private onAgentEvent(e: AgentEvent): void {
    // Replays after a reconnect can overlap what was already delivered; seq makes that harmless.
    if (e.seq <= this.seq) return;
    if (e.seq !== this.seq + 1 && this.seq !== 0) this.log(`event seq jumped from ${this.seq} to ${e.seq}`);
    this.seq = e.seq;
    this.events.emit(e);
  }

  private onBadFrame(error: string, parsed: unknown): void {
    this.log(`ignored a malformed frame from the agent: ${error}`);
    // A broken answer still ends its request now, rather than by timeout.
    const re = (parsed as { type?: unknown; re?: unknown } | undefined);
    if (re?.type === 'response' && Number.isInteger(re.re)) {
      const p = this.pending.take(re.re as number);
      p?.reject(new AgentRequestError(`the agent sent a malformed response to ${p.method}: ${error}`, 'bad_response'));
    }
  }

  private log(line: string): void {
    this.logs.emit(line);
  }
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function describeState(s: ConnectionState): string {
  switch (s.kind) {
    case 'reconnecting':
      return `reconnecting, attempt ${s.attempt}: ${s.reason}`;
    case 'failed':
      return `failed: ${s.reason}`;
    default:
      return s.kind;
  }
}

/**
 * Retrying cannot fix a refused token, nor an endpoint error that says so with `retryable: false` (an SSH
 * login the person cancelled, a changed host key, a host without Python): looping would only ask again.
 */
function cannotHeal(e: Error): boolean {
  return e instanceof AgentRefusedError || (e as { retryable?: unknown }).retryable === false;
}
