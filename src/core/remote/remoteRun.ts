// Getting a run's local inputs onto an SSH host: folders uploaded as verified, content-named trees, and the
// run config rewritten to point at the uploads, so the agent (which reads only inside its root) can start it.
import { createHash } from 'node:crypto';
import { readdir, realpath, stat } from 'node:fs/promises';
import { basename, join, posix, resolve } from 'node:path';
import type { Client } from 'ssh2';
import { exec } from './remoteExec';
import { localInputs, rewriteConfig, type InputKey } from './remoteRunConfig';
import {
  cancelled, DISK_FULL, DiskFullError, formatBytes, hostFreeSpace, localSha256, remoteArg, sendFileToHost, uploadFile,
  type Progress, type TransferOptions,
} from './transfers';

export interface FolderUploadResult {
  /** `<remoteDir>/<treeHash>/<folder name>` */
  remotePath: string;
  treeHash: string;
  size: number;
  /** The host already had this exact tree, so nothing was sent. */
  skipped: boolean;
}

interface TreeFile {
  /** Relative to the folder, with / separators on every OS. */
  rel: string;
  abs: string;
  size: number;
}

const COMPLETE = '.complete';
// Remote command lines stay well under sshd's and the kernel's argument limits; long file lists go in batches.
const MAX_ARGS_CHARS = 64 * 1024;

/** Every regular file under dir, symlinks followed and hidden files included, sorted by relative path. */
async function listTree(dir: string): Promise<TreeFile[]> {
  const top = resolve(dir);
  const files: TreeFile[] = [];
  const walk = async (folder: string, rel: string, ancestors: ReadonlySet<string>): Promise<void> => {
    const real = await realpath(folder);
    // A link back up the tree would make the upload endless.
    if (ancestors.has(real)) throw new Error(`cannot upload ${top}: ${folder} links back to a folder that contains it`);
    const inside = new Set(ancestors).add(real);
    for (const name of (await readdir(folder)).sort()) {
      const abs = join(folder, name);
      const relPath = rel ? `${rel}/${name}` : name;
      const info = await stat(abs).catch((e: NodeJS.ErrnoException) => {
        throw new Error(`cannot upload ${top}: ${abs}: ${e.code === 'ENOENT' ? 'a symbolic link to nothing' : e.message}`);
      });
      if (info.isDirectory()) await walk(abs, relPath, inside);
      else if (info.isFile()) files.push({ rel: relPath, abs, size: info.size });
      else throw new Error(`cannot upload ${top}: ${abs} is not a regular file or folder (a socket, pipe or device)`);
    }
  };
  const info = await stat(top);
  if (!info.isDirectory()) throw new Error(`cannot upload ${top}: not a folder`);
  await walk(top, '', new Set());
  // Plain code-unit order, the same on every machine (localeCompare is not).
  return files.sort((a, b) => (a.rel < b.rel ? -1 : a.rel > b.rel ? 1 : 0));
}

/** sha256 over "relpath\0sha256\n" of each file in order: equal trees, equal names; empty folders do not count. */
function treeHashOf(files: readonly TreeFile[], sha256s: readonly string[]): string {
  const hash = createHash('sha256');
  files.forEach((f, i) => hash.update(`${f.rel}\0${sha256s[i]}\n`));
  return hash.digest('hex');
}

/** Splits args into batches whose total length stays under MAX_ARGS_CHARS. */
function batches(args: readonly string[]): string[][] {
  const out: string[][] = [];
  let current: string[] = [];
  let chars = 0;
  for (const a of args) {
    if (current.length && chars + a.length > MAX_ARGS_CHARS) { out.push(current); current = []; chars = 0; }
    current.push(a);
    chars += a.length + 3;
  }
  if (current.length) out.push(current);
  return out;
}

// One line per argument: its sha256, or "-" when it is not a readable file. Reading stdin keeps odd names out of the output.
const HASH_EACH = 'for f in "$@"; do if [ -f "$f" ] && h=$(sha256sum < "$f"); then echo "${h%% *}"; else echo -; fi; done';

/** The host's sha256 of each path (undefined where there is no such file), in the same order. */
async function hostSha256s(client: Client, paths: readonly string[], opts: TransferOptions): Promise<Array<string | undefined>> {
  const out: Array<string | undefined> = [];
  for (const batch of batches(paths.map(remoteArg))) {
    const r = await exec(client, ['sh', '-c', HASH_EACH, 'sh', ...batch], opts);
    const lines = r.stdout.split('\n').slice(0, -1);
    if (r.code !== 0 || lines.length !== batch.length) {
      throw new Error(`cannot compute sha256 of uploaded files on ${opts.host ?? 'the host'}: ${r.stderr.trim() || `exit ${r.code}`}`);
    }
    out.push(...lines.map((l) => (/^[0-9a-f]{64}$/.test(l) ? l : undefined)));
  }
  return out;
}

/** Runs a shell script on the host with args appended in batches; returns stderr of the first failure. */
async function runBatched(client: Client, script: string, args: readonly string[], opts: TransferOptions): Promise<string | undefined> {
  for (const batch of batches(args)) {
    const r = await exec(client, ['sh', '-c', script, 'sh', ...batch], opts);
    if (r.code !== 0) return r.stderr.trim() || (r.signal ? `killed by ${r.signal}` : `exit ${r.code}`);
  }
  return undefined;
}

/**
 * Uploads a folder to `<remoteDir>/<treeHash>/<name>`, skipped when the host already holds that tree (its
 * `.complete` marker exists). Files go into `<remoteDir>/<treeHash>.partial/<name>` first, where a later call
 * keeps any that an interrupted upload already got right; once every file's sha256 is checked on the host the
 * tree is moved into place and `.complete` written last. On failure both folders are removed. Progress counts
 * bytes over the whole folder.
 */
export async function uploadFolder(
  client: Client, localDir: string, remoteDir: string, onProgress?: Progress, opts: TransferOptions = {},
): Promise<FolderUploadResult> {
  if (!remoteDir) throw new Error('uploadFolder: the remote folder is empty');
  const host = opts.host ?? 'the host';
  const top = resolve(localDir);
  const name = basename(top);
  const files = await listTree(top);
  const size = files.reduce((sum, f) => sum + f.size, 0);
  const sha256s: string[] = [];
  for (const f of files) sha256s.push(await localSha256(f.abs));
  const treeHash = treeHashOf(files, sha256s);
  const treeDir = posix.join(remoteDir, treeHash);
  const remotePath = posix.join(treeDir, name);
  const complete = await exec(client, ['test', '-f', remoteArg(posix.join(treeDir, COMPLETE))], opts);
  if (complete.code === 0) {
    onProgress?.(size, size);
    return { remotePath, treeHash, size, skipped: true };
  }

  const staging = `${treeDir}.partial`;
  const staged = files.map((f) => posix.join(staging, name, f.rel));
  const cleanUp = () => exec(client, ['rm', '-rf', '--', remoteArg(staging), remoteArg(treeDir)]).catch(() => undefined);
  const fail = async (why: string): Promise<never> => {
    await cleanUp();
    if (opts.signal?.aborted) throw cancelled(`upload of ${top}`);
    if (DISK_FULL.test(why)) {
      throw new DiskFullError(`no space left on ${host} to upload ${top} (${formatBytes(size)}) to ${remotePath}: ` +
        `${why.trim()} (${await hostFreeSpace(client, remoteDir)}). The partial upload was removed.`);
    }
    throw new Error(`upload of ${top} to ${remotePath} on ${host} failed: ${why.trim()}`);
  };

  const failure = await placeTree().catch((e: Error) => e.message);
  if (failure !== undefined) return fail(failure);
  return { remotePath, treeHash, size, skipped: false };

  /** Sends what the host lacks, checks it, moves it into place; resolves with why it failed, if it did. */
  async function placeTree(): Promise<string | undefined> {
    const folders = new Set([posix.join(staging, name), ...staged.map((p) => posix.dirname(p))]);
    const made = await runBatched(client, 'mkdir -p -- "$@"', [...folders].map(remoteArg), opts);
    if (made) return made;
    // Whatever an interrupted upload of this same tree already placed correctly is kept.
    const already = await hostSha256s(client, staged, opts);
    let done = files.reduce((sum, f, i) => sum + (already[i] === sha256s[i] ? f.size : 0), 0);
    onProgress?.(done, size);
    for (const [i, f] of files.entries()) {
      if (already[i] === sha256s[i]) continue;
      if (opts.signal?.aborted) return 'cancelled';
      const sent = await sendFileToHost(client, f.abs, staged[i], (n) => onProgress?.(done + n, size), opts.signal);
      if (sent) return sent;
      done += f.size;
    }
    const written = await hostSha256s(client, staged, opts);
    const wrong = files.findIndex((_, i) => written[i] !== sha256s[i]);
    if (wrong >= 0) return `${files[wrong].rel}: sha256 on the host is ${written[wrong] ?? 'missing'}, the local file's is ${sha256s[wrong]}`;
    // A tree folder without .complete is a leftover (or was damaged): it is replaced whole.
    const finish = 'rm -rf -- "$2" && mkdir -p -- "$2" && mv -- "$1/$3" "$2/$3" && rm -rf -- "$1" && : > "$2/.complete"';
    const r = await exec(client, ['sh', '-c', finish, 'sh', remoteArg(staging), remoteArg(treeDir), name], opts);
    return r.code === 0 ? undefined : r.stderr.trim() || `exit ${r.code}`;
  }
}

async function folderSize(dir: string): Promise<number> {
  return (await listTree(dir)).reduce((sum, f) => sum + f.size, 0);
}

export interface PrepareRemoteRunOptions {
  configText: string;
  /** The config's path on this machine: its folder is what relative paths in it mean. */
  configPath: string;
  /** The agent's root on the host (RemoteAgent.root); uploads go to `<agentRoot>/uploads`. */
  agentRoot: string;
  /** How the host is named in messages. */
  host?: string;
  signal?: AbortSignal;
}

export interface RemoteRunUpload {
  key: InputKey;
  localPath: string;
  remotePath: string;
  size: number;
  skipped: boolean;
}

export interface PreparedRemoteRun {
  /** The config text to send with start_run (no config_path: its paths are absolute on the host). */
  config: string;
  uploads: RemoteRunUpload[];
}

/**
 * Uploads every local input of a run config (dataset files, a local model folder) under `<agentRoot>/uploads`
 * and rewrites the config to name the uploads. Progress is over all inputs together, with what is moving now.
 */
export async function prepareRemoteRun(
  client: Client, opts: PrepareRemoteRunOptions, onProgress?: (bytesDone: number, bytesTotal: number, what: string) => void,
): Promise<PreparedRemoteRun> {
  const inputs = localInputs(opts.configText, opts.configPath);
  const sizes = await Promise.all(inputs.map(async (i) => (i.kind === 'dir' ? folderSize(i.localPath) : (await stat(i.localPath)).size)));
  const total = sizes.reduce((a, b) => a + b, 0);
  const uploadsDir = posix.join(opts.agentRoot, 'uploads');
  const transfer: TransferOptions = { host: opts.host, signal: opts.signal };
  const uploads: RemoteRunUpload[] = [];
  let before = 0;
  for (const [i, input] of inputs.entries()) {
    const what = `${input.key}: ${input.value}`;
    const report: Progress = (done) => onProgress?.(Math.min(before + done, total), total, what);
    const r = input.kind === 'dir'
      ? await uploadFolder(client, input.localPath, uploadsDir, report, transfer)
      : await uploadFile(client, input.localPath, uploadsDir, report, transfer);
    uploads.push({ key: input.key, localPath: input.localPath, remotePath: r.remotePath, size: r.size, skipped: r.skipped });
    before += sizes[i];
  }
  const replacements = Object.fromEntries(uploads.map((u) => [u.key, u.remotePath]));
  return { config: rewriteConfig(opts.configText, replacements, basename(opts.configPath)), uploads };
}
