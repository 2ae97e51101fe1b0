// A .parquet dataset, read with hyparquet (pure JS). The footer gives the row count and columns without reading
// any data; a page reads only the row groups its rows lie in, through positioned reads of the open file.
import type { AsyncBuffer, FileMetaData } from 'hyparquet';
import type { FileHandle } from 'node:fs/promises';
import { abortError, openForReading } from '../lineIndex';
import { clampRows, readRange, tableError, type OpenOptions, type TableSource } from './table';

// hyparquet is published only as ES modules. The extension's bundle inlines it either way, but a build that
// leaves packages external (the unit tests') must load it with import(), which works from CommonJS on every
// Node 20, where require() of an ES module needs 20.19 or later.
type Hyparquet = typeof import('hyparquet');
let hyparquet: Promise<Hyparquet> | undefined;
function loadHyparquet(): Promise<Hyparquet> {
  hyparquet ??= import('hyparquet');
  return hyparquet;
}

/** Binary cells longer than this are shown as a note of their size rather than as base64. */
const MAX_BINARY_BYTES = 4096;

export async function openParquet(path: string, options: OpenOptions = {}): Promise<TableSource> {
  const what = `Opening ${path}`;
  if (options.signal?.aborted) throw abortError(what);
  const lib = await loadHyparquet();
  const handle = await openForReading(path);
  try {
    const file = fileBuffer(handle, path, (await handle.stat()).size);
    let metadata: FileMetaData;
    try {
      metadata = await lib.parquetMetadataAsync(file);
    } catch (e) {
      throw tableError(path, `not a readable Parquet file: ${(e as Error).message}`, undefined, e);
    }
    if (options.signal?.aborted) throw abortError(what);
    const groups = metadata.row_groups.length;
    options.onProgress?.(groups, groups);
    const columns = lib.parquetSchema(metadata).children.map((c) => c.element.name);
    return new ParquetTable(lib, handle, path, file, metadata, columns);
  } catch (e) {
    await handle.close();
    throw e;
  }
}

/** The open file as hyparquet's AsyncBuffer: each slice one positioned read, so nothing else is loaded. */
function fileBuffer(handle: FileHandle, path: string, size: number): AsyncBuffer {
  return {
    byteLength: size,
    async slice(start: number, end = size): Promise<ArrayBuffer> {
      const bytes = await readRange(handle, path, start, Math.max(0, end - start));
      // A Buffer may be a view into a shared pool: copy out exactly its own bytes.
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
    },
  };
}

class ParquetTable implements TableSource {
  readonly format = 'parquet';
  readonly rowCount: number;

  constructor(
    private readonly lib: Hyparquet,
    private readonly handle: FileHandle,
    private readonly path: string,
    private readonly file: AsyncBuffer,
    private readonly metadata: FileMetaData,
    readonly columns: string[],
  ) {
    this.rowCount = Number(metadata.num_rows);
  }

  async rows(start: number, count: number): Promise<string[]> {
    const [from, to] = clampRows(start, count, this.rowCount);
    if (from === to) return [];
    let rows: Record<string, unknown>[];
    try {
      // utf8: false keeps BINARY columns bytes (base64 below); columns the schema marks as text still decode.
      rows = await this.lib.parquetReadObjects({ file: this.file, metadata: this.metadata, rowStart: from, rowEnd: to, utf8: false });
    } catch (e) {
      throw tableError(this.path, `rows ${from + 1} to ${to} could not be read: ${(e as Error).message}`, undefined, e);
    }
    return rows.map((row) => JSON.stringify(jsonSafe(row)));
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

/**
 * A cell as a value JSON can carry. Integers beyond 2^53 become strings rather than lose digits; NaN and the
 * infinities become strings rather than the null JSON.stringify would make of them.
 */
export function jsonSafe(value: unknown): unknown {
  if (value === null || value === undefined) return null;
  switch (typeof value) {
    case 'string':
    case 'boolean': return value;
    case 'number': return Number.isFinite(value) ? value : String(value);
    case 'bigint': return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value.toString();
    case 'object': break;
    default: return String(value);
  }
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) {
    return value.length <= MAX_BINARY_BYTES ? Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString('base64') : `(binary, ${value.length} bytes)`;
  }
  if (Array.isArray(value)) return value.map(jsonSafe);
  if (ArrayBuffer.isView(value)) return Array.from(value as unknown as ArrayLike<unknown>, jsonSafe);
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(value)) out[k] = jsonSafe(v);
  return out;
}
