// Which files of a run config live on this machine, and the same config pointing at their uploaded copies.
//
// The agent on a host only reads files inside its own root, so before a remote run the extension uploads the
// config's local inputs and sends a config whose paths name the uploads. Only what finding those inputs needs is
// checked here; the agent validates everything else and names the keys itself.
//
// training.resume_from is deliberately not an input: it names a run's checkpoint (or a folder) on the host,
// where the agent resolves it, so it travels unchanged.
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { basename, dirname, join, resolve } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { expandHome } from '../homePath';
import { isAlias, isMap, isScalar, LineCounter, parseDocument, Scalar, type Document, type Pair } from 'yaml';

export type InputKey = 'dataset.train' | 'dataset.eval' | 'model';

export interface LocalInput {
  key: InputKey;
  /** The path as written in the config. */
  value: string;
  /** Absolute, resolved against the config's folder with ~ expanded. */
  localPath: string;
  kind: 'file' | 'dir';
  /** 1-based line of the key in the config. */
  line: number;
}

export interface LocalInputOptions {
  /** What ~ means; the user's home by default. */
  homeDir?: string;
}

export class RemoteConfigError extends Error {
  override name = 'RemoteConfigError';
}

// The agent's paths.HUB_ID: Python's \w is Unicode-aware, hence letters and numbers of any script.
const HUB_ID = /^[\p{L}\p{N}_.-]+\/[\p{L}\p{N}_.-]+$/u;

/** Where a key's value sits: `model` may be a plain string or `{ name: ... }` with loading options. */
function keyPath(doc: Document, key: InputKey): string[] {
  if (key === 'model') return isMap(doc.get('model', true)) ? ['model', 'name'] : ['model'];
  return key.split('.');
}

/** The pair holding path's value, walking block or flow mappings; undefined when any step is missing. */
function pairAt(doc: Document, path: readonly string[]): Pair | undefined {
  let node: unknown = doc.contents;
  let pair: Pair | undefined;
  for (const part of path) {
    if (!isMap(node)) return undefined;
    pair = node.items.find((p) => isScalar(p.key) && p.key.value === part);
    if (!pair) return undefined;
    node = isAlias(pair.value) ? pair.value.resolve(doc) : pair.value;
  }
  return pair;
}

/** The scalar value at path (through aliases), or undefined. */
function valueAt(doc: Document, path: readonly string[]): unknown {
  const value = pairAt(doc, path)?.value;
  const node = isAlias(value) ? value.resolve(doc) : value;
  return isScalar(node) ? node.value : undefined;
}

function parse(configText: string, fileName: string): { doc: Document; lines: LineCounter } {
  const lines = new LineCounter();
  const doc = parseDocument(configText, { lineCounter: lines, prettyErrors: false });
  const error = doc.errors[0];
  if (error) {
    // An error found at the end of the text (an unclosed quote) points at the last line that has content.
    const at = Math.min(error.pos[0], configText.trimEnd().length);
    throw new RemoteConfigError(`${fileName} line ${lines.linePos(at).line}: not valid YAML (${error.message})`);
  }
  return { doc, lines };
}

function kindOf(path: string): 'file' | 'dir' | undefined {
  try {
    const s = statSync(path); // follows symlinks, as the upload does
    return s.isDirectory() ? 'dir' : s.isFile() ? 'file' : undefined;
  } catch {
    return undefined;
  }
}

/** The local files and folders a run config reads, checked to exist; a Hugging Face model id is not one. */
export function localInputs(configText: string, configPath: string, opts: LocalInputOptions = {}): LocalInput[] {
  const fileName = basename(configPath);
  const baseDir = dirname(resolve(configPath));
  const home = opts.homeDir ?? homedir();
  const { doc, lines } = parse(configText, fileName);
  const inputs: LocalInput[] = [];
  for (const key of ['model', 'dataset.train', 'dataset.eval'] as const) {
    const path = keyPath(doc, key);
    const pair = pairAt(doc, path);
    const value = valueAt(doc, path);
    // Missing or not a string: the agent's own validation reports it with the key's name.
    if (!pair || typeof value !== 'string' || value === '') continue;
    const line = lines.linePos((pair.key as Scalar).range?.[0] ?? 0).line;
    const where = `${fileName} line ${line}: ${path.join('.')}`;
    // As the agent decides: org/name is a Hub id unless something of that name sits next to the config.
    if (key === 'model' && HUB_ID.test(value) && !existsSync(join(baseDir, value))) continue;
    const localPath = resolve(baseDir, expandHome(value, home));
    const want = key === 'model' ? 'dir' : 'file';
    const found = kindOf(localPath);
    if (found !== want) {
      const missing = want === 'dir' ? 'folder not found' : 'file not found';
      const why = found === 'dir' ? 'is a folder, not a file' : found === 'file' ? 'is a file, not a model folder' : missing;
      throw new RemoteConfigError(`${where}: ${why}: ${localPath}`);
    }
    inputs.push({ key, value, localPath, kind: want, line });
  }
  return inputs;
}

/** value as YAML text in the style of the scalar it replaces (plain stays plain when YAML reads it back the same). */
function candidates(value: string, old: unknown): string[] {
  const doubled = JSON.stringify(value); // a JSON string is a valid double-quoted YAML scalar
  if (isScalar(old) && old.type === Scalar.QUOTE_SINGLE) return [`'${value.replace(/'/g, "''")}'`, doubled];
  if (isScalar(old) && old.type === Scalar.QUOTE_DOUBLE) return [doubled];
  return [value, doubled];
}

/**
 * The config with each replaced key's value swapped in place. Only the characters of those values change, so
 * comments, key order, quoting and layout everywhere else stay byte for byte; each result is parsed back to
 * check that it means exactly the original with the new values.
 */
export function rewriteConfig(configText: string, replacements: Partial<Record<InputKey, string>>, fileName = 'run config'): string {
  const { doc } = parse(configText, fileName);
  const edits: Array<{ path: string[]; start: number; end: number; old: unknown; value: string }> = [];
  for (const [key, value] of Object.entries(replacements) as Array<[InputKey, string | undefined]>) {
    if (value === undefined) continue;
    const path = keyPath(doc, key);
    const node = pairAt(doc, path)?.value as { range?: [number, number, number] } | null | undefined;
    if (!node?.range) throw new RemoteConfigError(`${fileName}: ${path.join('.')}: no value to replace`);
    edits.push({ path, start: node.range[0], end: node.range[1], old: node, value });
  }
  const expected = doc.toJS() as unknown;
  for (const e of edits) setIn(expected, e.path, e.value);

  // Later offsets first, so earlier ones stay valid.
  let text = configText;
  for (const e of [...edits].sort((a, b) => b.start - a.start)) {
    const fits = candidates(e.value, e.old).find((c) => {
      const attempt = text.slice(0, e.start) + c + text.slice(e.end);
      const reread = parseDocument(attempt);
      return reread.errors.length === 0 && valueAt(reread, e.path) === e.value;
    });
    if (fits === undefined) throw new RemoteConfigError(`${fileName}: ${e.path.join('.')}: cannot write ${JSON.stringify(e.value)} into the config`);
    text = text.slice(0, e.start) + fits + text.slice(e.end);
  }
  if (!isDeepStrictEqual(parseDocument(text).toJS(), expected)) {
    throw new RemoteConfigError(`${fileName}: rewriting ${edits.map((e) => e.path.join('.')).join(', ')} changed other values; the config was not sent`);
  }
  return text;
}

function setIn(target: unknown, path: readonly string[], value: string): void {
  let node = target as Record<string, unknown>;
  for (const part of path.slice(0, -1)) node = node[part] as Record<string, unknown>;
  node[path[path.length - 1]] = value;
}
