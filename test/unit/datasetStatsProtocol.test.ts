// The stats pane draws the agent's inspection as the host relays it; the page takes it only in its exact shape,
// with every count a non-negative integer and every collection bounded, and refuses keys that reach prototypes.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { DatasetInspection } from '../../src/core/protocol/messages';
import { MAX_ITEMS, parseInspection } from '../../webview/dataset/statsProtocol';

function valid(): DatasetInspection {
  return {
    file: 'train.jsonl', format: 'chat', bytes: 52_133, lines: 120, rows: 118, bad_rows: 3, over_length: 4, truncated: 2, kept: 111,
    max_length: 512, sampled: false,
    tokens: {
      method: 'tokenizer', note: "the model's tokenizer through the chat template, as the trainer counts", count: 115, total: 23_000,
      min: 12, median: 180.5, p95: 490.2, max: 700, mean: 200, histogram: [{ start: 0, end: 35, count: 10 }, { start: 35, end: 70, count: 0 }],
    },
    roles: { system: 118, user: 140, assistant: 140 },
    labels: { yes: 60, no: 50 },
    distinct_labels: 2,
    duplicates: { rows: 2, groups: [{ lines: [3, 17, 40] }] },
    conflicts: { inputs: 1, groups: [{ lines: [3, 9], labels: ['yes', 'no'] }] },
    diagnostics: [
      { line: 17, severity: 'warning', code: 'duplicate', message: 'the same row as line 3' },
      { line: 50, severity: 'error', code: 'invalid_json', message: 'not valid JSON' },
    ],
    diagnostic_counts: { duplicate: 2, invalid_json: 3 },
    cached: false, seconds: 0.42,
  };
}

/** A valid inspection with one field changed through `edit` (a deep copy, so each case starts clean). */
function broken(edit: (d: any) => void): unknown {
  const d = structuredClone(valid()) as any;
  edit(d);
  return d;
}

test('a full, valid inspection passes unchanged', () => {
  assert.deepEqual(parseInspection(valid()), valid());
  // JSON and structured clone are how it arrives.
  assert.deepEqual(parseInspection(JSON.parse(JSON.stringify(valid()))), valid());
  const approximate = broken((d) => {
    d.tokens = { ...d.tokens, method: 'approximate', min: null, median: null, p95: null, max: null, mean: null, histogram: [] };
    d.max_length = null;
    d.roles = {};
    d.duplicates = { rows: 0, groups: [] };
  });
  assert.deepEqual(parseInspection(approximate), approximate);
});

test('anything that is not an object is refused', () => {
  for (const v of [undefined, null, 1, 'x', [], [valid()]]) assert.equal(parseInspection(v), undefined, String(v));
});

test('each field of the wrong type, a negative or fractional count, or an extra or missing key is refused', () => {
  const cases: Array<[string, (d: any) => void]> = [
    ['extra key', (d) => { d.extra = 1; }],
    ['missing key', (d) => { delete d.kept; }],
    ['file not a string', (d) => { d.file = 7; }],
    ['format null', (d) => { d.format = null; }],
    ['negative rows', (d) => { d.rows = -1; }],
    ['fractional bad_rows', (d) => { d.bad_rows = 1.5; }],
    ['string bytes', (d) => { d.bytes = '10'; }],
    ['NaN lines', (d) => { d.lines = NaN; }],
    ['infinite kept', (d) => { d.kept = Infinity; }],
    ['negative over_length', (d) => { d.over_length = -2; }],
    ['truncated boolean', (d) => { d.truncated = true; }],
    ['max_length zero', (d) => { d.max_length = 0; }],
    ['max_length string', (d) => { d.max_length = '512'; }],
    ['sampled string', (d) => { d.sampled = 'false'; }],
    ['cached number', (d) => { d.cached = 0; }],
    ['negative seconds', (d) => { d.seconds = -0.1; }],
    ['distinct_labels negative', (d) => { d.distinct_labels = -1; }],
    ['tokens method unknown', (d) => { d.tokens.method = 'exact'; }],
    ['tokens note missing', (d) => { delete d.tokens.note; }],
    ['tokens count negative', (d) => { d.tokens.count = -5; }],
    ['tokens median string', (d) => { d.tokens.median = '180'; }],
    ['tokens mean negative', (d) => { d.tokens.mean = -1; }],
    ['tokens histogram not an array', (d) => { d.tokens.histogram = {}; }],
    ['histogram bin count negative', (d) => { d.tokens.histogram[0].count = -1; }],
    ['histogram bin start string', (d) => { d.tokens.histogram[0].start = '0'; }],
    ['histogram bin end before start', (d) => { d.tokens.histogram[0].end = -1; }],
    ['histogram bin extra key', (d) => { d.tokens.histogram[0].label = 'x'; }],
    ['histogram oversize', (d) => { d.tokens.histogram = Array.from({ length: MAX_ITEMS + 1 }, (_, i) => ({ start: i, end: i + 1, count: 1 })); }],
    ['roles array', (d) => { d.roles = [1, 2]; }],
    ['role count negative', (d) => { d.roles.user = -1; }],
    ['role count fractional', (d) => { d.roles.user = 0.5; }],
    ['role count string', (d) => { d.roles.user = '3'; }],
    ['label count null', (d) => { d.labels.yes = null; }],
    ['labels __proto__ key', (d) => { d.labels = JSON.parse('{"__proto__": 1, "yes": 2}'); }],
    ['roles constructor key', (d) => { d.roles.constructor = 1; }],
    ['labels prototype key', (d) => { d.labels.prototype = 1; }],
    ['roles with a prototype of their own', (d) => { d.roles = Object.create({ inherited: 1 }); }],
    ['labels oversize', (d) => { d.labels = Object.fromEntries(Array.from({ length: MAX_ITEMS + 1 }, (_, i) => [`l${i}`, 1])); }],
    ['duplicates rows negative', (d) => { d.duplicates.rows = -1; }],
    ['duplicate group lines empty', (d) => { d.duplicates.groups[0].lines = []; }],
    ['duplicate line zero', (d) => { d.duplicates.groups[0].lines = [0, 3]; }],
    ['duplicate line fractional', (d) => { d.duplicates.groups[0].lines = [3.5]; }],
    ['duplicate line string', (d) => { d.duplicates.groups[0].lines = ['3']; }],
    ['duplicate group extra key', (d) => { d.duplicates.groups[0].labels = []; }],
    ['duplicate groups oversize', (d) => { d.duplicates.groups = Array.from({ length: MAX_ITEMS + 1 }, () => ({ lines: [1] })); }],
    ['duplicate group lines oversize', (d) => { d.duplicates.groups[0].lines = Array.from({ length: MAX_ITEMS + 1 }, (_, i) => i + 1); }],
    ['conflicts inputs string', (d) => { d.conflicts.inputs = '1'; }],
    ['conflict labels not in step with lines', (d) => { d.conflicts.groups[0].labels = ['yes']; }],
    ['conflict label not a string', (d) => { d.conflicts.groups[0].labels = ['yes', 2]; }],
    ['conflict group missing labels', (d) => { delete d.conflicts.groups[0].labels; }],
    ['conflict line negative', (d) => { d.conflicts.groups[0].lines = [3, -9]; }],
    ['conflict groups oversize', (d) => { d.conflicts.groups = Array.from({ length: MAX_ITEMS + 1 }, () => ({ lines: [1], labels: ['a'] })); }],
    ['diagnostics not an array', (d) => { d.diagnostics = {}; }],
    ['diagnostic bad severity', (d) => { d.diagnostics[0].severity = 'fatal'; }],
    ['diagnostic line zero', (d) => { d.diagnostics[0].line = 0; }],
    ['diagnostic code missing', (d) => { delete d.diagnostics[0].code; }],
    ['diagnostic message number', (d) => { d.diagnostics[0].message = 1; }],
    ['diagnostic extra key', (d) => { d.diagnostics[0].column = 1; }],
    ['diagnostics oversize', (d) => { d.diagnostics = Array.from({ length: MAX_ITEMS + 1 }, () => ({ line: 1, severity: 'info', code: 'c', message: 'm' })); }],
    ['diagnostic_counts negative', (d) => { d.diagnostic_counts.duplicate = -1; }],
    ['diagnostic_counts __proto__ key', (d) => { d.diagnostic_counts = JSON.parse('{"__proto__": 3}'); }],
  ];
  for (const [name, edit] of cases) assert.equal(parseInspection(broken(edit)), undefined, name);
});

test('the bounds themselves are accepted', () => {
  const atCap = broken((d) => {
    d.diagnostics = Array.from({ length: MAX_ITEMS }, (_, i) => ({ line: i + 1, severity: 'info', code: 'c', message: 'm' }));
    d.labels = Object.fromEntries(Array.from({ length: MAX_ITEMS }, (_, i) => [`l${i}`, i]));
    d.duplicates.groups[0].lines = Array.from({ length: MAX_ITEMS }, (_, i) => i + 1);
  });
  assert.deepEqual(parseInspection(atCap), atCap);
});
