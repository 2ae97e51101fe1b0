// Finds the agent server serving a root on this machine, or starts one. The server is detached
// so runs and their server outlive the VS Code window that started them.
import { execFile, spawn } from 'node:child_process';
import { accessSync, closeSync, constants, existsSync, mkdirSync, openSync, readFileSync, realpathSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { join, resolve, sep } from 'node:path';
import type { AgentEndpoint } from '../agent/socket';
import { INSTALLED_AGENT_PROBE } from '../remote/agentSource';
import { readListeningLine } from './listeningLine';
import { readTail } from './tail';

export interface LocalAgentOptions {
  /** Python with the tunelab_agent package installed. */
  python: string;
  /** The agent root (runs, token, agent.json). */
  root: string;
  /** Folders whose files run configs may name (passed as --data-dir). */
  dataDirs: string[];
  onLog?: (line: string) => void;
  /** How long a freshly spawned server may take to print its listening line. */
  startTimeoutMs?: number;
}

interface AgentInfo {
  pid: number;
  port: number;
  /** Folders the server may read besides its root (absolute, real paths). */
  data_dirs?: string[];
  /** Which agent code the server runs (agentSourceHash's algorithm), the interpreter and the package folder. */
  source_hash?: string;
  python?: string;
  package_dir?: string;
}

/** The project's own interpreter, created by `npm run setup`. */
export function defaultPython(extensionRoot: string): string {
  return join(extensionRoot, 'python-agent', '.venv', 'bin', 'python');
}

// Two callers in one process asking at once (e.g. a reconnect and a command) must not start two servers.
const starting = new Map<string, Promise<AgentEndpoint>>();

export function ensureLocalAgent(opts: LocalAgentOptions): Promise<AgentEndpoint> {
  const key = opts.root;
  let p = starting.get(key);
  if (!p) {
    p = findOrStart(opts).finally(() => starting.delete(key));
    starting.set(key, p);
  }
  return p;
}

async function findOrStart(opts: LocalAgentOptions): Promise<AgentEndpoint> {
  const log = opts.onLog ?? (() => undefined);
  const live = await liveAgent(opts.root);
  if (!live) return startAgent(opts, log);
  const stale = staleCode(live, await installedAgentHash(opts.python));
  const missing = uncoveredDirs(opts.dataDirs, live.data_dirs ?? []);
  if (!stale && missing.length === 0) {
    log(`using the agent already serving ${opts.root} (pid ${live.pid}, port ${live.port})`);
    return { url: `ws://127.0.0.1:${live.port}`, token: readToken(join(opts.root, 'token')) };
  }
  // Replace the running server: runs are separate processes, so they go on, and the other clients of the old
  // server reconnect to the new one.
  log(stale
    ? `the agent serving ${opts.root} (pid ${live.pid}) ${stale}; replacing it with ${opts.python} (runs keep training)`
    : `the agent serving ${opts.root} (pid ${live.pid}) cannot read ${missing.join(', ')}; restarting it with those folders added`);
  await stopServer(live.pid);
  return startAgent({ ...opts, dataDirs: [...new Set([...(live.data_dirs ?? []), ...opts.dataDirs])] }, log);
}

/**
 * Why the live server must not be reused for this interpreter's agent code, or undefined when it may be.
 * A server records the hash of the code it loaded; after an upgrade, or from a clone that was deleted, it
 * would keep answering with other code than the one this extension would start.
 */
export function staleCode(live: Pick<AgentInfo, 'source_hash' | 'python' | 'package_dir'>, wanted: string | undefined): string | undefined {
  if (live.python && !existsSync(live.python)) return `runs from ${live.python}, which no longer exists`;
  if (live.package_dir && !existsSync(live.package_dir)) return `runs agent code from ${live.package_dir}, which no longer exists`;
  if (wanted === undefined) return undefined; // this interpreter has no agent to compare with: keep what works
  if (!live.source_hash) return 'predates agent code hashes (an older agent)';
  if (live.source_hash !== wanted) return `runs other agent code (${live.source_hash.slice(0, 12)}, not ${wanted.slice(0, 12)})`;
  return undefined;
}

/** The hash of the tunelab_agent package `python` imports, or undefined when it has none (or cannot run). */
export function installedAgentHash(python: string): Promise<string | undefined> {
  // Asynchronous: starting Python takes a moment, and the extension host must not stall meanwhile.
  return new Promise((resolve) => {
    execFile(python, ['-c', INSTALLED_AGENT_PROBE], { encoding: 'utf8', timeout: 30_000 }, (error, stdout) => {
      if (error) return resolve(undefined);
      try {
        const parsed = JSON.parse(stdout.trim().split('\n').pop() ?? '') as { hash?: unknown };
        resolve(typeof parsed.hash === 'string' ? parsed.hash : undefined);
      } catch {
        resolve(undefined);
      }
    });
  });
}

/** The wanted folders that are neither one of the served folders nor inside one. */
export function uncoveredDirs(wanted: string[], served: string[]): string[] {
  const real = (p: string) => {
    try {
      return realpathSync(p);
    } catch {
      return resolve(p);
    }
  };
  const servedReal = served.map(real);
  return wanted.filter((w) => {
    const r = real(w);
    return !servedReal.some((s) => r === s || r.startsWith(s.endsWith(sep) ? s : s + sep));
  });
}

async function stopServer(pid: number, timeoutMs = 10_000): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (pidAlive(pid) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  if (pidAlive(pid)) throw new Error(`the agent server (pid ${pid}) did not stop within ${timeoutMs / 1000} s`);
}

/** The agent named by root/agent.json, when its process is alive and its port accepts connections. */
async function liveAgent(root: string): Promise<AgentInfo | undefined> {
  let info: AgentInfo;
  try {
    const raw = JSON.parse(readFileSync(join(root, 'agent.json'), 'utf8')) as Partial<AgentInfo>;
    if (!Number.isInteger(raw.pid) || !Number.isInteger(raw.port)) return undefined;
    info = raw as AgentInfo;
  } catch {
    return undefined; // absent, half-written or stale: start a fresh server
  }
  if (!pidAlive(info.pid)) return undefined;
  // The pid may have been reused by another program after a crash; the port tells them apart.
  return (await portAccepts(info.port)) ? info : undefined;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function portAccepts(port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

async function startAgent(opts: LocalAgentOptions, log: (line: string) => void): Promise<AgentEndpoint> {
  checkPython(opts.python);
  mkdirSync(opts.root, { recursive: true });
  // The server logs to stderr for its whole life, long after this window may be gone, so stderr
  // goes to a file rather than a pipe nobody reads.
  const stderrPath = join(opts.root, 'agent.stderr.log');
  const stderrStart = existsSync(stderrPath) ? statSync(stderrPath).size : 0;
  const stderrFd = openSync(stderrPath, 'a');
  const args = ['-m', 'tunelab_agent', 'serve', '--root', opts.root, ...opts.dataDirs.flatMap((d) => ['--data-dir', d])];
  log(`starting the agent: ${opts.python} ${args.join(' ')}`);
  const child = spawn(opts.python, args, { detached: true, stdio: ['ignore', 'pipe', stderrFd] });
  closeSync(stderrFd);

  const stderrTail = () => readTail(stderrPath, stderrStart);
  let listening;
  try {
    listening = await readListeningLine(child, opts.startTimeoutMs ?? 60_000);
  } catch (e) {
    if (child.exitCode === null) killGroup(child.pid);
    const tail = stderrTail();
    throw new Error(`${(e as Error).message}${tail ? `\n--- agent stderr (${stderrPath}) ---\n${tail}` : ` (nothing on stderr; see ${stderrPath})`}`);
  } finally {
    child.stdout?.destroy();
    child.unref();
  }
  log(`the agent is listening on port ${listening.port} (pid ${listening.pid}); its log is ${stderrPath}`);
  return { url: `ws://127.0.0.1:${listening.port}`, token: readToken(listening.token_file ?? join(opts.root, 'token')) };
}

function checkPython(python: string): void {
  try {
    accessSync(python, constants.X_OK);
  } catch {
    throw new Error(
      `no Python interpreter at ${python}: run "npm run setup" in the Tunelab folder to create python-agent/.venv, or set tunelab.pythonPath to a Python that has tunelab-agent installed`,
    );
  }
}

function readToken(path: string): string {
  let token: string;
  try {
    token = readFileSync(path, 'utf8').trim();
  } catch (e) {
    throw new Error(`cannot read the agent's token file ${path}: ${(e as Error).message}`);
  }
  if (!token) throw new Error(`the agent's token file ${path} is empty`);
  return token;
}

function killGroup(pid: number | undefined): void {
  if (!pid) return;
  try {
    process.kill(-pid, 'SIGTERM'); // detached: the child leads its own process group
  } catch {
    // already gone
  }
}
