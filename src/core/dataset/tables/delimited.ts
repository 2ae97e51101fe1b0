// A .csv or .tsv dataset with a header row. One streamed pass through csv-parse records where each record starts
// (a record may span lines through a quoted newline, so line starts would not do); a page then parses just its
// records' bytes. Values stay strings and rows are keyed by the header, as the agent's CSV reader sees them.
//
// The parse options are shared by both passes so that a page splits its bytes into exactly the records the
// index counted. They follow Python's csv module, which the agent reads these files with: "\r\n", "\n" and "\r"
// all end a record, a quote inside an unquoted cell is kept as text, and a record whose cells are all blank is
// skipped.
import { parse, type CsvError, type Options } from 'csv-parse';
import { parse as parseSync } from 'csv-parse/sync';
import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { abortError, openForReading } from '../lineIndex';
import { OffsetList } from '../offsetList';
import { clampRows, lineAt, readRange, sameFile, tableError, type OpenOptions, type TableSource } from './table';

export interface DelimitedOptions extends OpenOptions {
  /** Bytes per read of the stream (tests make it tiny, to split records and characters across reads). */
  chunkBytes?: number;
  /** Bytes between progress reports; the end always reports. */
  progressBytes?: number;
}

const CHUNK_BYTES = 1 << 20;
const PROGRESS_BYTES = 1 << 20;

function parseOptions(delimiter: string): Options {
  return { delimiter, record_delimiter: ['\r\n', '\n', '\r'], relax_column_count: true, relax_quotes: true, skip_empty_lines: true };
}

function blank(record: string[]): boolean {
  return record.every((cell) => cell.trim() === '');
}

/** A record whose cell count differs from the header's, found at byte `start`. */
class RaggedRecord extends Error {
  constructor(readonly start: number, readonly end: number, readonly cells: number) {
    super('ragged record');
  }
}

export async function openDelimited(path: string, format: 'csv' | 'tsv', options: DelimitedOptions = {}): Promise<TableSource> {
  if (options.signal?.aborted) throw abortError(`Opening ${path}`);
  const handle = await openForReading(path);
  try {
    const delimiter = format === 'tsv' ? '\t' : ',';
    const index = await indexRecords(handle, path, delimiter, options);
    return new DelimitedTable(handle, path, format, delimiter, index.header, index.starts, index.end);
  } catch (e) {
    await handle.close();
    throw e;
  }
}

class DelimitedTable implements TableSource {
  readonly rowCount: number;

  constructor(
    private readonly handle: FileHandle,
    private readonly path: string,
    readonly format: 'csv' | 'tsv',
    private readonly delimiter: string,
    readonly columns: string[],
    private readonly starts: Float64Array,
    /** Just past the last record (and its line ending). */
    private readonly end: number,
  ) {
    this.rowCount = starts.length;
  }

  async rows(start: number, count: number): Promise<string[]> {
    const [from, to] = clampRows(start, count, this.rowCount);
    if (from === to) return [];
    const base = this.starts[from];
    const bytes = await readRange(this.handle, this.path, base, (to < this.rowCount ? this.starts[to] : this.end) - base);
    let records: string[][];
    try {
      records = (parseSync(bytes, parseOptions(this.delimiter)) as string[][]).filter((r) => !blank(r));
    } catch (e) {
      throw tableError(this.path, `rows ${from + 1} to ${to} no longer parse (the file changed on disk?): ${(e as Error).message}`, undefined, e);
    }
    if (records.length !== to - from || records.some((r) => r.length !== this.columns.length)) {
      throw tableError(this.path, `rows ${from + 1} to ${to} no longer parse as they did (the file changed on disk?)`);
    }
    return records.map((cells) => JSON.stringify(Object.fromEntries(this.columns.map((name, i) => [name, cells[i]]))));
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

async function indexRecords(handle: FileHandle, path: string, delimiter: string, options: DelimitedOptions) {
  const size = (await handle.stat()).size;
  const progressBytes = Math.max(1, options.progressBytes ?? PROGRESS_BYTES);
  const starts = new OffsetList();
  let header: string[] | null = null;
  let previousEnd = 0; // just past the last record csv-parse gave, blank or not: where the next one starts
  let lastEnd = 0; // just past the last row kept
  let reported = 0;

  const parser = parse({
    ...parseOptions(delimiter),
    bom: true,
    // Records are only counted here, never collected: returning null drops each one.
    on_record: (record, info) => {
      const start = previousEnd;
      previousEnd = info.bytes;
      if (options.onProgress && info.bytes - reported >= progressBytes) {
        reported = info.bytes;
        options.onProgress(info.bytes, size);
      }
      if (blank(record)) return null;
      if (header === null) {
        header = record.map((cell) => cell.trim());
        return null;
      }
      if (record.length !== header.length) throw new RaggedRecord(start, info.bytes, record.length);
      starts.push(start);
      lastEnd = info.bytes;
      return null;
    },
  });
  parser.resume();
  // Its own descriptor, not the handle's: a stream closes its descriptor when destroyed, and the handle must
  // stay open for error lines and pages. sameFile() checks both saw one file.
  const input = createReadStream(path, { highWaterMark: Math.max(4, options.chunkBytes ?? CHUNK_BYTES) });
  let streamed = 0;
  input.on('data', (chunk) => { streamed += chunk.length; });
  try {
    await pipeline(input, parser, { signal: options.signal });
  } catch (e) {
    if ((e as Error | undefined)?.name === 'AbortError') throw abortError(`Opening ${path}`);
    if (e instanceof RaggedRecord) {
      const where = `line ${await lineAt(handle, await firstContentByte(handle, path, e.start, e.end))}`;
      throw tableError(path, `${e.cells} cells but the header has ${header!.length} columns`, where);
    }
    const csv = e as Partial<CsvError>;
    throw tableError(path, csv.message ?? String(e), undefined, e);
  }
  await sameFile(handle, path, streamed);
  options.onProgress?.(size, size);
  return { header: header ?? [], starts: starts.done(), end: lastEnd };
}

/** Where a record that starts at `start` really begins: past the empty lines csv-parse skipped before it. */
async function firstContentByte(handle: FileHandle, path: string, start: number, end: number): Promise<number> {
  const bytes = await readRange(handle, path, start, end - start);
  let i = 0;
  while (i < bytes.length && (bytes[i] === 10 || bytes[i] === 13)) i++;
  return start + i;
}
