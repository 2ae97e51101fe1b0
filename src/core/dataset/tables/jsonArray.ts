// A .json dataset: one top-level array of rows, up to a few hundred MB. It is read once as a byte stream through
// @streamparser/json's tokenizer, keeping only where each element starts and ends; a page then reads just its
// elements' bytes. Neither the file nor its values are ever held whole.
//
// The tokenizer's offsets are byte positions: it consumes bytes and advances its counter by each token's source
// byte length (escapes and multi-byte UTF-8 included). Two things it leaves to us: it counts from after a UTF-8
// BOM, which it skips, and it checks only tokens, not grammar ("[1 2]" tokenizes fine), so the grammar is checked
// here over its tokens. Every element boundary that lies in the chunk being read is also checked against the
// bytes there, so a tokenizer whose counting changed fails loudly instead of paging wrong rows.
import { Tokenizer, TokenizerError, TokenType, type ParsedTokenInfo } from '@streamparser/json';
import { createReadStream } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { abortError, openForReading } from '../lineIndex';
import { OffsetList } from '../offsetList';
import { clampRows, lineAt, readRange, sameFile, tableError, type OpenOptions, type TableSource } from './table';

export interface JsonArrayOptions extends OpenOptions {
  /** Bytes per read of the stream (tests make it tiny, to split tokens and characters across reads). */
  chunkBytes?: number;
  /** Bytes between progress reports; the last read always reports. */
  progressBytes?: number;
}

const CHUNK_BYTES = 1 << 20;
const PROGRESS_BYTES = 1 << 20;

/** What the grammar allows next. */
const enum Expect { Document, ValueOrClose, Value, KeyOrClose, Key, Colon, CommaOrClose, Done }
const ARRAY = 0;
const OBJECT = 1;

/** A grammar error at a byte offset, turned into a message with a line number once the read has stopped. */
class JsonSyntaxError extends Error {
  constructor(readonly offset: number, message: string, readonly withLine = true) {
    super(message);
  }
}

export async function openJsonArray(path: string, options: JsonArrayOptions = {}): Promise<TableSource> {
  if (options.signal?.aborted) throw abortError(`Opening ${path}`);
  const handle = await openForReading(path);
  try {
    const { starts, ends } = await indexArray(handle, path, options);
    return new JsonArrayTable(handle, path, starts, ends);
  } catch (e) {
    await handle.close();
    throw e;
  }
}

class JsonArrayTable implements TableSource {
  readonly format = 'json';
  readonly columns = null;
  readonly rowCount: number;

  constructor(private readonly handle: FileHandle, private readonly path: string, private readonly starts: Float64Array, private readonly ends: Float64Array) {
    this.rowCount = starts.length;
  }

  async rows(start: number, count: number): Promise<string[]> {
    const [from, to] = clampRows(start, count, this.rowCount);
    if (from === to) return [];
    const base = this.starts[from];
    const bytes = await readRange(this.handle, this.path, base, this.ends[to - 1] - base);
    const rows: string[] = new Array(to - from);
    for (let i = from; i < to; i++) {
      const text = bytes.toString('utf8', this.starts[i] - base, this.ends[i] - base);
      try {
        rows[i - from] = JSON.stringify(JSON.parse(text));
      } catch (e) {
        throw tableError(this.path, `row ${i + 1} no longer parses (the file changed on disk?)`, undefined, e);
      }
    }
    return rows;
  }

  close(): Promise<void> {
    return this.handle.close();
  }
}

const VALUE_FIRST_BYTES = new Set([...'{["-0123456789tfn'].map((c) => c.charCodeAt(0)));

function describe(token: TokenType): string {
  switch (token) {
    case TokenType.LEFT_BRACE: return 'an object';
    case TokenType.LEFT_BRACKET: return 'an array';
    case TokenType.STRING: return 'a string';
    case TokenType.NUMBER: return 'a number';
    case TokenType.TRUE:
    case TokenType.FALSE: return 'a boolean';
    case TokenType.NULL: return 'null';
    case TokenType.RIGHT_BRACE: return "'}'";
    case TokenType.RIGHT_BRACKET: return "']'";
    case TokenType.COLON: return "':'";
    case TokenType.COMMA: return "','";
    default: return 'a separator';
  }
}

function isValueStart(token: TokenType): boolean {
  return token === TokenType.LEFT_BRACE || token === TokenType.LEFT_BRACKET || token === TokenType.STRING || token === TokenType.NUMBER
    || token === TokenType.TRUE || token === TokenType.FALSE || token === TokenType.NULL;
}

async function indexArray(handle: FileHandle, path: string, options: JsonArrayOptions): Promise<{ starts: Float64Array; ends: Float64Array }> {
  const size = (await handle.stat()).size;
  const progressBytes = Math.max(1, options.progressBytes ?? PROGRESS_BYTES);
  const starts = new OffsetList();
  const ends = new OffsetList();
  const stack: number[] = [];
  let expect = Expect.Document as Expect; // "as": it changes only in the callbacks, which narrowing does not see
  let shift = 0; // bytes of the BOM the tokenizer skipped without counting
  let chunk: Buffer = Buffer.alloc(0);
  let chunkStart = 0;

  const checkByte = (pos: number, ok: (byte: number) => boolean, what: string) => {
    const i = pos - chunkStart;
    if (i >= 0 && i < chunk.length && !ok(chunk[i])) {
      throw new JsonSyntaxError(pos, `internal error: the JSON tokenizer placed ${what} at byte ${pos}, where the file has none, so rows cannot be located`, false);
    }
  };
  const close = () => {
    stack.pop();
    expect = stack.length === 0 ? Expect.Done : Expect.CommaOrClose;
  };
  const key = (token: TokenType, pos: number) => {
    if (token !== TokenType.STRING) throw new JsonSyntaxError(pos, `expected a property name in double quotes, found ${describe(token)}`);
    expect = Expect.Colon;
  };
  const value = (token: TokenType, pos: number) => {
    if (!isValueStart(token)) throw new JsonSyntaxError(pos, `expected a value, found ${describe(token)}`);
    if (stack.length === 1) {
      checkByte(pos, (b) => VALUE_FIRST_BYTES.has(b), 'an element');
      starts.push(pos);
    }
    if (token === TokenType.LEFT_BRACE) {
      stack.push(OBJECT);
      expect = Expect.KeyOrClose;
    } else if (token === TokenType.LEFT_BRACKET) {
      stack.push(ARRAY);
      expect = Expect.ValueOrClose;
    } else {
      expect = Expect.CommaOrClose;
    }
  };

  // Not stringBufferSize: it was ~10% faster, but it defers decoding to the string's end, so invalid UTF-8 was
  // reported chunks later or, with the closing quote swallowed into a bad sequence, as a truncated file.
  const tokenizer = new Tokenizer();
  tokenizer.onError = (err) => { throw err; };
  tokenizer.onToken = ({ token, offset }: ParsedTokenInfo) => {
    const pos = offset + shift;
    switch (expect) {
      case Expect.Document:
        if (token !== TokenType.LEFT_BRACKET) throw new JsonSyntaxError(pos, `expected a JSON array of rows at the top level, found ${describe(token)}`, false);
        stack.push(ARRAY);
        expect = Expect.ValueOrClose;
        return;
      case Expect.ValueOrClose:
        if (token !== TokenType.RIGHT_BRACKET) return value(token, pos);
        if (stack.length === 1) checkByte(pos, (b) => b === 0x5d, "the array's ']'");
        return close();
      case Expect.Value:
        return value(token, pos);
      case Expect.KeyOrClose:
        if (token === TokenType.RIGHT_BRACE) return close();
        return key(token, pos);
      case Expect.Key:
        return key(token, pos);
      case Expect.Colon:
        if (token !== TokenType.COLON) throw new JsonSyntaxError(pos, `expected ':' after a property name, found ${describe(token)}`);
        expect = Expect.Value;
        return;
      case Expect.CommaOrClose: {
        const inArray = stack[stack.length - 1] === ARRAY;
        if (token === TokenType.COMMA || token === (inArray ? TokenType.RIGHT_BRACKET : TokenType.RIGHT_BRACE)) {
          if (stack.length === 1) {
            checkByte(pos, (b) => b === 0x2c || b === 0x5d, "a ',' or ']' after an element");
            ends.push(pos);
          }
          if (token === TokenType.COMMA) expect = inArray ? Expect.Value : Expect.Key;
          else close();
          return;
        }
        throw new JsonSyntaxError(pos, inArray ? "expected ',' or ']' after an array element" : "expected ',' or '}' after a property value");
      }
      case Expect.Done:
        throw new JsonSyntaxError(pos, `expected nothing after the array's closing ']', found ${describe(token)}`);
    }
  };

  // The stream has a descriptor of its own: destroying a stream closes its descriptor even when autoClose is
  // false, and the handle must stay open for error lines and pages. sameFile() checks both saw one file.
  const stream = createReadStream(path, { highWaterMark: Math.max(4, options.chunkBytes ?? CHUNK_BYTES) });
  let reported = 0;
  try {
    for await (const data of stream as AsyncIterable<Buffer>) {
      if (options.signal?.aborted) throw abortError(`Opening ${path}`);
      if (chunkStart === 0 && data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) shift = 3;
      chunk = data;
      tokenizer.write(data);
      chunkStart += data.length;
      if (options.onProgress && (chunkStart - reported >= progressBytes || chunkStart >= size)) {
        reported = chunkStart;
        options.onProgress(chunkStart, size);
      }
    }
    chunk = Buffer.alloc(0);
    tokenizer.end();
  } catch (e) {
    throw await explain(e, handle, path, chunkStart, chunk.length);
  }
  await sameFile(handle, path, chunkStart);
  if (expect !== Expect.Done) {
    if (expect === Expect.Document) throw tableError(path, 'the file is empty: expected a JSON array of rows');
    throw tableError(path, "the file ends before the array's closing ']'", `line ${await lineAt(handle, chunkStart)}`);
  }
  return { starts: starts.done(), ends: ends.done() };
}

/** The error a failed read rejects with: the file's name, the line where known, and what was wrong. */
async function explain(e: unknown, handle: FileHandle, path: string, chunkStart: number, chunkLength: number): Promise<Error> {
  if ((e as Error | undefined)?.name === 'AbortError') return e as Error;
  if (e instanceof JsonSyntaxError) {
    return e.withLine ? tableError(path, e.message, `line ${await lineAt(handle, e.offset)}`) : tableError(path, e.message);
  }
  if (e instanceof TokenizerError) {
    // Its message is the only place it says where: 'Unexpected "x" at chunk position "i" (absolute position "n")
    // in state S', n counting every byte written, the BOM included. At the end it names no position.
    const at = /absolute position "(\d+)"/.exec(e.message);
    if (!at) return tableError(path, 'the file ends in the middle of a value', `line ${await lineAt(handle, chunkStart)}`, e);
    const offset = Number(at[1]);
    const byte = (await readRange(handle, path, offset, 1))[0];
    const state = /in state (\w+)/.exec(e.message)?.[1] ?? '';
    const what = byte >= 0x20 && byte < 0x7f ? `'${String.fromCharCode(byte)}'` : `byte 0x${byte.toString(16).padStart(2, '0')}`;
    const inside = state.startsWith('STRING') ? (byte < 0x20 ? ' in a string (a newline or tab in a string must be escaped)' : ' in a string')
      : state.startsWith('NUMBER') ? ' in a number'
      : /^(TRUE|FALSE|NULL)/.test(state) ? ' (true, false or null misspelt?)' : '';
    return tableError(path, `unexpected ${what}${inside}`, `line ${await lineAt(handle, offset)}`, e);
  }
  if ((e as NodeJS.ErrnoException)?.code === 'ERR_ENCODING_INVALID_ENCODED_DATA') {
    return tableError(path, `the text is not valid UTF-8 (somewhere in bytes ${chunkStart} to ${chunkStart + chunkLength})`, undefined, e);
  }
  return tableError(path, e instanceof Error ? e.message : String(e), undefined, e);
}
