// Finds the lines of a big file that match a search, streaming it in chunks. A chunk is cut after its last newline
// and the partial line carried into the next read, so no line (and no UTF-8 character) is ever split. A
// case-sensitive substring is found in the raw bytes (Buffer.indexOf) with no decoding at all; a regex, or a
// case-insensitive substring (a regex then), runs over each chunk's text in one pass, not line by line.
// Line numbers follow lineIndex.ts: 0-based, a BOM is not part of line 0, "\r\n" is a line ending.
import { openForReading, throwIfAborted } from './lineIndex';

export interface SearchOptions {
  pattern: string;
  regex: boolean;
  caseSensitive: boolean;
  signal?: AbortSignal;
  /** Matching 0-based line numbers, ascending, in batches as they are found. */
  onHits(lines: number[]): void;
  chunkBytes?: number;
}

const DEFAULT_CHUNK_BYTES = 8 * 1024 * 1024;
const HIT_BATCH = 4096;
const LF = 10;
const CR = 13;

/** Finds one chunk's matching lines. `region` holds whole lines joined by "\n" (no ending after the last). */
type Matcher = (region: Buffer, firstLine: number, hit: (line: number) => void) => void;

/** Resolves with the number of matching lines. An empty pattern matches nothing (the file is not read). */
export async function searchFile(path: string, opts: SearchOptions): Promise<number> {
  const what = `Searching ${path}`;
  const matcher = makeMatcher(opts.pattern, opts.regex, opts.caseSensitive);
  throwIfAborted(opts.signal, what);
  if (!matcher) return 0;
  const chunkBytes = Math.max(1, Math.floor(opts.chunkBytes ?? DEFAULT_CHUNK_BYTES));
  let total = 0;
  let batch: number[] = [];
  const flush = () => {
    if (!batch.length) return;
    const lines = batch;
    batch = [];
    opts.onHits(lines);
  };
  const hit = (line: number) => {
    total++;
    batch.push(line);
    if (batch.length >= HIT_BATCH) flush();
  };

  const handle = await openForReading(path);
  try {
    const size = (await handle.stat()).size;
    let buf: Buffer = Buffer.allocUnsafe(Math.max(3, Math.min(chunkBytes, size)));
    const head = size >= 3 ? (await handle.read(buf, 0, 3, 0)).bytesRead : 0;
    let pos = head === 3 && buf[0] === 0xef && buf[1] === 0xbb && buf[2] === 0xbf ? 3 : 0;
    let carry = 0; // bytes of a line begun in the previous read, moved to the buffer's start
    let line = 0;
    for (;;) {
      throwIfAborted(opts.signal, what);
      if (carry === buf.length) buf = grow(buf); // a line longer than the buffer
      const want = Math.min(chunkBytes, buf.length - carry, size - pos);
      const bytesRead = want > 0 ? (await handle.read(buf, carry, want, pos)).bytesRead : 0;
      pos += bytesRead;
      const valid = carry + bytesRead;
      const atEnd = bytesRead === 0 || pos >= size;
      if (valid === 0) break;
      const lastNl = buf.lastIndexOf(LF, valid - 1);
      if (lastNl === -1 && !atEnd) {
        carry = valid;
        continue;
      }
      // Whole lines: up to the last newline, or at the end to the file's last byte (a last line without newline).
      const wholeTo = atEnd && lastNl !== valid - 1 ? valid : lastNl;
      const contentTo = wholeTo === lastNl && lastNl > 0 && buf[lastNl - 1] === CR ? lastNl - 1 : wholeTo;
      const region = buf.subarray(0, contentTo);
      matcher(region, line, hit);
      line += countNewlines(region) + 1;
      flush();
      if (atEnd) break;
      carry = valid - (lastNl + 1);
      buf.copyWithin(0, lastNl + 1, valid);
    }
    return total;
  } finally {
    await handle.close();
  }
}

function grow(buf: Buffer): Buffer {
  const bigger = Buffer.allocUnsafe(buf.length * 2);
  buf.copy(bigger);
  return bigger;
}

function countNewlines(b: Buffer): number {
  let n = 0;
  for (let i = b.indexOf(LF); i !== -1; i = b.indexOf(LF, i + 1)) n++;
  return n;
}

function makeMatcher(pattern: string, regex: boolean, caseSensitive: boolean): Matcher | undefined {
  if (!pattern) return undefined;
  if (!regex && caseSensitive) {
    // A line holds no "\n", so such a substring is on no line.
    return pattern.includes('\n') ? () => undefined : bytesMatcher(Buffer.from(pattern, 'utf8'));
  }
  const source = regex ? pattern : pattern.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const flags = caseSensitive ? '' : 'i';
  let all: RegExp;
  let one: RegExp;
  try {
    // "m": ^ and $ anchor at each line, as they would on the line alone.
    all = new RegExp(source, `gm${flags}`);
    one = new RegExp(source, flags);
  } catch (e) {
    throw new Error(`The search pattern ${JSON.stringify(pattern)} is not a valid regular expression: ${(e as Error).message}`);
  }
  return textMatcher(all, one);
}

function bytesMatcher(needle: Buffer): Matcher {
  return (region, firstLine, hit) => {
    let line = firstLine;
    let pos = 0; // newlines before pos are counted in `line`
    for (let m = region.indexOf(needle, pos); m !== -1; m = region.indexOf(needle, pos)) {
      let nl = region.indexOf(LF, pos);
      while (nl !== -1 && nl < m) {
        line++;
        nl = region.indexOf(LF, nl + 1);
      }
      hit(line);
      if (nl === -1) return;
      line++;
      pos = nl + 1; // one hit per line: go on from the next line
    }
  };
}

function textMatcher(all: RegExp, one: RegExp): Matcher {
  return (region, firstLine, hit) => {
    let text = region.toString('utf8');
    if (region.indexOf(CR) !== -1) text = text.replace(/\r\n/g, '\n');
    let line = firstLine;
    let lineStart = 0;
    all.lastIndex = 0;
    for (let m = all.exec(text); m; m = all.exec(text)) {
      let nl = text.indexOf('\n', lineStart);
      while (nl !== -1 && nl < m.index) {
        line++;
        lineStart = nl + 1;
        nl = text.indexOf('\n', lineStart);
      }
      const lineEnd = nl === -1 ? text.length : nl;
      // A match that runs on past the line's end ([^x], \s) is not a match on the line; the line alone may still have one.
      if (m.index + m[0].length <= lineEnd || one.test(text.slice(lineStart, lineEnd))) hit(line);
      if (nl === -1) return;
      line++;
      lineStart = nl + 1;
      all.lastIndex = lineStart;
    }
  };
}
