// Makes a fresh clone ready: npm dependencies and the agent's virtual environment.
// Idempotent and quick when nothing changed (stamps hold the hash of what was installed).
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { agentPython, venvDir } from './paths.mjs';

const root = new URL('..', import.meta.url).pathname;

function hashOf(...files) {
  const h = createHash('sha256');
  for (const f of files) h.update(existsSync(f) ? readFileSync(f) : '');
  return h.digest('hex');
}

function step(title, cmd, args, env = {}) {
  console.log(`setup: ${title}`);
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit', env: { ...process.env, ...env } });
  if (r.status !== 0) {
    console.error(`setup: "${cmd} ${args.join(' ')}" failed (exit ${r.status ?? r.signal}).`);
    process.exit(1);
  }
}

// The end-to-end test drives a real VS Code (code-server) with Debian's Chromium; code-server's own install
// needs ripgrep and the Kerberos headers. The SSH tests run a real OpenSSH sshd, ssh-agent and scp on
// loopback. The packaging test lists the .vsix with unzip. Only `npm test` asks for these (--for-tests).
if (process.argv.includes('--for-tests')) {
  const missing = [];
  if (!existsSync('/usr/bin/chromium')) missing.push('chromium');
  if (spawnSync('sh', ['-c', 'command -v rg']).status !== 0) missing.push('ripgrep');
  if (spawnSync('dpkg', ['-s', 'libkrb5-dev'], { stdio: 'ignore' }).status !== 0) missing.push('libkrb5-dev');
  if (!existsSync('/usr/sbin/sshd') || !existsSync('/usr/lib/openssh/sftp-server')) missing.push('openssh-server');
  if (!existsSync('/usr/bin/scp') || !existsSync('/usr/bin/ssh-agent') || !existsSync('/usr/bin/ssh-keygen')) missing.push('openssh-client');
  if (spawnSync('sh', ['-c', 'command -v unzip']).status !== 0) missing.push('unzip');
  if (missing.length) {
    if (process.getuid?.() !== 0 || spawnSync('sh', ['-c', 'command -v apt-get']).status !== 0) {
      console.error(`setup: the tests need these Debian packages: ${missing.join(' ')}. Install them (sudo apt-get install ${missing.join(' ')}) and run again.`);
      process.exit(1);
    }
    step('updating the Debian package lists', 'apt-get', ['update', '-qq']);
    step(`installing Debian packages: ${missing.join(' ')}`, 'apt-get', ['install', '-y', '-qq', ...missing], { DEBIAN_FRONTEND: 'noninteractive' });
  }
  // sshd will not start without its privilege-separation folder, which systemd would otherwise create.
  if (process.getuid?.() === 0 && !existsSync('/run/sshd')) mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
}

const npmStamp = join(root, 'node_modules', '.tunelab-setup');
const npmHash = hashOf(join(root, 'package.json'), join(root, 'package-lock.json'));
if (!existsSync(npmStamp) || readFileSync(npmStamp, 'utf8') !== npmHash) {
  step('installing npm dependencies', 'npm', [existsSync(join(root, 'package-lock.json')) ? 'ci' : 'install', '--no-audit', '--no-fund']);
  writeFileSync(npmStamp, npmHash);
}

const venv = venvDir(root);
const pyStamp = join(venv, '.tunelab-setup');
const pyHash = hashOf(join(root, 'python-agent', 'pyproject.toml'));
if (!existsSync(pyStamp) || readFileSync(pyStamp, 'utf8') !== pyHash) {
  const python = process.env.PYTHON ?? 'python3';
  if (!existsSync(agentPython(root))) step(`creating the agent's virtual environment (${venv})`, python, ['-m', 'venv', venv]);
  // PIP_RETRIES=0: pip otherwise backs off for minutes on an index it cannot reach before using the local one.
  step('installing the agent and its dependencies (torch, transformers, peft, websockets, ...)', agentPython(root),
    ['-m', 'pip', 'install', '--disable-pip-version-check', '-e', `${join(root, 'python-agent')}[test]`], { PIP_RETRIES: '0' });
  writeFileSync(pyStamp, pyHash);
}
