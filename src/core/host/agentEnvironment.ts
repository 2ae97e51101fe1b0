// Creates the Python environment that runs the agent, for an installed extension that has none:
// find a Python >= 3.10, make a virtual environment, pip-install the agent sources shipped in the extension.
import { spawn } from 'node:child_process';
import { cpSync, existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const MIN_PYTHON: readonly [number, number] = [3, 10];

export interface EnvironmentOptions {
  /** The folder holding pyproject.toml and the tunelab_agent package. */
  agentSource: string;
  /** Where the virtual environment goes; replaced when it is incomplete or for another agent version. */
  venvDir: string;
  /** Interpreters to try, in order; the first that is new enough makes the environment. */
  candidates?: string[];
  /** Every line pip and venv print, for an output channel. */
  onOutput?: (line: string) => void;
  /** Short step descriptions, for a progress notification. */
  onStep?: (step: string) => void;
}

export const venvPython = (venvDir: string) => join(venvDir, 'bin', 'python');
const stampFile = (venvDir: string) => join(venvDir, '.tunelab-agent-version');

/** The agent version in pyproject.toml, so an upgraded extension reinstalls its agent. */
export function agentSourceVersion(agentSource: string): string {
  const text = readFileSync(join(agentSource, 'pyproject.toml'), 'utf8');
  const m = /^version\s*=\s*"([^"]+)"/m.exec(text);
  if (!m) throw new Error(`${join(agentSource, 'pyproject.toml')}: no version = "..." line`);
  return m[1];
}

/** True when venvDir already holds this agent version, installed to completion. */
export function environmentReady(venvDir: string, agentSource: string): boolean {
  try {
    return existsSync(venvPython(venvDir)) && readFileSync(stampFile(venvDir), 'utf8').trim() === agentSourceVersion(agentSource);
  } catch {
    return false;
  }
}

/** Parses `Python 3.11.7` (what `python --version` prints). */
export function parsePythonVersion(text: string): [number, number, number] | undefined {
  const m = /Python (\d+)\.(\d+)(?:\.(\d+))?/.exec(text);
  return m ? [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)] : undefined;
}

export function newEnough(v: readonly number[]): boolean {
  return v[0] > MIN_PYTHON[0] || (v[0] === MIN_PYTHON[0] && v[1] >= MIN_PYTHON[1]);
}

/** The first candidate interpreter that runs and is >= 3.10; the error lists what each one was. */
export async function findBasePython(candidates = ['python3', 'python']): Promise<string> {
  const seen: string[] = [];
  for (const python of candidates) {
    const r = await run(python, ['--version'], () => undefined).catch((e: Error) => ({ code: -1, output: e.message }));
    const version = r.code === 0 ? parsePythonVersion(r.output) : undefined;
    if (version && newEnough(version)) return python;
    seen.push(`${python}: ${version ? version.join('.') : r.output.trim().split('\n').pop() || `exit ${r.code}`}`);
  }
  throw new Error(`no Python ${MIN_PYTHON.join('.')} or newer found (${seen.join('; ')}). Install one, or set tunelab.pythonPath to a Python that has tunelab-agent installed.`);
}

/**
 * Makes venvDir hold a working agent and returns its interpreter. A half-made environment (an earlier
 * attempt cut short) is removed first: pip into a broken venv fails in ways nobody can act on.
 */
export async function createAgentEnvironment(opts: EnvironmentOptions): Promise<string> {
  const out = opts.onOutput ?? (() => undefined);
  const step = opts.onStep ?? (() => undefined);
  const version = agentSourceVersion(opts.agentSource);
  if (environmentReady(opts.venvDir, opts.agentSource)) return venvPython(opts.venvDir);

  step('looking for Python');
  const base = await findBasePython(opts.candidates);
  // Build beside the final folder and rename at the end, so a cancelled install never looks complete.
  const building = `${opts.venvDir}.partial`;
  rmSync(building, { recursive: true, force: true });
  step(`creating a virtual environment with ${base}`);
  await mustRun(base, ['-m', 'venv', building], out, 'creating the virtual environment');
  // pip builds a local project inside its folder; the extension's own folder is no place for build output.
  const source = `${building}-src`;
  cpSync(opts.agentSource, source, { recursive: true, dereference: true, filter: (p) => !/(^|\/)(\.venv|__pycache__|build|tests|[^/]*\.egg-info)$/.test(p) });
  step('installing tunelab-agent with torch, transformers, peft and websockets (this can take several minutes)');
  try {
    await mustRun(venvPython(building), ['-m', 'pip', 'install', '--disable-pip-version-check', source], out, 'pip install');
  } finally {
    rmSync(source, { recursive: true, force: true });
  }
  step('checking that torch, transformers, peft and the agent import');
  await mustRun(venvPython(building), ['-c', 'import torch, transformers, peft, websockets, tunelab_agent'], out, 'checking the installed agent');
  writeFileSync(stampFile(building), `${version}\n`);
  rmSync(opts.venvDir, { recursive: true, force: true });
  // venv scripts hard-code their folder; a moved venv keeps working through bin/python, which is all we use.
  renameSync(building, opts.venvDir);
  return venvPython(opts.venvDir);
}

async function mustRun(cmd: string, args: string[], out: (line: string) => void, what: string): Promise<void> {
  const r = await run(cmd, args, out);
  if (r.code !== 0) {
    const tail = r.output.trim().split('\n').slice(-5).join('\n');
    throw new Error(`${what} failed (exit ${r.code}): ${cmd} ${args.join(' ')}\n${tail}`);
  }
}

function run(cmd: string, args: string[], out: (line: string) => void): Promise<{ code: number; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    let partial = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      output = (output + text).slice(-64 * 1024);
      const lines = (partial + text).split(/\r?\n/);
      partial = lines.pop() ?? '';
      lines.forEach(out);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => {
      if (partial) out(partial);
      resolve({ code: code ?? -1, output });
    });
  });
}
