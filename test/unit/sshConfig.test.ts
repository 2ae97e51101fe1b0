// ~/.ssh/config reading, against temp config files and a temp home. Where the OpenSSH client is
// installed, `ssh -G` (which prints what ssh itself resolved) is the reference.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { loadSshHosts, parseJumpHop, resolveHost, SshConfigError } from '../../src/core/remote/sshConfig';

const temps: string[] = [];
after(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

/** A temp home with ~/.ssh/config holding text; returns the home and the config path. */
function home(text: string, files: Record<string, string> = {}): { home: string; config: string; opts: { homeDir: string; localUser: string } } {
  const dir = mkdtempSync(join(tmpdir(), 'tunelab-sshconfig-'));
  temps.push(dir);
  mkdirSync(join(dir, '.ssh'));
  const config = join(dir, '.ssh', 'config');
  writeFileSync(config, text);
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(join(dir, name, '..'), { recursive: true });
    writeFileSync(join(dir, name), content);
  }
  return { home: dir, config, opts: { homeDir: dir, localUser: 'alice' } };
}

function configError(fn: () => unknown): SshConfigError {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof SshConfigError, `expected an SshConfigError, got ${err}`);
    return err;
  }
  assert.fail('expected an error');
}

test('first value wins across blocks; keywords are case-insensitive; = and quotes are accepted', () => {
  const { home: h, config, opts } = home([
    'Host gpu',
    '  hostname=gpu.example.com',
    '  PORT 2222',
    '  IdentityFile "~/.ssh/my key"',
    'Host gpu other',
    '  HostName ignored.example.com',
    '  User bob',
    '  IdentityFile ~/.ssh/second',
    'Host *',
    '  User nobody',
    '  Port 22',
    '',
  ].join('\n'));
  const r = resolveHost('gpu', config, opts);
  assert.equal(r.hostName, 'gpu.example.com');
  assert.equal(r.port, 2222);
  assert.equal(r.user, 'bob');
  // IdentityFile adds up rather than keeping the first.
  assert.deepEqual(r.identityFiles, [join(h, '.ssh', 'my key'), join(h, '.ssh', 'second')]);
  assert.deepEqual(r.definedAt, { file: config, line: 1 });
  assert.deepEqual(r.proxyJump, []);
  assert.deepEqual(r.jumpHosts, []);
});

test('defaults: port 22, the local user, the default keys that exist, ~/.ssh/known_hosts', () => {
  const { home: h, config, opts } = home('Host other\n  Port 1\n', { '.ssh/id_ed25519': 'key', '.ssh/id_rsa': 'key' });
  const r = resolveHost('plain.example.com', config, opts);
  assert.equal(r.hostName, 'plain.example.com');
  assert.equal(r.port, 22);
  assert.equal(r.user, 'alice');
  // id_ecdsa does not exist, so it is not offered; OpenSSH's order is rsa, ecdsa, ed25519.
  assert.deepEqual(r.identityFiles, [join(h, '.ssh', 'id_rsa'), join(h, '.ssh', 'id_ed25519')]);
  assert.deepEqual(r.userKnownHostsFiles, [join(h, '.ssh', 'known_hosts'), join(h, '.ssh', 'known_hosts2')]);
  assert.equal(r.definedAt, undefined);
  assert.equal(r.identitiesOnly, false);
});

test('a missing config file is an empty config, as for ssh', () => {
  const r = resolveHost('box', '/nonexistent/ssh_config', { homeDir: '/nonexistent', localUser: 'alice' });
  assert.equal(r.hostName, 'box');
  assert.deepEqual(r.identityFiles, []);
  assert.deepEqual(loadSshHosts('/nonexistent/ssh_config'), []);
});

test('percent and ~ expansion in paths; %h in HostName is the alias; IdentityFile none; IdentitiesOnly', () => {
  const { home: h, config, opts } = home([
    'Host web*',
    '  HostName %h.internal',
    '  User deploy',
    '  Port 2200',
    '  IdentityFile %d/keys/%r@%h-%p',
    '  IdentityFile ~/.ssh/id_%u',
    '  IdentitiesOnly yes',
    '  UserKnownHostsFile ~/kh/%n /etc/kh-%%',
    'Host nokeys',
    '  IdentityFile none',
    '',
  ].join('\n'));
  const r = resolveHost('web1', config, opts);
  assert.equal(r.hostName, 'web1.internal');
  assert.deepEqual(r.identityFiles, [join(h, 'keys', 'deploy@web1.internal-2200'), join(h, '.ssh', 'id_alice')]);
  assert.deepEqual(r.userKnownHostsFiles, [join(h, 'kh', 'web1'), '/etc/kh-%']);
  assert.equal(r.identitiesOnly, true);
  assert.deepEqual(resolveHost('nokeys', config, opts).identityFiles, []);
});

test('Host patterns: * and ? (exactly one character), negation, case-insensitive', () => {
  const { config, opts } = home([
    'Host !db-secret db-?',
    '  User dbuser',
    'Host DB-*',
    '  Port 5022',
    '',
  ].join('\n'));
  assert.equal(resolveHost('db-1', config, opts).user, 'dbuser');
  assert.equal(resolveHost('db-1', config, opts).port, 5022);
  // `?` is exactly one character: db-12 is not matched by db-?.
  assert.equal(resolveHost('db-12', config, opts).user, 'alice');
  // A negated pattern that matches excludes the block even though db-* would match it.
  assert.equal(resolveHost('db-secret', config, opts).user, 'alice');
});

test('Include: relative to ~/.ssh, globs in sorted order, inside a Host block only for that host', () => {
  const { config, opts } = home([
    'Include conf.d/*.conf',
    'Host gpu',
    '  Include gpu-extra',
    '  User from-main',
    'Host *',
    '  Port 2000',
    '',
  ].join('\n'), {
    '.ssh/conf.d/20-b.conf': 'Host b-host\n  HostName b.example.com\n  User from-b\n',
    '.ssh/conf.d/10-a.conf': 'Host b-host a-host\n  User from-a\n',
    '.ssh/conf.d/ignored.txt': 'Host txt-host\n',
    '.ssh/conf.d/.hidden.conf': 'Host hidden-host\n',
    // The included file's first lines belong to the including Host block; its own Host line starts a new one.
    '.ssh/gpu-extra': 'HostName gpu.example.com\nPort 2201\nHost extra-host\n  User from-extra\n',
  });
  // 10-a.conf comes first (sorted), so its User wins for b-host.
  assert.equal(resolveHost('b-host', config, opts).user, 'from-a');
  assert.equal(resolveHost('b-host', config, opts).hostName, 'b.example.com');
  const gpu = resolveHost('gpu', config, opts);
  assert.equal(gpu.hostName, 'gpu.example.com');
  assert.equal(gpu.port, 2201);
  // After the Include, the rest of "Host gpu" still applies (state restored).
  assert.equal(gpu.user, 'from-main');
  // The included HostName applied only inside "Host gpu".
  assert.equal(resolveHost('a-host', config, opts).hostName, 'a-host');
  assert.equal(resolveHost('a-host', config, opts).port, 2000);
  // OpenSSH: an Include inside an inactive block never activates what it includes.
  assert.equal(resolveHost('extra-host', config, opts).user, 'alice');
  assert.deepEqual(loadSshHosts(config, opts), ['b-host', 'a-host', 'gpu', 'extra-host']);
});

test('Match exec is never run and its block does not apply; other Match criteria work', () => {
  const marker = join(mkdtempSync(join(tmpdir(), 'tunelab-marker-')), 'ran');
  temps.push(join(marker, '..'));
  const { config, opts } = home([
    'Host gpu',
    '  HostName gpu.example.com',
    `Match exec "touch ${marker}"`,
    '  User from-exec',
    'Match host gpu.example.com user alice',
    '  Port 2022',
    'Match originalhost gpu !localuser bob',
    '  IdentityFile ~/.ssh/matched',
    'Match all',
    '  User from-all',
    '',
  ].join('\n'));
  const r = resolveHost('gpu', config, opts);
  assert.equal(existsSync(marker), false, 'Match exec ran a command');
  assert.equal(r.user, 'from-all');
  assert.equal(r.port, 2022);
  assert.equal(r.identityFiles.length, 1);
  assert.match(r.warnings.join('\n'), /line 3: Match exec was not run/);
});

test('Match final is evaluated in a second pass with the final HostName', () => {
  const { config, opts } = home([
    'Match final host real.example.com',
    '  User final-user',
    'Host short',
    '  HostName real.example.com',
    '',
  ].join('\n'));
  assert.equal(resolveHost('short', config, opts).user, 'final-user');
  assert.equal(resolveHost('other', config, opts).user, 'alice');
});

test('ProxyJump: hops parsed and resolved through the same config, their own jumps first', () => {
  const { config, opts } = home([
    'Host target',
    '  HostName 10.0.0.5',
    '  ProxyJump bastion,admin@inner:2222',
    'Host bastion',
    '  HostName bastion.example.com',
    '  User jumper',
    '  Port 2020',
    'Host inner',
    '  HostName inner.example.com',
    '  User inner-user',
    '  ProxyJump edge',
    'Host edge',
    '  HostName edge.example.com',
    '',
  ].join('\n'));
  const r = resolveHost('target', config, opts);
  assert.deepEqual(r.proxyJump, ['bastion', 'admin@inner:2222']);
  assert.deepEqual(r.jumpHosts.map((h) => `${h.user}@${h.hostName}:${h.port}`), [
    'jumper@bastion.example.com:2020',
    'alice@edge.example.com:22',
    // Explicit user and port in the hop override the hop's config.
    'admin@inner.example.com:2222',
  ]);
  assert.ok(r.jumpHosts.every((h) => h.jumpHosts.length === 0));
});

test('ProxyJump none, ProxyCommand first wins, loops are errors', () => {
  const { config, opts } = home([
    'Host direct',
    '  ProxyJump none',
    'Host via-command',
    '  ProxyCommand ssh -W %h:%p gateway',
    '  ProxyJump ignored',
    'Host loop-a',
    '  ProxyJump loop-b',
    'Host loop-b',
    '  ProxyJump loop-a',
    'Host *',
    '  ProxyJump default-jump',
    '',
  ].join('\n'));
  assert.deepEqual(resolveHost('direct', config, opts).proxyJump, []);
  const viaCommand = resolveHost('via-command', config, opts);
  assert.equal(viaCommand.proxyCommand, 'ssh -W %h:%p gateway');
  assert.deepEqual(viaCommand.proxyJump, []);
  const err = configError(() => resolveHost('loop-a', config, opts));
  assert.equal(err.file, config);
  assert.match(err.message, /ProxyJump loops: loop-a → loop-b → loop-a/);
});

test('parseJumpHop handles user, port, IPv6 and ssh:// forms', () => {
  assert.deepEqual(parseJumpHop('host'), { user: undefined, host: 'host', port: undefined });
  assert.deepEqual(parseJumpHop('me@host:2222'), { user: 'me', host: 'host', port: '2222' });
  assert.deepEqual(parseJumpHop('me@[::1]:2222'), { user: 'me', host: '::1', port: '2222' });
  assert.deepEqual(parseJumpHop('ssh://me@host:22'), { user: 'me', host: 'host', port: '22' });
  assert.throws(() => parseJumpHop('@host'), /not a jump host/);
  assert.throws(() => parseJumpHop('host:'), /not a jump host/);
});

test('loadSshHosts lists concrete aliases only, once each, in file order', () => {
  const { config, opts } = home([
    'Host *',
    '  User x',
    'Host web1 web2 *.example.com !bad',
    'Host db-? gpu',
    'Match host foo',
    '  User y',
    'Host web1',
    '',
  ].join('\n'));
  assert.deepEqual(loadSshHosts(config, opts), ['web1', 'web2', 'gpu']);
});

test('bad config lines are errors that name the file and the line', () => {
  const cases: Array<[string, RegExp, number]> = [
    ['Host a\n  Port 99999\n', /Port "99999" is not a port number/, 2],
    ['Host a\n  Port abc\n', /Port "abc" is not a port number/, 2],
    ['# comment\n\nHost a\n  IdentityFile "~/.ssh/unterminated\n', /cannot parse/, 4],
    ['Host a\n  User\n', /"User" has no value/, 2],
    ['Host\n', /"Host" has no value/, 1],
    ['Match nonsense foo\n', /unknown Match criterion "nonsense"/, 1],
    ['Host a\n  IdentityFile ~/.ssh/%z\n', /unknown token %z/, 2],
    ['Host a\n  ProxyJump user@\n', /ProxyJump: "user@" is not a jump host/, 2],
  ];
  for (const [text, message, line] of cases) {
    const { config, opts } = home(text);
    const err = configError(() => resolveHost('a', config, opts));
    assert.equal(err.file, config, text);
    assert.equal(err.line, line, text);
    assert.match(err.message, message);
    assert.ok(err.message.startsWith(`${config} line ${line}: `), err.message);
  }
});

test('an error inside an included file names that file; an Include loop is reported', () => {
  const { home: h, config, opts } = home('Include extra\n', { '.ssh/extra': 'Host a\n  Port nope\n', '.ssh/self': 'Include self\n' });
  const err = configError(() => resolveHost('a', config, opts));
  assert.equal(err.file, join(h, '.ssh', 'extra'));
  assert.equal(err.line, 2);
  const loop = home('Include self\n', { '.ssh/self': 'Include self\n' });
  assert.match(configError(() => loadSshHosts(loop.config, loop.opts)).message, /too many nested Include/);
});

test('agrees with `ssh -G` on a config with Include, Match, ProxyJump and expansions', { skip: spawnSync('ssh', ['-V']).error ? 'no OpenSSH client' : false }, () => {
  // ssh expands ~ with the real home, so this config uses absolute paths for Include and compares with the real home.
  const dir = mkdtempSync(join(tmpdir(), 'tunelab-sshg-'));
  temps.push(dir);
  const opts = { homeDir: homedir(), localUser: userInfo().username };
  writeFileSync(join(dir, 'inc-1.conf'), 'Host gpu\n  User from-include\n  Port 2345\n');
  writeFileSync(join(dir, 'config'), [
    `Include ${dir}/inc-*.conf`,
    'Host gpu g?u',
    '  HostName %h.example.com',
    '  User ignored',
    '  IdentityFile ~/.ssh/id_for_%h',
    '  IdentityFile %d/other_%r',
    '  UserKnownHostsFile ~/.ssh/kh_%n /tmp/kh2',
    '  ProxyJump jumpuser@bastion:2200,second',
    `Match exec "false"`,
    '  Port 1',
    'Match originalhost gpu',
    '  HostKeyAlias gpu-alias',
    'Host *',
    '  User default',
    '',
  ].join('\n'));
  const config = join(dir, 'config');
  for (const alias of ['gpu', 'gxu']) {
    const g = spawnSync('ssh', ['-G', '-F', config, alias], { encoding: 'utf8' });
    assert.equal(g.status, 0, g.stderr);
    const values = (key: string) => g.stdout.split('\n').filter((l) => l.startsWith(`${key} `)).map((l) => l.slice(key.length + 1));
    const r = resolveHost(alias, config, opts);
    assert.equal(r.hostName, values('hostname')[0], alias);
    assert.equal(r.user, values('user')[0], alias);
    assert.equal(String(r.port), values('port')[0], alias);
    // ssh -G prints IdentityFile before ~ and %-expansion (ssh expands it when it loads the key).
    const expand = (path: string) => path.replace(/^~/, homedir()).replace(/%d/g, homedir()).replace(/%h/g, values('hostname')[0]).replace(/%r/g, values('user')[0]);
    assert.deepEqual(r.identityFiles, values('identityfile').map(expand), alias);
    assert.deepEqual(r.userKnownHostsFiles, values('userknownhostsfile')[0].split(' '), alias);
    assert.equal(r.proxyJump.join(','), values('proxyjump')[0], alias);
    assert.equal(r.hostKeyAlias, values('hostkeyalias')[0], alias);
  }
});
