// Installs code-server (a real VS Code served to a browser) into a git-ignored tools folder, once.
// @vscode/test-electron needs a download host this machine cannot reach; code-server comes from npm.
// See /work/shared/notes/real-vscode.md for why each step is needed.
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';

export const CODE_SERVER_VERSION = '4.100.3';
// The ripgrep build that @vscode/ripgrep 1.15.11 (bundled by code-server 4.100.3) asks for.
const RIPGREP_CACHE = join(tmpdir(), 'vscode-ripgrep-cache-1.15.11', 'ripgrep-v13.0.0-10-x86_64-unknown-linux-musl.tar.gz');

export function codeServerEntry(toolsDir: string): string {
  return join(toolsDir, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
}

/**
 * Where code-server is installed: a per-user cache shared by every clone of this repository (CI tests a fresh clone
 * each time; reinstalling code-server took it minutes of npm and native builds). TUNELAB_CODE_SERVER_DIR overrides it.
 */
export function codeServerDir(): string {
  const cache = process.env.XDG_CACHE_HOME || join(homedir(), '.cache');
  return process.env.TUNELAB_CODE_SERVER_DIR || join(cache, 'tunelab', `code-server-${CODE_SERVER_VERSION}`);
}

const stampOf = (toolsDir: string) => join(toolsDir, `.installed-${CODE_SERVER_VERSION}`);
// Made by the post-install's last step; without it the workbench cannot load (a skipped install script).
const asarOf = (toolsDir: string) => join(toolsDir, 'node_modules', 'code-server', 'lib', 'vscode', 'node_modules.asar');

const log = (msg: string) => process.stderr.write(`[code-server install] ${msg}\n`);

// @vscode/ripgrep downloads from GitHub unless it finds this archive; feed it the Debian rg instead.
function seedRipgrepCache(): void {
  if (existsSync(RIPGREP_CACHE)) return;
  const which = spawnSync('which', ['rg'], { encoding: 'utf8' });
  const rg = which.stdout.trim();
  if (which.status !== 0 || !rg) throw new Error('ripgrep is not installed; run: apt-get install -y ripgrep libkrb5-dev');
  const staging = mkdtempSync(join(tmpdir(), 'rg-stage-'));
  try {
    copyFileSync(rg, join(staging, 'rg'));
    mkdirSync(join(RIPGREP_CACHE, '..'), { recursive: true });
    const tar = spawnSync('tar', ['-czf', RIPGREP_CACHE, '-C', staging, 'rg'], { encoding: 'utf8' });
    if (tar.status !== 0) throw new Error(`could not build the ripgrep cache archive: ${tar.stderr}`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  log(`seeded ${RIPGREP_CACHE} from ${rg}`);
}

function npmInstall(toolsDir: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['install', '--no-audit', '--no-fund', '--loglevel=http', `code-server@${CODE_SERVER_VERSION}`], {
      cwd: toolsDir,
      env: {
        ...process.env,
        // yes: node-pty's post-install runs `npx node-gyp`; unsafe_perm: code-server's post-install refuses to run as root otherwise.
        npm_config_yes: 'true',
        npm_config_unsafe_perm: 'true',
        // npm >= 11.16 skips dependency install scripts unless allowed; code-server is nothing without its post-install
        // (it runs a nested `npm install` in lib/vscode, which inherits this through the environment). Older npm ignores it.
        npm_config_dangerously_allow_all_scripts: 'true',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let tail = '';
    const onData = (chunk: Buffer) => {
      const text = chunk.toString();
      tail = (tail + text).slice(-4000);
      for (const line of text.split('\n')) if (line.trim()) log(line.trimEnd());
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('close', (code) => code === 0 ? resolve() : reject(new Error(`npm install code-server@${CODE_SERVER_VERSION} failed (exit ${code}):\n${tail}`)));
  });
}

/** Returns the path of code-server's entry script, installing it first when needed. Safe to call every run. */
export async function ensureCodeServer(toolsDir: string): Promise<string> {
  const entry = codeServerEntry(toolsDir);
  if (existsSync(stampOf(toolsDir)) && existsSync(entry) && existsSync(asarOf(toolsDir))) return entry;
  const started = Date.now();
  log(`installing code-server@${CODE_SERVER_VERSION} into ${toolsDir} (several minutes; cached afterwards)`);
  // A half-finished earlier attempt leaves node_modules in an unknown state; start clean.
  rmSync(join(toolsDir, 'node_modules'), { recursive: true, force: true });
  rmSync(stampOf(toolsDir), { force: true });
  mkdirSync(toolsDir, { recursive: true });
  // Without its own package.json npm would walk up and install into the project's node_modules.
  writeFileSync(join(toolsDir, 'package.json'), JSON.stringify({ name: 'tunelab-tools-code-server', private: true }, null, 2));
  seedRipgrepCache();
  await npmInstall(toolsDir);
  if (!existsSync(entry)) throw new Error(`code-server installed but ${entry} is missing`);
  if (!existsSync(asarOf(toolsDir))) throw new Error(`code-server's post-install did not run (no ${asarOf(toolsDir)}); see the npm output above`);
  writeFileSync(stampOf(toolsDir), new Date().toISOString());
  log(`installed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
  return entry;
}
