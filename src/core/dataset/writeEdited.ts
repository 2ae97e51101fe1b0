// Saves an edited big file: the original with the edit log applied, streamed through one bounded buffer into a
// temporary file beside it, flushed, then renamed over it (the pattern of files/atomicWrite.ts, which takes the
// whole content in memory and so cannot serve a 1 GB file). Untouched lines are copied as raw byte ranges, so they
// keep their own line endings and bytes, and the BOM stays; replaced and inserted lines get the file's usual eol.
import { randomBytes } from 'node:crypto';
import { chmod, open, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { EditLog } from './editLog';
import { openForReading, throwIfAborted, type LineIndex } from './lineIndex';

export interface WriteEditedOptions {
  /** The new file's permission bits; default: the original's. */
  mode?: number;
  signal?: AbortSignal;
  /** Size of the one copy buffer (tests make it tiny). */
  bufferBytes?: number;
}

const DEFAULT_BUFFER_BYTES = 4 * 1024 * 1024;
const BOM = Buffer.from([0xef, 0xbb, 0xbf]);

/**
 * Replaces `path` with its edited content: either the old file stays or the whole new one is there. `index` must
 * describe the file as it is on disk (its size is checked); afterwards both index and log describe the old file,
 * and a handle opened before still reads the old content.
 *
 * The last line keeps the file's ending: an original last line without a newline stays without one, unless lines
 * follow it (then it gets the eol, and the new last line goes without).
 */
export async function writeEdited(path: string, index: LineIndex, log: EditLog, opts: WriteEditedOptions = {}): Promise<void> {
  const what = `Saving ${path}`;
  if (log.lineCount !== index.lineCount) {
    throw new Error(`${what}: the edits were made on ${log.lineCount} lines but the index has ${index.lineCount}`);
  }
  throwIfAborted(opts.signal, what);
  const st = await stat(path);
  if (st.size !== index.fileSize) {
    throw new Error(`${what}: the file changed on disk (${st.size} bytes, indexed at ${index.fileSize}); reload it before saving`);
  }
  const mode = opts.mode ?? st.mode & 0o7777;
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  const src = await openForReading(path);
  try {
    const out = await open(tmp, 'wx', 0o600);
    try {
      const w = new BufferedWriter(src, out, Math.max(1, opts.bufferBytes ?? DEFAULT_BUFFER_BYTES), path);
      await writeContent(w, index, log, opts.signal, what);
      await w.flush();
      await out.sync();
    } finally {
      await out.close();
    }
    await chmod(tmp, mode);
    throwIfAborted(opts.signal, what);
    await rename(tmp, path);
  } finally {
    await src.close();
    await rm(tmp, { force: true });
  }
}

async function writeContent(w: BufferedWriter, index: LineIndex, log: EditLog, signal: AbortSignal | undefined, what: string) {
  const eol = Buffer.from(index.eol);
  // An empty file has no ending of its own to keep; lines added to it end as JSONL lines do.
  const endWithEol = index.lineCount === 0 || index.lastTerminated;
  let unterminated = false;
  if (index.bom) await w.bytes(BOM);
  for (const piece of log.pieces()) {
    throwIfAborted(signal, what);
    if (unterminated) await w.bytes(eol);
    if (piece.kind === 'text') {
      await w.text(piece.text);
      unterminated = true;
    } else {
      await w.copy(index.start(piece.from), index.next(piece.to - 1));
      unterminated = piece.to === index.lineCount && !index.lastTerminated;
    }
  }
  if (unterminated && endWithEol) await w.bytes(eol);
}

/** Gathers small writes and raw copies in one buffer; reads of the original land straight in it. */
class BufferedWriter {
  private readonly buf: Buffer;
  private used = 0;

  constructor(private readonly src: FileHandle, private readonly out: FileHandle, size: number, private readonly path: string) {
    this.buf = Buffer.allocUnsafe(size);
  }

  async copy(from: number, to: number): Promise<void> {
    while (from < to) {
      if (this.used === this.buf.length) await this.flush();
      const n = Math.min(this.buf.length - this.used, to - from);
      const { bytesRead } = await this.src.read(this.buf, this.used, n, from);
      if (bytesRead === 0) throw new Error(`Saving ${this.path}: the file ended early at byte ${from} (it changed on disk?)`);
      this.used += bytesRead;
      from += bytesRead;
    }
  }

  async text(s: string): Promise<void> {
    const len = Buffer.byteLength(s);
    if (len > this.buf.length - this.used) await this.flush();
    if (len > this.buf.length) return this.writeAll(Buffer.from(s));
    this.used += this.buf.write(s, this.used, 'utf8');
  }

  async bytes(b: Buffer): Promise<void> {
    if (b.length > this.buf.length - this.used) await this.flush();
    if (b.length > this.buf.length) return this.writeAll(b);
    b.copy(this.buf, this.used);
    this.used += b.length;
  }

  async flush(): Promise<void> {
    await this.writeAll(this.buf.subarray(0, this.used));
    this.used = 0;
  }

  private async writeAll(b: Buffer): Promise<void> {
    for (let done = 0; done < b.length;) done += (await this.out.write(b, done, b.length - done)).bytesWritten;
  }
}
