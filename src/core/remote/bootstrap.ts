// Gets a Tunelab agent serving on a host: finds Python >= 3.10, installs the agent when the host does not
// already have this exact version, and starts `tunelab-agent serve` detached so it outlives the SSH
// session. An agent already running this code is reused; one running other code is replaced, which
// leaves training runs alone (each run is its own process).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { newEnough } from '../host/agentEnvironment';
import { agentPackageFiles, agentSourceHash, INSTALLED_AGENT_PROBE } from './agentSource';
import { shellQuote } from './remoteExec';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** What bootstrapping needs from a connected host (over SSH in the product, anything in tests). */
export interface RemoteHost {
  /** A human name for messages, e.g. `gpu-box (10.0.0.5)`. */
  readonly label: string;
  /** Runs argv on the host, each element quoted; `onOutput` gets output lines as they come. */
  exec(argv: string[], onOutput?: (line: string) => void): Promise<ExecResult>;
  readFile(path: string): Promise<Buffer>;
  /** Creates or replaces `path` with `data`; `mode` defaults to 0o644. */
  writeFile(path: string, data: Buffer, mode?: number): Promise<void>;
}

export interface BootstrapOptions {
  /** The local python-agent folder (pyproject.toml + tunelab_agent/). */
  agentSource: string;
  /** The agent root on the host; default ~/.tunelab there. */
  root?: string;
  /** The interpreter set for this host (a path, or a conda env's python); otherwise one is searched for. */
  python?: string;
  onStep?: (step: string) => void;
  onOutput?: (line: string) => void;
  /** How long a started agent may take to announce its port. */
  startTimeoutMs?: number;
  /** Extra environment for pip on the host, e.g. PIP_INDEX_URL for a host's own mirror. */
  pipEnv?: Record<string, string>;
}

export interface RemoteAgent {
  root: string;
  port: number;
  pid: number;
  token: string;
  /** The interpreter the agent runs on. */
  python: string;
  /** True when an agent that was already serving this code was reused. */
  reused: boolean;
}

/** The host cannot run the agent as it is (no Python, pip failed, the agent would not start): retrying will not help. */
export class BootstrapError extends Error {
  override name = 'BootstrapError';
  readonly retryable = false;
}

const CANDIDATES = ['python3.13', 'python3.12', 'python3.11', 'python3.10', 'python3', 'python'];

export async function bootstrapAgent(host: RemoteHost, opts: BootstrapOptions): Promise<RemoteAgent> {
  const step = opts.onStep ?? (() => undefined);
  const hash = agentSourceHash(opts.agentSource);
  // Settings say "~/x"; every command quotes its paths, so the host's shell would not expand the ~.
  const home = opts.root === undefined || opts.root.startsWith('~') || opts.python?.startsWith('~') ? await homeOf(host) : '';
  const root = opts.root === undefined ? `${home}/.tunelab` : underHome(opts.root, home);

  step('looking for a running agent');
  const running = await runningAgent(host, root);
  if (running && running.hash === hash) {
    return { root, port: running.port, pid: running.pid, token: await readToken(host, root), python: running.python, reused: true };
  }

  step('looking for Python >= 3.10');
  const base = await findPython(host, opts.python && (await environmentPython(host, underHome(opts.python, home))));
  const python = await installedAgentPython(host, base, root, hash, opts);

  if (running) {
    step(`replacing the agent running other code (pid ${running.pid}); runs keep training`);
    await stopAgent(host, running.pid);
  }
  step('starting the agent');
  const started = await startAgent(host, python, root, opts.startTimeoutMs ?? 60_000);
  await host.writeFile(`${root}/agent-hash`, Buffer.from(`${hash}\n${python}\n`));
  return { root, port: started.port, pid: started.pid, token: await readToken(host, root), python, reused: false };
}

function underHome(path: string, home: string): string {
  return path === '~' ? home : path.startsWith('~/') ? `${home}/${path.slice(2)}` : path;
}

/** A venv or conda env folder stands for its bin/python; an interpreter path is used as it is. */
async function environmentPython(host: RemoteHost, python: string): Promise<string> {
  const r = await host.exec(['test', '-d', python]);
  return r.code === 0 ? `${python.replace(/\/+$/, '')}/bin/python` : python;
}

async function homeOf(host: RemoteHost): Promise<string> {
  const r = await host.exec(['sh', '-c', 'printf %s "$HOME"']);
  if (r.code !== 0 || !r.stdout.startsWith('/')) throw new BootstrapError(`${host.label}: cannot find the home folder (${r.stderr.trim() || r.stdout})`);
  return r.stdout;
}

interface Running {
  pid: number;
  port: number;
  hash: string;
  python: string;
}

/** The agent serving `root` now, if its process is alive; `hash` says which code it runs. */
async function runningAgent(host: RemoteHost, root: string): Promise<Running | undefined> {
  const r = await host.exec(['sh', '-c', `cat ${shellQuote(`${root}/agent.json`)} 2>/dev/null; echo; cat ${shellQuote(`${root}/agent-hash`)} 2>/dev/null`]);
  const [infoLine = '', hash = '', python = ''] = r.stdout.split('\n');
  let info: { pid?: unknown; port?: unknown };
  try {
    info = JSON.parse(infoLine);
  } catch {
    return undefined;
  }
  if (!Number.isInteger(info.pid) || !Number.isInteger(info.port)) return undefined;
  const alive = await host.exec(['kill', '-0', String(info.pid)]);
  return alive.code === 0 ? { pid: info.pid as number, port: info.port as number, hash: hash.trim(), python: python.trim() } : undefined;
}

export async function findPython(host: RemoteHost, configured?: string): Promise<string> {
  const seen: string[] = [];
  for (const python of configured ? [configured] : CANDIDATES) {
    const r = await host.exec([python, '-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])']);
    const version = r.code === 0 ? r.stdout.trim().split('.').map(Number) : undefined;
    if (version && version.length === 3 && newEnough(version)) return python;
    seen.push(`${python}: ${version ? version.join('.') : (r.stderr.trim().split('\n').pop() || `exit ${r.code}`)}`);
  }
  const what = configured ? `the Python set for this host (${configured})` : 'no Python >= 3.10 found';
  throw new BootstrapError(`${host.label}: ${what} cannot run the agent, which needs Python >= 3.10 (${seen.join('; ')}). `
    + 'Install one, or set the interpreter (or conda env) for this host.');
}

/** An interpreter on the host whose tunelab_agent is exactly this code, installing it into root/agent/venv if needed. */
async function installedAgentPython(host: RemoteHost, base: string, root: string, hash: string, opts: BootstrapOptions): Promise<string> {
  if ((await probe(host, base))?.hash === hash) return base;
  const venv = `${root}/agent/venv`;
  const venvPython = `${venv}/bin/python`;
  if ((await probe(host, venvPython))?.hash === hash) return venvPython;

  const step = opts.onStep ?? (() => undefined);
  const out = opts.onOutput ?? (() => undefined);
  const src = `${root}/agent/src-${hash.slice(0, 12)}`;
  step('uploading the agent');
  await mustRun(host, ['mkdir', '-p', `${src}/tunelab_agent`], 'create the agent folder');
  const dirs = new Set(agentPackageFiles(opts.agentSource).map((rel) => rel.split('/').slice(0, -1).join('/')).filter(Boolean));
  for (const dir of dirs) await mustRun(host, ['mkdir', '-p', `${src}/tunelab_agent/${dir}`], 'create the agent folder');
  await host.writeFile(`${src}/pyproject.toml`, readFileSync(join(opts.agentSource, 'pyproject.toml')));
  for (const rel of agentPackageFiles(opts.agentSource)) {
    await host.writeFile(`${src}/tunelab_agent/${rel}`, readFileSync(join(opts.agentSource, 'tunelab_agent', ...rel.split('/'))));
  }
  step('creating the agent environment');
  if ((await host.exec(['test', '-x', venvPython])).code !== 0) {
    // With the interpreter's own packages visible: GPU hosts often come with torch (built for their CUDA),
    // transformers and peft preinstalled and no internet, and pip then installs only what is missing.
    await mustRun(host, [base, '-m', 'venv', '--system-site-packages', venv], `create a virtual environment with ${base}`, out);
  }
  step('installing the agent and its dependencies with the host\'s pip (this can take minutes)');
  const env = Object.entries(opts.pipEnv ?? {}).map(([k, v]) => `${k}=${v}`);
  await mustRun(host, [...(env.length ? ['env', ...env] : []), venvPython, '-m', 'pip', 'install', '--upgrade', src], 'install the agent with pip', out);
  const installed = await probe(host, venvPython);
  if (installed?.hash !== hash) throw new BootstrapError(`${host.label}: pip finished but ${venvPython} does not import this agent (${installed ? `hash ${installed.hash.slice(0, 12)}` : 'no tunelab_agent'})`);
  return venvPython;
}

async function probe(host: RemoteHost, python: string): Promise<{ version: string; hash: string } | undefined> {
  const r = await host.exec([python, '-c', INSTALLED_AGENT_PROBE]);
  try {
    const parsed = JSON.parse(r.stdout.trim().split('\n').pop() ?? '');
    return typeof parsed.hash === 'string' ? parsed : undefined;
  } catch {
    return undefined;
  }
}

async function stopAgent(host: RemoteHost, pid: number): Promise<void> {
  await host.exec(['kill', '-TERM', String(pid)]);
  for (let i = 0; i < 50; i++) {
    if ((await host.exec(['kill', '-0', String(pid)])).code !== 0) return;
    await sleep(200);
  }
  throw new BootstrapError(`the old agent (pid ${pid}) did not stop within 10 s`);
}

async function startAgent(host: RemoteHost, python: string, root: string, timeoutMs: number): Promise<{ pid: number; port: number }> {
  await mustRun(host, ['mkdir', '-p', root], `create ${root}`);
  // setsid + nohup + stdin from /dev/null: the agent outlives this SSH session and never reads from it.
  const line = `cd / && setsid nohup ${shellQuote(python)} -m tunelab_agent serve --root ${shellQuote(root)} `
    + `</dev/null >>${shellQuote(`${root}/agent.log`)} 2>&1 & echo $!`;
  const r = await host.exec(['sh', '-c', line]);
  const launched = Number(r.stdout.trim());
  if (r.code !== 0 || !Number.isInteger(launched)) throw new BootstrapError(`${host.label}: could not start the agent: ${r.stderr.trim() || r.stdout.trim()}`);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const running = await runningAgent(host, root);
    if (running && running.pid === launched) return running;
    if ((await host.exec(['kill', '-0', String(launched)])).code !== 0) {
      // setsid may have forked (when the shell made it a group leader): then the agent has another pid.
      if (running) return running;
      break;
    }
    await sleep(250);
  }
  const log = await host.exec(['tail', '-n', '20', `${root}/agent.log`]);
  throw new BootstrapError(`${host.label}: the agent did not start serving (see ${root}/agent.log):\n${log.stdout.trim()}`);
}

async function readToken(host: RemoteHost, root: string): Promise<string> {
  const token = (await host.readFile(`${root}/token`)).toString('utf8').trim();
  if (!token) throw new BootstrapError(`${host.label}: ${root}/token is empty`);
  return token;
}

async function mustRun(host: RemoteHost, argv: string[], what: string, onOutput?: (line: string) => void): Promise<void> {
  const r = await host.exec(argv, onOutput);
  if (r.code !== 0) {
    const detail = (r.stderr.trim() || r.stdout.trim()).split('\n').slice(-5).join('\n');
    throw new BootstrapError(`${host.label}: could not ${what} (exit ${r.code}): ${detail}`);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
