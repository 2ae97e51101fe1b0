// connectHost against a real OpenSSH sshd on loopback: each way of logging in, host key decisions (and that
// nothing is sent after a refusal), ProxyJump, and the messages for each way it can go wrong.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Server as SshServer, type Client } from 'ssh2';
import type { ConnectUi } from '../../src/core/remote/auth';
import { connectHost, SshConnectError, type ConnectOptions } from '../../src/core/remote/connection';
import { resolveHost } from '../../src/core/remote/sshConfig';
import { startSshAgent, startSshd, TEST_HOST_ALIAS, type Sshd } from '../support/sshd';

let sshd: Sshd;
let scratch: string;
/** Stands in for ~, so the machine's own ~/.ssh keys and known_hosts play no part. */
let home: string;
const open: Client[] = [];

before(async () => {
  sshd = await startSshd();
  scratch = mkdtempSync(join(tmpdir(), 'tunelab-connect-'));
  home = join(scratch, 'home');
});

after(async () => {
  for (const c of open) c.end();
  await sshd.stop();
  rmSync(scratch, { recursive: true, force: true });
});

/** No agent from the environment running the tests. */
const noAgent: ConnectOptions = { env: {} };

interface ScriptedUi extends ConnectUi {
  calls: string[];
}

/** Answers questions from a script; any question the test did not expect is recorded and refused. */
function scriptedUi(script: { passphrases?: string[]; passwords?: string[]; acceptHost?: boolean } = {}): ScriptedUi {
  const calls: string[] = [];
  const passphrases = [...(script.passphrases ?? [])];
  const passwords = [...(script.passwords ?? [])];
  return {
    calls,
    async passphrase(keyPath, info) {
      calls.push(`passphrase ${keyPath} attempt=${info.attempt} previousWasWrong=${info.previousWasWrong}`);
      return passphrases.shift();
    },
    async password(prompt, info) {
      calls.push(`password ${prompt} attempt=${info.attempt}`);
      return passwords.shift();
    },
    async confirmUnknownHost(host, fingerprint) {
      calls.push(`confirm ${host} ${fingerprint}`);
      return script.acceptHost ?? false;
    },
  };
}

let configs = 0;
/** A config file with one Host block for the test sshd (lines given after the Host line). */
function hostConfig(alias: string, lines: string[]): string {
  const path = join(scratch, `config-${++configs}`);
  writeFileSync(path, [`Host ${alias}`, ...lines.map((l) => `  ${l}`), ''].join('\n'));
  return path;
}

function sshdLines(knownHosts = sshd.knownHostsPath): string[] {
  return ['HostName 127.0.0.1', `Port ${sshd.port}`, `User ${sshd.user}`, `UserKnownHostsFile ${knownHosts}`];
}

function run(client: Client, command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    client.exec(command, (err, stream) => {
      if (err) return reject(err);
      let out = '';
      stream.on('data', (d: Buffer) => { out += d.toString(); });
      stream.stderr.resume();
      stream.on('close', () => resolve(out));
    });
  });
}

async function connected(client: Client): Promise<Client> {
  open.push(client);
  return client;
}

function logSince(offset: number): string {
  return readFileSync(sshd.logPath, 'utf8').slice(offset);
}

function logSize(): number {
  return readFileSync(sshd.logPath, 'utf8').length;
}

async function until(check: () => boolean, timeoutMs = 5_000): Promise<boolean> {
  for (const deadline = Date.now() + timeoutMs; !check() && Date.now() < deadline; ) await new Promise((r) => setTimeout(r, 25));
  return check();
}

function fingerprintOf(pubLine: string): string {
  const file = join(scratch, `fp-${Date.now()}.pub`);
  writeFileSync(file, `${pubLine}\n`);
  return spawnSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', file], { encoding: 'utf8' }).stdout.split(' ')[1];
}

async function rejection(promise: Promise<unknown>): Promise<SshConnectError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof SshConnectError, `expected an SshConnectError, got ${err}`);
    return err;
  }
  assert.fail('the connection succeeded but should have failed');
}

test('logs in with the IdentityFile of a generated ssh config', async () => {
  const target = resolveHost(TEST_HOST_ALIAS, sshd.sshConfigPath, { homeDir: home });
  const ui = scriptedUi();
  const steps: string[] = [];
  const before = logSize();
  const client = await connected(await connectHost(target, ui, { ...noAgent, onStep: (l) => steps.push(l) }));
  assert.equal((await run(client, 'echo logged-in-as-$USER')).trim(), `logged-in-as-${sshd.user}`);
  assert.deepEqual(ui.calls, []);
  assert.ok(steps.includes(`${TEST_HOST_ALIAS}: trying key ${sshd.clientKeyPath}`), steps.join('\n'));
  assert.match(logSince(before), /Accepted publickey for \S+ from 127\.0\.0\.1/);
  client.end();
});

test('logs in through a running ssh-agent when no IdentityFile is set', async () => {
  const agent = await startSshAgent();
  try {
    agent.add(sshd.clientKeyPath);
    const target = resolveHost('by-agent', hostConfig('by-agent', sshdLines()), { homeDir: home });
    assert.deepEqual(target.identityFiles, [], 'the agent must be the only way in');
    const client = await connected(await connectHost(target, scriptedUi(), { env: { SSH_AUTH_SOCK: agent.sock } }));
    assert.equal((await run(client, 'echo via-agent')).trim(), 'via-agent');
    client.end();

    // Without the agent the same host cannot be entered, and the message says what was tried.
    const err = await rejection(connectHost(target, scriptedUi(), noAgent));
    assert.equal(err.kind, 'auth');
    assert.match(err.message, /Could not log in to \S+@127\.0\.0\.1:\d+ \(from .*config-\d+ line 1, Host by-agent\)/);
    assert.match(err.message, /The server accepts: publickey/);
  } finally {
    await agent.stop();
  }
});

test('an unknown host key is shown with its SHA256 fingerprint, and once accepted is added to known_hosts', async () => {
  const knownHosts = join(scratch, 'fresh', 'known_hosts');
  const target = resolveHost('fresh', hostConfig('fresh', [...sshdLines(knownHosts), `IdentityFile ${sshd.clientKeyPath}`]), { homeDir: home });
  const ui = scriptedUi({ acceptHost: true });
  const client = await connected(await connectHost(target, ui, noAgent));
  assert.deepEqual(ui.calls, [`confirm [127.0.0.1]:${sshd.port} ${fingerprintOf(sshd.hostKeyPub)}`]);
  assert.equal(readFileSync(knownHosts, 'utf8'), `[127.0.0.1]:${sshd.port} ${sshd.hostKeyPub}\n`);
  client.end();

  // Known now: no question the second time.
  const again = scriptedUi();
  (await connected(await connectHost(target, again, noAgent))).end();
  assert.deepEqual(again.calls, []);
});

test('an unknown host key that is declined ends the connection before logging in, and is not remembered', async () => {
  const knownHosts = join(scratch, 'declined_known_hosts');
  const target = resolveHost('declined', hostConfig('declined', [...sshdLines(knownHosts), `IdentityFile ${sshd.clientKeyPath}`]), { homeDir: home });
  const steps: string[] = [];
  const err = await rejection(connectHost(target, scriptedUi({ acceptHost: false }), { ...noAgent, onStep: (l) => steps.push(l) }));
  assert.equal(err.kind, 'cancelled');
  assert.match(err.message, /host key of \[127\.0\.0\.1\]:\d+ \(ssh-ed25519 SHA256:\S+\) was not accepted/);
  assert.equal(existsSync(knownHosts), false);
  assert.ok(!steps.some((s) => /trying/.test(s)), steps.join('\n'));
});

/** Waits until sshd has logged the end of the connection that started after `offset`, and returns its lines. */
async function finishedConnectionLog(offset: number): Promise<string> {
  assert.ok(await until(() => /Connection from 127\.0\.0\.1[\s\S]*(disconnect|Connection closed|Connection reset)/i.test(logSince(offset))), logSince(offset));
  return logSince(offset);
}

test('a changed host key is refused with OpenSSH\'s warning, and no login is attempted', async () => {
  const knownHosts = join(scratch, 'changed_known_hosts');
  // Another ed25519 key on file for this host and port: what a reinstalled (or impersonated) host looks like.
  writeFileSync(knownHosts, `# an earlier key\n[127.0.0.1]:${sshd.port} ${sshd.clientKeyPub}\n`);
  const target = resolveHost('changed', hostConfig('changed', [...sshdLines(knownHosts), `IdentityFile ${sshd.clientKeyPath}`]), { homeDir: home });
  const ui = scriptedUi({ acceptHost: true });
  const steps: string[] = [];
  const offset = logSize();
  const err = await rejection(connectHost(target, ui, { ...noAgent, onStep: (l) => steps.push(l) }));
  assert.equal(err.kind, 'host-key');
  assert.match(err.message, /REMOTE HOST IDENTIFICATION HAS CHANGED for \[127\.0\.0\.1\]:\d+/);
  assert.ok(err.message.includes(fingerprintOf(sshd.hostKeyPub)), err.message);
  assert.ok(err.message.includes(`${knownHosts}:2`), err.message);
  assert.match(err.message, /ssh-keygen -f \S+ -R '\[127\.0\.0\.1\]:\d+'/);
  // Nothing was asked and no login method ran: the refusal came before the login began.
  assert.deepEqual(ui.calls, []);
  assert.deepEqual(steps.filter((s) => /trying|logged in/.test(s)), []);
  assert.ok(steps.some((s) => /host key refused; nothing was sent/.test(s)), steps.join('\n'));
  const log = await finishedConnectionLog(offset);
  assert.doesNotMatch(log, /publickey|userauth|Accepted|Failed|Postponed|authenticating user|Invalid user/i);
  assert.equal(readFileSync(knownHosts, 'utf8'), `# an earlier key\n[127.0.0.1]:${sshd.port} ${sshd.clientKeyPub}\n`);
});

test('a host key marked @revoked is refused, with no login attempted', async () => {
  const knownHosts = join(scratch, 'revoked_known_hosts');
  writeFileSync(knownHosts, `@revoked [127.0.0.1]:${sshd.port} ${sshd.hostKeyPub}\n[127.0.0.1]:${sshd.port} ${sshd.hostKeyPub}\n`);
  const target = resolveHost('revoked', hostConfig('revoked', [...sshdLines(knownHosts), `IdentityFile ${sshd.clientKeyPath}`]), { homeDir: home });
  const offset = logSize();
  const ui = scriptedUi({ acceptHost: true });
  const err = await rejection(connectHost(target, ui, noAgent));
  assert.equal(err.kind, 'host-key');
  assert.match(err.message, /is marked as revoked\s+in \S+revoked_known_hosts:1/);
  assert.deepEqual(ui.calls, []);
  assert.doesNotMatch(await finishedConnectionLog(offset), /publickey|userauth|Accepted|Failed|authenticating user/i);
});

test('a host that does not exist is named, with where it was configured', async () => {
  const config = hostConfig('ghost', ['HostName no-such-host.invalid', `User ${sshd.user}`]);
  const err = await rejection(connectHost(resolveHost('ghost', config, { homeDir: home }), scriptedUi(), noAgent));
  assert.equal(err.kind, 'not-found');
  assert.equal(err.message, `Host no-such-host.invalid not found (from ${config} line 1, Host ghost): the name does not resolve.`);
});

/** A loopback port with nothing behind it. */
function unusedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

test('a wrong port says nothing listens there', async () => {
  const port = await unusedPort();
  const config = hostConfig('wrong-port', ['HostName 127.0.0.1', `Port ${port}`, `User ${sshd.user}`]);
  const err = await rejection(connectHost(resolveHost('wrong-port', config, { homeDir: home }), scriptedUi(), noAgent));
  assert.equal(err.kind, 'refused');
  assert.equal(err.message, `Nothing listens on 127.0.0.1:${port} (from ${config} line 1, Host wrong-port): the connection was refused. Is sshd running, and is the port right?`);
  assert.equal(err.retryable, true);
});

test('a host that accepts TCP but never speaks SSH times out with the phase named', async () => {
  const silent: Server = createServer(() => undefined);
  await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
  try {
    const port = (silent.address() as { port: number }).port;
    const config = hostConfig('silent', ['HostName 127.0.0.1', `Port ${port}`, `User ${sshd.user}`]);
    const started = Date.now();
    const err = await rejection(connectHost(resolveHost('silent', config, { homeDir: home }), scriptedUi(), { ...noAgent, readyTimeoutMs: 400 }));
    assert.equal(err.kind, 'timeout');
    assert.match(err.message, /^Timed out after 0 s waiting for the SSH handshake \(\S+@127\.0\.0\.1:\d+ \(from .* Host silent\)\)\.$/);
    assert.ok(Date.now() - started < 3_000);
  } finally {
    silent.close();
  }
});

test('a key the server does not accept fails with a list of what was tried', async () => {
  const refusedKey = sshd.unauthorizedClientKey();
  const target = resolveHost('refused-key', hostConfig('refused-key', [...sshdLines(), `IdentityFile ${refusedKey}`, `IdentityFile ${join(scratch, 'missing_key')}`]), { homeDir: home });
  const offset = logSize();
  const err = await rejection(connectHost(target, scriptedUi(), noAgent));
  assert.equal(err.kind, 'auth');
  assert.equal(err.retryable, false);
  assert.ok(err.message.includes(`key ${refusedKey} (refused by the server)`), err.message);
  assert.ok(err.message.includes(`key ${join(scratch, 'missing_key')} (cannot read it: ENOENT)`), err.message);
  assert.match(err.message, /The server accepts: publickey\.$/);
  assert.doesNotMatch(logSince(offset), /Accepted publickey/);
});

test('an encrypted key: a wrong passphrase is asked again, and the right one logs in', async () => {
  const key = sshd.encryptedClientKey('right horse battery');
  const target = resolveHost('encrypted', hostConfig('encrypted', [...sshdLines(), `IdentityFile ${key}`]), { homeDir: home });
  const worked: string[] = [];
  const ui = scriptedUi({ passphrases: ['wrong', 'right horse battery'] });
  ui.secretWorked = (s) => worked.push(`${s.kind} ${'keyPath' in s ? s.keyPath : ''}`);
  const client = await connected(await connectHost(target, ui, noAgent));
  assert.equal((await run(client, 'echo unlocked')).trim(), 'unlocked');
  assert.deepEqual(ui.calls, [`passphrase ${key} attempt=1 previousWasWrong=false`, `passphrase ${key} attempt=2 previousWasWrong=true`]);
  assert.deepEqual(worked, [`passphrase ${key}`]);
  client.end();
});

test('an encrypted key with a wrong passphrase twice fails naming the key file', async () => {
  const key = sshd.encryptedClientKey('the real one');
  const target = resolveHost('bad-pass', hostConfig('bad-pass', [...sshdLines(), `IdentityFile ${key}`]), { homeDir: home });
  const ui = scriptedUi({ passphrases: ['nope', 'still nope'] });
  const err = await rejection(connectHost(target, ui, noAgent));
  assert.equal(err.kind, 'auth');
  assert.ok(err.message.includes(`key ${key} (wrong passphrase, asked 2 times)`), err.message);
  assert.equal(ui.calls.length, 2);

  // Cancelling the question stops the login instead of trying on.
  const cancelled = await rejection(connectHost(target, scriptedUi({ passphrases: [] }), noAgent));
  assert.equal(cancelled.kind, 'cancelled');
  assert.ok(cancelled.message.includes(`passphrase question for ${key} was cancelled`), cancelled.message);
});

test('ProxyJump: reaches the host through a jump host (the same sshd, hop 1 → 127.0.0.1:port)', async () => {
  const config = join(scratch, 'jump-config');
  const common = [...sshdLines(), `IdentityFile ${sshd.clientKeyPath}`].map((l) => `  ${l}`);
  writeFileSync(config, ['Host hop', ...common, 'Host behind-hop', ...common, '  ProxyJump hop', 'Host behind-closed', '  HostName 127.0.0.1', `  Port ${await unusedPort()}`, '  ProxyJump hop', ''].join('\n'));
  const target = resolveHost('behind-hop', config, { homeDir: home });
  assert.deepEqual(target.jumpHosts.map((h) => h.alias), ['hop']);
  const steps: string[] = [];
  const offset = logSize();
  const client = await connected(await connectHost(target, scriptedUi(), { ...noAgent, onStep: (l) => steps.push(l) }));
  assert.equal((await run(client, 'echo through-the-hop')).trim(), 'through-the-hop');
  // Two sessions with sshd: the jump host's, and the target's carried inside it.
  assert.equal((logSince(offset).match(/Accepted publickey/g) ?? []).length, 2);
  assert.equal(sshd.connectionPids().length, 2);
  assert.ok(steps.includes(`hop: opened a tunnel to 127.0.0.1:${sshd.port}`), steps.join('\n'));
  assert.ok(steps.includes(`behind-hop: connected to 127.0.0.1:${sshd.port} through hop`), steps.join('\n'));
  // Ending the target ends the hop as well.
  client.end();
  assert.ok(await until(() => sshd.connectionPids().length === 0), 'the jump connection was left open');

  const err = await rejection(connectHost(resolveHost('behind-closed', config, { homeDir: home }), scriptedUi(), noAgent));
  assert.equal(err.kind, 'proxy');
  assert.match(err.message, /^Jump host hop could not open a connection to 127\.0\.0\.1:\d+ \(from \S+ line \d+, Host behind-closed\): Connection refused\.$/);
  assert.ok(await until(() => sshd.connectionPids().length === 0), 'a failed jump left its hop connected');
});

test('password login is asked for when the server accepts only passwords, and retried after a wrong one', async () => {
  // The loopback sshd has passwords off (no PAM, no system password), so ssh2's own server stands in here,
  // presenting the sshd's host key so known_hosts applies as usual.
  const server = new SshServer({ hostKeys: [readFileSync(sshd.hostKeyPath)] }, (conn) => {
    conn.on('error', () => undefined);
    conn.on('authentication', (ctx) => {
      if (ctx.method === 'password' && ctx.password === 'open sesame') return ctx.accept();
      ctx.reject(['password']);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  try {
    const port = (server.address() as { port: number }).port;
    const knownHosts = join(scratch, 'password_known_hosts');
    writeFileSync(knownHosts, `[127.0.0.1]:${port} ${sshd.hostKeyPub}\n`);
    const target = resolveHost('by-password', hostConfig('by-password', ['HostName 127.0.0.1', `Port ${port}`, 'User alice', `UserKnownHostsFile ${knownHosts}`]), { homeDir: home });
    const ui = scriptedUi({ passwords: ['wrong', 'open sesame'] });
    const worked: string[] = [];
    ui.secretWorked = (s) => worked.push(s.kind);
    const client = await connectHost(target, ui, noAgent);
    client.end();
    assert.deepEqual(ui.calls, [`password Password for alice@127.0.0.1:${port} attempt=1`, `password Password for alice@127.0.0.1:${port} attempt=2`]);
    assert.deepEqual(worked, ['password']);

    // Three wrong answers (OpenSSH's NumberOfPasswordPrompts) end the login with a count, not a fourth question.
    const wrong = scriptedUi({ passwords: ['a', 'b', 'c', 'd'] });
    const err = await rejection(connectHost(target, wrong, noAgent));
    assert.equal(err.kind, 'auth');
    assert.equal(wrong.calls.length, 3);
    assert.match(err.message, /Tried: password \(3 attempts, refused\)\. The server accepts: password\.$/);
  } finally {
    server.close();
  }
});
