// The stats pane draws the agent's `inspect_dataset` answer as the host passes it on. The page treats it as
// untrusted like any message: every field is checked for its exact type and the collections are bounded, so a
// malformed or hostile answer cannot make the pane build millions of elements or write through __proto__.
import type { DatasetInspection, Diagnostic, TokenStats } from '../../src/core/protocol/messages';
import { hasKeys, isObj, type Obj } from '../../src/core/protocol/shapes';

/** Far above what the agent keeps (100 groups, 20 lines each, 500 diagnostics, 50 labels), low enough to draw. */
export const MAX_ITEMS = 10_000;

const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);
const SEVERITIES = new Set<unknown>(['error', 'warning', 'info']);

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
const isLine = (v: unknown): v is number => isCount(v) && v >= 1;
const isFiniteNumber = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isStat = (v: unknown): boolean => v === null || (isFiniteNumber(v) && v >= 0);
const isList = (v: unknown, min = 0): v is unknown[] => Array.isArray(v) && v.length >= min && v.length <= MAX_ITEMS;
const isLines = (v: unknown): v is number[] => isList(v, 1) && v.every(isLine);

/** A name -> count table (roles, labels, diagnostic codes). */
function isCounts(v: unknown): v is Record<string, number> {
  if (!isObj(v) || Object.getPrototypeOf(v) !== Object.prototype) return false;
  const keys = Object.keys(v);
  return keys.length <= MAX_ITEMS && keys.every((k) => !FORBIDDEN_KEYS.has(k) && isCount(v[k]));
}

function isBin(v: unknown): boolean {
  return isObj(v) && hasKeys(v, 'start', 'end', 'count') && isFiniteNumber(v.start) && isFiniteNumber(v.end)
    && v.end >= v.start && isCount(v.count);
}

function isTokens(v: unknown): v is TokenStats {
  return isObj(v) && hasKeys(v, 'method', 'note', 'count', 'total', 'min', 'median', 'p95', 'max', 'mean', 'histogram')
    && (v.method === 'tokenizer' || v.method === 'approximate') && typeof v.note === 'string'
    && isCount(v.count) && isCount(v.total)
    && isStat(v.min) && isStat(v.median) && isStat(v.p95) && isStat(v.max) && isStat(v.mean)
    && isList(v.histogram) && v.histogram.every(isBin);
}

function isDiagnostic(v: unknown): v is Diagnostic {
  return isObj(v) && hasKeys(v, 'line', 'severity', 'code', 'message') && isLine(v.line) && SEVERITIES.has(v.severity)
    && typeof v.code === 'string' && typeof v.message === 'string';
}

function isDuplicates(v: unknown): v is DatasetInspection['duplicates'] {
  return isObj(v) && hasKeys(v, 'rows', 'groups') && isCount(v.rows) && isList(v.groups)
    && v.groups.every((g) => isObj(g) && hasKeys(g, 'lines') && isLines(g.lines));
}

/** A conflict group pairs each line with the label it carries, so the two lists run in step. */
function isConflictGroup(g: unknown): boolean {
  return isObj(g) && hasKeys(g, 'lines', 'labels') && isLines(g.lines) && Array.isArray(g.labels)
    && g.labels.length === g.lines.length && g.labels.every((l) => typeof l === 'string');
}

function isConflicts(v: unknown): v is DatasetInspection['conflicts'] {
  return isObj(v) && hasKeys(v, 'inputs', 'groups') && isCount(v.inputs) && isList(v.groups) && v.groups.every(isConflictGroup);
}

const KEYS: Array<keyof DatasetInspection> = [
  'file', 'format', 'bytes', 'lines', 'rows', 'bad_rows', 'over_length', 'truncated', 'kept', 'max_length', 'sampled',
  'tokens', 'roles', 'labels', 'distinct_labels', 'duplicates', 'conflicts', 'diagnostics', 'diagnostic_counts', 'cached', 'seconds',
];

function isInspection(v: Obj): boolean {
  return hasKeys(v, ...KEYS)
    && typeof v.file === 'string' && typeof v.format === 'string'
    && isCount(v.bytes) && isCount(v.lines) && isCount(v.rows) && isCount(v.bad_rows) && isCount(v.over_length)
    && isCount(v.truncated) && isCount(v.kept) && (v.max_length === null || isLine(v.max_length))
    && typeof v.sampled === 'boolean' && isTokens(v.tokens)
    && isCounts(v.roles) && isCounts(v.labels) && isCount(v.distinct_labels)
    && isDuplicates(v.duplicates) && isConflicts(v.conflicts)
    && isList(v.diagnostics) && v.diagnostics.every(isDiagnostic) && isCounts(v.diagnostic_counts)
    && typeof v.cached === 'boolean' && isFiniteNumber(v.seconds) && v.seconds >= 0;
}

/** The inspection itself when every field has its type and bounds, else undefined. */
export function parseInspection(v: unknown): DatasetInspection | undefined {
  return isObj(v) && isInspection(v) ? (v as unknown as DatasetInspection) : undefined;
}
