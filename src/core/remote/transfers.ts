// File transfers to and from an SSH host: dataset uploads named by content hash, and downloads that resume,
// stream at full speed and are verified by size and sha256 before they count as done.
//
// Remote paths are absolute, or relative to the login directory ("~/x" means the same as "x"): commands and
// SFTP both start there, and quoting keeps the shell from expanding "~" itself.
import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, posix, sep } from 'node:path';
import { once } from 'node:events';
import type { Client, SFTPWrapper } from 'ssh2';
import type { Checkpoint, ManifestFile } from '../protocol/messages';
import { channelExit, exec, execChannel, execOk } from './remoteExec';

/** Called as bytes move; bytesTotal is the whole file (or checkpoint), including a resumed prefix. */
export type Progress = (bytesDone: number, bytesTotal: number) => void;
export type CheckpointProgress = (bytesDone: number, bytesTotal: number, file: string) => void;

export interface TransferOptions {
  /** How the host is named in error messages (e.g. the ssh config alias). */
  host?: string;
  signal?: AbortSignal;
}

export interface UploadResult {
  remotePath: string;
  sha256: string;
  size: number;
  /** The host already had this content, so nothing was sent. */
  skipped: boolean;
}

/**
 * 'exec' streams `tail -c +N` over an exec channel; 'sftp' pipelines SFTP reads. Both resume and verify the same
 * way. exec is the default: on loopback here it is the faster one (test/bench/sftp_vs_scp.ts measures both).
 */
export type DownloadMethod = 'exec' | 'sftp';

export interface DownloadOptions extends TransferOptions {
  expectedSize?: number;
  /** Without it, the host's own sha256sum of the file is the reference. */
  expectedSha256?: string;
  method?: DownloadMethod;
}

export interface DownloadResult {
  localPath: string;
  size: number;
  sha256: string;
  /** Bytes taken from an earlier .partial file (0 when the download started from scratch). */
  resumedFrom: number;
  /** The local file already existed with the expected sha256. */
  skipped: boolean;
}

export interface CheckpointDownload {
  localPath: string;
  files: DownloadResult[];
}

/** Thrown when the host's disk (or quota) is full; the partial upload has been removed. */
export class DiskFullError extends Error {
  override name = 'DiskFullError';
}

const MANIFEST = 'manifest.json';
/** What a host's tools print when the disk or quota is full. */
export const DISK_FULL = /No space left on device|Disk quota exceeded/i;
const EMPTY_SHA256 = createHash('sha256').digest('hex');
const SFTP_CHUNK = 255 * 1024; // OpenSSH's sftp-server answers at most 256 KiB minus headers per read
const SFTP_IN_FLIGHT = 64; // 16 MiB in flight; on loopback 64 gave 0.6-1.15x scp, 32 gave 0.6-0.8x (exec stays the default)

/** A remote path as a command argument: "~/x" becomes "x", since commands start in the login directory. */
export function remoteArg(path: string): string {
  return path.startsWith('~/') ? path.slice(2) || '.' : path;
}

function hostName(opts: TransferOptions): string {
  return opts.host ?? 'the host';
}

export function cancelled(what: string): Error {
  return new Error(`${what} was cancelled`);
}

export async function localSha256(path: string, onBytes?: (n: number) => void): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    onBytes?.((chunk as Buffer).length);
  }
  return hash.digest('hex');
}

async function localSize(path: string): Promise<number | undefined> {
  try {
    return (await stat(path)).size;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw e;
  }
}

/** sha256 of a file on the host, or undefined when it does not exist. */
export async function hostSha256(client: Client, remotePath: string, opts: TransferOptions = {}): Promise<string | undefined> {
  // Reading stdin keeps sha256sum from escaping odd file names in its output.
  const r = await exec(client, ['sh', '-c', '[ -e "$1" ] || exit 3; sha256sum < "$1"', 'sh', remoteArg(remotePath)], opts);
  if (r.code === 3) return undefined;
  const hex = /^([0-9a-f]{64})\b/.exec(r.stdout)?.[1];
  if (r.code !== 0 || !hex) {
    throw new Error(`cannot compute sha256 of ${remotePath} on ${hostName(opts)}: ${r.stderr.trim() || `exit ${r.code}`}`);
  }
  return hex;
}

async function hostFileSize(client: Client, remotePath: string, opts: TransferOptions): Promise<number> {
  const r = await exec(client, ['stat', '-L', '-c', '%s', '--', remoteArg(remotePath)], opts);
  const size = Number(r.stdout.trim());
  if (r.code !== 0 || r.stdout.trim() === '' || !Number.isSafeInteger(size)) {
    const why = /No such file/.test(r.stderr) ? 'no such file' : r.stderr.trim() || `exit ${r.code}`;
    throw new Error(`cannot read ${remotePath} on ${hostName(opts)}: ${why}`);
  }
  return size;
}

/** "12.3 GiB free there" for error messages about a full disk (best effort). */
export async function hostFreeSpace(client: Client, remoteDir: string): Promise<string> {
  const r = await exec(client, ['df', '-Pk', '--', remoteArg(remoteDir)]).catch(() => undefined);
  const kib = Number(r?.stdout.trim().split('\n').pop()?.split(/\s+/)[3]);
  return Number.isFinite(kib) ? `${formatBytes(kib * 1024)} free there` : 'free space unknown';
}

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let i = -1;
  do { v /= 1024; i++; } while (v >= 1024 && i < units.length - 1);
  return `${v.toFixed(1)} ${units[i]}`;
}

/**
 * Uploads localPath to `<remoteDir>/<sha256>/<basename>`. Skips the transfer when the host already holds that
 * content. The bytes go to a `.partial` name, are hashed on the host, and only then renamed into place.
 */
export async function uploadFile(
  client: Client, localPath: string, remoteDir: string, onProgress?: Progress, opts: TransferOptions = {},
): Promise<UploadResult> {
  const host = hostName(opts);
  const size = (await stat(localPath)).size;
  const sha256 = await localSha256(localPath);
  const hashDir = posix.join(remoteDir, sha256);
  const remotePath = posix.join(hashDir, basename(localPath));
  if ((await hostSha256(client, remotePath, opts)) === sha256) {
    onProgress?.(size, size);
    return { remotePath, sha256, size, skipped: true };
  }
  const partial = `${remotePath}.partial`;
  const cleanUp = async () => {
    // rmdir only removes the hash folder when this upload was the only thing in it.
    await exec(client, ['sh', '-c', 'rm -f -- "$1"; rmdir -- "$2" 2>/dev/null; true', 'sh', remoteArg(partial), remoteArg(hashDir)]).catch(() => undefined);
  };
  const fail = async (why: string): Promise<never> => {
    await cleanUp();
    if (DISK_FULL.test(why)) {
      throw new DiskFullError(`no space left on ${host} to upload ${localPath} (${formatBytes(size)}) to ${remotePath}: ` +
        `${why.trim()} (${await hostFreeSpace(client, remoteDir)}). The partial upload was removed.`);
    }
    throw new Error(`upload of ${localPath} to ${remotePath} on ${host} failed: ${why.trim()}`);
  };

  const mkdirResult = await exec(client, ['mkdir', '-p', '--', remoteArg(hashDir)], opts);
  if (mkdirResult.code !== 0) return fail(mkdirResult.stderr || `mkdir exit ${mkdirResult.code}`);

  const failure = await sendFileToHost(client, localPath, partial, (sent) => onProgress?.(sent, size), opts.signal);
  if (opts.signal?.aborted) { await cleanUp(); throw cancelled(`upload of ${localPath}`); }
  if (failure) return fail(failure);

  const written = await hostSha256(client, partial, opts);
  if (written !== sha256) return fail(`sha256 on the host is ${written ?? 'missing'}, the local file's is ${sha256}`);
  const moved = await exec(client, ['mv', '-f', '--', remoteArg(partial), remoteArg(remotePath)], opts);
  if (moved.code !== 0) return fail(moved.stderr || `mv exit ${moved.code}`);
  return { remotePath, sha256, size, skipped: false };
}

/**
 * Streams localPath into remotePath on the host (whose folder must exist), overwriting it. Resolves with why it
 * failed (the host's stderr, a local read error, a dropped connection) or undefined once the host confirmed the
 * write. Aborting `signal` closes the channel; the caller checks the signal and removes what was written.
 */
export async function sendFileToHost(
  client: Client, localPath: string, remotePath: string, onSent?: (bytesSent: number) => void, signal?: AbortSignal,
): Promise<string | undefined> {
  const channel = await execChannel(client, ['sh', '-c', 'cat > "$1"', 'sh', remoteArg(remotePath)]);
  const exited = channelExit(channel);
  let stderr = '';
  channel.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  channel.resume();
  const source = createReadStream(localPath, { highWaterMark: 256 * 1024 });
  let sent = 0;
  let readError: Error | undefined;
  source.on('data', (chunk) => { sent += chunk.length; onSent?.(sent); });
  source.on('error', (e) => { readError = e; channel.close(); });
  const onAbort = () => channel.close();
  signal?.addEventListener('abort', onAbort, { once: true });
  source.pipe(channel);
  const exit = await exited;
  source.destroy();
  signal?.removeEventListener('abort', onAbort);
  if (signal?.aborted) return 'cancelled';
  if (readError) return `reading ${localPath}: ${readError.message}`;
  if (exit.code !== 0) return stderr || (exit.signal ? `cat killed by ${exit.signal}` : `the connection closed before the host confirmed the write`);
  return undefined;
}

/** Receives downloaded bytes in order; resolves when they may keep coming (local write backpressure). */
type Sink = (chunk: Buffer) => Promise<void>;

/** Feeds the host's bytes from `offset` to `sink`, by exec `tail -c +N`; resolves when the command has exited. */
async function streamByExec(client: Client, remotePath: string, offset: number, sink: Sink, opts: TransferOptions): Promise<void> {
  const channel = await execChannel(client, ['tail', '-c', `+${offset + 1}`, '--', remoteArg(remotePath)]);
  const exited = channelExit(channel);
  let stderr = '';
  channel.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
  const onAbort = () => channel.close();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  channel.end();
  try {
    // Async iteration throws on a channel that closes without EOF (a dropped connection).
    for await (const chunk of channel) await sink(chunk as Buffer);
  } finally {
    opts.signal?.removeEventListener('abort', onAbort);
  }
  const { code, signal } = await exited;
  if (code !== 0) throw new Error(`reading ${remotePath} on ${hostName(opts)} failed: ${stderr.trim() || (signal ? `killed by ${signal}` : 'the connection closed')}`);
}

function openSftp(client: Client): Promise<SFTPWrapper> {
  return new Promise((resolve, reject) => client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp))));
}

/** Feeds the host's bytes [offset, end) to `sink` with SFTP_IN_FLIGHT pipelined reads, written in order. */
async function streamBySftp(client: Client, remotePath: string, offset: number, end: number, sink: Sink, opts: TransferOptions): Promise<void> {
  const sftp = await openSftp(client);
  try {
    const handle = await new Promise<Buffer>((resolve, reject) => sftp.open(remoteArg(remotePath), 'r', (e, h) => (e ? reject(e) : resolve(h))));
    // One read of [pos, pos+len); a short answer before EOF is followed up until the range is full or EOF.
    const readRange = async (pos: number, len: number): Promise<Buffer> => {
      const buf = Buffer.allocUnsafe(len);
      let filled = 0;
      while (filled < len) {
        const n = await new Promise<number>((resolve, reject) =>
          sftp.read(handle, buf, filled, len - filled, pos + filled, (e, bytes) => (e ? reject(e) : resolve(bytes))));
        if (n === 0) break;
        filled += n;
      }
      return filled === len ? buf : buf.subarray(0, filled);
    };
    const queue: Promise<Buffer>[] = [];
    let next = offset;
    const fill = () => {
      while (queue.length < SFTP_IN_FLIGHT && next < end) {
        const len = Math.min(SFTP_CHUNK, end - next);
        const p = readRange(next, len);
        p.catch(() => undefined); // awaited in order below; avoid an unhandled rejection meanwhile
        queue.push(p);
        next += len;
      }
    };
    fill();
    while (queue.length) {
      if (opts.signal?.aborted) throw cancelled(`download of ${remotePath}`);
      const data = await queue.shift()!;
      if (data.length) await sink(data);
      if (data.length < SFTP_CHUNK && next < end) break; // the file got shorter on the host; the size check reports it
      fill();
    }
    await new Promise<void>((resolve) => sftp.close(handle, () => resolve()));
  } finally {
    sftp.end();
  }
}

/**
 * Downloads remotePath to localPath through `<localPath>.partial`, resuming that partial from its size. The result
 * counts only when the size matches (the host's, and expectedSize if given) and the sha256 matches expectedSha256
 * (or the host's own sha256sum). An empty file is an error unless expectedSize is 0. A transfer cut short keeps
 * its partial for the next call; a partial with wrong content is thrown away.
 */
export async function downloadFile(
  client: Client, remotePath: string, localPath: string, opts: DownloadOptions = {}, onProgress?: Progress,
): Promise<DownloadResult> {
  const host = hostName(opts);
  const size = await hostFileSize(client, remotePath, opts);
  if (opts.expectedSize !== undefined && size !== opts.expectedSize) {
    throw new Error(`${remotePath} on ${host} is ${size} bytes, but ${opts.expectedSize} were expected: it is truncated or was changed`);
  }
  if (size === 0 && opts.expectedSize !== 0) {
    throw new Error(`${remotePath} on ${host} is empty (0 bytes); an empty download is not reported as success unless 0 bytes are expected`);
  }
  if (opts.expectedSha256 && (await localSize(localPath)) === size && (await localSha256(localPath)) === opts.expectedSha256) {
    onProgress?.(size, size);
    return { localPath, size, sha256: opts.expectedSha256, resumedFrom: 0, skipped: true };
  }
  await mkdir(dirname(localPath), { recursive: true });
  const partial = `${localPath}.partial`;
  const result = await fetchIntoPartial(client, remotePath, partial, size, opts, onProgress);
  const reference = opts.expectedSha256 ?? (await hostSha256(client, remotePath, opts));
  if (result.sha256 !== reference) {
    await rm(partial, { force: true });
    if (result.resumedFrom > 0) {
      // The kept prefix was not what the host has now: start over once from zero.
      return downloadFile(client, remotePath, localPath, opts, onProgress);
    }
    throw new Error(`sha256 mismatch for ${remotePath} from ${host}: got ${result.sha256}, expected ${reference ?? '(file vanished on the host)'}; the download was discarded`);
  }
  await rename(partial, localPath);
  return { localPath, size, sha256: result.sha256, resumedFrom: result.resumedFrom, skipped: false };
}

async function fetchIntoPartial(
  client: Client, remotePath: string, partial: string, size: number, opts: DownloadOptions, onProgress?: Progress,
): Promise<{ sha256: string; resumedFrom: number }> {
  let resumedFrom = (await localSize(partial)) ?? 0;
  if (resumedFrom > size) {
    await rm(partial, { force: true });
    resumedFrom = 0;
  }
  const hash = createHash('sha256');
  if (resumedFrom > 0) {
    // Hash the kept prefix so the final digest covers the whole file without reading it twice afterwards.
    for await (const chunk of createReadStream(partial, { end: resumedFrom - 1, highWaterMark: 1 << 20 })) hash.update(chunk as Buffer);
  }
  let done = resumedFrom;
  onProgress?.(done, size);
  const out = createWriteStream(partial, { flags: resumedFrom > 0 ? 'a' : 'w', highWaterMark: 1 << 20 });
  let writeError: Error | undefined;
  out.on('error', (e) => { writeError = e; });
  const sink: Sink = async (chunk) => {
    if (writeError) throw writeError;
    hash.update(chunk);
    done += chunk.length;
    onProgress?.(done, size);
    if (!out.write(chunk)) await once(out, 'drain');
  };
  let streamError: unknown;
  try {
    if (resumedFrom < size) {
      if ((opts.method ?? 'exec') === 'sftp') await streamBySftp(client, remotePath, resumedFrom, size, sink, opts);
      else await streamByExec(client, remotePath, resumedFrom, sink, opts);
    }
  } catch (e) {
    streamError = e;
  }
  await new Promise<void>((resolve) => { out.end(() => resolve()); out.once('error', () => resolve()); });
  if (writeError) throw new Error(`writing ${partial} failed: ${writeError.message}`);
  if (opts.signal?.aborted) throw cancelled(`download of ${remotePath}`);
  const have = (await localSize(partial)) ?? 0;
  if (have !== size || done !== size) {
    const why = streamError instanceof Error ? `: ${streamError.message}` : '';
    throw new Error(`download of ${remotePath} from ${hostName(opts)} stopped at ${have} of ${size} bytes${why}; ` +
      `${partial} is kept and the next download resumes from there`);
  }
  if (streamError) throw streamError;
  return { sha256: hash.digest('hex'), resumedFrom };
}

/** A manifest entry name must stay inside the checkpoint folder: a hostile host cannot write elsewhere. */
function checkedFileName(name: string, checkpoint: string): string {
  const normal = posix.normalize(name);
  if (!name || normal !== name || posix.isAbsolute(name) || normal === '..' || normal.startsWith('../') || name.includes('\\') || name.includes('\0')) {
    throw new Error(`checkpoint ${checkpoint}: refusing manifest file name ${JSON.stringify(name)} (it must be a plain relative path inside the checkpoint)`);
  }
  return name;
}

function sameFiles(a: readonly ManifestFile[], b: readonly ManifestFile[]): string | undefined {
  const byName = new Map(b.map((f) => [f.name, f]));
  for (const f of a) {
    const other = byName.get(f.name);
    if (!other) return `${f.name} is missing from one of them`;
    if (other.size !== f.size || other.sha256 !== f.sha256) return `${f.name} differs (size/sha256)`;
  }
  return a.length === b.length ? undefined : 'they list different files';
}

/**
 * Downloads every file of a checkpoint into `<localDir>/<checkpoint.name>`, each verified against the host's
 * manifest.json (which must agree with `checkpoint.files`). Files land in `.partial-<name>` first, the manifest
 * last, and the folder is renamed into place when complete, as the agent does on the host.
 */
export async function downloadCheckpoint(
  client: Client, checkpoint: Pick<Checkpoint, 'name' | 'path' | 'files'>, localDir: string,
  onProgress?: CheckpointProgress, opts: TransferOptions & { method?: DownloadMethod } = {},
): Promise<CheckpointDownload> {
  const name = checkpoint.name;
  if (!name || name.includes('/') || name.includes(sep) || name === '.' || name === '..') {
    throw new Error(`refusing checkpoint name ${JSON.stringify(name)}: it must be a single folder name`);
  }
  const manifestText = await execOk(client, ['cat', '--', remoteArg(posix.join(checkpoint.path, MANIFEST))], opts)
    .catch((e: Error) => { throw new Error(`checkpoint ${name} on ${hostName(opts)} has no readable ${MANIFEST}: ${e.message}`); });
  let manifestFiles: ManifestFile[];
  try {
    manifestFiles = (JSON.parse(manifestText) as { files: ManifestFile[] }).files;
    if (!Array.isArray(manifestFiles)) throw new Error('no "files" list');
  } catch (e) {
    throw new Error(`checkpoint ${name}: ${posix.join(checkpoint.path, MANIFEST)} on ${hostName(opts)} is not a valid manifest: ${(e as Error).message}`);
  }
  const disagreement = sameFiles(checkpoint.files, manifestFiles);
  if (disagreement) throw new Error(`checkpoint ${name}: ${MANIFEST} on ${hostName(opts)} disagrees with the checkpoint listing: ${disagreement}`);

  const files = manifestFiles.map((f) => ({ ...f, name: checkedFileName(f.name, name) }));
  const total = files.reduce((sum, f) => sum + f.size, 0);
  const work = join(localDir, `.partial-${name}`);
  const dest = join(localDir, name);
  let before = 0;
  const results: DownloadResult[] = [];
  for (const f of files) {
    const r = await downloadFile(client, posix.join(checkpoint.path, f.name), join(work, ...f.name.split('/')),
      { ...opts, expectedSize: f.size, expectedSha256: f.sha256 },
      (done) => onProgress?.(before + done, total, f.name),
    ).catch((e: Error) => { throw new Error(`checkpoint ${name}, file ${f.name}: ${e.message}`); });
    results.push(r);
    before += f.size;
  }
  await writeFile(join(work, MANIFEST), manifestText);
  await rm(dest, { recursive: true, force: true });
  await rename(work, dest);
  return { localPath: dest, files: results.map((r) => ({ ...r, localPath: join(dest, r.localPath.slice(work.length + 1)) })) };
}

/** Names of files under a downloaded checkpoint folder whose size or sha256 no longer matches its manifest. */
export async function verifyLocalCheckpoint(folder: string): Promise<string[]> {
  const { files } = JSON.parse(await readFile(join(folder, MANIFEST), 'utf8')) as { files: ManifestFile[] };
  const bad: string[] = [];
  for (const f of files) {
    const path = join(folder, ...checkedFileName(f.name, folder).split('/'));
    if ((await localSize(path)) !== f.size || (await localSha256(path)) !== f.sha256) bad.push(f.name);
  }
  return bad;
}

export { EMPTY_SHA256 };
