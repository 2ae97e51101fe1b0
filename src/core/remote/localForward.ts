// A port on 127.0.0.1 here whose connections go to a port on the host's 127.0.0.1 through the SSH
// connection (ssh2 forwardOut, like `ssh -L`). The agent never listens on a public address, and the
// WebSocket client connects to this port as it would to a local agent.
import { createServer, type Server, type Socket } from 'node:net';
import type { Client } from 'ssh2';

export class LocalForward {
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly server: Server,
    private readonly currentClient: () => Client | undefined,
    private remotePort: number,
    private readonly log: (line: string) => void,
  ) {
    server.on('connection', (socket) => this.forward(socket));
  }

  /** Listens on a free 127.0.0.1 port; each connection uses whatever SSH connection is current then. */
  static open(currentClient: () => Client | undefined, remotePort: number, log: (line: string) => void = () => undefined): Promise<LocalForward> {
    const server = createServer();
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        server.off('error', reject);
        resolve(new LocalForward(server, currentClient, remotePort, log));
      });
    });
  }

  get port(): number {
    return (this.server.address() as { port: number }).port;
  }

  /** The agent restarted on another port: new connections go there. */
  retarget(remotePort: number): void {
    this.remotePort = remotePort;
  }

  close(): void {
    for (const s of this.sockets) s.destroy();
    this.server.close();
  }

  private forward(socket: Socket): void {
    this.sockets.add(socket);
    socket.on('close', () => this.sockets.delete(socket));
    socket.on('error', () => undefined); // a reset by the local client is ordinary; the close handler cleans up
    const client = this.currentClient();
    if (!client) {
      socket.destroy();
      return;
    }
    socket.pause();
    client.forwardOut('127.0.0.1', 0, '127.0.0.1', this.remotePort, (err, stream) => {
      if (err) {
        this.log(`forwarding to the agent's port ${this.remotePort} on the host failed: ${err.message}`);
        socket.destroy();
        return;
      }
      const end = () => {
        socket.destroy();
        stream.destroy();
      };
      stream.on('close', end);
      stream.on('error', end);
      socket.on('close', end);
      socket.pipe(stream).pipe(socket);
      socket.resume();
    });
  }
}
