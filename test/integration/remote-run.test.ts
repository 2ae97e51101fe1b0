// Starting a run on a remote host from a workspace on this machine, through a real OpenSSH sshd on loopback:
// folders upload as verified trees, the run's inputs land under the agent's root, the agent trains on them, and
// the checkpoint comes back intact. The host is this machine, so the test can look at (and damage) its disk.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, symlinkSync,
  utimesSync, writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative, sep } from 'node:path';
import { after, before, test } from 'node:test';
import type { Client } from 'ssh2';
import { parse } from 'yaml';
import { AgentClient } from '../../src/core/agent/client';
import { defaultPython } from '../../src/core/host/localAgent';
import { FINAL_RUN_STATES, type AgentEvent, type Checkpoint } from '../../src/core/protocol/messages';
import { RemoteAgentLink } from '../../src/core/remote/remoteAgentLink';
import { prepareRemoteRun, uploadFolder } from '../../src/core/remote/remoteRun';
import { DiskFullError, downloadCheckpoint } from '../../src/core/remote/transfers';
import { stopEverything } from '../support/agentProcesses';
import { repoRoot } from '../support/repoRoot';
import { connectTestHost } from '../support/sshLogin';
import { startSshd, type Sshd } from '../support/sshd';
import { makeTinyModel, runConfig, writeDataset } from '../support/trainingFixture';

const agentSource = join(repoRoot(), 'python-agent');
const python = defaultPython(repoRoot());
let sshd: Sshd;
let work: string;
const roots: string[] = [];
const disposers: Array<() => void> = [];

const connect = (): Promise<Client> => connectTestHost(sshd);

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** relpath -> content of every file under dir (what the host holds, read straight from disk). */
function tree(dir: string): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      const p = join(d, e.name);
      if (statSync(p).isDirectory()) walk(p);
      else out.set(relative(dir, p).split(sep).join('/'), readFileSync(p));
    }
  };
  walk(dir);
  return out;
}

before(async () => {
  assert.ok(existsSync(python), `no agent Python at ${python}: run "npm run setup" first`);
  sshd = await startSshd();
  work = mkdtempSync(join(tmpdir(), 'tunelab-remote-run-'));
});

after(async () => {
  for (const d of disposers) d();
  for (const root of roots) await stopEverything(root);
  await sshd?.stop();
  for (const dir of [...roots, work]) if (dir) rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
});

test('uploadFolder sends a nested folder once, skips it after, and redoes a damaged copy', async () => {
  const ssh = await connect();
  disposers.push(() => ssh.end());
  const local = join(work, 'my model');
  mkdirSync(join(local, 'sub', 'deep'), { recursive: true });
  writeFileSync(join(local, 'config.json'), '{"layers": 2}\n');
  writeFileSync(join(local, '.hidden'), 'hidden files count too\n');
  writeFileSync(join(local, 'empty.txt'), '');
  writeFileSync(join(local, 'sub', 'deep', 'weights.bin'), randomBytes(3 * 1024 * 1024 + 5));
  writeFileSync(join(work, 'outside.txt'), 'reached through a link\n');
  symlinkSync(join(work, 'outside.txt'), join(local, 'sub', 'link.txt'));
  const expected = tree(local);
  const size = [...expected.values()].reduce((n, b) => n + b.length, 0);
  // The documented name: sha256 over sorted "relpath\0sha256\n".
  const treeHash = createHash('sha256')
    .update([...expected.keys()].sort().map((rel) => `${rel}\0${sha256(expected.get(rel)!)}\n`).join(''))
    .digest('hex');
  const remoteDir = join(work, 'host', 'uploads');

  const seen: number[] = [];
  const first = await uploadFolder(ssh, local, remoteDir, (done, total) => { assert.equal(total, size); seen.push(done); }, { host: 'loopback' });
  const onHost = join(remoteDir, treeHash, 'my model');
  assert.deepEqual(first, { remotePath: onHost, treeHash, size, skipped: false });
  assert.deepEqual(tree(onHost), expected);
  assert.equal(lstatSync(join(onHost, 'sub', 'link.txt')).isSymbolicLink(), false, 'the link is followed, its content uploaded');
  assert.ok(existsSync(join(remoteDir, treeHash, '.complete')));
  assert.equal(existsSync(join(remoteDir, `${treeHash}.partial`)), false, 'the staging folder is gone');
  assert.equal(seen.at(-1), size);
  assert.ok(seen.every((d, i) => i === 0 || d >= seen[i - 1]) && seen.length > 2, `progress: ${seen.join(',')}`);

  // Again: nothing is sent, so nothing on the host is rewritten (old mtimes stay old).
  const old = new Date('2001-01-01T00:00:00Z');
  for (const rel of expected.keys()) utimesSync(join(onHost, rel), old, old);
  const again: number[] = [];
  const second = await uploadFolder(ssh, local, remoteDir, (done) => again.push(done));
  assert.deepEqual(second, { ...first, skipped: true });
  assert.deepEqual(again, [size], 'only the final total is reported, no bytes move');
  for (const rel of expected.keys()) assert.equal(statSync(join(onHost, rel)).mtimeMs, old.getTime(), `${rel} was rewritten`);

  // A copy without .complete (damaged, or left half-done) is replaced by a correct one.
  rmSync(join(remoteDir, treeHash, '.complete'));
  writeFileSync(join(onHost, 'sub', 'deep', 'weights.bin'), 'garbage');
  writeFileSync(join(onHost, 'stray.txt'), 'not part of the tree');
  const third = await uploadFolder(ssh, local, remoteDir);
  assert.equal(third.skipped, false);
  assert.deepEqual(tree(onHost), expected);
  assert.ok(existsSync(join(remoteDir, treeHash, '.complete')));
});

test('uploadFolder keeps the files an interrupted upload already placed, and refuses what is not a file', async () => {
  const ssh = await connect();
  disposers.push(() => ssh.end());
  const local = join(work, 'resumed');
  mkdirSync(local);
  const big = randomBytes(2 * 1024 * 1024);
  writeFileSync(join(local, 'a.bin'), big);
  writeFileSync(join(local, 'b.bin'), randomBytes(1024 * 1024));
  const remoteDir = join(work, 'host', 'resume-uploads');
  const treeHash = createHash('sha256').update(['a.bin', 'b.bin'].map((f) => `${f}\0${sha256(readFileSync(join(local, f)))}\n`).join('')).digest('hex');
  // What a connection lost halfway leaves: a.bin complete in the staging folder, b.bin cut short.
  const staging = join(remoteDir, `${treeHash}.partial`, 'resumed');
  mkdirSync(staging, { recursive: true });
  writeFileSync(join(staging, 'a.bin'), big);
  writeFileSync(join(staging, 'b.bin'), 'cut');
  const seen: number[] = [];
  const r = await uploadFolder(ssh, local, remoteDir, (done) => seen.push(done));
  assert.equal(seen[0], big.length, 'a.bin counted as done before anything is sent');
  assert.deepEqual(tree(r.remotePath), tree(local));

  mkdirSync(join(work, 'odd'));
  assert.equal(spawnSync('mkfifo', [join(work, 'odd', 'pipe')]).status, 0);
  await assert.rejects(uploadFolder(ssh, join(work, 'odd'), remoteDir),
    new RegExp(`${join(work, 'odd', 'pipe')} is not a regular file or folder`));
});

test('uploadFolder onto a full disk is a DiskFullError and leaves nothing behind', async (t) => {
  if (process.getuid?.() !== 0) { t.skip('mounting a tiny tmpfs needs root; this run is not root'); return; }
  const ssh = await connect();
  disposers.push(() => ssh.end());
  const mountPoint = mkdtempSync(join(work, 'tiny-disk-'));
  const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', mountPoint], { encoding: 'utf8' });
  if (mounted.status !== 0) { t.skip(`cannot mount a tmpfs here: ${mounted.stderr.trim()}`); return; }
  try {
    const local = join(work, 'too-big');
    mkdirSync(local);
    writeFileSync(join(local, 'small.txt'), 'fits\n');
    writeFileSync(join(local, 'large.bin'), randomBytes(3 * 1024 * 1024));
    await assert.rejects(uploadFolder(ssh, local, mountPoint, undefined, { host: 'loopback' }), (e: Error) => {
      assert.ok(e instanceof DiskFullError, `expected DiskFullError, got ${e.stack}`);
      assert.match(e.message, /^no space left on loopback to upload .*too-big .*No space left on device.*free there/s);
      return true;
    });
    assert.deepEqual(readdirSync(mountPoint), [], 'the tree and its staging folder are gone');
  } finally {
    spawnSync('umount', [mountPoint]);
  }
});

test('a run from a local workspace trains on a remote agent from uploaded inputs; its checkpoint downloads intact', { timeout: 300_000 }, async () => {
  const root = mkdtempSync(join(tmpdir(), 'tunelab-remote-run-root-'));
  roots.push(root);
  // The workspace is outside the agent's root, as on a real laptop: the agent cannot read it.
  const workspace = join(work, 'workspace');
  mkdirSync(workspace);
  writeDataset(join(workspace, 'train.jsonl'), 4);
  makeTinyModel(python, join(workspace, 'model'), join(workspace, 'train.jsonl'));
  const configPath = join(workspace, 'remote.tunelab.yaml');
  const configText = `# a comment the upload keeps\n${runConfig({ name: 'remote-inputs', maxSteps: 20, evalSteps: 10, saveSteps: 10 })}`;
  writeFileSync(configPath, configText);

  const link = new RemoteAgentLink({ label: 'loopback sshd', connect, agentSource, root, python });
  disposers.push(() => link.dispose());
  const client = new AgentClient({ endpoint: () => link.endpoint(), clientName: 'tunelab-remote-run-test/0', requestTimeoutMs: 60_000 });
  disposers.push(() => client.dispose());
  await client.connect();
  const agentRoot = link.current!.root;
  assert.equal(agentRoot, root);

  const progress: Array<[number, number, string]> = [];
  const prepared = await prepareRemoteRun(link.ssh!, { configText, configPath, agentRoot, host: 'loopback sshd' }, (d, t, w) => progress.push([d, t, w]));
  const uploads = join(root, 'uploads') + sep;
  const byKey = Object.fromEntries(prepared.uploads.map((u) => [u.key, u]));
  assert.deepEqual(Object.keys(byKey).sort(), ['dataset.train', 'model']);
  for (const u of prepared.uploads) {
    assert.ok(u.remotePath.startsWith(uploads), `${u.key} uploaded to ${u.remotePath}, not under ${uploads}`);
    assert.equal(u.skipped, false);
  }
  assert.ok(readFileSync(byKey['dataset.train'].remotePath).equals(readFileSync(join(workspace, 'train.jsonl'))));
  assert.deepEqual(tree(byKey.model.remotePath), tree(join(workspace, 'model')));
  const sent = parse(prepared.config);
  assert.equal(sent.dataset.train, byKey['dataset.train'].remotePath);
  assert.equal(sent.model, byKey.model.remotePath);
  assert.ok(prepared.config.startsWith('# a comment the upload keeps\n'));
  const total = byKey.model.size + byKey['dataset.train'].size;
  assert.deepEqual(progress.at(-1)?.slice(0, 2), [total, total]);
  assert.ok(progress.some(([, , what]) => what === 'model: model') && progress.some(([, , what]) => what === 'dataset.train: train.jsonl'));

  let runId = '';
  let finish!: (e: AgentEvent) => void;
  const finished = new Promise<AgentEvent>((resolve) => (finish = resolve));
  client.onEvent((e) => {
    if (e.run_id === runId && e.kind === 'run_state' && FINAL_RUN_STATES.includes(e.data.state)) finish(e);
  });
  await client.subscribe(0);
  ({ run_id: runId } = await client.request('start_run', { config: prepared.config }));
  const end = await finished;
  assert.equal((end.data as { state: string }).state, 'completed', JSON.stringify(end.data));
  // The agent resolved the run's inputs to the uploads.
  const resolved = (JSON.parse(readFileSync(join(root, 'runs', runId, 'run.json'), 'utf8')) as { resolved: Record<string, string> }).resolved;
  assert.equal(resolved.train, realpathSync(byKey['dataset.train'].remotePath));
  assert.equal(resolved.model, realpathSync(byKey.model.remotePath));

  const { checkpoints } = await client.request('list_checkpoints', { run_id: runId });
  assert.ok(checkpoints.length > 0, 'save_steps 10 of 20 leaves a checkpoint');
  const checkpoint: Checkpoint = checkpoints.at(-1)!;
  const local = join(work, 'downloads');
  const got = await downloadCheckpoint(link.ssh!, checkpoint, local, undefined, { host: 'loopback sshd' });
  assert.ok(checkpoint.files.length > 0);
  for (const f of checkpoint.files) {
    assert.equal(sha256(readFileSync(join(got.localPath, ...f.name.split('/')))), f.sha256, `${f.name} differs from the manifest`);
  }

  // Starting the same workspace again sends nothing.
  const again = await prepareRemoteRun(link.ssh!, { configText, configPath, agentRoot });
  assert.deepEqual(again.uploads.map((u) => u.skipped), [true, true]);
  assert.equal(again.config, prepared.config);
});
