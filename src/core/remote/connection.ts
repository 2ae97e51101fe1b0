// Opens an ssh2 connection to a host resolved from ~/.ssh/config: through its ProxyJump hops, with the host
// key checked against known_hosts before anything else is sent, logging in as OpenSSH would (auth.ts), and
// with keepalives so a dead link is noticed within 45 s. Failures become one clear sentence naming the host
// and where it was configured.
import { homedir } from 'node:os';
import type { Duplex } from 'node:stream';
import { Client, type ClientChannel } from 'ssh2';
import { createLogin, LoginCancelled, type ConnectUi, type Login } from './auth';
import { addHostKey, blobKeyType, changedKeyMessage, checkHostKey, knownHostsName, revokedKeyMessage } from './knownHosts';
import type { ResolvedHost } from './sshConfig';

export type { ConnectUi } from './auth';

export interface ConnectOptions {
  /** Where SSH_AUTH_SOCK is read from. Default: process.env. */
  env?: NodeJS.ProcessEnv;
  /** Limit for reaching a host and logging in, not counting time spent waiting for the person. Default 20 s. */
  readyTimeoutMs?: number;
  /** Default 15 s × 3: a dead link is noticed within 45 s. */
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  /** Write accepted host keys hashed (HashKnownHosts yes). */
  hashKnownHosts?: boolean;
  /** One line per step (hops, host key, each login method), for an output channel. */
  onStep?: (line: string) => void;
}

export type SshConnectErrorKind = 'not-found' | 'refused' | 'unreachable' | 'timeout' | 'host-key' | 'auth' | 'cancelled' | 'proxy' | 'closed' | 'unsupported' | 'other';

/** A connection failure with a sentence fit for the user; kind tells a reconnect loop whether retrying can help. */
export class SshConnectError extends Error {
  constructor(readonly kind: SshConnectErrorKind, message: string, readonly host: string) {
    super(message);
    this.name = 'SshConnectError';
  }
  /** Host keys, logins and bad config do not fix themselves; the network may. */
  get retryable(): boolean {
    return this.kind === 'refused' || this.kind === 'unreachable' || this.kind === 'timeout' || this.kind === 'closed' || this.kind === 'proxy';
  }
}

const DEFAULT_READY_TIMEOUT_MS = 20_000;

function tildePath(path: string): string {
  const home = homedir();
  return path === home || path.startsWith(`${home}/`) ? `~${path.slice(home.length)}` : path;
}

/** "(from ~/.ssh/config line 4, Host gpu)", or '' for a host that is in no Host block. */
function origin(host: ResolvedHost): string {
  if (!host.definedAt) return '';
  return ` (from ${tildePath(host.definedAt.file)} line ${host.definedAt.line}, Host ${host.alias})`;
}

function hostPort(host: ResolvedHost): string {
  return `${host.hostName}:${host.port}`;
}

/**
 * A timer for the whole attempt that stops while a question waits for the person: ssh2's own readyTimeout
 * would expire while someone types a passphrase.
 */
class PausableDeadline {
  private timer: NodeJS.Timeout | undefined;
  private remaining: number;
  private startedAt = 0;
  private waits = 0;
  private done = false;
  constructor(ms: number, private readonly onExpire: () => void) {
    this.remaining = ms;
    this.run();
  }
  private run() {
    this.startedAt = Date.now();
    this.timer = setTimeout(() => {
      this.done = true;
      this.onExpire();
    }, Math.max(0, this.remaining));
  }
  async pauseDuring<T>(question: Promise<T>): Promise<T> {
    if (this.waits++ === 0 && !this.done) {
      clearTimeout(this.timer);
      this.remaining -= Date.now() - this.startedAt;
    }
    try {
      return await question;
    } finally {
      if (--this.waits === 0 && !this.done) this.run();
    }
  }
  clear() {
    this.done = true;
    clearTimeout(this.timer);
  }
}

type Phase = 'connecting' | 'handshake' | 'host key' | 'login';

/** Connects one hop (or the target), optionally over a stream from the previous hop. */
function connectOne(host: ResolvedHost, ui: ConnectUi, opts: ConnectOptions, sock?: Duplex, via?: ResolvedHost): Promise<Client> {
  const client = new Client();
  const step = (line: string) => opts.onStep?.(`${host.alias}: ${line}`);
  const label = `${host.user}@${hostPort(host)}${origin(host)}`;
  let phase: Phase = 'connecting';
  let refusal: SshConnectError | undefined;
  let login: Login | undefined;
  let settled = false;

  return new Promise<Client>((resolve, reject) => {
    const fail = (err: SshConnectError) => {
      if (settled) return;
      settled = true;
      deadline.clear();
      reject(err);
      // Not end(): it half-closes and waits for the peer, and a silent or refused peer would keep the socket.
      client.destroy();
    };
    const ms = opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    const deadline = new PausableDeadline(ms, () => {
      const doing = phase === 'connecting' ? `to connect to ${hostPort(host)}${via ? ` through ${via.alias}` : ''}` : phase === 'handshake' ? 'for the SSH handshake' : phase === 'host key' ? 'to check the host key' : 'to log in';
      fail(new SshConnectError('timeout', `Timed out after ${Math.round(ms / 1000)} s waiting ${doing} (${label}).`, host.alias));
    });

    login = createLogin(host, ui, { waitForUser: (q) => deadline.pauseDuring(q), onStep: step }, opts.env ?? process.env);

    const hostVerifier = (key: Buffer, verify: (ok: boolean) => void) => {
      phase = 'host key';
      // HostKeyAlias replaces both name and port in the lookup, as in OpenSSH.
      const lookupName = host.hostKeyAlias ?? host.hostName;
      const lookupPort = host.hostKeyAlias ? 22 : host.port;
      const keyType = blobKeyType(key) ?? 'unknown';
      const refuse = (kind: SshConnectErrorKind, message: string) => {
        refusal = new SshConnectError(kind, message, host.alias);
        step('host key refused; nothing was sent');
        verify(false);
      };
      let check: ReturnType<typeof checkHostKey>;
      try {
        check = checkHostKey(host.userKnownHostsFiles, lookupName, lookupPort, keyType, key);
      } catch (err) {
        return refuse('host-key', `The host key of ${knownHostsName(lookupName, lookupPort)} cannot be checked: ${(err as Error).message}`);
      }
      if (check.status === 'known') {
        step('host key matches known_hosts');
        return verify(true);
      }
      if (check.status === 'changed') return refuse('host-key', changedKeyMessage(lookupName, lookupPort, keyType, check));
      if (check.status === 'revoked') return refuse('host-key', revokedKeyMessage(lookupName, lookupPort, keyType, check));
      const addTo = host.userKnownHostsFiles[0];
      const name = knownHostsName(lookupName, lookupPort);
      deadline.pauseDuring(ui.confirmUnknownHost(name, check.fingerprint, { keyType, otherKnownKeys: check.otherKnownKeys, addTo }))
        .then((accepted) => {
          if (settled) return;
          if (!accepted) {
            return refuse('cancelled', `The host key of ${name} (${keyType} ${check.fingerprint}) was not accepted; the connection was closed before logging in.`);
          }
          if (addTo) {
            try {
              addHostKey(addTo, lookupName, lookupPort, keyType, key, { hash: opts.hashKnownHosts });
              step(`host key ${check.fingerprint} added to ${addTo}`);
            } catch (err) {
              // The person trusted the key; failing to remember it only means being asked again next time.
              step(`host key accepted but could not be added to ${addTo}: ${(err as Error).message}`);
            }
          }
          verify(true);
        })
        .catch((err) => refuse('cancelled', `Checking the host key of ${name} failed: ${(err as Error).message}`));
    };

    client.on('connect', () => {
      phase = 'handshake';
      step(`connected to ${hostPort(host)}${via ? ` through ${via.alias}` : ''}`);
    });
    client.on('handshake', () => { phase = 'login'; });
    client.on('ready', () => {
      if (settled) return;
      settled = true;
      deadline.clear();
      login!.succeeded();
      step('logged in');
      resolve(client);
    });
    client.on('error', (err: Error & { level?: string; code?: string }) => {
      if (settled) return;
      if (refusal) return fail(refusal);
      if (login!.cancelled) return fail(new SshConnectError('cancelled', `${login!.cancelled.message}; not logged in to ${label}.`, host.alias));
      // Errors on the way through the login methods: ssh2 goes on with the next method by itself.
      if ((err.level === 'agent' || err.level === 'client-authentication') && !login!.exhausted) {
        login!.noteError(err);
        return;
      }
      fail(mapError(err, host, label, login!, via));
    });
    client.on('close', () => {
      if (settled) return;
      if (refusal) return fail(refusal);
      fail(new SshConnectError('closed', `${label} closed the connection during the ${phase}${phase === 'login' ? ' (its sshd log says why)' : ''}.`, host.alias));
    });

    try {
      client.connect({
        host: host.hostName,
        port: host.port,
        username: host.user,
        sock,
        hostVerifier,
        authHandler: login.authHandler,
        readyTimeout: 0,
        keepaliveInterval: opts.keepaliveIntervalMs ?? 15_000,
        keepaliveCountMax: opts.keepaliveCountMax ?? 3,
      });
    } catch (err) {
      fail(new SshConnectError('other', `Cannot connect to ${label}: ${(err as Error).message}`, host.alias));
    }
  });
}

function mapError(err: Error & { level?: string; code?: string }, host: ResolvedHost, label: string, login: Login, via?: ResolvedHost): SshConnectError {
  const alias = host.alias;
  switch (err.code) {
    case 'ENOTFOUND':
      return new SshConnectError('not-found', `Host ${host.hostName} not found${origin(host)}: the name does not resolve.`, alias);
    case 'EAI_AGAIN':
      return new SshConnectError('not-found', `Host ${host.hostName} could not be looked up${origin(host)}: the name server did not answer.`, alias);
    case 'ECONNREFUSED':
      return new SshConnectError('refused', `Nothing listens on ${hostPort(host)}${origin(host)}: the connection was refused. Is sshd running, and is the port right?`, alias);
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
      return new SshConnectError('unreachable', `${hostPort(host)}${origin(host)} cannot be reached from here (${err.code}).`, alias);
    case 'ETIMEDOUT':
      return new SshConnectError('timeout', `Connecting to ${hostPort(host)}${origin(host)} timed out.`, alias);
    case 'ECONNRESET':
    case 'EPIPE':
      return new SshConnectError('closed', `${label} dropped the connection (${err.code}).`, alias);
  }
  if (err.level === 'client-authentication') {
    const accepted = login.serverMethods();
    return new SshConnectError('auth',
      `Could not log in to ${label}: the server refused every method. Tried: ${login.triedSummary()}.`
      + (accepted ? ` The server accepts: ${accepted.join(', ')}.` : ''), alias);
  }
  if (err.level === 'protocol' || err.level === 'handshake') {
    return new SshConnectError('other', `SSH handshake with ${label}${via ? ` through ${via.alias}` : ''} failed: ${err.message}`, alias);
  }
  return new SshConnectError('other', `SSH connection to ${label} failed: ${err.message}`, alias);
}

/** A TCP stream from `from` to the next hop, opened by `from`'s sshd (what ssh -J does). */
function forwardTo(from: Client, fromHost: ResolvedHost, to: ResolvedHost): Promise<ClientChannel> {
  return new Promise((resolve, reject) => {
    from.forwardOut('127.0.0.1', 0, to.hostName, to.port, (err, stream) => {
      if (err) {
        const reason = err.message.replace(/^\(SSH\) Channel open failure:\s*/, '');
        reject(new SshConnectError('proxy', `Jump host ${fromHost.alias} could not open a connection to ${hostPort(to)}${origin(to)}: ${reason || 'refused'}.`, to.alias));
        return;
      }
      resolve(stream);
    });
  });
}

/**
 * Connects to target through its ProxyJump hops and logs in. The returned Client is ready; ending it ends the
 * hops too. An 'error' listener stays attached (so a later error cannot crash the process); ssh2 follows every
 * error with 'close', which is the event to watch.
 */
export async function connectHost(target: ResolvedHost, ui: ConnectUi, opts: ConnectOptions = {}): Promise<Client> {
  const chain = [...target.jumpHosts, target];
  const withProxyCommand = chain.find((h) => h.proxyCommand);
  if (withProxyCommand) {
    throw new SshConnectError('unsupported', `${withProxyCommand.alias}${origin(withProxyCommand)} uses ProxyCommand, which Tunelab cannot run; use ProxyJump instead.`, withProxyCommand.alias);
  }
  const clients: Client[] = [];
  const endAll = () => {
    for (const c of clients) c.end();
  };
  try {
    for (const [i, host] of chain.entries()) {
      const previous = i > 0 ? chain[i - 1] : undefined;
      const sock = previous ? await forwardTo(clients[i - 1], previous, host) : undefined;
      if (previous) opts.onStep?.(`${previous.alias}: opened a tunnel to ${hostPort(host)}`);
      try {
        clients.push(await connectOne(host, ui, opts, sock, previous));
      } catch (err) {
        if (previous && err instanceof SshConnectError && err.kind !== 'host-key' && err.kind !== 'auth' && err.kind !== 'cancelled') {
          err.message = `${err.message} (reached through jump host ${previous.alias})`;
        }
        throw err;
      }
    }
  } catch (err) {
    endAll();
    if (err instanceof SshConnectError) throw err;
    if (err instanceof LoginCancelled) throw new SshConnectError('cancelled', err.message, target.alias);
    throw new SshConnectError('other', `SSH connection to ${target.alias} failed: ${(err as Error).message}`, target.alias);
  }
  const final = clients[clients.length - 1];
  // The hops exist only for the target: close them with it, and it with any of them.
  for (const c of clients) c.once('close', endAll);
  return final;
}
