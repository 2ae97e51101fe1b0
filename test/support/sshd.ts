// A real OpenSSH sshd on 127.0.0.1 for tests, with its own host key, client key, known_hosts and a
// generated ssh config, plus a real ssh-agent. Everything lives in one temp folder that stop() removes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { appendFileSync, chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';

const SSHD = '/usr/sbin/sshd';
const SFTP_SERVER = '/usr/lib/openssh/sftp-server';
/** The Host alias that sshConfigPath defines. */
export const TEST_HOST_ALIAS = 'tunelab-test';

export interface Sshd {
  host: '127.0.0.1';
  port: number;
  user: string;
  dir: string;
  hostKeyPath: string;
  /** The host key's public line, "ssh-ed25519 AAAA..." (no comment). */
  hostKeyPub: string;
  /** Unencrypted ed25519 key that sshd accepts. */
  clientKeyPath: string;
  clientKeyPub: string;
  /** The keys sshd accepts, one per line; encryptedClientKey() appends to it. */
  authorizedKeysPath: string;
  /** Trusts this sshd as [127.0.0.1]:port. */
  knownHostsPath: string;
  logPath: string;
  /** An ~/.ssh/config-style file: Host tunelab-test → HostName, Port, User, IdentityFile, UserKnownHostsFile. */
  sshConfigPath: string;
  /** The listening sshd's pid. */
  pid: number;
  /** A new key (encrypted with passphrase) that sshd accepts; returns its private key path. */
  encryptedClientKey(passphrase: string): string;
  /** A new unencrypted key that sshd does not accept (for refused-key tests); returns its private key path. */
  unauthorizedClientKey(): string;
  /** Pids of sshd's per-connection processes (one per open connection, pre- or post-auth). */
  connectionPids(): number[];
  /**
   * Kills every per-connection sshd process (SIGKILL to its process group), which drops the TCP
   * connection as a crash would. Commands started in the session are left alone: sshd puts them in their
   * own session, so detached work survives as it would a real drop. Returns how many connections it killed.
   */
  killConnections(): number;
  stop(): Promise<void>;
}

export interface SshAgent {
  /** The agent's socket, for SSH_AUTH_SOCK. */
  sock: string;
  pid: number;
  /** ssh-add of an unencrypted key; throws with ssh-add's message if it fails. */
  add(keyPath: string): void;
  stop(): Promise<void>;
}

function run(cmd: string, args: string[], env?: NodeJS.ProcessEnv): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', env: env ? { ...process.env, ...env } : undefined });
  if (r.error || r.status !== 0) {
    throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`}): ${r.stderr}`);
  }
  return r.stdout;
}

function generateKey(path: string, passphrase = ''): string {
  run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', passphrase, '-C', 'tunelab-test', '-f', path]);
  // Drop the comment: callers compare the "type base64" part with what servers and parsers report.
  return readFileSync(`${path}.pub`, 'utf8').trim().split(/\s+/).slice(0, 2).join(' ');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

function portAccepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    // A zombie still answers signal 0; it is gone for our purposes.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}

function childrenOf(parent: number, includeZombies = false): number[] {
  const kids: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      // Field 4 of /proc/<pid>/stat is the ppid; the command name (field 2) may contain spaces, so split after ')'.
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) === parent && (includeZombies || (fields[0] !== 'Z' && fields[0] !== 'X'))) kids.push(Number(name));
    } catch {
      // exited while we looked
    }
  }
  return kids;
}

async function waitUntil(check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; Date.now() < deadline; ) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 25));
  }
  return check();
}

function exitOf(child: ChildProcess): Promise<void> {
  return child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', () => r()));
}

function sshdConfig(o: { port: number; hostKeyPath: string; authorizedKeysPath: string; pidPath: string; user: string }): string {
  return [
    `Port ${o.port}`,
    'ListenAddress 127.0.0.1',
    `HostKey ${o.hostKeyPath}`,
    `AuthorizedKeysFile ${o.authorizedKeysPath}`,
    `PidFile ${o.pidPath}`,
    `AllowUsers ${o.user}`,
    `PermitRootLogin ${o.user === 'root' ? 'yes' : 'no'}`,
    'PubkeyAuthentication yes',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    'StrictModes no',
    'AllowTcpForwarding yes',
    'AllowAgentForwarding no',
    'X11Forwarding no',
    'PrintMotd no',
    'LogLevel VERBOSE',
    // Enough for many concurrent test connections (the default 10:30:100 drops some under load).
    'MaxStartups 100',
    `Subsystem sftp ${SFTP_SERVER}`,
    ...sessionEnv(),
    '',
  ].join('\n');
}

// What the test runner set for every process it starts (scripts/test.mjs) reaches the "remote" agents too: one
// compute thread per training process, and the test run's own folder for prewarmed launchers, which it stops at
// the end. A login shell would not pass them on by itself.
const FORWARDED_ENV = ['TUNELAB_WARM_START_DIR', 'OMP_NUM_THREADS', 'MKL_NUM_THREADS', 'TOKENIZERS_PARALLELISM'];

function sessionEnv(): string[] {
  const set = FORWARDED_ENV.filter((name) => /^[\w./-]+$/.test(process.env[name] ?? ''));
  return set.length ? [`SetEnv ${set.map((name) => `${name}=${process.env[name]}`).join(' ')}`] : [];
}

/**
 * Starts sshd on a free loopback port. It runs as the current user; logging in as another user
 * (opts.user) needs root, which is how the suite runs here.
 */
export async function startSshd(opts: { user?: string } = {}): Promise<Sshd> {
  if (!existsSync(SSHD)) throw new Error(`${SSHD} is missing: install Debian's openssh-server (npm run setup -- --for-tests)`);
  // sshd refuses to start without its privilege-separation folder.
  if (!existsSync('/run/sshd') && process.getuid?.() === 0) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const user = opts.user ?? userInfo().username;
  const dir = mkdtempSync(join(tmpdir(), 'tunelab-sshd-'));
  // sshd reads authorized_keys as the user logging in; the client (this process) keeps the private keys 0600.
  if (user !== userInfo().username) chmodSync(dir, 0o755);
  const hostKeyPath = join(dir, 'host_ed25519');
  const clientKeyPath = join(dir, 'client_ed25519');
  const authorizedKeysPath = join(dir, 'authorized_keys');
  const knownHostsPath = join(dir, 'known_hosts');
  const sshConfigPath = join(dir, 'ssh_config');
  const configPath = join(dir, 'sshd_config');
  const logPath = join(dir, 'sshd.log');
  const pidPath = join(dir, 'sshd.pid');
  const hostKeyPub = generateKey(hostKeyPath);
  const clientKeyPub = generateKey(clientKeyPath);
  writeFileSync(authorizedKeysPath, `${clientKeyPub}\n`, { mode: 0o644 });
  let extraKeys = 0;

  let child: ChildProcess | undefined;
  let port = 0;
  // A free port can be taken between our probe and sshd's bind; try a few.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    writeFileSync(configPath, sshdConfig({ port, hostKeyPath, authorizedKeysPath, pidPath, user }));
    writeFileSync(logPath, '');
    child = spawn(SSHD, ['-D', '-f', configPath, '-E', logPath], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
    const started = child;
    const up = await waitUntil(async () => started.exitCode === null && (await portAccepts(port)), 10_000);
    if (up) break;
    started.kill('SIGKILL');
    await exitOf(started);
    const why = `${stderr}${readFileSync(logPath, 'utf8')}`.trim();
    if (attempt >= 3 || !/Address already in use|Bind to port/.test(why)) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`sshd did not start on 127.0.0.1:${port}: ${why || 'no output'}`);
    }
  }
  const sshd = child;
  sshd.stderr!.resume();

  writeFileSync(knownHostsPath, `[127.0.0.1]:${port} ${hostKeyPub}\n`);
  writeFileSync(sshConfigPath, [
    `Host ${TEST_HOST_ALIAS}`,
    '  HostName 127.0.0.1',
    `  Port ${port}`,
    `  User ${user}`,
    `  IdentityFile ${clientKeyPath}`,
    '  IdentitiesOnly yes',
    `  UserKnownHostsFile ${knownHostsPath}`,
    '  StrictHostKeyChecking yes',
    // The OpenSSH client in tests must fail rather than prompt.
    '  BatchMode yes',
    '',
  ].join('\n'));

  const connectionPids = () => childrenOf(sshd.pid!);
  const killGroups = (pids: number[]) => {
    for (const pid of pids) {
      try {
        // sshd's per-connection child leads its own process group (setsid); that group also holds the
        // connection's unprivileged child, which otherwise keeps the socket open.
        process.kill(-pid, 'SIGKILL');
      } catch {
        try { process.kill(pid, 'SIGKILL'); } catch { /* already gone */ }
      }
    }
  };
  const newKey = (passphrase: string, authorize: boolean) => {
    const path = join(dir, `extra_${++extraKeys}_ed25519`);
    const pub = generateKey(path, passphrase);
    if (authorize) appendFileSync(authorizedKeysPath, `${pub}\n`);
    return path;
  };
  let stopped = false;

  return {
    host: '127.0.0.1', port, user, dir, hostKeyPath, hostKeyPub, clientKeyPath, clientKeyPub, authorizedKeysPath,
    knownHostsPath, logPath, sshConfigPath, pid: sshd.pid!,
    encryptedClientKey: (passphrase) => newKey(passphrase, true),
    unauthorizedClientKey: () => newKey('', false),
    connectionPids,
    killConnections() {
      const pids = connectionPids();
      killGroups(pids);
      return pids.length;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      const connections = connectionPids();
      killGroups(connections);
      // Let the listener reap them first; orphaned zombies would otherwise linger under this container's init.
      await waitUntil(() => childrenOf(sshd.pid!, true).length === 0, 2_000);
      sshd.kill('SIGTERM');
      const gone = await waitUntil(() => sshd.exitCode !== null || sshd.signalCode !== null, 5_000);
      if (!gone) sshd.kill('SIGKILL');
      await exitOf(sshd);
      await waitUntil(() => !connections.some(isAlive), 5_000);
      rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
    },
  };
}

/** A new key encrypted with passphrase that sshd accepts; returns its private key path. */
export function encryptedClientKey(sshd: Sshd, passphrase: string): string {
  return sshd.encryptedClientKey(passphrase);
}

/** Starts a real ssh-agent on its own socket (keys are added with add()). */
export async function startSshAgent(): Promise<SshAgent> {
  const dir = mkdtempSync(join(tmpdir(), 'tunelab-agent-'));
  const sock = join(dir, 'agent.sock');
  // -D: stay in the foreground, so the pid we hold is the agent's and it dies with stop().
  const agent = spawn('ssh-agent', ['-D', '-a', sock], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  agent.stderr!.on('data', (d: Buffer) => { stderr += d.toString(); });
  if (!(await waitUntil(() => existsSync(sock) || agent.exitCode !== null, 5_000)) || !existsSync(sock)) {
    agent.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`ssh-agent did not start: ${stderr || `exit ${agent.exitCode}`}`);
  }
  return {
    sock,
    pid: agent.pid!,
    add(keyPath) {
      run('ssh-add', ['-q', keyPath], { SSH_AUTH_SOCK: sock, SSH_ASKPASS: '', DISPLAY: '' });
    },
    async stop() {
      agent.kill('SIGTERM');
      await exitOf(agent);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
