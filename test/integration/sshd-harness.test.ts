// The sshd harness itself, checked with the real OpenSSH client: other SSH tests trust that its config,
// known_hosts and keys really work, that killConnections() really drops a session, and that stop()
// leaves nothing running.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { isAlive, startSshAgent, startSshd, TEST_HOST_ALIAS, type Sshd } from '../support/sshd';

const started: Sshd[] = [];
after(async () => {
  for (const s of started) await s.stop();
});

async function newSshd(): Promise<Sshd> {
  const s = await startSshd();
  started.push(s);
  return s;
}

function ssh(args: string[], env: NodeJS.ProcessEnv = {}) {
  return spawnSync('ssh', args, { encoding: 'utf8', timeout: 20_000, env: { ...process.env, ...env } });
}

/** ssh without the generated config's IdentityFile: only the agent (and ~/.ssh defaults, which sshd does not accept) can log in. */
function plainSshArgs(sshd: Sshd, command: string): string[] {
  return ['-F', '/dev/null', '-o', 'BatchMode=yes', '-o', `UserKnownHostsFile=${sshd.knownHostsPath}`, '-o', 'GlobalKnownHostsFile=/dev/null',
    '-p', String(sshd.port), `${sshd.user}@127.0.0.1`, command];
}

async function until(check: () => boolean, timeoutMs = 10_000): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; !check() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 25));
  return check();
}

function fingerprintOf(pubPath: string): string {
  return spawnSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubPath], { encoding: 'utf8' }).stdout.split(' ')[1];
}


test('the OpenSSH client logs in through the generated config and known_hosts', async () => {
  const sshd = await newSshd();
  const r = ssh(['-F', sshd.sshConfigPath, TEST_HOST_ALIAS, 'echo', 'hello-from-$USER']);
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout.trim(), `hello-from-${sshd.user}`);
  assert.match(readFileSync(sshd.logPath, 'utf8'), /Accepted publickey/);
});

test('the host key in known_hosts is the one sshd presents: another key for the same host is refused', async () => {
  const sshd = await newSshd();
  const other = await newSshd();
  assert.equal(readFileSync(sshd.knownHostsPath, 'utf8'), `[127.0.0.1]:${sshd.port} ${sshd.hostKeyPub}\n`);
  const wrong = join(sshd.dir, 'known_hosts_wrong');
  writeFileSync(wrong, `[127.0.0.1]:${sshd.port} ${other.hostKeyPub}\n`);
  const r = ssh(['-F', sshd.sshConfigPath, '-o', `UserKnownHostsFile=${wrong}`, TEST_HOST_ALIAS, 'true']);
  assert.equal(r.status, 255);
  assert.match(r.stderr, /REMOTE HOST IDENTIFICATION HAS CHANGED/);
});

test('opts.user logs in as another (non-root) user', { skip: process.getuid?.() !== 0 && 'needs root to run sshd for another user' }, async () => {
  const s = await startSshd({ user: 'nobody' });
  started.push(s);
  assert.match(readFileSync(s.sshConfigPath, 'utf8'), /^\s+User nobody$/m);
  // nobody's shell is nologin, so the command itself fails (exit 1, not ssh's 255), but the login happened.
  const r = ssh(['-F', s.sshConfigPath, TEST_HOST_ALIAS, 'true']);
  assert.equal(r.status, 1, r.stderr);
  assert.match(readFileSync(s.logPath, 'utf8'), /Accepted publickey for nobody from 127\.0\.0\.1/);
});

test('scp and sftp work (the sftp subsystem is configured)', async () => {
  const sshd = await newSshd();
  const dest = `${sshd.dir}/copied`;
  const r = spawnSync('scp', ['-F', sshd.sshConfigPath, '-q', sshd.knownHostsPath, `${TEST_HOST_ALIAS}:${dest}`], { encoding: 'utf8', timeout: 20_000 });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(readFileSync(dest, 'utf8'), readFileSync(sshd.knownHostsPath, 'utf8'));
});

test('an encrypted key is accepted with its passphrase; an unauthorized key is refused', async () => {
  const sshd = await newSshd();
  const encrypted = sshd.encryptedClientKey('correct horse');
  assert.match(readFileSync(encrypted, 'utf8'), /BEGIN OPENSSH PRIVATE KEY/);
  // ssh-keygen -y needs the passphrase for an encrypted key: proves it is encrypted with this one.
  assert.notEqual(spawnSync('ssh-keygen', ['-y', '-P', 'wrong', '-f', encrypted]).status, 0);
  assert.equal(spawnSync('ssh-keygen', ['-y', '-P', 'correct horse', '-f', encrypted]).status, 0);
  // sshd accepts it: log in with a decrypted copy (BatchMode cannot type a passphrase).
  const decrypted = join(sshd.dir, 'decrypted_copy');
  copyFileSync(encrypted, decrypted);
  assert.equal(spawnSync('ssh-keygen', ['-q', '-p', '-P', 'correct horse', '-N', '', '-f', decrypted]).status, 0);
  const accepted = ssh(['-F', sshd.sshConfigPath, '-o', `IdentityFile=${decrypted}`, '-o', 'IdentitiesOnly=yes', '-i', decrypted, TEST_HOST_ALIAS, 'true']);
  assert.equal(accepted.status, 0, accepted.stderr);
  assert.match(readFileSync(sshd.logPath, 'utf8'), new RegExp(`Accepted publickey .* ${fingerprintOf(`${encrypted}.pub`).replace(/[+/]/g, '.')}`));

  const agent = await startSshAgent();
  try {
    // The agent holds only an unauthorized key: the login must fail.
    agent.add(sshd.unauthorizedClientKey());
    const refused = ssh(plainSshArgs(sshd, 'true'), { SSH_AUTH_SOCK: agent.sock });
    assert.equal(refused.status, 255, refused.stderr);
    assert.match(refused.stderr, /Permission denied/);
  } finally {
    await agent.stop();
  }
});

test('ssh-agent: a key added to the agent logs in without an IdentityFile; stop() ends the agent', async () => {
  const sshd = await newSshd();
  const agent = await startSshAgent();
  try {
    agent.add(sshd.clientKeyPath);
    const listed = spawnSync('ssh-add', ['-L'], { encoding: 'utf8', env: { ...process.env, SSH_AUTH_SOCK: agent.sock } });
    assert.equal(listed.stdout.trim().split(/\s+/).slice(0, 2).join(' '), sshd.clientKeyPub);
    const r = ssh(plainSshArgs(sshd, 'true'), { SSH_AUTH_SOCK: agent.sock });
    assert.equal(r.status, 0, r.stderr);
  } finally {
    await agent.stop();
  }
  assert.equal(isAlive(agent.pid), false);
  assert.equal(existsSync(agent.sock), false);
});

test('killConnections() ends a live session; stop() leaves no sshd process', async () => {
  const sshd = await newSshd();
  // `cat` keeps the session open until its stdin closes; the client's exit shows the drop. The detached
  // sleep stands for the agent server, which must outlive dropped connections.
  const client = spawn('ssh', ['-F', sshd.sshConfigPath, TEST_HOST_ALIAS, 'setsid sleep 60 </dev/null >/dev/null 2>&1 & echo detached=$!; cat'], { stdio: ['pipe', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((r) => client.once('exit', (code) => r(code)));
  let echoed = '';
  client.stdout.on('data', (d: Buffer) => { echoed += d.toString(); });
  client.stdin.write('ping\n');
  assert.ok(await until(() => echoed.includes('ping'), 15_000), 'the session never came up');
  const detached = Number(/detached=(\d+)/.exec(echoed)?.[1]);
  assert.ok(isAlive(detached));

  const connectionPids = sshd.connectionPids();
  assert.equal(connectionPids.length, 1);
  assert.equal(sshd.killConnections(), 1);
  const code = await Promise.race([exited, new Promise((r) => setTimeout(() => r('still running'), 10_000).unref())]);
  assert.equal(code, 255, 'the ssh client should see the connection drop');
  // The socket closes while the process is still exiting; it is gone a moment later.
  assert.ok(await until(() => sshd.connectionPids().length === 0), `still there: ${sshd.connectionPids()}`);
  assert.equal(sshd.killConnections(), 0);
  assert.ok(isAlive(detached), 'killConnections() killed a detached process started in the session');
  process.kill(detached, 'SIGKILL');

  // A second session, left open on purpose: stop() must end it too.
  const second = spawn('ssh', ['-F', sshd.sshConfigPath, TEST_HOST_ALIAS, 'cat'], { stdio: ['pipe', 'ignore', 'ignore'] });
  const secondExited = new Promise((r) => second.once('exit', r));
  await until(() => sshd.connectionPids().length > 0, 15_000);
  const open = sshd.connectionPids();
  assert.equal(open.length, 1);
  await sshd.stop();
  started.splice(started.indexOf(sshd), 1);
  assert.equal(isAlive(sshd.pid), false, 'the listening sshd is still running');
  for (const pid of [...connectionPids, ...open]) assert.equal(isAlive(pid), false, `per-connection sshd ${pid} is still running`);
  assert.equal(existsSync(sshd.dir), false);
  await secondExited;
  const stillListening = ssh(['-F', '/dev/null', '-o', 'BatchMode=yes', '-o', 'ConnectTimeout=5', '-p', String(sshd.port), '127.0.0.1', 'true']);
  assert.match(stillListening.stderr, /Connection refused/);
});
