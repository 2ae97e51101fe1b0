// Reading the lines a grid page shows: by line number through the index (one positioned read of exactly the
// page's bytes), or, before the index exists, from the file's head so the first page draws at once.
import type { FileHandle } from 'node:fs/promises';
import type { LineIndex } from './lineIndex';
import { openForReading } from './lineIndex';

/**
 * The file's lines among first .. first+count-1, decoded as UTF-8 without their line endings or the BOM.
 * `handle` must be open on the file the index was built from, unchanged since.
 */
export async function readLines(handle: FileHandle, index: LineIndex, first: number, count: number): Promise<string[]> {
  const from = Math.max(0, Math.min(Math.floor(first), index.lineCount));
  const to = Math.max(from, Math.min(Math.floor(first) + Math.floor(count), index.lineCount));
  if (from === to) return [];
  const base = index.start(from);
  const bytes = await readExactly(handle, base, index.end(to - 1) - base, from);
  const lines: string[] = new Array(to - from);
  for (let line = from; line < to; line++) {
    lines[line - from] = bytes.toString('utf8', index.start(line) - base, index.end(line) - base);
  }
  return lines;
}

async function readExactly(handle: FileHandle, position: number, length: number, firstLine: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(length);
  for (let done = 0; done < length;) {
    const { bytesRead } = await handle.read(buf, done, length - done, position + done);
    if (bytesRead === 0) {
      throw new Error(`The file is shorter than its index (it changed on disk?): line ${firstLine + 1} onwards could not be read`);
    }
    done += bytesRead;
  }
  return buf;
}

/**
 * The first complete lines within the file's first maxBytes (at most maxLines of them), without line endings or
 * the BOM. A line cut by maxBytes is left out unless the file ends there; so a first line longer than maxBytes
 * gives no lines.
 */
export async function readFirstLines(path: string, maxBytes: number, maxLines: number): Promise<string[]> {
  const handle = await openForReading(path);
  try {
    const size = (await handle.stat()).size;
    const length = Math.max(0, Math.min(size, Math.floor(maxBytes)));
    const buf = Buffer.allocUnsafe(length);
    let got = 0;
    while (got < length) {
      const { bytesRead } = await handle.read(buf, got, length - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    const atEnd = got < length || got === size;
    return splitLines(buf.subarray(0, got), atEnd, Math.max(0, Math.floor(maxLines)));
  } finally {
    await handle.close();
  }
}

function splitLines(bytes: Buffer, atEnd: boolean, maxLines: number): string[] {
  const lines: string[] = [];
  let pos = bytes.length >= 3 && bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf ? 3 : 0;
  while (lines.length < maxLines && pos < bytes.length) {
    const nl = bytes.indexOf(10, pos);
    if (nl === -1 && !atEnd) break;
    const stop = nl === -1 ? bytes.length : nl;
    const end = stop > pos && bytes[stop - 1] === 13 && nl !== -1 ? stop - 1 : stop;
    lines.push(bytes.toString('utf8', pos, end));
    pos = stop + 1;
  }
  return lines;
}
