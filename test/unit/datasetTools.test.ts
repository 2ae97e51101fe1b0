// The dataset editor's data tools (src/core/dataset/tools/): synonym augmentation, entity perturbation, IOB tag
// checks and the diff preview, as pure functions over row texts. Seeded tools must give the same rows for the
// same seed, and only the input side of a row may change unless a rule says the label flips.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { checkIob, fixOrphanI } from '../../src/core/dataset/tools/iob';
import { parseRules, perturbRows, type PerturbRule } from '../../src/core/dataset/tools/perturb';
import { PREVIEW_ROWS, toolDiff } from '../../src/core/dataset/tools/preview';
import { seeded } from '../../src/core/dataset/tools/seeded';
import { augmentRows, parseSynonyms, type ToolRow } from '../../src/core/dataset/tools/synonyms';
import { prng } from '../support/prng';

const rowsOf = (...objects: unknown[]): ToolRow[] => objects.map((o, row) => ({ row, text: typeof o === 'string' ? o : JSON.stringify(o) }));
const parsed = (added: Array<{ text: string }>) => added.map((a) => JSON.parse(a.text));

// ---------------------------------------------------------------------------------------------------------------
// seeded

test('seeded: the same seed gives the same stream, another seed or salt another; int stays in range', () => {
  const draw = (s: ReturnType<typeof seeded>) => Array.from({ length: 50 }, () => s.next());
  assert.deepEqual(draw(seeded(7)), draw(seeded(7)));
  assert.notDeepEqual(draw(seeded(7)), draw(seeded(8)));
  assert.notDeepEqual(draw(seeded(7, 1)), draw(seeded(7, 2)));
  assert.notDeepEqual(draw(seeded(0.5)), draw(seeded(0.25)));
  const s = seeded(3);
  const counts = [0, 0, 0];
  for (let i = 0; i < 3000; i++) {
    const x = s.next();
    assert.ok(x >= 0 && x < 1);
    counts[s.int(3)]++;
  }
  for (const c of counts) assert.ok(c > 800, `int(3) is roughly uniform: ${counts}`);
  assert.throws(() => s.int(0), RangeError);
});

// ---------------------------------------------------------------------------------------------------------------
// synonyms

const SYNONYMS_YAML = 'fast: [quick, rapid]\nBuy: purchase\nright away: [at once]\n';

test('parseSynonyms reads YAML and JSON maps with lists or single strings; keys are lower case', () => {
  const fromYaml = parseSynonyms(SYNONYMS_YAML, 'synonyms.yaml');
  assert.deepEqual([...fromYaml], [['fast', ['quick', 'rapid']], ['buy', ['purchase']], ['right away', ['at once']]]);
  const fromJson = parseSynonyms('{"fast": ["quick", "rapid"], "Buy": "purchase", "right away": ["at once"]}', 'synonyms.json');
  assert.deepEqual([...fromJson], [...fromYaml]);
  // YAML scalars are words, not numbers or booleans.
  assert.deepEqual([...parseSynonyms('two: 2\nyes: no\n', 's.yml')], [['two', ['2']], ['yes', ['no']]]);
});

test('parseSynonyms errors name the file and the line, or the key at fault', () => {
  assert.throws(() => parseSynonyms('fast: [quick\nslow: x: y\n', 'synonyms.yaml'), /^Error: synonyms\.yaml, line \d+, column \d+: \S/);
  assert.throws(() => parseSynonyms('fast: quick\nfast: rapid\n', 'synonyms.yaml'), /^Error: synonyms\.yaml, line 2, column 1: Map keys must be unique$/);
  assert.throws(() => parseSynonyms('{\n"fast": ["quick"],\n}', 'synonyms.json'), /^Error: synonyms\.json, line 3: /);
  // V8 quotes the text around an unexpected token; the message keeps only the reason and the line.
  assert.throws(() => parseSynonyms(`{\n"fast": [${'"quick", '.repeat(20)}}]}`, 'synonyms.json'), { message: "synonyms.json, line 2: Unexpected token '}'" });
  assert.throws(() => parseSynonyms('fast: {a: b}\n', 'synonyms.yaml'), { message: 'synonyms.yaml: "fast" must map to a string or a list of strings' });
  assert.throws(() => parseSynonyms('{"fast": [1]}', 'synonyms.json'), { message: 'synonyms.json: "fast" must map to a string or a list of strings' });
  assert.throws(() => parseSynonyms('fast:\n', 'synonyms.yaml'), { message: 'synonyms.yaml: "fast" has no synonyms' });
  assert.throws(() => parseSynonyms('fast: [FAST]\n', 'synonyms.yaml'), { message: 'synonyms.yaml: "fast" has no synonym other than itself' });
  assert.throws(() => parseSynonyms('- fast\n', 'synonyms.yaml'), /^Error: synonyms\.yaml: expected a map .* got a list$/);
});

test('augmentRows at probability 1 replaces every whole-word occurrence, keeps case, leaves answers alone', () => {
  const syn = parseSynonyms('fast: quick\n', 'synonyms.yaml');
  const rows = rowsOf(
    { instruction: 'Fast cars are FAST and fast, not breakfast.', input: 'fast-paced', output: 'fast' },
    { messages: [{ role: 'system', content: 'be fast' }, { role: 'user', content: 'a fast reply' }, { role: 'assistant', content: 'fast' }] },
    { conversations: [{ from: 'human', value: 'fast?' }, { from: 'gpt', value: 'fast!' }] },
    { text: 'fast', label: 'speed' },
    { prompt: 'Is it fast?', chosen: 'fast', rejected: 'slow' },
    { messages: [{ role: 'user', content: [{ type: 'text', text: 'fast' }, { type: 'image_url', image_url: { url: 'fast' } }] }] },
  );
  const { added, skipped, changedWords } = augmentRows(rows, syn, { probability: 1, seed: 1 });
  assert.equal(skipped, 0);
  assert.deepEqual(added.map((a) => a.after), [0, 1, 2, 3, 4, 5]);
  assert.equal(changedWords, 4 + 1 + 1 + 1 + 1 + 1);
  assert.ok(added.every((a) => !a.text.includes('\n')), 'one line per row');
  assert.deepEqual(parsed(added), [
    { instruction: 'Quick cars are QUICK and quick, not breakfast.', input: 'quick-paced', output: 'fast', augmented: 'synonyms' },
    { messages: [{ role: 'system', content: 'be fast' }, { role: 'user', content: 'a quick reply' }, { role: 'assistant', content: 'fast' }], augmented: 'synonyms' },
    { conversations: [{ from: 'human', value: 'quick?' }, { from: 'gpt', value: 'fast!' }], augmented: 'synonyms' },
    { text: 'quick', label: 'speed', augmented: 'synonyms' },
    { prompt: 'Is it quick?', chosen: 'fast', rejected: 'slow', augmented: 'synonyms' },
    { messages: [{ role: 'user', content: [{ type: 'text', text: 'quick' }, { type: 'image_url', image_url: { url: 'fast' } }] }], augmented: 'synonyms' },
  ]);
});

test('augmentRows: whole words and phrases only, probability 0 adds nothing, non-objects are skipped', () => {
  const syn = parseSynonyms(SYNONYMS_YAML, 'synonyms.yaml');
  const rows = rowsOf({ text: 'breakfast, buyer, alright' }, 'not json', '[1, 2]', '', '"a string"', { text: 'Do it RIGHT  AWAY, right now' });
  const r1 = augmentRows(rows, syn, { probability: 1, seed: 9 });
  assert.equal(r1.skipped, 4);
  assert.deepEqual(parsed(r1.added), [{ text: 'Do it AT ONCE, right now', augmented: 'synonyms' }]);
  assert.deepEqual(r1.added.map((a) => a.after), [5]);
  const r0 = augmentRows(rows, syn, { probability: 0, seed: 9 });
  assert.deepEqual(r0, { added: [], skipped: 4, changedWords: 0 });
  assert.throws(() => augmentRows(rows, syn, { probability: 1.5, seed: 1 }), RangeError);
});

test('augmentRows: the fields option rewords other fields instead of the default ones', () => {
  const syn = parseSynonyms('fast: quick\n', 'synonyms.yaml');
  const rows = rowsOf({ question: 'fast?', text: 'fast', answer: 'fast' });
  assert.deepEqual(parsed(augmentRows(rows, syn, { probability: 1, seed: 1, fields: ['question'] }).added), [
    { question: 'quick?', text: 'fast', answer: 'fast', augmented: 'synonyms' },
  ]);
});

function randomRows(seed: number, n: number): ToolRow[] {
  const rand = prng(seed);
  const words = ['fast', 'Fast', 'buy', 'the', 'car', 'right away', 'breakfast', 'BUY', 'a', 'is'];
  return Array.from({ length: n }, (_, row) => {
    const text = Array.from({ length: 3 + Math.floor(rand() * 12) }, () => words[Math.floor(rand() * words.length)]).join(' ');
    return { row, text: JSON.stringify({ instruction: text, output: text }) };
  });
}

test('augmentRows is seeded: same seed same rows, another seed other rows, a row the same whatever rows come with it', () => {
  const syn = parseSynonyms(SYNONYMS_YAML, 'synonyms.yaml');
  const rows = randomRows(42, 300);
  const a = augmentRows(rows, syn, { probability: 0.7, seed: 1 });
  const b = augmentRows(rows, syn, { probability: 0.7, seed: 1 });
  const c = augmentRows(rows, syn, { probability: 0.7, seed: 2 });
  assert.deepEqual(a, b);
  assert.notDeepEqual(a.added, c.added);
  assert.ok(a.added.length > 100 && a.changedWords > a.added.length);
  for (const row of parsed(a.added)) assert.notEqual(row.instruction, row.output, 'the answer is not reworded');
  const some = rows.filter((r) => r.row % 3 === 0);
  assert.deepEqual(augmentRows(some, syn, { probability: 0.7, seed: 1 }).added, a.added.filter((x) => x.after % 3 === 0));
  // About 70% of occurrences change: a loose bound that holds for any reasonable generator.
  const occurrences = rows.reduce((n, r) => n + (JSON.parse(r.text).instruction.match(/\b(fast|buy|right away)\b/gi)?.length ?? 0), 0);
  const share = a.changedWords / occurrences;
  assert.ok(share > 0.6 && share < 0.8, `share replaced ${share}`);
});

// ---------------------------------------------------------------------------------------------------------------
// perturbation

const RULES_YAML = `rules:
  - from: compliant
    to: violation
    swap:
      "with the user's consent": "without the user's consent"
      encrypted: unencrypted
`;

test('parseRules reads YAML and JSON rules', () => {
  const expected: PerturbRule[] = [{
    from: 'compliant',
    to: 'violation',
    swap: [{ phrase: "with the user's consent", replacement: "without the user's consent" }, { phrase: 'encrypted', replacement: 'unencrypted' }],
  }];
  assert.deepEqual(parseRules(RULES_YAML, 'rules.yaml'), expected);
  assert.deepEqual(parseRules(JSON.stringify({ rules: [{ from: 'compliant', to: 'violation', swap: { "with the user's consent": "without the user's consent", encrypted: 'unencrypted' } }] }), 'rules.json'), expected);
  assert.deepEqual(parseRules('- {from: 0, to: 1, swap: {a: b}}\n', 'rules.yml'), [{ from: '0', to: '1', swap: [{ phrase: 'a', replacement: 'b' }] }]);
});

test('parseRules errors name the file and the line, or the rule and the key at fault', () => {
  assert.throws(() => parseRules('rules:\n  - from: [a\n  to: b\n', 'rules.yaml'), /^Error: rules\.yaml, line \d+, column \d+: /);
  assert.throws(() => parseRules('{"rules": [}', 'rules.json'), /^Error: rules\.json, line 1: /);
  assert.throws(() => parseRules('other: 1\n', 'rules.yaml'), { message: 'rules.yaml: expected "rules:" with a list of rules (from, to, swap)' });
  const rule2 = (body: string) => `rules:\n  - {from: a, to: b, swap: {x: y}}\n  - ${body}\n`;
  assert.throws(() => parseRules(rule2('{to: b, swap: {x: y}}'), 'rules.yaml'), { message: 'rules.yaml: rule 2: "from" must be a non-empty label' });
  assert.throws(() => parseRules(rule2('{from: a, swap: {x: y}}'), 'rules.yaml'), { message: 'rules.yaml: rule 2: "to" must be a non-empty label' });
  assert.throws(() => parseRules(rule2('{from: a, to: a, swap: {x: y}}'), 'rules.yaml'), { message: 'rules.yaml: rule 2: "from" and "to" are the same label ("a")' });
  assert.throws(() => parseRules(rule2('{from: a, to: b, swap: [x]}'), 'rules.yaml'), { message: 'rules.yaml: rule 2: "swap" must be a map of phrase: replacement' });
  assert.throws(() => parseRules(rule2('{from: a, to: b, swap: {}}'), 'rules.yaml'), { message: 'rules.yaml: rule 2: "swap" is empty' });
  assert.throws(() => parseRules(rule2('{from: a, to: b, swap: {encrypted: [x]}}'), 'rules.yaml'), { message: 'rules.yaml: rule 2: swap "encrypted" must map to a string' });
  assert.throws(() => parseRules(rule2('{from: a, to: b, swap: {Encrypted: encrypted}}'), 'rules.yaml'), { message: 'rules.yaml: rule 2: swap "Encrypted" maps the phrase to itself' });
  assert.throws(() => parseRules('rules:\n  - compliant\n', 'rules.yaml'), { message: 'rules.yaml: rule 1 must be a map with "from", "to" and "swap"' });
});

// A privacy-policy classification set in the shapes a fine-tuning set comes in.
const POLICY = rowsOf(
  { text: "We share your location with partners with the user's consent.", label: 'compliant' },
  { text: "With the user's consent, contacts are synced.", label: 'compliant' },
  { instruction: 'Classify the privacy clause.', input: 'Backups are stored encrypted at rest.', output: 'compliant' },
  { messages: [
    { role: 'system', content: 'Answer compliant or violation.' },
    { role: 'user', content: 'Messages are ENCRYPTED in transit.' },
    { role: 'assistant', content: ' compliant ' },
  ] },
  { text: "Data is sold with the user's consent.", label: 'violation' },
  { text: 'Passwords are stored unencrypted.', label: 'compliant' },
  { text: 'Cookies expire after a year.', label: 'compliant' },
  'not json',
  { conversations: [{ from: 'human', value: 'Logs are encrypted.' }, { from: 'gpt', value: 'compliant' }], label: 'compliant' },
  { prompt: 'Files are encrypted.', chosen: 'compliant', rejected: 'violation' },
);

test('perturbRows as rows: the phrase swapped in the input, the label flipped where it lives, the rest untouched', () => {
  const rules = parseRules(RULES_YAML, 'rules.yaml');
  const { added, skipped } = perturbRows(POLICY, rules, { seed: 1, output: 'rows' });
  assert.equal(skipped, 1);
  assert.deepEqual(added.map((a) => a.after), [0, 1, 2, 3, 8, 9]);
  assert.deepEqual(parsed(added), [
    { text: "We share your location with partners without the user's consent.", label: 'violation', augmented: 'perturbation' },
    { text: "Without the user's consent, contacts are synced.", label: 'violation', augmented: 'perturbation' },
    { instruction: 'Classify the privacy clause.', input: 'Backups are stored unencrypted at rest.', output: 'violation', augmented: 'perturbation' },
    { messages: [
      { role: 'system', content: 'Answer compliant or violation.' },
      { role: 'user', content: 'Messages are UNENCRYPTED in transit.' },
      { role: 'assistant', content: 'violation' },
    ], augmented: 'perturbation' },
    // A label field and an answer that is the label both flip.
    { conversations: [{ from: 'human', value: 'Logs are unencrypted.' }, { from: 'gpt', value: 'violation' }], label: 'violation', augmented: 'perturbation' },
    // A preference pair of the two labels stays one: the old label is now the wrong answer.
    { prompt: 'Files are unencrypted.', chosen: 'violation', rejected: 'compliant', augmented: 'perturbation' },
  ]);
});

test('perturbRows as pairs: TRL preference rows, strings for plain text, message lists for chat and Alpaca', () => {
  const rules = parseRules(RULES_YAML, 'rules.yaml');
  const { added } = perturbRows(POLICY, rules, { seed: 1, output: 'pairs' });
  const assistant = (content: string) => [{ role: 'assistant', content }];
  assert.deepEqual(parsed(added), [
    { prompt: "We share your location with partners without the user's consent.", chosen: 'violation', rejected: 'compliant', augmented: 'perturbation' },
    { prompt: "Without the user's consent, contacts are synced.", chosen: 'violation', rejected: 'compliant', augmented: 'perturbation' },
    { prompt: [{ role: 'user', content: 'Classify the privacy clause.\n\nBackups are stored unencrypted at rest.' }], chosen: assistant('violation'), rejected: assistant('compliant'), augmented: 'perturbation' },
    { prompt: [{ role: 'system', content: 'Answer compliant or violation.' }, { role: 'user', content: 'Messages are UNENCRYPTED in transit.' }], chosen: assistant('violation'), rejected: assistant('compliant'), augmented: 'perturbation' },
    { prompt: [{ role: 'user', content: 'Logs are unencrypted.' }], chosen: assistant('violation'), rejected: assistant('compliant'), augmented: 'perturbation' },
    { prompt: 'Files are unencrypted.', chosen: 'violation', rejected: 'compliant', augmented: 'perturbation' },
  ]);
});

test('perturbRows: with several matching phrases the seed picks which, up to maxPerRow rows', () => {
  const rules = parseRules(RULES_YAML, 'rules.yaml');
  const both = rowsOf({ text: "Data is encrypted and shared with the user's consent.", label: 'compliant' });
  const texts = new Set<string>();
  for (let seed = 0; seed < 40; seed++) {
    const one = perturbRows(both, rules, { seed, output: 'rows' });
    assert.equal(one.added.length, 1);
    assert.deepEqual(perturbRows(both, rules, { seed, output: 'rows' }), one);
    texts.add(JSON.parse(one.added[0].text).text);
  }
  assert.deepEqual([...texts].sort(), ["Data is encrypted and shared without the user's consent.", "Data is unencrypted and shared with the user's consent."]);
  const two = perturbRows(both, rules, { seed: 5, output: 'rows', maxPerRow: 3 });
  assert.deepEqual(parsed(two.added).map((r) => r.text).sort(), [...texts].sort());
  assert.throws(() => perturbRows(both, rules, { seed: 5, output: 'rows', maxPerRow: 0 }), RangeError);
});

test('perturbRows keeps a numeric label numeric and leaves rows of other labels alone', () => {
  const rules = parseRules('rules:\n  - {from: 0, to: 1, swap: {encrypted: unencrypted}}\n', 'rules.yaml');
  const rows = rowsOf({ text: 'encrypted', label: 0 }, { text: 'encrypted', label: 1 }, { text: 'encrypted' });
  assert.deepEqual(parsed(perturbRows(rows, rules, { seed: 1, output: 'rows' }).added), [{ text: 'unencrypted', label: 1, augmented: 'perturbation' }]);
});

// ---------------------------------------------------------------------------------------------------------------
// IOB

const TAG_SET = ['O', 'B-PER', 'I-PER', 'B-LOC', 'I-LOC'];

test('checkIob reports each problem with its code, message and token index', () => {
  const rows = rowsOf(
    { tokens: ['I', 'love', 'New', 'York'], tags: ['O', 'O', 'O', 'I-LOC'] },
    { tokens: ['a', 'b', 'c'], ner_tags: ['O', 'O', 'O', 'O'] },
    { tokens: ['York', 'Ann', 'Lee'], labels: ['I-LOC', 'B-PER', 'I-LOC'] },
    { tokens: ['Paris', 'x'], tags: ['LOC', null] },
    { tokens: ['Ann', 'Lee'], tags: ['B-PER', 'I-PER'] },
    { text: 'no tokens here', label: 'x' },
    'not json',
    { tokens: ['x'] },
  );
  const { diagnostics, checked, skipped } = checkIob(rows);
  assert.equal(checked, 5);
  assert.equal(skipped, 3);
  assert.deepEqual(diagnostics, [
    { row: 0, severity: 'error', code: 'iob_orphan_i', column: 3, message: 'token 4 "York" is I-LOC after O: an I- tag must follow B-LOC or I-LOC' },
    { row: 1, severity: 'error', code: 'iob_count', message: '3 tokens but 4 tags' },
    { row: 2, severity: 'error', code: 'iob_orphan_i', column: 0, message: 'token 1 "York" is I-LOC at the start of the row: an I- tag must follow B-LOC or I-LOC' },
    { row: 2, severity: 'error', code: 'iob_orphan_i', column: 2, message: 'token 3 "Lee" is I-LOC after B-PER: an I- tag must follow B-LOC or I-LOC' },
    { row: 3, severity: 'error', code: 'iob_not_tagged', column: 0, message: 'token 1 "Paris" has tag "LOC", which is not an IOB tag (O, B-TYPE or I-TYPE)' },
    { row: 3, severity: 'error', code: 'iob_not_tagged', column: 1, message: 'token 2 "x" has tag null, which is not an IOB tag (O, B-TYPE or I-TYPE)' },
  ]);
  assert.deepEqual(checkIob(rowsOf({ tokens: ['a'], tags: 'O' })).diagnostics, [
    { row: 0, severity: 'error', code: 'iob_not_tagged', message: '"tags" must be a list of tags, one per token' },
  ]);
});

test('checkIob: a tag set limits the tags and reads integer tags; without one integer tags get one warning a row', () => {
  const rows = rowsOf(
    { tokens: ['Ann', 'in', 'Rome'], ner_tags: [1, 0, 4] },
    { tokens: ['Ann', 'Lee'], ner_tags: [1, 2] },
    { tokens: ['Ann', 'x'], tags: ['B-ORG', 9] },
  );
  assert.deepEqual(checkIob(rows, { tagSet: TAG_SET }).diagnostics, [
    { row: 0, severity: 'error', code: 'iob_orphan_i', column: 2, message: 'token 3 "Rome" is I-LOC after O: an I- tag must follow B-LOC or I-LOC' },
    { row: 2, severity: 'error', code: 'iob_unknown_tag', column: 0, message: 'token 1 "Ann" has tag B-ORG, which is not in the tag set' },
    { row: 2, severity: 'error', code: 'iob_unknown_tag', column: 1, message: 'token 2 "x" has tag 9, which is not an index into the tag set (0 to 4)' },
  ]);
  const bare = checkIob(rows).diagnostics;
  assert.deepEqual(bare.map((d) => [d.row, d.severity, d.code]), [[0, 'warning', 'iob_unknown_tag'], [1, 'warning', 'iob_unknown_tag'], [2, 'warning', 'iob_unknown_tag']]);
  assert.equal(bare[0].message, 'tags are class ids (1 at token 1 "Ann"): give the tag set to check them');
});

test('fixOrphanI turns each orphan I- into B-, leaving spans that continue; undefined when nothing to fix', () => {
  const fixed = fixOrphanI(JSON.stringify({ id: 7, tokens: ['in', 'New', 'York', 'Ann'], tags: ['O', 'I-LOC', 'I-LOC', 'I-PER'] }));
  assert.deepEqual(JSON.parse(fixed!), { id: 7, tokens: ['in', 'New', 'York', 'Ann'], tags: ['O', 'B-LOC', 'I-LOC', 'B-PER'] });
  assert.deepEqual(checkIob([{ row: 0, text: fixed! }]).diagnostics, []);
  assert.equal(fixOrphanI(JSON.stringify({ tokens: ['Ann', 'Lee'], tags: ['B-PER', 'I-PER'] })), undefined);
  assert.equal(fixOrphanI('{"text": "x"}'), undefined);
  assert.equal(fixOrphanI('nope'), undefined);
  const ints = JSON.stringify({ tokens: ['in', 'Rome'], ner_tags: [0, 4] });
  assert.equal(fixOrphanI(ints), undefined, 'integer tags need the tag set');
  assert.deepEqual(JSON.parse(fixOrphanI(ints, { tagSet: TAG_SET })!).ner_tags, [0, 3]);
});

// ---------------------------------------------------------------------------------------------------------------
// preview

test('toolDiff shows each source row that gains rows under # row N, its new rows after it on the right', () => {
  const before = rowsOf({ a: 1 }, { a: 2 }, { a: 3 });
  const { left, right } = toolDiff(before, [{ after: 2, text: '{"a":30}' }, { after: 0, text: '{"a":10}' }, { after: 0, text: '{"a":11}' }]);
  assert.equal(left, '# row 1\n{\n  "a": 1\n}\n\n# row 3\n{\n  "a": 3\n}\n');
  assert.equal(right, [
    '# row 1', '{\n  "a": 1\n}', '', '{\n  "a": 10\n}', '', '{\n  "a": 11\n}', '',
    '# row 3', '{\n  "a": 3\n}', '', '{\n  "a": 30\n}', '',
  ].join('\n'));
  assert.deepEqual(toolDiff(before, []), { left: '', right: '' });
});

test('toolDiff stops after the first 200 source rows with new rows and says how many more', () => {
  const before = Array.from({ length: 300 }, (_, row) => ({ row, text: JSON.stringify({ n: row }) }));
  const added = before.filter((r) => r.row % 2 === 0 || r.row > 100).map((r) => ({ after: r.row, text: JSON.stringify({ n: -r.row }) }));
  const { left, right } = toolDiff(before, added);
  const headers = (s: string) => s.split('\n').filter((l) => l.startsWith('# row '));
  assert.equal(PREVIEW_ROWS, 200);
  assert.equal(headers(left).length, 200);
  assert.deepEqual(headers(right), headers(left));
  assert.equal(added.length, 250);
  assert.equal(headers(left)[199], `# row ${added[199].after + 1}`);
  const more = `# … and ${added.length - 200} more rows`;
  assert.ok(left.endsWith(`\n${more}\n`) && right.endsWith(`\n${more}\n`));
  assert.ok(toolDiff(before, added.slice(0, 201)).left.endsWith('# … and 1 more row\n'));
});
