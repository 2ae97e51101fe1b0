// Entity perturbation (the DeepSeek-R1 fine-tuning guide's "data tools"): swapping one phrase can flip a row's
// label ("shared with the user's consent" is compliant, "shared without the user's consent" is a violation), so a
// rule names the label before and after and the phrases whose swap causes the flip. The new rows teach the model
// that the phrase, not the surrounding words, decides the label.
import { seeded } from './seeded';
import {
  type AddedRow, type JsonObject, type ToolRow,
  inputTexts, isObject, mapInputs, matchCase, parseRowObject, parseToolFile, phraseSource,
} from './synonyms';

export interface PerturbRule {
  /** The label a row must have for the rule to apply. */
  from: string;
  /** The label the row has once a phrase is swapped. */
  to: string;
  /** The phrases, in the file's order, each with what replaces it. */
  swap: Array<{ phrase: string; replacement: string }>;
}

function labelValue(v: unknown): string | undefined {
  if (typeof v === 'string') return v.trim();
  // A JSON rules file may write a class id as a number; the failsafe YAML reading makes every scalar a string.
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  return undefined;
}

/**
 * A rules file, YAML (.yaml/.yml) or JSON (.json):
 *
 *     rules:
 *       - from: compliant
 *         to: violation
 *         swap:
 *           "with the user's consent": "without the user's consent"
 *           encrypted: unencrypted
 *
 * (a bare list of rules is read too). Errors name the file and the line for a syntax error, or the rule by its
 * 1-based position and the key at fault.
 */
export function parseRules(text: string, fileName: string): PerturbRule[] {
  const data = parseToolFile(text, fileName);
  const list = Array.isArray(data) ? data : isObject(data) ? data.rules : undefined;
  if (!Array.isArray(list)) throw new Error(`${fileName}: expected "rules:" with a list of rules (from, to, swap)`);
  if (!list.length) throw new Error(`${fileName}: "rules" is empty`);
  return list.map((raw, i): PerturbRule => {
    const at = `${fileName}: rule ${i + 1}`;
    if (!isObject(raw)) throw new Error(`${at} must be a map with "from", "to" and "swap"`);
    const from = labelValue(raw.from);
    const to = labelValue(raw.to);
    if (!from) throw new Error(`${at}: "from" must be a non-empty label`);
    if (!to) throw new Error(`${at}: "to" must be a non-empty label`);
    if (from === to) throw new Error(`${at}: "from" and "to" are the same label (${JSON.stringify(from)})`);
    if (!isObject(raw.swap)) throw new Error(`${at}: "swap" must be a map of phrase: replacement`);
    const swap = Object.entries(raw.swap).map(([phrase, replacement]) => {
      if (!phrase.trim()) throw new Error(`${at}: "swap" has an empty phrase`);
      if (typeof replacement !== 'string') throw new Error(`${at}: swap ${JSON.stringify(phrase)} must map to a string`);
      if (replacement.trim().toLowerCase() === phrase.trim().toLowerCase()) {
        throw new Error(`${at}: swap ${JSON.stringify(phrase)} maps the phrase to itself`);
      }
      return { phrase: phrase.trim(), replacement: replacement.trim() };
    });
    if (!swap.length) throw new Error(`${at}: "swap" is empty`);
    return { from, to, swap };
  });
}

// ---------------------------------------------------------------------------------------------------------------
// The answer, where a row keeps its label there

interface Answer {
  text: string;
  /** A copy of `row` whose answer is `value`. */
  set(row: JsonObject, value: string): JsonObject;
  /** The answer sits in a preference row's `chosen`, whose `rejected` may hold the other label. */
  preference: boolean;
}

function turnText(turn: JsonObject, key: 'content' | 'value'): string | undefined {
  const c = turn[key];
  if (typeof c === 'string') return c;
  if (!Array.isArray(c)) return undefined;
  const parts = c.filter((p): p is JsonObject => isObject(p) && p.type === 'text' && typeof p.text === 'string');
  return parts.length ? parts.map((p) => p.text as string).join('') : undefined;
}

const ASSISTANT_FROM = new Set(['gpt', 'assistant', 'model']);

/** The last assistant turn of a message list (OpenAI `role` or ShareGPT `from`) as an Answer in `field`. */
function lastAssistant(field: string, turns: unknown[], preference: boolean): Answer | undefined {
  for (let i = turns.length - 1; i >= 0; i--) {
    const t = turns[i];
    if (!isObject(t)) continue;
    const key = t.role === 'assistant' ? 'content' : typeof t.from === 'string' && ASSISTANT_FROM.has(t.from) ? 'value' : undefined;
    if (!key) continue;
    const text = turnText(t, key);
    if (text === undefined) return undefined;
    return {
      text,
      preference,
      set(row, value) {
        const list = (row[field] as unknown[]).slice();
        list[i] = { ...(list[i] as JsonObject), [key]: value };
        return { ...row, [field]: list };
      },
    };
  }
  return undefined;
}

/** Where the row's answer is: a preference `chosen`, Alpaca `output`, or the last assistant turn of a chat. */
function answerOf(row: JsonObject): Answer | undefined {
  const field = (name: string, preference = false): Answer | undefined => {
    const v = row[name];
    if (typeof v === 'string') return { text: v, preference, set: (r, value) => ({ ...r, [name]: value }) };
    return Array.isArray(v) ? lastAssistant(name, v, preference) : undefined;
  };
  if ('chosen' in row) return field('chosen', true);
  if (typeof row.output === 'string') return field('output');
  if (Array.isArray(row.messages)) return field('messages');
  if (Array.isArray(row.conversations)) return field('conversations');
  return undefined;
}

function rejectedText(row: JsonObject): string | undefined {
  const v = row.rejected;
  if (typeof v === 'string') return v;
  return Array.isArray(v) ? lastAssistant('rejected', v, true)?.text : undefined;
}

/** The new label in the old one's JSON type, so a dataset of class ids or booleans stays one. */
function relabel(old: unknown, to: string): unknown {
  if (typeof old === 'number' && to.trim() !== '' && Number.isFinite(Number(to))) return Number(to);
  if (typeof old === 'boolean' && (to === 'true' || to === 'false')) return to === 'true';
  return to;
}

// ---------------------------------------------------------------------------------------------------------------
// Preference pairs

const ROLE_OF_FROM: Record<string, string> = { human: 'user', user: 'user', gpt: 'assistant', assistant: 'assistant', model: 'assistant', system: 'system' };

/** The prompt turns of a chat row in OpenAI form, without the final assistant turn (the answer being relabelled). */
function promptTurns(turns: unknown[]): JsonObject[] {
  const out = turns.filter(isObject).map((t): JsonObject => {
    if (typeof t.role === 'string') return t;
    const from = typeof t.from === 'string' ? t.from : 'user';
    return { role: ROLE_OF_FROM[from] ?? from, content: typeof t.value === 'string' ? t.value : '' };
  });
  if (out.length && out[out.length - 1].role === 'assistant') out.pop();
  return out;
}

/**
 * A TRL preference row for the perturbed input: prompt / chosen / rejected, the new label chosen and the old one
 * rejected. TRL wants the three in one format, so they are either all strings (the "standard" format: a `text`
 * row, a string `prompt`, custom fields) or all message lists (the "conversational" format: a chat row, an
 * Alpaca row as one user turn, a message-list `prompt`), where chosen and rejected are one assistant turn each.
 */
function pairRow(row: JsonObject, from: string, to: string, fields: readonly string[] | undefined): JsonObject {
  let prompt: JsonObject[] | string;
  if (Array.isArray(row.messages)) prompt = promptTurns(row.messages);
  else if (Array.isArray(row.conversations)) prompt = promptTurns(row.conversations);
  else if (Array.isArray(row.prompt)) prompt = row.prompt.filter(isObject);
  else if (typeof row.instruction === 'string') {
    const content = [row.instruction, typeof row.input === 'string' ? row.input : ''].filter((s) => s.trim()).join('\n\n');
    prompt = [{ role: 'user', content }];
  } else prompt = inputTexts(row, fields).join('\n\n');
  const answer = (content: string) => (typeof prompt === 'string' ? content : [{ role: 'assistant', content }]);
  return { prompt, chosen: answer(to), rejected: answer(from), augmented: 'perturbation' };
}

// ---------------------------------------------------------------------------------------------------------------

export interface PerturbOptions {
  seed: number;
  /** 'rows': the row relabelled, in its own format. 'pairs': a TRL preference row (see pairRow). */
  output: 'rows' | 'pairs';
  /** At most this many new rows per source row when several swaps apply (default 1). */
  maxPerRow?: number;
  /** Top-level input fields to search instead of the default ones (as for synonyms). */
  fields?: readonly string[];
}

export interface PerturbResult {
  added: AddedRow[];
  /** Rows that are not one JSON object. */
  skipped: number;
}

interface CompiledSwap {
  rule: PerturbRule;
  replacement: string;
  find: RegExp;
}

/**
 * New rows from rows whose label is a rule's `from` and whose input holds one of its phrases (whole words, any
 * capitalisation). The label is the top-level `label` if the row has one, else its answer (Alpaca `output`, the
 * last assistant turn, a preference `chosen`) when that is exactly a label. Every occurrence of the phrase is
 * swapped, keeping its capitalisation, and the label becomes `to`: the `label` field, and the answer too when the
 * answer was the label. With several matching phrases (over all rules) the seed picks which, up to maxPerRow.
 */
export function perturbRows(rows: readonly ToolRow[], rules: readonly PerturbRule[], options: PerturbOptions): PerturbResult {
  const maxPerRow = options.maxPerRow ?? 1;
  if (!Number.isInteger(maxPerRow) || maxPerRow < 1) throw new RangeError(`maxPerRow must be a positive integer, got ${maxPerRow}`);
  const swaps: CompiledSwap[] = rules.flatMap((rule) => rule.swap.map((s) => ({
    rule,
    replacement: s.replacement,
    find: new RegExp(phraseSource(s.phrase), 'giu'),
  })));
  const added: AddedRow[] = [];
  let skipped = 0;
  for (const r of rows) {
    const row = parseRowObject(r.text);
    if (!row) {
      skipped++;
      continue;
    }
    const hasLabel = labelValue(row.label) !== undefined;
    const answer = answerOf(row);
    const label = hasLabel ? labelValue(row.label) : answer?.text.trim();
    if (label === undefined) continue;
    const texts = inputTexts(row, options.fields);
    // search() ignores the regex's lastIndex, so the shared global regexes carry no state between rows.
    const candidates = swaps.filter((s) => s.rule.from.trim() === label && texts.some((t) => t.search(s.find) >= 0));
    if (!candidates.length) continue;
    const rng = seeded(options.seed, r.row);
    const n = Math.min(maxPerRow, candidates.length);
    for (let i = 0; i < n; i++) {
      const j = i + rng.int(candidates.length - i);
      [candidates[i], candidates[j]] = [candidates[j], candidates[i]];
      const { rule, replacement, find } = candidates[i];
      const from = rule.from.trim();
      const to = rule.to.trim();
      const swapped = mapInputs(row, (t) => t.replace(find, (m) => matchCase(m, replacement)), options.fields);
      if (!swapped) continue;
      let out: JsonObject;
      if (options.output === 'pairs') {
        out = pairRow(swapped, from, to, options.fields);
      } else {
        out = swapped;
        if (hasLabel) out.label = relabel(row.label, to);
        if (answer && answer.text.trim() === from) {
          out = answer.set(out, to);
          // A chosen/rejected pair of the two labels stays a pair: the old label is now the wrong answer.
          if (answer.preference && rejectedText(row)?.trim() === to) {
            const rejected = row.rejected;
            out = typeof rejected === 'string'
              ? { ...out, rejected: from }
              : lastAssistant('rejected', rejected as unknown[], true)!.set(out, from);
          }
        }
        out.augmented = 'perturbation';
      }
      added.push({ after: r.row, text: JSON.stringify(out) });
    }
  }
  return { added, skipped };
}
