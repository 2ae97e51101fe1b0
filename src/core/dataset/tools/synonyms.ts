// Synonym augmentation (the DeepSeek-R1 fine-tuning guide's "data tools"): new rows whose prompts say the same
// thing in other words, so a small dataset teaches the task rather than its exact phrasing. Only the input side
// is reworded; the answer is the label and must stay true. This file also holds what the other tools share:
// reading a YAML/JSON tool file, finding whole words, keeping capitalisation and visiting a row's input texts.
import { parse as parseYaml, parseDocument, YAMLParseError } from 'yaml';
import { seeded } from './seeded';

export interface ToolRow {
  /** The row's 0-based index in the dataset. */
  row: number;
  /** The row's JSONL text: one JSON object. */
  text: string;
}

export interface AddedRow {
  /** The source row's index; the new row goes right after it. */
  after: number;
  text: string;
}

export type JsonObject = Record<string, unknown>;

// ---------------------------------------------------------------------------------------------------------------
// Tool files

/**
 * A tool file's data: JSON for .json, YAML otherwise (YAML reads JSON too, so an odd extension still works).
 * YAML uses the failsafe schema so every scalar is a string: `two: 2` or `yes: no` are words here, not a number
 * and booleans. Errors name the file and, where the parser knows it, the line.
 */
export function parseToolFile(text: string, fileName: string): unknown {
  if (/\.json$/i.test(fileName)) {
    try {
      return JSON.parse(text.replace(/^\uFEFF/, ''));
    } catch (e) {
      const message = (e as Error).message;
      const at = /at position (\d+)/.exec(message);
      const line = at ? text.slice(0, Number(at[1])).split('\n').length : yamlErrorLine(text);
      // V8 appends the position, or for an unexpected token a copy of the text, which can be the whole file.
      const reason = message.replace(/ in JSON at position \d+.*$/s, '').replace(/, (?:\.\.\.)?".*"(?:\.\.\.)? is not valid JSON$/s, '');
      throw new Error(line ? `${fileName}, line ${line}: ${reason}` : `${fileName}: ${reason}`);
    }
  }
  try {
    return parseYaml(text, { schema: 'failsafe' });
  } catch (e) {
    if (!(e instanceof YAMLParseError)) throw new Error(`${fileName}: ${(e as Error).message}`);
    // yaml's message repeats the position and quotes the source over several lines; the first clause is the reason.
    const reason = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
    const pos = e.linePos?.[0];
    throw new Error(pos ? `${fileName}, line ${pos.line}, column ${pos.col}: ${reason}` : `${fileName}: ${reason}`);
  }
}

/**
 * Where YAML, which reads JSON too, stops on `text`: a line for the JSON errors V8 gives without a position
 * (its "Unexpected token" ones). Undefined when YAML finds nothing wrong there.
 */
function yamlErrorLine(text: string): number | undefined {
  return parseDocument(text).errors[0]?.linePos?.[0].line;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A row's object, or undefined for a row that is not one JSON object (those are skipped, not failed). */
export function parseRowObject(text: string): JsonObject | undefined {
  try {
    const v: unknown = JSON.parse(text.replace(/^\uFEFF/, ''));
    return isObject(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Words

const WORD_CHAR = '[\\p{L}\\p{M}\\p{N}_]';
const STARTS_WORD = new RegExp(`^${WORD_CHAR}`, 'u');
const ENDS_WORD = new RegExp(`${WORD_CHAR}$`, 'u');

/** Lower case with runs of whitespace as one space: how keys are compared, so "Right  away" finds "right away". */
export function normalisePhrase(phrase: string): string {
  return phrase.trim().split(/\s+/).join(' ').toLowerCase();
}

/**
 * A regex source matching `phrase` as whole words, with any whitespace between its words. The boundary checks go
 * only on a side that ends in a word character: "fast" must not match inside "breakfast", but a phrase that
 * starts with "(" has no word edge to check there.
 */
export function phraseSource(phrase: string): string {
  const p = phrase.trim();
  let src = p.split(/\s+/).map((w) => w.replace(/[\\^$.*+?()[\]{}|/]/g, '\\$&')).join('\\s+');
  if (STARTS_WORD.test(p)) src = `(?<!${WORD_CHAR})${src}`;
  if (ENDS_WORD.test(p)) src = `${src}(?!${WORD_CHAR})`;
  return src;
}

/** One case-insensitive global regex for all phrases, longest first so "right away" wins over "right". */
export function phrasesRegex(phrases: Iterable<string>): RegExp {
  const sorted = [...new Set(phrases)].sort((a, b) => b.length - a.length || (a < b ? -1 : a > b ? 1 : 0));
  return new RegExp(sorted.map((p) => `(?:${phraseSource(p)})`).join('|'), 'giu');
}

/**
 * `replacement` written the way `original` was: all capitals when the original is ("FAST" → "QUICK"), a capital
 * first letter when the original has one ("Fast" → "Quick"), else as the file writes it (so a proper noun in
 * the file keeps its capital).
 */
export function matchCase(original: string, replacement: string): string {
  const letters = original.replace(/[^\p{L}]/gu, '');
  const cased = letters.toUpperCase() !== letters.toLowerCase();
  if (cased && letters.length > 1 && letters === letters.toUpperCase()) return replacement.toUpperCase();
  const first = /\p{L}/u.exec(original)?.[0];
  if (first && first !== first.toLowerCase() && first === first.toUpperCase()) {
    return replacement.replace(/\p{L}/u, (c) => c.toUpperCase());
  }
  return replacement;
}

// ---------------------------------------------------------------------------------------------------------------
// A row's input texts

/**
 * Where a row's input (what the model reads, never what it must answer) lives, in the order the tools visit it:
 * Alpaca `instruction` and `input`, a preference row's `prompt` (a string, or a message list's user turns),
 * plain `text`, and the user turns of OpenAI `messages` and human turns of ShareGPT `conversations`.
 */
export const DEFAULT_INPUT_FIELDS: readonly string[] = ['instruction', 'input', 'prompt', 'text', 'messages', 'conversations'];

type Edit = (text: string) => string;

function mapContent(content: unknown, edit: Edit): unknown {
  if (typeof content === 'string') {
    const next = edit(content);
    return next === content ? undefined : next;
  }
  // OpenAI content parts: only the text parts are words; images and audio stay as they are.
  if (!Array.isArray(content)) return undefined;
  let out: unknown[] | undefined;
  content.forEach((part, i) => {
    if (!isObject(part) || part.type !== 'text' || typeof part.text !== 'string') return;
    const next = edit(part.text);
    if (next === part.text) return;
    out ??= content.slice();
    out[i] = { ...part, text: next };
  });
  return out;
}

function mapTurns(turns: unknown[], edit: Edit): unknown[] | undefined {
  let out: unknown[] | undefined;
  turns.forEach((turn, i) => {
    if (!isObject(turn)) return;
    let next: JsonObject | undefined;
    if (turn.role === 'user') {
      const content = mapContent(turn.content, edit);
      if (content !== undefined) next = { ...turn, content };
    } else if ((turn.from === 'human' || turn.from === 'user') && typeof turn.value === 'string') {
      const value = edit(turn.value);
      if (value !== turn.value) next = { ...turn, value };
    }
    if (!next) return;
    out ??= turns.slice();
    out[i] = next;
  });
  return out;
}

/**
 * Calls `edit` on each input text of `row` (see DEFAULT_INPUT_FIELDS; `fields` names other top-level fields
 * instead, each a string or a message list) and returns a copy with the edited texts, or undefined when no text
 * changed. The row itself is never modified.
 */
export function mapInputs(row: JsonObject, edit: Edit, fields: readonly string[] = DEFAULT_INPUT_FIELDS): JsonObject | undefined {
  let out: JsonObject | undefined;
  for (const field of fields) {
    const value = row[field];
    let next: unknown;
    if (typeof value === 'string') {
      const edited = edit(value);
      if (edited !== value) next = edited;
    } else if (Array.isArray(value)) {
      next = mapTurns(value, edit);
    }
    if (next === undefined) continue;
    out ??= { ...row };
    out[field] = next;
  }
  return out;
}

/** The input texts of `row`, in the order mapInputs visits them. */
export function inputTexts(row: JsonObject, fields?: readonly string[]): string[] {
  const texts: string[] = [];
  mapInputs(row, (t) => {
    texts.push(t);
    return t;
  }, fields);
  return texts;
}

// ---------------------------------------------------------------------------------------------------------------
// Synonyms

export type Synonyms = Map<string, string[]>;

/** Synonyms with normalised keys, each without blanks, repeats or the key itself (which would change nothing). */
function cleanSynonyms(entries: Iterable<[string, readonly string[]]>): Synonyms {
  const out: Synonyms = new Map();
  for (const [rawKey, list] of entries) {
    const key = normalisePhrase(rawKey);
    if (!key) continue;
    const kept = out.get(key) ?? [];
    for (const s of list) {
      const syn = s.trim();
      if (syn && normalisePhrase(syn) !== key && !kept.includes(syn)) kept.push(syn);
    }
    if (kept.length) out.set(key, kept);
  }
  return out;
}

/**
 * A synonyms file: a YAML (.yaml/.yml) or JSON (.json) map from a word or phrase to one synonym or a list of them:
 *
 *     fast: [quick, rapid]
 *     buy: purchase
 *
 * Keys come back lower case (they match any capitalisation, as whole words). Throws an Error naming the file, and
 * the line for YAML/JSON syntax, or the key for an entry that is not a string or a list of strings.
 */
export function parseSynonyms(text: string, fileName: string): Synonyms {
  const data = parseToolFile(text, fileName);
  if (!isObject(data)) {
    throw new Error(`${fileName}: expected a map of word: synonym or word: [synonyms], got ${Array.isArray(data) ? 'a list' : data === null || data === '' ? 'an empty file' : 'a single value'}`);
  }
  const entries: Array<[string, string[]]> = [];
  for (const [key, value] of Object.entries(data)) {
    if (!key.trim()) throw new Error(`${fileName}: an empty key has no word to replace`);
    const list = typeof value === 'string' ? [value] : value;
    if (!Array.isArray(list) || !list.every((s) => typeof s === 'string')) {
      throw new Error(`${fileName}: ${JSON.stringify(key)} must map to a string or a list of strings`);
    }
    if (!list.some((s: string) => s.trim())) throw new Error(`${fileName}: ${JSON.stringify(key)} has no synonyms`);
    if (!cleanSynonyms([[key, list]]).size) throw new Error(`${fileName}: ${JSON.stringify(key)} has no synonym other than itself`);
    entries.push([key, list]);
  }
  return cleanSynonyms(entries);
}

export interface AugmentOptions {
  /** The chance that each occurrence of a known word is replaced (the guide uses 0.7). */
  probability: number;
  seed: number;
  /** Top-level fields to reword instead of the default input fields (each a string or a message list). */
  fields?: readonly string[];
}

export interface AugmentResult {
  added: AddedRow[];
  /** Rows that are not one JSON object. */
  skipped: number;
  /** Words replaced across all added rows. */
  changedWords: number;
}

/**
 * For each row, a copy whose input texts have each whole-word occurrence of a synonyms key replaced, with
 * `probability`, by a synonym drawn from the seed (and the row's index, so a row's result does not depend on the
 * other rows given). The copy gets `"augmented": "synonyms"`; a row where no word changed adds nothing.
 */
export function augmentRows(rows: readonly ToolRow[], synonyms: Synonyms, options: AugmentOptions): AugmentResult {
  const p = options.probability;
  if (!(p >= 0 && p <= 1)) throw new RangeError(`probability must be between 0 and 1, got ${p}`);
  const table = cleanSynonyms(synonyms);
  const re = table.size ? phrasesRegex(table.keys()) : undefined;
  const added: AddedRow[] = [];
  let skipped = 0;
  let changedWords = 0;
  for (const r of rows) {
    const row = parseRowObject(r.text);
    if (!row) {
      skipped++;
      continue;
    }
    if (!re || p === 0) continue;
    const rng = seeded(options.seed, r.row);
    let changed = 0;
    const out = mapInputs(row, (text) => text.replace(re, (word) => {
      const choices = table.get(normalisePhrase(word));
      if (!choices || rng.next() >= p) return word;
      const next = matchCase(word, choices[rng.int(choices.length)]);
      if (next !== word) changed++;
      return next;
    }), options.fields);
    if (!out || !changed) continue;
    out.augmented = 'synonyms';
    added.push({ after: r.row, text: JSON.stringify(out) });
    changedWords += changed;
  }
  return { added, skipped, changedWords };
}
