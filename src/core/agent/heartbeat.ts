// WebSocket ping with a pong deadline: a link whose peer vanished without a FIN (sleeping laptop,
// dead SSH forward) otherwise looks open until TCP gives up, which can take many minutes.
import type WebSocket from 'ws';

export interface HeartbeatOptions {
  intervalMs: number;
  pongTimeoutMs: number;
  onDead: (reason: string) => void;
}

export function startHeartbeat(ws: WebSocket, { intervalMs, pongTimeoutMs, onDead }: HeartbeatOptions): () => void {
  let deadline: NodeJS.Timeout | undefined;
  const onPong = () => {
    if (deadline) clearTimeout(deadline);
    deadline = undefined;
  };
  ws.on('pong', onPong);
  const interval = setInterval(() => {
    if (deadline) return; // still waiting for the previous pong
    try {
      ws.ping();
    } catch {
      return; // the socket is closing; its close handler takes over
    }
    deadline = setTimeout(() => onDead(`no pong from the agent within ${pongTimeoutMs} ms`), pongTimeoutMs);
  }, intervalMs);
  return () => {
    clearInterval(interval);
    if (deadline) clearTimeout(deadline);
    ws.off('pong', onPong);
  };
}
