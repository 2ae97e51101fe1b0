// IOB tag checks for token-tagging rows ({"tokens": [...], "tags": [...]}, the shape of Hugging Face NER sets).
// IOB2 is assumed: every entity starts with B-TYPE, so an I-TYPE after O or after another type is a broken span
// that a trainer reads silently as a wrong entity boundary.
import { parseRowObject, type ToolRow } from './synonyms';

export type IobCode = 'iob_count' | 'iob_orphan_i' | 'iob_unknown_tag' | 'iob_not_tagged';

export interface IobDiagnostic {
  row: number;
  severity: 'error' | 'warning';
  code: IobCode;
  message: string;
  /** The 0-based index of the token (and tag) at fault, where there is one. */
  column?: number;
}

export interface IobOptions {
  /**
   * The allowed tags. Integer tags (Hugging Face `ner_tags` as class ids) are read as indexes into it; without it
   * they cannot be checked.
   */
  tagSet?: readonly string[];
}

export interface IobResult {
  diagnostics: IobDiagnostic[];
  /** Rows with tokens and tags. */
  checked: number;
  /** Rows without them (or not JSON objects): not token-tagging rows, so nothing to say about them. */
  skipped: number;
}

const TAG_FIELDS = ['tags', 'ner_tags', 'labels'] as const;
const IOB_TAG = /^([BI])-(.+)$/;

function isIobTag(tag: string): boolean {
  return tag === 'O' || IOB_TAG.test(tag);
}

function tagsOf(row: Record<string, unknown>): { field: string; tags: unknown } | undefined {
  for (const field of TAG_FIELDS) if (field in row) return { field, tags: row[field] };
  return undefined;
}

function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}

function tokenName(tokens: unknown[], i: number): string {
  const t = tokens[i];
  return typeof t === 'string' ? `token ${i + 1} ${JSON.stringify(t)}` : `token ${i + 1}`;
}

/**
 * Checks each row's tags against its tokens: as many tags as tokens (iob_count), each tag O, B-TYPE or I-TYPE
 * (iob_not_tagged) and in the tag set when one is given (iob_unknown_tag), and each I-TYPE right after B-TYPE or
 * I-TYPE of the same type (iob_orphan_i). Messages count tokens from 1; `column` is the 0-based index.
 */
export function checkIob(rows: readonly ToolRow[], options: IobOptions = {}): IobResult {
  const tagSet = options.tagSet;
  const allowed = tagSet ? new Set(tagSet) : undefined;
  const diagnostics: IobDiagnostic[] = [];
  let checked = 0;
  let skipped = 0;
  for (const r of rows) {
    const row = parseRowObject(r.text);
    const found = row && Array.isArray(row.tokens) ? tagsOf(row) : undefined;
    if (!row || !found) {
      skipped++;
      continue;
    }
    checked++;
    const tokens = row.tokens as unknown[];
    const report = (severity: IobDiagnostic['severity'], code: IobCode, message: string, column?: number) =>
      diagnostics.push(column === undefined ? { row: r.row, severity, code, message } : { row: r.row, severity, code, message, column });
    if (!Array.isArray(found.tags)) {
      report('error', 'iob_not_tagged', `"${found.field}" must be a list of tags, one per token`);
      continue;
    }
    const raw = found.tags;
    if (raw.length !== tokens.length) {
      report('error', 'iob_count', `${plural(tokens.length, 'token')} but ${plural(raw.length, 'tag')}`);
    }
    // Each tag as a string, or undefined where it cannot be read (already reported), so the span check skips it.
    const tags: Array<string | undefined> = [];
    let intWarned = false;
    raw.forEach((value, i) => {
      let tag: string;
      if (typeof value === 'number' && Number.isInteger(value)) {
        if (!tagSet) {
          if (!intWarned) report('warning', 'iob_unknown_tag', `tags are class ids (${value} at ${tokenName(tokens, i)}): give the tag set to check them`, i);
          intWarned = true;
          tags.push(undefined);
          return;
        }
        if (value < 0 || value >= tagSet.length) {
          report('error', 'iob_unknown_tag', `${tokenName(tokens, i)} has tag ${value}, which is not an index into the tag set (0 to ${tagSet.length - 1})`, i);
          tags.push(undefined);
          return;
        }
        tag = tagSet[value];
      } else if (typeof value === 'string') {
        tag = value;
      } else {
        report('error', 'iob_not_tagged', `${tokenName(tokens, i)} has tag ${JSON.stringify(value)}, which is not an IOB tag (O, B-TYPE or I-TYPE)`, i);
        tags.push(undefined);
        return;
      }
      if (!isIobTag(tag)) {
        report('error', 'iob_not_tagged', `${tokenName(tokens, i)} has tag ${JSON.stringify(tag)}, which is not an IOB tag (O, B-TYPE or I-TYPE)`, i);
        tags.push(undefined);
        return;
      }
      if (allowed && !allowed.has(tag)) {
        report('error', 'iob_unknown_tag', `${tokenName(tokens, i)} has tag ${tag}, which is not in the tag set`, i);
      }
      tags.push(tag);
    });
    tags.forEach((tag, i) => {
      const m = tag === undefined ? null : IOB_TAG.exec(tag);
      if (!m || m[1] !== 'I') return;
      const prev = i > 0 ? tags[i - 1] : null;
      // An unreadable previous tag has been reported already; guessing whether it opened the span would only add noise.
      if (prev === undefined) return;
      const type = m[2];
      if (prev === `B-${type}` || prev === `I-${type}`) return;
      const after = prev === null ? 'at the start of the row' : `after ${prev}`;
      report('error', 'iob_orphan_i', `${tokenName(tokens, i)} is ${tag} ${after}: an I- tag must follow B-${type} or I-${type}`, i);
    });
  }
  return { diagnostics, checked, skipped };
}

/**
 * The quick fix for iob_orphan_i: each I-TYPE that does not continue a TYPE span becomes B-TYPE. Integer tags are
 * fixed through `tagSet` (to B-TYPE's index) when it has B-TYPE. Returns the row re-serialised, or undefined when
 * there is nothing to fix.
 */
export function fixOrphanI(text: string, options: IobOptions = {}): string | undefined {
  const row = parseRowObject(text);
  const found = row && Array.isArray(row.tokens) ? tagsOf(row) : undefined;
  if (!row || !found || !Array.isArray(found.tags)) return undefined;
  const tagSet = options.tagSet;
  // A tag as checkIob reads it, or undefined where checkIob reports it unreadable.
  const read = (t: unknown): string | undefined => {
    const tag = typeof t === 'string' ? t : typeof t === 'number' && Number.isInteger(t) ? tagSet?.[t] : undefined;
    return tag !== undefined && isIobTag(tag) ? tag : undefined;
  };
  const tags = found.tags.slice();
  let fixed = false;
  for (let i = 0; i < tags.length; i++) {
    const m = IOB_TAG.exec(read(tags[i]) ?? '');
    if (!m || m[1] !== 'I') continue;
    const prev = i > 0 ? read(tags[i - 1]) : null;
    // As in checkIob: an unreadable previous tag might open the span, so this one is not known to be an orphan.
    if (prev === undefined) continue;
    const type = m[2];
    if (prev === `B-${type}` || prev === `I-${type}`) continue;
    if (typeof tags[i] === 'string') {
      tags[i] = `B-${type}`;
    } else {
      const b = tagSet!.indexOf(`B-${type}`);
      if (b < 0) continue;
      tags[i] = b;
    }
    fixed = true;
  }
  return fixed ? JSON.stringify({ ...row, [found.field]: tags }) : undefined;
}
