// The way to an agent on a remote host, as an AgentClient endpoint: each call makes sure there is a live
// SSH connection (reconnecting when the last one died), that the agent serves this code on the host
// (bootstrapping it when not), and that a local port forwards to it. AgentClient calls it on every
// (re)connect, so a dropped link, a sleeping laptop or a restarted agent all heal the same way, and
// the client resubscribes from its last seq.
import type { Client } from 'ssh2';
import type { AgentEndpoint } from '../agent/socket';
import { bootstrapAgent, type BootstrapOptions, type RemoteAgent } from './bootstrap';
import { LocalForward } from './localForward';
import { SshRemoteHost } from './sshHost';

export interface RemoteAgentLinkOptions extends Omit<BootstrapOptions, 'onStep' | 'onOutput'> {
  /** A name for messages, e.g. the ssh config alias. */
  label: string;
  /** Opens an authenticated, host-key-checked SSH connection (connection.ts's connectHost in the product). */
  connect: () => Promise<Client>;
  onStep?: (step: string) => void;
  onOutput?: (line: string) => void;
  log?: (line: string) => void;
}

export class RemoteAgentLink {
  private client?: Client;
  private forward?: LocalForward;
  private agent?: RemoteAgent;
  private pending?: Promise<AgentEndpoint>;
  private disposed = false;

  constructor(private readonly opts: RemoteAgentLinkOptions) {}

  /** For AgentClient's `endpoint` option. Concurrent calls share one attempt. */
  endpoint(): Promise<AgentEndpoint> {
    this.pending ??= this.open().finally(() => (this.pending = undefined));
    return this.pending;
  }

  /** The agent found or started by the last successful endpoint() call. */
  get current(): RemoteAgent | undefined {
    return this.agent;
  }

  /** The live SSH connection, for transfers that share it. */
  get ssh(): Client | undefined {
    return this.client;
  }

  dispose(): void {
    this.disposed = true;
    this.forward?.close();
    this.client?.end();
    this.client = undefined;
  }

  private async open(): Promise<AgentEndpoint> {
    if (this.disposed) throw new Error(`the link to ${this.opts.label} was closed`);
    const client = this.client ?? (await this.connect());
    const { onStep, onOutput } = this.opts;
    // A connection that dies mid-bootstrap leaves its pending exec calls unanswered; fail now so the
    // client's reconnect loop tries again on a fresh connection.
    this.agent = await untilClosed(client, this.opts.label,
      bootstrapAgent(new SshRemoteHost(client, this.opts.label), { ...this.opts, onStep, onOutput }));
    if (this.forward) this.forward.retarget(this.agent.port);
    else this.forward = await LocalForward.open(() => this.client, this.agent.port, this.opts.log);
    return { url: `ws://127.0.0.1:${this.forward.port}`, token: this.agent.token };
  }

  private async connect(): Promise<Client> {
    const client = await this.opts.connect();
    const forget = (why: string) => {
      if (this.client !== client) return;
      this.client = undefined;
      this.opts.log?.(`SSH connection to ${this.opts.label} ended: ${why}`);
    };
    client.on('close', () => forget('closed'));
    client.on('end', () => forget('ended'));
    client.on('error', (e: Error) => forget(e.message));
    this.client = client;
    return client;
  }
}

function untilClosed<T>(client: Client, label: string, work: Promise<T>): Promise<T> {
  let onClose!: () => void;
  const closed = new Promise<never>((_, reject) => {
    onClose = () => reject(new Error(`the SSH connection to ${label} closed while reaching the agent`));
    client.once('close', onClose);
  });
  return Promise.race([work, closed]).finally(() => client.off('close', onClose));
}
