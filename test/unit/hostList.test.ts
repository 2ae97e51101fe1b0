// The host picker's list and the way a picked host is reached: ssh config hosts, settings hosts, and
// settings entries that add to an ssh config host. Temp config files and a temp home; no network.
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { listHosts, readHostSettings, resolveTarget } from '../../src/core/remote/hostList';

const temps: string[] = [];
after(() => {
  for (const t of temps) rmSync(t, { recursive: true, force: true });
});

function home(config: string) {
  const dir = mkdtempSync(join(tmpdir(), 'tunelab-hostlist-'));
  temps.push(dir);
  mkdirSync(join(dir, '.ssh'));
  writeFileSync(join(dir, '.ssh', 'config'), config);
  return { config: join(dir, '.ssh', 'config'), opts: { homeDir: dir, localUser: 'alice' }, dir };
}

const CONFIG = [
  'Host gpu-a100',
  '  HostName 10.0.0.5',
  '  User trainer',
  '  Port 2222',
  'Host bastion',
  '  HostName bastion.example.com',
  'Host *.internal',
  '  User ops',
  'Host *',
  '  IdentityFile ~/.ssh/work_key',
  '',
].join('\n');

test('the picker lists concrete ssh config hosts, then settings-only hosts, each with how it is reached', () => {
  const { config, opts } = home(CONFIG);
  const { hosts } = readHostSettings({
    'h100-lab': { hostName: 'h100.example.com', user: 'me', port: 22, proxyJump: 'bastion' },
    'gpu-a100': { python: '/opt/conda/envs/ft/bin/python' },
    'no-host-name': { python: '/usr/bin/python3' },
  });
  const list = listHosts(config, hosts, opts);
  assert.deepEqual(list.map((h) => [h.name, h.source, h.detail]), [
    ['gpu-a100', 'ssh-config + settings', 'trainer@10.0.0.5:2222'],
    ['bastion', 'ssh-config', 'alice@bastion.example.com:22'],
    ['h100-lab', 'settings', 'me@h100.example.com:22 via bastion'],
  ], 'wildcard patterns and settings entries without hostName (overrides for nothing) are not offered');
});

test('a settings host is reached with its own fields over the ssh config defaults; its jump host comes from the ssh config', () => {
  const { config, opts, dir } = home(CONFIG);
  const { hosts } = readHostSettings({ lab: { hostName: 'lab.internal', port: 2200, identityFile: '~/.ssh/lab_key', proxyJump: 'me@bastion:2022' } });
  const t = resolveTarget('lab', config, hosts, opts);
  assert.equal(t.hostName, 'lab.internal');
  assert.equal(t.port, 2200);
  // The Host *.internal block matches the alias "lab" only by name, so User falls back to the local user.
  assert.equal(t.user, 'alice');
  assert.deepEqual(t.identityFiles, [join(dir, '.ssh', 'lab_key')]);
  assert.equal(t.identitiesOnly, true, 'a key named in settings is the one offered');
  assert.deepEqual(t.jumpHosts.map((h) => [h.alias, h.hostName, h.user, h.port]), [['bastion', 'bastion.example.com', 'me', 2022]]);
});

test('an ssh config host without a settings entry resolves exactly as the ssh config says', () => {
  const { config, opts, dir } = home(CONFIG);
  const t = resolveTarget('gpu-a100', config, {}, opts);
  assert.deepEqual([t.hostName, t.user, t.port, t.identityFiles], ['10.0.0.5', 'trainer', 2222, [join(dir, '.ssh', 'work_key')]]);
  assert.equal(t.identitiesOnly, false);
});

test('bad settings entries are reported by name and key, and left out; good ones stay', () => {
  const { hosts, problems } = readHostSettings({
    ok: { hostName: 'ok.example.com' },
    badPort: { hostName: 'x', port: 70000 },
    typo: { hostname: 'x' },
    'has space': { hostName: 'x' },
    notObject: 'gpu.example.com',
    badKey: { identityFile: 42 },
  });
  assert.deepEqual(Object.keys(hosts), ['ok']);
  assert.deepEqual(problems, [
    'tunelab.remoteHosts["badPort"].port: expected a port number 1-65535',
    'tunelab.remoteHosts["typo"]: unknown key "hostname" (known: hostName, user, proxyJump, python, agentRoot, pipIndexUrl, port, identityFile)',
    'tunelab.remoteHosts["has space"]: a host name cannot be empty or contain spaces',
    'tunelab.remoteHosts["notObject"]: expected an object such as { "hostName": "10.0.0.5", "user": "me" }',
    'tunelab.remoteHosts["badKey"].identityFile: expected a path or a list of paths',
  ]);
  assert.deepEqual(readHostSettings(['x']).problems, ['tunelab.remoteHosts: expected an object of host name → settings']);
});
