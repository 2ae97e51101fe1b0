// Where every line of a (possibly 1 GB) text file starts, found by streaming the file once. The editor pages,
// searches and saves by line number through this index, so the file itself is never held in memory.
// Offsets are byte positions kept in a Float64Array (exact up to 2^53, 8 bytes a line): 1.6 M lines cost 13 MB.
import { open } from 'node:fs/promises';
import { OffsetList } from './offsetList';

export type Eol = '\n' | '\r\n';

/** What a worker posts back: plain typed arrays and values, so the offsets' buffer can be transferred, not copied. */
export interface LineIndexTransfer {
  /** Byte offset where each line's content starts (line 0: after the BOM); exactly lineCount entries. */
  offsets: Float64Array;
  /** One bit per line: set when the line ends in "\r\n" (bit i of byte i >> 3). Empty when no line does. */
  crlf: Uint8Array;
  fileSize: number;
  bom: boolean;
  eol: Eol;
  /** Whether the last line ends with a newline (false for an empty file). */
  lastTerminated: boolean;
}

export interface BuildLineIndexOptions {
  onProgress?(bytesDone: number, total: number): void;
  signal?: AbortSignal;
  /** Bytes per read; one buffer of this size is reused for the whole file. */
  chunkBytes?: number;
  /** Bytes between progress reports (tests make it small); the last read always reports. */
  progressBytes?: number;
}

export const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;
const DEFAULT_PROGRESS_BYTES = 64 * 1024 * 1024;
const UTF8_BOM = [0xef, 0xbb, 0xbf] as const;
const LF = 10;
const CR = 13;

/** The error an aborted index, search or save rejects with: a DOMException named AbortError, as fetch uses. */
export function abortError(what: string): Error {
  return new DOMException(`${what} was cancelled`, 'AbortError');
}

export function throwIfAborted(signal: AbortSignal | undefined, what: string): void {
  if (signal?.aborted) throw abortError(what);
}

export class LineIndex {
  private constructor(
    private readonly offsets: Float64Array,
    private readonly crlf: Uint8Array,
    readonly lineCount: number,
    readonly fileSize: number,
    readonly bom: boolean,
    readonly eol: Eol,
    readonly lastTerminated: boolean,
  ) {}

  static fromTransfer(t: LineIndexTransfer): LineIndex {
    if (!(t.offsets instanceof Float64Array) || !(t.crlf instanceof Uint8Array)) throw new Error('line index transfer: offsets or crlf is not a typed array');
    return new LineIndex(t.offsets, t.crlf, t.offsets.length, t.fileSize, t.bom, t.eol, t.lastTerminated);
  }

  /** Byte offset where the line's content starts. */
  start(line: number): number {
    this.check(line);
    return this.offsets[line];
  }

  /** Byte offset just past the line's content: before its "\n", or its "\r\n". */
  end(line: number): number {
    const next = this.next(line);
    if (line < this.lineCount - 1 || this.lastTerminated) return next - (this.endsWithCrlf(line) ? 2 : 1);
    return next;
  }

  /** Byte offset just past the line and its line ending: where the next line starts, or the file's end. */
  next(line: number): number {
    this.check(line);
    return line + 1 < this.lineCount ? this.offsets[line + 1] : this.fileSize;
  }

  endsWithCrlf(line: number): boolean {
    this.check(line);
    const byte = line >> 3;
    return byte < this.crlf.length && (this.crlf[byte] & (1 << (line & 7))) !== 0;
  }

  /** The offsets trimmed to lineCount (copied only when their buffer has spare room), ready to transfer. */
  toTransfer(): LineIndexTransfer {
    const offsets = trimmed(this.offsets);
    const crlf = trimmed(this.crlf);
    return { offsets, crlf, fileSize: this.fileSize, bom: this.bom, eol: this.eol, lastTerminated: this.lastTerminated };
  }

  private check(line: number): void {
    if (!Number.isInteger(line) || line < 0 || line >= this.lineCount) {
      throw new RangeError(`line ${line} is outside the file's ${this.lineCount} lines (0-based)`);
    }
  }
}

/** The array alone in a buffer of its own size, so transferring the buffer moves no spare room. */
function trimmed<T extends Float64Array | Uint8Array>(a: T): T {
  return (a.byteOffset === 0 && a.byteLength === a.buffer.byteLength ? a : a.slice()) as T;
}

/** Each line's start offset, and which lines end in CRLF (a bit per line). */
class OffsetsBuilder {
  offsets = new OffsetList(1 << 16);
  crlf = new Uint8Array(0);
  crlfLines = 0;

  get count(): number {
    return this.offsets.length;
  }

  set count(n: number) {
    this.offsets.length = n;
  }

  push(offset: number): void {
    this.offsets.push(offset);
  }

  markCrlf(line: number): void {
    const byte = line >> 3;
    if (byte >= this.crlf.length) {
      const grown = new Uint8Array(Math.max(byte + 1, (this.offsets.capacity + 7) >> 3));
      grown.set(this.crlf);
      this.crlf = grown;
    }
    this.crlf[byte] |= 1 << (line & 7);
    this.crlfLines++;
  }
}

/**
 * Indexes the file's lines. An empty file has no lines; empty lines are lines; a last line without a newline is a
 * line, and a file that ends in "\n" has no empty line after it. A file that grows while it is read is indexed as
 * it was when opened; one that shrinks, up to where it ended.
 */
export async function buildLineIndex(path: string, opts: BuildLineIndexOptions = {}): Promise<LineIndex> {
  const chunkBytes = Math.max(1, Math.floor(opts.chunkBytes ?? DEFAULT_CHUNK_BYTES));
  const progressBytes = Math.max(1, opts.progressBytes ?? DEFAULT_PROGRESS_BYTES);
  const what = `Indexing ${path}`;
  throwIfAborted(opts.signal, what);
  const handle = await openForReading(path);
  try {
    let size = (await handle.stat()).size;
    const buf = Buffer.allocUnsafe(Math.min(chunkBytes, Math.max(size, 1)));
    // The BOM is read on its own so that a chunk border inside it (chunkBytes < 3) cannot hide it.
    const head = Buffer.alloc(3);
    const headRead = size >= 3 ? (await handle.read(head, 0, 3, 0)).bytesRead : 0;
    const bom = headRead === 3 && UTF8_BOM.every((b, i) => head[i] === b);
    const contentStart = bom ? 3 : 0;

    const b = new OffsetsBuilder();
    if (size > contentStart) b.push(contentStart);
    let pos = contentStart;
    let prevByte = -1; // the byte before this chunk, to see a "\r" that a chunk border split from its "\n"
    let reported = pos;
    while (pos < size) {
      throwIfAborted(opts.signal, what);
      const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, size - pos), pos);
      if (bytesRead === 0) {
        size = pos; // shrank under us: what was read is the file
        break;
      }
      const chunk = bytesRead === buf.length ? buf : buf.subarray(0, bytesRead);
      for (let i = chunk.indexOf(LF); i !== -1; i = chunk.indexOf(LF, i + 1)) {
        const before = i > 0 ? chunk[i - 1] : prevByte;
        if (before === CR) b.markCrlf(b.count - 1);
        const nextStart = pos + i + 1;
        if (nextStart < size) b.push(nextStart);
      }
      prevByte = chunk[bytesRead - 1];
      pos += bytesRead;
      if (opts.onProgress && (pos - reported >= progressBytes || pos >= size)) {
        reported = pos;
        opts.onProgress(pos, size);
      }
    }
    // A file that shrank mid-read can leave a pushed start at or past its new end: such a line does not exist.
    while (b.count > 0 && b.offsets.at(b.count - 1) >= size) b.count--;
    const lastTerminated = b.count > 0 && prevByte === LF;
    const terminatedLines = lastTerminated ? b.count : Math.max(0, b.count - 1);
    const lfLines = terminatedLines - b.crlfLines;
    const eol: Eol = b.crlfLines > lfLines ? '\r\n' : '\n';
    return LineIndex.fromTransfer({
      offsets: b.offsets.view(), crlf: b.crlf.subarray(0, (b.count + 7) >> 3),
      fileSize: size, bom, eol, lastTerminated,
    });
  } finally {
    await handle.close();
  }
}

/** Opens a file for reading, with an error that names it. */
export async function openForReading(path: string) {
  try {
    return await open(path, 'r');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    throw new Error(`Cannot open ${path}: ${err.code === 'ENOENT' ? 'no such file' : err.message}`, { cause: e });
  }
}
