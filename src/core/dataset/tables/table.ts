// Datasets that are tables rather than lines (a JSON array, CSV/TSV, Parquet), read-only, a page of rows at a
// time. Each reader indexes its file once on open and afterwards reads only the rows a page shows, so a
// 200 MB file is never held in memory. Rows come back as one-line JSON object text, like a JSONL line, so the
// editor's grid shows every format the same way.
//
// The readers import the helpers below and this file imports the readers: only functions cross, and none is
// called before both files have loaded.
import { stat, type FileHandle } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import { openDelimited } from './delimited';
import { openJsonArray } from './jsonArray';
import { openParquet } from './parquet';

export interface TableSource {
  format: 'json' | 'csv' | 'tsv' | 'parquet';
  rowCount: number;
  /** The header (CSV/TSV) or the schema's top-level fields (Parquet); null where the file has none (JSON). */
  columns: string[] | null;
  /** Rows start .. start+count-1 (clamped to the table), each as one-line JSON text, e.g. {"instruction":"…"}. */
  rows(start: number, count: number): Promise<string[]>;
  close(): Promise<void>;
}

export interface OpenOptions {
  signal?: AbortSignal;
  /** done/total in bytes, or in row groups for Parquet. */
  onProgress?: (done: number, total: number) => void;
}

const FORMATS: Record<string, TableSource['format']> = { '.json': 'json', '.csv': 'csv', '.tsv': 'tsv', '.parquet': 'parquet' };

export function tableFormatOf(path: string): TableSource['format'] | undefined {
  return FORMATS[extname(path).toLowerCase()];
}

export async function openTable(path: string, options: OpenOptions = {}): Promise<TableSource> {
  const format = tableFormatOf(path);
  switch (format) {
    case 'json': return openJsonArray(path, options);
    case 'csv':
    case 'tsv': return openDelimited(path, format, options);
    case 'parquet': return openParquet(path, options);
    default: throw new Error(`${basename(path)}: not a table file (expected .json, .csv, .tsv or .parquet)`);
  }
}

/** An error whose message starts with the file's name and, when given, where in it: "data.json line 3: …". */
export function tableError(path: string, message: string, where?: string, cause?: unknown): Error {
  return new Error(`${basename(path)}${where ? ` ${where}` : ''}: ${message}`, cause === undefined ? undefined : { cause });
}

/**
 * The 1-based line that the byte at `offset` is on. Only error messages need it, so it rereads the file up to
 * there rather than have every index keep line numbers. "\r\n", "\n" and a lone "\r" each end a line.
 */
export async function lineAt(handle: FileHandle, offset: number): Promise<number> {
  const buf = Buffer.allocUnsafe(1 << 20);
  let line = 1;
  let prevCr = false;
  for (let pos = 0; pos < offset;) {
    const { bytesRead } = await handle.read(buf, 0, Math.min(buf.length, offset - pos), pos);
    if (bytesRead === 0) break;
    for (let i = 0; i < bytesRead; i++) {
      const b = buf[i];
      if (b === 10) {
        if (!prevCr) line++;
        prevCr = false;
      } else if (b === 13) {
        line++;
        prevCr = true;
      } else {
        prevCr = false;
      }
    }
    pos += bytesRead;
  }
  return line;
}

/** Exactly `length` bytes from `position`; a file that got shorter since it was indexed is an error. */
export async function readRange(handle: FileHandle, path: string, position: number, length: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  for (let done = 0; done < length;) {
    const { bytesRead } = await handle.read(buf, done, length - done, position + done);
    if (bytesRead === 0) throw tableError(path, `the file is shorter than when it was opened (changed on disk?): byte ${position + done} is past its end`);
    done += bytesRead;
  }
  return buf;
}

/**
 * Fails unless the file at `path` is still the one `handle` has open, as long as the `streamed` bytes an index
 * was built from: the index is read through its own stream, and its offsets only fit the file they came from.
 */
export async function sameFile(handle: FileHandle, path: string, streamed: number): Promise<void> {
  const [held, named] = await Promise.all([handle.stat(), stat(path).catch(() => undefined)]);
  if (!named || named.ino !== held.ino || named.dev !== held.dev || held.size !== streamed) {
    throw tableError(path, 'the file changed on disk while it was being read; open it again');
  }
}

/** The rows start..start+count-1 clamped to rowCount, as [from, to). */
export function clampRows(start: number, count: number, rowCount: number): [number, number] {
  const from = Math.max(0, Math.min(Math.floor(start), rowCount));
  const to = Math.max(from, Math.min(Math.floor(start) + Math.floor(count), rowCount));
  return [from, to];
}
