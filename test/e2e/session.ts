// One VS Code session for an end-to-end test: code-server with our extension, a workspace, an agent
// root of its own, and Chromium on the workbench. close() leaves no process behind and keeps the logs.
import assert from 'node:assert/strict';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { defaultPython } from '../../src/core/host/localAgent';
import { stopEverything } from '../support/agentProcesses';
import { startCodeServer, type CodeServer } from './codeServer';
import { installExtension } from './extensionInstall';
import { codeServerDir, ensureCodeServer } from './installCodeServer';
import { repoRoot } from '../support/repoRoot';
import { waitForWorkbench } from './workbench';

export const repo = repoRoot();
export const results = join(repo, 'test-results');
export const python = defaultPython(repo);
const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export interface Session {
  page: Page;
  agentRoot: string;
  workspace: string;
  close(): Promise<void>;
}

export interface SessionOptions {
  /** Prefix of the log files kept in test-results/. */
  name: string;
  /** false: workspace trust is on and the folder is opened in restricted mode. */
  trusted: boolean;
  prepareWorkspace(dir: string): void;
  /** false: no tunelab.pythonPath, as after installing the .vsix (the agent's environment is then set up in VS Code). */
  pythonPathSet?: boolean;
  /** More user settings, e.g. the ssh config and hosts of a remote-host test. */
  settings?: Record<string, unknown>;
  /**
   * Seconds each training step lasts at least (TUNELAB_STEP_PACE_S, python-agent/tunelab_agent/faults.py), for a
   * session whose long run trains while the tests look at it: the tiny model would otherwise spin a core for
   * minutes, which a run on a GPU host does not, and starve the suites running beside this one.
   */
  stepPaceS?: number;
}

export async function openSession(o: SessionOptions): Promise<Session> {
  assert.ok(existsSync(python), `${python} is missing: run "node scripts/setup.mjs" first`);
  mkdirSync(results, { recursive: true });
  // Train logs are named by run id; drop the previous session's so the folder shows this one only.
  for (const f of readdirSync(results)) if (f.startsWith(`${o.name}-train-`)) rmSync(join(results, f));
  const entry = await ensureCodeServer(codeServerDir());
  const base = mkdtempSync(join(tmpdir(), `tunelab-${o.name}-`));
  const agentRoot = join(base, 'agent-root');
  const workspace = join(base, 'workspace');
  let server: CodeServer | undefined;
  let browser: Browser | undefined;
  const close = async () => {
    copyExtensionLog(join(base, 'user-data'), join(results, `${o.name}-tunelab-output.log`));
    copyAgentLogs(agentRoot, o.name);
    await browser?.close().catch(() => undefined);
    await server?.stop();
    await stopEverything(agentRoot);
    rmSync(base, { recursive: true, force: true });
  };
  try {
    mkdirSync(workspace, { recursive: true });
    o.prepareWorkspace(workspace);
    installExtension(repo, join(base, 'extensions'));
    server = await startCodeServer({
      entry,
      trust: !o.trusted,
      userDataDir: join(base, 'user-data'),
      extensionsDir: join(base, 'extensions'),
      workspace,
      homeDir: join(base, 'home'),
      logFile: join(results, `${o.name}-code-server.log`),
      env: o.stepPaceS ? { TUNELAB_STEP_PACE_S: String(o.stepPaceS) } : {},
      settings: {
        'tunelab.agentRoot': agentRoot,
        ...(o.pythonPathSet === false ? {} : { 'tunelab.pythonPath': python }),
        'workbench.startupEditor': 'none',
        // A dark theme makes the screenshot show that the chart takes its colours from the theme.
        'workbench.colorTheme': 'Default Dark Modern',
        'workbench.tips.enabled': false,
        'telemetry.telemetryLevel': 'off',
        'extensions.autoUpdate': false,
        'extensions.autoCheckUpdates': false,
        'update.mode': 'none',
        // Restricted mode without the modal question, as if the person had answered "No".
        'security.workspace.trust.startupPrompt': 'never',
        'security.workspace.trust.untrustedFiles': 'open',
        ...o.settings,
      },
    });
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
    const page = await browser.newPage({ viewport: { width: 1400, height: 860 } });
    await page.goto(server.url);
    await waitForWorkbench(page, readdirSync(workspace).some((f) => f.endsWith('.tunelab.yaml')));
    return { page, agentRoot, workspace, close };
  } catch (e) {
    await close();
    throw e;
  }
}

function copyExtensionLog(userData: string, to: string): void {
  const walk = (dir: string): string[] => readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? walk(p) : [p];
  });
  const all = existsSync(join(userData, 'logs')) ? walk(join(userData, 'logs')) : [];
  const logs = all.filter((p) => p.endsWith('Tunelab.log'));
  if (logs.length) cpSync(logs[logs.length - 1], to);
  // The extension host's own log: an extension that fails to activate, or a command that throws, says so there.
  const host = all.filter((p) => p.endsWith('exthost.log'));
  if (host.length) cpSync(host[host.length - 1], to.replace(/tunelab-output\.log$/, 'exthost.log'));
}

function copyAgentLogs(root: string, name: string): void {
  if (existsSync(join(root, 'agent.stderr.log'))) cpSync(join(root, 'agent.stderr.log'), join(results, `${name}-agent.log`));
  const runs = join(root, 'runs');
  for (const run of existsSync(runs) ? readdirSync(runs) : []) {
    if (existsSync(join(runs, run, 'train.log'))) cpSync(join(runs, run, 'train.log'), join(results, `${name}-train-${run}.log`));
  }
}
