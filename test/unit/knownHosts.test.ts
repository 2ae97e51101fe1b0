// known_hosts lookups against files written and read by the real OpenSSH tools (ssh-keygen -H/-R/-F/-l).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  addHostKey,
  changedKeyMessage,
  checkHostKey,
  fingerprint,
  knownHostsName,
  revokedKeyMessage,
} from '../../src/core/remote/knownHosts';

const dir = mkdtempSync(join(tmpdir(), 'tunelab-knownhosts-'));
after(() => rmSync(dir, { recursive: true, force: true }));

interface Key {
  pubPath: string;
  type: string;
  base64: string;
  blob: Buffer;
}

let keyCount = 0;
function newKey(type: 'ed25519' | 'ecdsa' | 'rsa'): Key {
  const path = join(dir, `key${++keyCount}`);
  const bits = type === 'rsa' ? ['-b', '2048'] : [];
  execFileSync('ssh-keygen', ['-q', '-t', type, ...bits, '-N', '', '-C', 'test', '-f', path]);
  const [keyType, base64] = readFileSync(`${path}.pub`, 'utf8').trim().split(' ');
  return { pubPath: `${path}.pub`, type: keyType, base64, blob: Buffer.from(base64, 'base64') };
}

let fileCount = 0;
function knownHostsFile(lines: string[]): string {
  const path = join(dir, `known_hosts${++fileCount}`);
  writeFileSync(path, lines.join('\n') + '\n');
  return path;
}

function sshKeygenFingerprint(pubPath: string): string {
  // "256 SHA256:xxxx comment (ED25519)"
  return execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', pubPath], { encoding: 'utf8' }).split(' ')[1];
}

const hostA = newKey('ed25519');
const hostB = newKey('ed25519');
const hostEcdsa = newKey('ecdsa');

test('fingerprints match ssh-keygen -l for ed25519, ecdsa and rsa keys', () => {
  for (const key of [hostA, hostEcdsa, newKey('rsa')]) {
    const ours = fingerprint(key.blob);
    assert.match(ours, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.equal(ours, sshKeygenFingerprint(key.pubPath));
  }
});

test('plain and [host]:port entries follow OpenSSH port rules', () => {
  const file = knownHostsFile([`example.org,10.0.0.5 ${hostA.type} ${hostA.base64}`, `[127.0.0.1]:2222 ${hostB.type} ${hostB.base64}`]);
  assert.equal(knownHostsName('Example.ORG', 22), 'example.org');
  assert.equal(knownHostsName('127.0.0.1', 2222), '[127.0.0.1]:2222');
  assert.equal(checkHostKey([file], 'example.org', 22, hostA.type, hostA.blob).status, 'known');
  assert.equal(checkHostKey([file], 'EXAMPLE.org', 22, hostA.type, hostA.blob).status, 'known', 'host names are case-insensitive');
  assert.equal(checkHostKey([file], '10.0.0.5', 22, hostA.type, hostA.blob).status, 'known');
  assert.equal(checkHostKey([file], '127.0.0.1', 2222, hostB.type, hostB.blob).status, 'known');
  // A plain entry does not vouch for another port, and a [host]:port entry not for port 22.
  const otherPort = checkHostKey([file], 'example.org', 2200, hostA.type, hostA.blob);
  assert.equal(otherPort.status, 'unknown');
  assert.equal(otherPort.status === 'unknown' && otherPort.fingerprint, fingerprint(hostA.blob));
  assert.equal(checkHostKey([file], '127.0.0.1', 22, hostB.type, hostB.blob).status, 'unknown');
});

test('entries hashed by ssh-keygen -H are found, for port 22 and [host]:port', () => {
  const file = knownHostsFile([`gpu.example.org ${hostA.type} ${hostA.base64}`, `[127.0.0.1]:2222 ${hostB.type} ${hostB.base64}`]);
  execFileSync('ssh-keygen', ['-q', '-H', '-f', file], { stdio: 'ignore' });
  const text = readFileSync(file, 'utf8');
  assert.doesNotMatch(text, /gpu\.example\.org|127\.0\.0\.1/, 'ssh-keygen -H replaced the names');
  assert.match(text, /^\|1\|/m);
  assert.equal(checkHostKey([file], 'gpu.example.org', 22, hostA.type, hostA.blob).status, 'known');
  assert.equal(checkHostKey([file], '127.0.0.1', 2222, hostB.type, hostB.blob).status, 'known');
  assert.equal(checkHostKey([file], 'other.example.org', 22, hostA.type, hostA.blob).status, 'unknown');
  const changed = checkHostKey([file], 'gpu.example.org', 22, hostB.type, hostB.blob);
  assert.equal(changed.status, 'changed');
});

test('a changed key of the same type is reported with file:line, and the advised ssh-keygen -R removes it', () => {
  const file = knownHostsFile(['# my hosts', '', `other.org ${hostB.type} ${hostB.base64}`, `[127.0.0.1]:2222 ${hostA.type} ${hostA.base64}`]);
  const check = checkHostKey([file], '127.0.0.1', 2222, hostB.type, hostB.blob);
  assert.equal(check.status, 'changed');
  if (check.status !== 'changed') return;
  assert.equal(check.file, file);
  assert.equal(check.line, 4);
  assert.equal(check.fingerprint, fingerprint(hostB.blob));
  assert.equal(check.knownFingerprint, fingerprint(hostA.blob));

  const message = changedKeyMessage('127.0.0.1', 2222, hostB.type, check);
  assert.match(message, /REMOTE HOST IDENTIFICATION HAS CHANGED for \[127\.0\.0\.1\]:2222/);
  assert.ok(message.includes(fingerprint(hostB.blob)), 'names the new fingerprint');
  assert.ok(message.includes(`${file}:4`), 'names the offending line');
  const advice = message.split('\n').find((l) => l.includes('ssh-keygen -f'))!.trim();
  assert.equal(advice, `ssh-keygen -f ${file} -R '[127.0.0.1]:2222'`);

  // Run the advice through a shell, as the user would paste it.
  execFileSync('sh', ['-c', `${advice} 2>/dev/null`]);
  assert.equal(checkHostKey([file], '127.0.0.1', 2222, hostB.type, hostB.blob).status, 'unknown');
  assert.equal(checkHostKey([file], 'other.org', 22, hostB.type, hostB.blob).status, 'known', 'other hosts kept');
});

test('a host known only with another key type is unknown for this type, listing the other key', () => {
  const file = knownHostsFile([`box.example.org ${hostEcdsa.type} ${hostEcdsa.base64}`]);
  const check = checkHostKey([file], 'box.example.org', 22, hostA.type, hostA.blob);
  assert.equal(check.status, 'unknown');
  if (check.status !== 'unknown') return;
  assert.deepEqual(check.otherKnownKeys, [{ keyType: hostEcdsa.type, fingerprint: fingerprint(hostEcdsa.blob), file, line: 1 }]);
});

test('several keys for one host: any matching line makes it known', () => {
  const file = knownHostsFile([
    `multi.org ${hostB.type} ${hostB.base64}`,
    `multi.org ${hostEcdsa.type} ${hostEcdsa.base64}`,
    `multi.org ${hostA.type} ${hostA.base64}`,
  ]);
  assert.equal(checkHostKey([file], 'multi.org', 22, hostA.type, hostA.blob).status, 'known');
  assert.equal(checkHostKey([file], 'multi.org', 22, hostEcdsa.type, hostEcdsa.blob).status, 'known');
});

test('@revoked refuses the key even when a plain line trusts it; @cert-authority does not vouch for plain keys', () => {
  const file = knownHostsFile([
    `rev.org ${hostA.type} ${hostA.base64}`,
    `@revoked * ${hostA.type} ${hostA.base64}`,
    `@cert-authority *.ca.org ${hostB.type} ${hostB.base64}`,
  ]);
  const revoked = checkHostKey([file], 'rev.org', 22, hostA.type, hostA.blob);
  assert.equal(revoked.status, 'revoked');
  if (revoked.status === 'revoked') {
    assert.equal(revoked.line, 2);
    assert.match(revokedKeyMessage('rev.org', 22, hostA.type, revoked), new RegExp(`revoked\\s+in ${file}:2`));
  }
  // The CA key presented as a plain host key is neither known nor a "changed" key.
  const ca = checkHostKey([file], 'x.ca.org', 22, hostB.type, hostB.blob);
  assert.equal(ca.status, 'unknown');
  assert.equal(ca.status === 'unknown' && ca.otherKnownKeys.length, 0);
});

test('wildcards and !negation in host patterns', () => {
  const file = knownHostsFile([`*.lab.org,!bad.lab.org,node?.gpu ${hostA.type} ${hostA.base64}`]);
  assert.equal(checkHostKey([file], 'a100.lab.org', 22, hostA.type, hostA.blob).status, 'known');
  assert.equal(checkHostKey([file], 'node7.gpu', 22, hostA.type, hostA.blob).status, 'known');
  assert.equal(checkHostKey([file], 'node17.gpu', 22, hostA.type, hostA.blob).status, 'unknown');
  assert.equal(checkHostKey([file], 'bad.lab.org', 22, hostA.type, hostA.blob).status, 'unknown');
  assert.equal(checkHostKey([file], 'lab.org', 22, hostA.type, hostA.blob).status, 'unknown');
});

test('malformed lines are skipped and reported as file:line; the good lines still count', () => {
  const file = knownHostsFile([
    '# comment',
    '   ',
    'only-two-fields ssh-ed25519',
    `badb64.org ssh-ed25519 not*base64`,
    `mismatch.org ssh-rsa ${hostA.base64}`,
    `@bogus good.org ${hostA.type} ${hostA.base64}`,
    `|1|c2FsdA==|aGFzaA== ${hostA.type} ${hostA.base64}`,
    `good.org ${hostA.type} ${hostA.base64}`,
  ]);
  const check = checkHostKey([file], 'good.org', 22, hostA.type, hostA.blob);
  assert.equal(check.status, 'known');
  assert.deepEqual(
    check.warnings.map((w) => w.split(': ')[0]),
    [3, 4, 5, 6, 7].map((n) => `${file}:${n}`),
  );
  assert.match(check.warnings[2], /ssh-rsa does not match the key \(ssh-ed25519\)/);
  assert.match(check.warnings[3], /unknown marker @bogus/);
});

test('several files are all consulted; a missing one is not an error', () => {
  const missing = join(dir, 'nope', 'known_hosts');
  const first = knownHostsFile([`one.org ${hostB.type} ${hostB.base64}`]);
  const second = knownHostsFile([`two.org ${hostA.type} ${hostA.base64}`]);
  const check = checkHostKey([missing, first, second], 'two.org', 22, hostA.type, hostA.blob);
  assert.equal(check.status, 'known');
  assert.deepEqual(check.warnings, []);
  // A key known in one file and a different one of the same type in another: the match wins.
  const conflicting = knownHostsFile([`two.org ${hostB.type} ${hostB.base64}`]);
  assert.equal(checkHostKey([conflicting, second], 'two.org', 22, hostA.type, hostA.blob).status, 'known');
});

test('addHostKey creates ~/.ssh 0700 and the file 0600, and OpenSSH finds the entries, hashed or not', () => {
  const file = join(dir, 'home', '.ssh', 'known_hosts');
  addHostKey(file, '127.0.0.1', 2222, hostA.type, hostA.blob);
  addHostKey(file, 'Gpu.Example.org', 22, hostB.type, hostB.blob, { hash: true });
  assert.equal(statSync(join(dir, 'home', '.ssh')).mode & 0o777, 0o700);
  assert.equal(statSync(file).mode & 0o777, 0o600);

  const lines = readFileSync(file, 'utf8').split('\n');
  assert.equal(lines.length, 3, 'two lines, each ending in a newline');
  assert.equal(lines[0], `[127.0.0.1]:2222 ${hostA.type} ${hostA.base64}`);
  assert.match(lines[1], /^\|1\|[A-Za-z0-9+/=]{28}\|[A-Za-z0-9+/=]{28} ssh-ed25519 /);

  for (const name of ['[127.0.0.1]:2222', 'gpu.example.org']) {
    const found = spawnSync('ssh-keygen', ['-F', name, '-f', file], { encoding: 'utf8' });
    assert.equal(found.status, 0, `ssh-keygen -F ${name} finds it: ${found.stdout}${found.stderr}`);
  }
  assert.equal(checkHostKey([file], '127.0.0.1', 2222, hostA.type, hostA.blob).status, 'known');
  assert.equal(checkHostKey([file], 'gpu.example.org', 22, hostB.type, hostB.blob).status, 'known');
});

test('addHostKey keeps a last line that lacks its newline separate', () => {
  const file = join(dir, 'no-newline');
  writeFileSync(file, `one.org ${hostB.type} ${hostB.base64}`);
  addHostKey(file, 'two.org', 22, hostA.type, hostA.blob);
  assert.equal(checkHostKey([file], 'one.org', 22, hostB.type, hostB.blob).status, 'known');
  assert.equal(checkHostKey([file], 'two.org', 22, hostA.type, hostA.blob).status, 'known');
  assert.equal(readFileSync(file, 'utf8').split('\n').length, 3);
});

test('RSA signature algorithm names are accepted for ssh-rsa keys; a key type that contradicts the key throws', () => {
  const rsa = newKey('rsa');
  const file = knownHostsFile([`rsa.org ${rsa.type} ${rsa.base64}`]);
  assert.equal(checkHostKey([file], 'rsa.org', 22, 'rsa-sha2-512', rsa.blob).status, 'known');
  assert.throws(() => checkHostKey([file], 'rsa.org', 22, 'ssh-ed25519', rsa.blob), /key says ssh-rsa but ssh-ed25519 was given/);
  assert.throws(() => checkHostKey([file], 'rsa.org', 22, 'ssh-ed25519', Buffer.from('junk')), /not an SSH public key blob/);
});
