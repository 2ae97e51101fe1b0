// Starts code-server (VS Code in a browser) on a free loopback port with throwaway profile folders.
import { spawn, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { waitFor } from './waitFor';

export interface CodeServer {
  url: string;
  process: ChildProcess;
  stop(): Promise<void>;
}

export interface CodeServerOptions {
  entry: string;
  userDataDir: string;
  extensionsDir: string;
  workspace: string;
  /** Written to both User and Machine settings: tunelab.* settings are machine-scoped, and code-server is a remote host. */
  settings: Record<string, unknown>;
  logFile: string;
  /** Folder for XDG config/data so code-server leaves the real home alone. */
  homeDir: string;
  /** Keep workspace trust on (default off, so the folder is trusted). */
  trust?: boolean;
  /** More environment for code-server, hence its extension host and the agent it starts. */
  env?: Record<string, string>;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

export async function startCodeServer(o: CodeServerOptions): Promise<CodeServer> {
  for (const scope of ['User', 'Machine']) {
    mkdirSync(join(o.userDataDir, scope), { recursive: true });
    writeFileSync(join(o.userDataDir, scope, 'settings.json'), JSON.stringify(o.settings, null, 2));
  }
  const port = await freePort();
  const log = openSync(o.logFile, 'a');
  const child = spawn(process.execPath, [
    o.entry, '--auth', 'none', '--bind-addr', `127.0.0.1:${port}`, '--disable-telemetry', '--disable-update-check',
    ...(o.trust ? [] : ['--disable-workspace-trust']), '--user-data-dir', o.userDataDir, '--extensions-dir', o.extensionsDir, o.workspace,
  ], {
    // Its own process group, so stop() also ends the extension host and other helpers it spawns.
    detached: true,
    stdio: ['ignore', log, log],
    env: { ...process.env, ...pipConfigEnv(), ...o.env, XDG_CONFIG_HOME: join(o.homeDir, 'config'), XDG_DATA_HOME: join(o.homeDir, 'data') },
  });
  closeSync(log);
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `exited with ${code ?? signal}`));
  const url = `http://127.0.0.1:${port}/`;
  await waitFor(`code-server to answer on ${url} (log: ${o.logFile})`, async () => {
    if (exited) throw new Error(`code-server ${exited}; see ${o.logFile}`);
    const res = await fetch(`${url}healthz`).catch(() => undefined);
    return res?.ok;
  }, { timeoutMs: 60_000 });
  return {
    url,
    process: child,
    stop: async () => {
      if (exited) return;
      try { process.kill(-child.pid!, 'SIGTERM'); } catch { return; }
      await waitFor('code-server to exit', () => exited !== undefined, { timeoutMs: 10_000 }).catch(() => {
        try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* already gone */ }
      });
    },
  };
}

/** code-server gets fresh XDG folders, which would hide the person's pip config (their package index) from Set Up Agent. */
function pipConfigEnv(): Record<string, string> {
  const file = join(process.env.XDG_CONFIG_HOME ?? join(homedir(), '.config'), 'pip', 'pip.conf');
  return !process.env.PIP_CONFIG_FILE && existsSync(file) ? { PIP_CONFIG_FILE: file } : {};
}
