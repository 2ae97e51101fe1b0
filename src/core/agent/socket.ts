// One WebSocket to the agent: opens it, does the hello exchange, checks every frame against the
// schema, and reports the close once. Reconnecting is the client's job, not this file's.
import WebSocket from 'ws';
import { PROTOCOL_VERSION, type ClientMessage, type ServerHello, type ServerMessage } from '../protocol/messages';
import { validateServerFrame, validateServerMessage, type FrameValidation } from '../protocol/validate';
import { AgentRefusedError } from './errors';
import { startHeartbeat } from './heartbeat';

export interface AgentEndpoint {
  url: string;
  token: string;
}

export interface SocketOptions {
  clientName: string;
  helloTimeoutMs: number;
  pingIntervalMs: number;
  pongTimeoutMs: number;
  signal: AbortSignal;
}

export interface SocketHandlers {
  /** One message; the events of an `events` frame come one call each, in order, as if each had its own frame. */
  frame(msg: ServerMessage): void;
  badFrame(error: string, parsed: unknown): void;
  /** Called once, only for a socket that completed the hello. */
  closed(reason: string): void;
}

// Close codes the agent uses when it refuses a hello (see the spec's protocol summary).
const CLOSE_UNAUTHORIZED = 4401;
const CLOSE_UNSUPPORTED_PROTOCOL = 4400;

const tokenRefused = (detail: string) =>
  new AgentRefusedError(
    `the agent refused the token (${detail}); the token does not match the agent's token file, so reconnecting will not help`,
    'unauthorized',
  );
const protocolRefused = (detail: string) =>
  new AgentRefusedError(
    `the agent does not speak this extension's protocol version ${PROTOCOL_VERSION} (${detail}); update the agent or the extension so they match`,
    'unsupported_protocol',
  );

export class AgentSocket {
  private stopHeartbeat: () => void = () => undefined;
  private closeReason: string | undefined;
  /** Set by terminate(): frames ws already buffered are not delivered, as on a link that really died. */
  private terminated = false;

  private constructor(private readonly ws: WebSocket) {}

  /** Opens a socket and resolves after the agent's hello; rejects with AgentRefusedError when retrying cannot help. */
  static open(ep: AgentEndpoint, opts: SocketOptions, handlers: SocketHandlers): Promise<{ socket: AgentSocket; hello: ServerHello }> {
    return new Promise((resolve, reject) => {
      let phase: 'hello' | 'open' | 'closed' = 'hello';
      let lastError = '';
      const ws = new WebSocket(ep.url, { handshakeTimeout: opts.helloTimeoutMs, perMessageDeflate: false });
      const socket = new AgentSocket(ws);

      const settleHello = () => {
        clearTimeout(timer);
        opts.signal.removeEventListener('abort', onAbort);
      };
      const fail = (e: Error) => {
        if (phase !== 'hello') return;
        phase = 'closed';
        settleHello();
        ws.terminate();
        reject(e);
      };
      const timer = setTimeout(
        () => fail(new Error(`the agent at ${ep.url} did not answer the hello within ${opts.helloTimeoutMs} ms`)),
        opts.helloTimeoutMs,
      );
      const onAbort = () => fail(new Error('the agent client was disposed while connecting'));
      if (opts.signal.aborted) return onAbort();
      opts.signal.addEventListener('abort', onAbort, { once: true });

      ws.on('open', () => {
        const hello: ClientMessage = { type: 'hello', protocol: PROTOCOL_VERSION, token: ep.token, client: opts.clientName };
        ws.send(JSON.stringify(hello));
      });

      ws.on('message', (data, isBinary) => {
        const text = isBinary ? null : rawToString(data);
        const binary: FrameValidation = { ok: false, error: 'binary frame (the protocol uses text frames only)', parsed: undefined };
        if (phase === 'open') {
          if (socket.terminated) return;
          for (const v of text === null ? [binary] : validateServerFrame(text)) {
            // A listener may drop the link mid-batch: the rest of the batch is then lost like frames ws had
            // buffered, and the resubscribe from the last seq delivered brings it again.
            if (socket.terminated) return;
            if (v.ok) handlers.frame(v.msg);
            else handlers.badFrame(v.error, v.parsed);
          }
          return;
        }
        const v = text === null ? binary : validateServerMessage(text);
        if (phase === 'hello') {
          if (!v.ok) return fail(new Error(`the agent's first frame is not a valid hello: ${v.error}`));
          const m = v.msg;
          if (m.type === 'hello') {
            if (m.protocol !== PROTOCOL_VERSION) return fail(protocolRefused(`it speaks version ${m.protocol}`));
            phase = 'open';
            settleHello();
            socket.stopHeartbeat = startHeartbeat(ws, {
              intervalMs: opts.pingIntervalMs,
              pongTimeoutMs: opts.pongTimeoutMs,
              onDead: (reason) => socket.terminate(reason),
            });
            return resolve({ socket, hello: m });
          }
          if (m.type === 'response' && 'error' in m) {
            const detail = `${m.error.code}: ${m.error.message}`;
            if (m.error.code === 'unauthorized') return fail(tokenRefused(detail));
            if (m.error.code === 'unsupported_protocol') return fail(protocolRefused(detail));
            return fail(new Error(`the agent answered the hello with an error (${detail})`));
          }
          return fail(new Error(`expected the agent's hello, got a ${m.type} frame`));
        }
      });

      ws.on('error', (e) => {
        lastError = e.message;
        fail(new Error(`cannot connect to the agent at ${ep.url}: ${e.message}`));
      });

      ws.on('close', (code, reasonBuf) => {
        const reason = reasonBuf.toString('utf8');
        if (phase === 'hello') {
          const detail = `close code ${code}${reason ? `: ${reason}` : ''}`;
          if (code === CLOSE_UNAUTHORIZED) return fail(tokenRefused(detail));
          if (code === CLOSE_UNSUPPORTED_PROTOCOL) return fail(protocolRefused(detail));
          return fail(new Error(`the agent at ${ep.url} closed the connection before its hello (${detail})`));
        }
        if (phase !== 'open') return;
        phase = 'closed';
        socket.stopHeartbeat();
        handlers.closed(
          socket.closeReason ?? `the connection closed (code ${code}${reason ? `: ${reason}` : ''}${lastError ? `, ${lastError}` : ''})`,
        );
      });
    });
  }

  send(msg: ClientMessage): void {
    if (this.ws.readyState !== WebSocket.OPEN) throw new Error('the connection to the agent is not open');
    this.ws.send(JSON.stringify(msg));
  }

  /** Drops the link at once, without a closing handshake; `reason` becomes the close reason reported. */
  terminate(reason: string): void {
    this.closeReason ??= reason;
    this.terminated = true;
    this.ws.terminate();
  }

  /** Closes politely, falling back to terminate if the agent does not finish the closing handshake soon. */
  close(reason: string): void {
    this.closeReason ??= reason;
    this.stopHeartbeat();
    if (this.ws.readyState === WebSocket.CLOSED) return;
    this.ws.close(1000, 'client closing');
    setTimeout(() => this.ws.terminate(), 2000).unref();
  }
}

function rawToString(data: WebSocket.RawData): string {
  if (Buffer.isBuffer(data)) return data.toString('utf8');
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data).toString('utf8');
}
