// Transfers against a real OpenSSH sshd on loopback: the "remote" paths are temp folders on this machine, so the
// tests can look at (and damage) what the host holds directly.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Client } from 'ssh2';
import type { Checkpoint } from '../../src/core/protocol/messages';
import { commandLine, exec, shellQuote } from '../../src/core/remote/remoteExec';
import { DiskFullError, downloadCheckpoint, downloadFile, uploadFile, verifyLocalCheckpoint } from '../../src/core/remote/transfers';
import { repoRoot } from '../support/repoRoot';
import { startSshd, type Sshd } from '../support/sshd';

let sshd: Sshd;
let client: Client;
let work: string;
const HOST = 'tunelab-test';

function connect(s: Sshd): Promise<Client> {
  const trusted = Buffer.from(s.hostKeyPub.split(' ')[1], 'base64');
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.once('ready', () => {
      // Tests kill connections on purpose; a reset after that is expected, not a crash.
      c.on('error', () => undefined);
      resolve(c);
    }).once('error', reject).connect({
      host: s.host, port: s.port, username: s.user, privateKey: readFileSync(s.clientKeyPath),
      hostVerifier: (key: Buffer) => key.equals(trusted),
    });
  });
}

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function remoteFile(name: string, content: Buffer): string {
  const path = join(work, 'host', name);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  return path;
}

before(async () => {
  sshd = await startSshd();
  client = await connect(sshd);
  work = mkdtempSync(join(tmpdir(), 'tunelab-transfers-'));
});

after(async () => {
  client?.end();
  await sshd?.stop();
  rmSync(work, { recursive: true, force: true });
});

const NASTY = ['a b', "it's", '$(touch pwned)', '`touch pwned2`', 'new\nline', '-n', '*', ';touch pwned3;', 'back\\slash', '"dq"', '', '~', '  lead'];

test('exec passes every argument through literally, whatever characters it holds', async () => {
  const r = await exec(client, ['printf', '%s\\0', ...NASTY]);
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(r.stdout.split('\0').slice(0, -1), NASTY);

  const dir = mkdtempSync(join(work, 'names-'));
  const names = NASTY.filter((n) => n && n !== '~');
  const touched = await exec(client, ['touch', '--', ...names.map((n) => join(dir, n))]);
  assert.equal(touched.code, 0, touched.stderr);
  assert.deepEqual(readdirSync(dir).sort(), [...names].sort());
  for (const pwned of ['pwned', 'pwned2', 'pwned3']) {
    assert.equal(existsSync(join(dir, pwned)) || existsSync(join(tmpdir(), pwned)) || existsSync(join('/root', pwned)), false, `${pwned} created: shell injection`);
  }
});

test('exec reports exit code and stderr; quoting rejects NUL bytes', async () => {
  const r = await exec(client, ['sh', '-c', 'echo out; echo "err $1" >&2; exit 7', 'sh', 'x y']);
  assert.deepEqual([r.code, r.stdout, r.stderr], [7, 'out\n', 'err x y\n']);
  assert.equal(shellQuote("it's"), `'it'\\''s'`);
  assert.equal(commandLine(['echo', '']), `'echo' ''`);
  assert.throws(() => shellQuote('a\0b'), /NUL/);
  const piped = await exec(client, ['wc', '-c'], { stdin: 'hello' });
  assert.equal(piped.stdout.trim(), '5');
});

test('uploadFile names the file by content hash, verifies it, and skips a second upload', async () => {
  const content = randomBytes(3 * 1024 * 1024 + 17);
  const local = join(work, "my data's file.jsonl");
  writeFileSync(local, content);
  const remoteDir = join(work, 'host', 'datasets $(x)');
  const progress: number[] = [];
  const first = await uploadFile(client, local, remoteDir, (done, total) => { progress.push(done); assert.equal(total, content.length); }, { host: HOST });
  assert.equal(first.skipped, false);
  assert.equal(first.remotePath, join(remoteDir, sha(content), "my data's file.jsonl"));
  assert.ok(readFileSync(first.remotePath).equals(content));
  assert.equal(progress.at(-1), content.length);
  assert.deepEqual(readdirSync(join(remoteDir, sha(content))), ["my data's file.jsonl"], 'no .partial left behind');
  const mtime = statSync(first.remotePath).mtimeMs;

  const second = await uploadFile(client, local, remoteDir, undefined, { host: HOST });
  assert.equal(second.skipped, true);
  assert.equal(second.remotePath, first.remotePath);
  assert.equal(statSync(first.remotePath).mtimeMs, mtime, 'the skipped upload did not rewrite the file');

  // A damaged copy on the host is not taken as "already there".
  writeFileSync(first.remotePath, 'damaged');
  const third = await uploadFile(client, local, remoteDir, undefined, { host: HOST });
  assert.equal(third.skipped, false);
  assert.ok(readFileSync(first.remotePath).equals(content));
});

test('uploadFile onto a full disk fails clearly and removes the partial', async (t) => {
  if (process.getuid?.() !== 0) { t.skip('mounting a tiny tmpfs needs root; this run is not root'); return; }
  const mountPoint = mkdtempSync(join(work, 'tiny-disk-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint], { encoding: 'utf8' });
  if (mounted.status !== 0) { t.skip(`cannot mount a tmpfs here: ${mounted.stderr.trim()}`); return; }
  try {
    const local = join(work, 'big.bin');
    writeFileSync(local, randomBytes(3 * 1024 * 1024));
    await assert.rejects(uploadFile(client, local, mountPoint, undefined, { host: HOST }), (e: Error) => {
      assert.ok(e instanceof DiskFullError, `expected DiskFullError, got ${e.stack}`);
      assert.match(e.message, /no space left on tunelab-test/);
      assert.match(e.message, /No space left on device/);
      assert.ok(e.message.includes(mountPoint), e.message);
      assert.match(e.message, /free there/);
      return true;
    });
    assert.deepEqual(readdirSync(mountPoint), [], 'the partial and its hash folder are gone');
  } finally {
    spawnSync('umount', [mountPoint]);
  }
});

for (const method of ['exec', 'sftp'] as const) {
  test(`downloadFile (${method}) fetches and verifies a file`, async () => {
    const content = randomBytes(5 * 1024 * 1024 + 3);
    const remote = remoteFile(`plain-${method}.bin`, content);
    const local = join(work, 'local', `plain ${method}.bin`);
    let last = 0;
    const r = await downloadFile(client, remote, local, { method, expectedSize: content.length, expectedSha256: sha(content) }, (d) => { last = d; });
    assert.ok(readFileSync(local).equals(content));
    assert.deepEqual([r.size, r.sha256, r.resumedFrom, r.skipped, last], [content.length, sha(content), 0, false, content.length]);
    assert.equal(existsSync(`${local}.partial`), false);
  });

  test(`downloadFile (${method}) resumes a truncated .partial from its size`, async () => {
    const content = randomBytes(4 * 1024 * 1024);
    const remote = remoteFile(`resume-${method}.bin`, content);
    const local = join(work, 'local', `resume-${method}.bin`);
    mkdirSync(join(local, '..'), { recursive: true });
    writeFileSync(`${local}.partial`, content.subarray(0, 1_500_000));
    const seen: number[] = [];
    // No expectedSha256: the host's sha256sum is the reference.
    const r = await downloadFile(client, remote, local, { method }, (d) => seen.push(d));
    assert.equal(r.resumedFrom, 1_500_000);
    assert.equal(seen[0], 1_500_000, 'progress starts at the kept prefix');
    assert.ok(readFileSync(local).equals(content));
  });
}

test('downloadFile resumes after the connection is killed mid-transfer', async () => {
  const content = randomBytes(24 * 1024 * 1024);
  const remote = remoteFile('dropped.bin', content);
  const local = join(work, 'local', 'dropped.bin');
  const c = await connect(sshd);
  let killed = 0;
  await assert.rejects(downloadFile(c, remote, local, { expectedSha256: sha(content) }, (d) => {
    if (!killed && d > 2 * 1024 * 1024) killed = sshd.killConnections();
  }), /stopped at \d+ of 25165824 bytes.*resumes/s);
  assert.ok(killed > 0);
  client = await connect(sshd); // the shared client died with the others
  const kept = statSync(`${local}.partial`).size;
  assert.ok(kept > 0 && kept < content.length, `partial holds ${kept} bytes`);
  const r = await downloadFile(client, remote, local, { expectedSha256: sha(content) });
  assert.equal(r.resumedFrom, kept);
  assert.ok(readFileSync(local).equals(content));
});

test('a partial whose bytes differ from the host is discarded and the download starts over', async () => {
  const content = randomBytes(1024 * 1024);
  const remote = remoteFile('badprefix.bin', content);
  const local = join(work, 'local', 'badprefix.bin');
  writeFileSync(`${local}.partial`, randomBytes(300_000));
  const r = await downloadFile(client, remote, local, { expectedSha256: sha(content) });
  assert.equal(r.resumedFrom, 0);
  assert.ok(readFileSync(local).equals(content));
});

test('a corrupted, truncated or empty remote file is an error, never a success', async () => {
  const content = randomBytes(2 * 1024 * 1024);
  const good = sha(content);
  const corrupted = Buffer.from(content);
  corrupted[123_456] ^= 0xff;
  const local = (n: string) => join(work, 'local', n);

  const c = remoteFile('corrupted.bin', corrupted);
  await assert.rejects(downloadFile(client, c, local('corrupted.bin'), { expectedSize: content.length, expectedSha256: good, host: HOST }),
    new RegExp(`sha256 mismatch for ${c} from tunelab-test`));
  assert.equal(existsSync(local('corrupted.bin')), false);
  assert.equal(existsSync(`${local('corrupted.bin')}.partial`), false, 'a partial with wrong content is not kept');

  const t = remoteFile('truncated.bin', content.subarray(0, 1000));
  await assert.rejects(downloadFile(client, t, local('truncated.bin'), { expectedSize: content.length, expectedSha256: good }), /is 1000 bytes, but 2097152 were expected/);
  assert.equal(existsSync(local('truncated.bin')), false);

  const z = remoteFile('zero.bin', Buffer.alloc(0));
  await assert.rejects(downloadFile(client, z, local('zero.bin'), { expectedSize: content.length, expectedSha256: good }), /is 0 bytes/);
  await assert.rejects(downloadFile(client, z, local('zero.bin')), /is empty \(0 bytes\)/);
  await assert.rejects(downloadFile(client, z, local('zero.bin'), { method: 'sftp' }), /is empty/);
  assert.equal(existsSync(local('zero.bin')), false);
  // Only an explicitly expected empty file is fine.
  const r = await downloadFile(client, z, local('zero.bin'), { expectedSize: 0 });
  assert.equal(r.size, 0);

  await assert.rejects(downloadFile(client, join(work, 'host', 'missing it\'s.bin'), local('missing.bin'), { host: HOST }), /cannot read .*missing it's\.bin on tunelab-test: no such file/);
});

/** A checkpoint written on the "host" by the agent's own checkpoints.py, and its listing record. */
function agentCheckpoint(runDir: string, step: number): Checkpoint {
  const script = [
    'import json, os, sys',
    'from tunelab_agent.rundir.checkpoints import write_checkpoint, list_checkpoints',
    'def save(folder):',
    '    os.makedirs(os.path.join(folder, "sub dir"))',
    '    open(os.path.join(folder, "adapter_model.safetensors"), "wb").write(os.urandom(3 * 1024 * 1024 + 5))',
    '    open(os.path.join(folder, "adapter_config.json"), "w").write(json.dumps({"r": 8}))',
    '    open(os.path.join(folder, "sub dir", "tokenizer.json"), "w").write("{}")',
    'write_checkpoint(sys.argv[1], int(sys.argv[2]), save, {"eval_loss": 1.5})',
    'print(json.dumps(list_checkpoints(sys.argv[1])))',
  ].join('\n');
  const root = repoRoot();
  const r = spawnSync(join(root, 'python-agent', '.venv', 'bin', 'python'), ['-c', script, runDir, String(step)],
    { encoding: 'utf8', env: { ...process.env, PYTHONPATH: join(root, 'python-agent') } });
  assert.equal(r.status, 0, r.stderr);
  return (JSON.parse(r.stdout) as Checkpoint[]).find((c) => c.step === step)!;
}

test('downloadCheckpoint fetches every manifest file of an agent checkpoint, verified', async () => {
  const runDir = join(work, 'host', 'runs', 'run 1');
  const checkpoint = agentCheckpoint(runDir, 10);
  assert.equal(checkpoint.files.length, 3);
  const localDir = join(work, 'local', 'checkpoints');
  const progress: Array<[number, number, string]> = [];
  const r = await downloadCheckpoint(client, checkpoint, localDir, (d, t, f) => progress.push([d, t, f]), { host: HOST });
  assert.equal(r.localPath, join(localDir, 'checkpoint-10'));
  const total = checkpoint.files.reduce((s, f) => s + f.size, 0);
  assert.deepEqual(progress.at(-1)?.slice(0, 2), [total, total]);
  for (const f of checkpoint.files) {
    assert.ok(readFileSync(join(r.localPath, f.name)).equals(readFileSync(join(checkpoint.path, f.name))), f.name);
  }
  assert.deepEqual(readFileSync(join(r.localPath, 'manifest.json'), 'utf8'), readFileSync(join(checkpoint.path, 'manifest.json'), 'utf8'));
  assert.deepEqual(await verifyLocalCheckpoint(r.localPath), []);
  assert.equal(existsSync(join(localDir, '.partial-checkpoint-10')), false);

  // The same check in the agent's own verify(), pointed at the local copy.
  const check = spawnSync(join(repoRoot(), 'python-agent', '.venv', 'bin', 'python'), ['-c',
    'import json,sys; from tunelab_agent.rundir.checkpoints import verify; print(json.dumps(verify(json.loads(sys.argv[1]))))',
    JSON.stringify({ ...checkpoint, path: r.localPath })], { encoding: 'utf8', env: { ...process.env, PYTHONPATH: join(repoRoot(), 'python-agent') } });
  assert.equal(check.stdout.trim(), '[]', check.stderr);
});

test('downloadCheckpoint reports a damaged file by name and leaves no checkpoint folder', async () => {
  const runDir = join(work, 'host', 'runs', 'run 2');
  const checkpoint = agentCheckpoint(runDir, 20);
  const localDir = join(work, 'local', 'checkpoints-2');
  const weights = join(checkpoint.path, 'adapter_model.safetensors');
  const bytes = readFileSync(weights);
  bytes[42] ^= 1;
  writeFileSync(weights, bytes);
  await assert.rejects(downloadCheckpoint(client, checkpoint, localDir, undefined, { host: HOST }),
    /checkpoint checkpoint-20, file adapter_model\.safetensors: sha256 mismatch/);
  assert.equal(existsSync(join(localDir, 'checkpoint-20')), false);

  truncateSync(weights, 0);
  await assert.rejects(downloadCheckpoint(client, checkpoint, localDir), /file adapter_model\.safetensors: .* is 0 bytes, but \d+ were expected/);
  assert.equal(existsSync(join(localDir, 'checkpoint-20')), false);
});

test('downloadCheckpoint refuses a listing that disagrees with the manifest, or names outside the folder', async () => {
  const runDir = join(work, 'host', 'runs', 'run 3');
  const checkpoint = agentCheckpoint(runDir, 30);
  const localDir = join(work, 'local', 'checkpoints-3');
  const lying = { ...checkpoint, files: checkpoint.files.map((f, i) => (i === 0 ? { ...f, sha256: '0'.repeat(64) } : f)) };
  await assert.rejects(downloadCheckpoint(client, lying, localDir), /disagrees with the checkpoint listing: .* differs/);

  // A hostile host's manifest that points outside the checkpoint folder.
  const manifestPath = join(checkpoint.path, 'manifest.json');
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  manifest.files[0].name = '../../escape.txt';
  writeFileSync(manifestPath, JSON.stringify(manifest));
  await assert.rejects(downloadCheckpoint(client, { ...checkpoint, files: manifest.files }, localDir), /refusing manifest file name "..\/..\/escape.txt"/);
  assert.equal(existsSync(join(localDir, '..', 'escape.txt')), false);

  rmSync(manifestPath);
  await assert.rejects(downloadCheckpoint(client, checkpoint, localDir, undefined, { host: HOST }), /checkpoint checkpoint-30 on tunelab-test has no readable manifest\.json/);
});
