// Editing one string of a row in place (src/core/dataset/fieldEdit.ts) and the paths the row view gives the
// strings it shows (viewRow(text, { paths: true })): each path leads to exactly the string shown, and setting it
// changes that string's bytes and nothing else, on one line.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { pathLabel, viewRow, type JsonPath, type Turn, type ViewedRow } from '../../src/core/dataset/rowView';
import { setField } from '../../src/core/dataset/fieldEdit';
import { dumps } from '../support/jsonStyles';
import { prng } from '../support/prng';

const row = (x: unknown) => JSON.stringify(x);

/** The value at `path` as JSON.parse reads it, or undefined. */
function getAt(value: unknown, path: JsonPath): unknown {
  let v = value;
  for (const seg of path) {
    if (Array.isArray(v) && typeof seg === 'number') v = v[seg];
    else if (v && typeof v === 'object' && !Array.isArray(v) && typeof seg === 'string' && Object.prototype.hasOwnProperty.call(v, seg)) v = (v as Record<string, unknown>)[seg];
    else return undefined;
  }
  return v;
}

/** A copy of `value` with the value at `path` replaced. */
function setAt(value: unknown, path: JsonPath, to: unknown): unknown {
  if (path.length === 0) return to;
  const copy = structuredClone(value) as Record<string | number, unknown>;
  let v = copy;
  for (const seg of path.slice(0, -1)) v = v[seg] as Record<string | number, unknown>;
  v[path[path.length - 1]] = to;
  return copy;
}

/** Every (path, shown string) pair of a view. */
function shownWithPaths(v: ViewedRow): Array<[JsonPath, string]> {
  const out: Array<[JsonPath, string]> = [];
  const turns = (ts: Turn[]) => {
    for (const t of ts) {
      if (t.path) out.push([t.path, t.content]);
      for (const c of t.toolCalls ?? []) if (c.argumentsPath) out.push([c.argumentsPath, c.arguments]);
    }
  };
  switch (v.kind) {
    case 'alpaca':
      for (const [k, p] of Object.entries(v.paths ?? {})) out.push([p, (v as Record<string, unknown>)[k] as string]);
      break;
    case 'chat':
      if (v.systemPath) out.push([v.systemPath, v.system ?? '']);
      turns(v.turns);
      break;
    case 'preference':
      turns(v.prompt);
      turns(v.chosen);
      turns(v.rejected);
      break;
    case 'kto':
      turns(v.prompt);
      turns(v.completion);
      break;
    case 'text':
      if (v.path) out.push([v.path, v.text]);
      break;
  }
  return out;
}

function pathsOf(text: string): JsonPath[] {
  return shownWithPaths(viewRow(text, { paths: true })).map(([p]) => p);
}

function assertPathsLeadToShown(text: string): void {
  const value = JSON.parse(text);
  for (const [p, shown] of shownWithPaths(viewRow(text, { paths: true }))) {
    assert.equal(getAt(value, p), shown, `${pathLabel(p)} in ${text}`);
  }
}

test('every kind gives its shown strings the path of the JSON string they come from', () => {
  const cases: Array<[unknown, JsonPath[]]> = [
    [{ system: 'S', instruction: 'I', input: '', output: 'O' }, [['system'], ['instruction'], ['input'], ['output']]],
    [{ instruction: 5, output: 'O', input: null }, [['output']]],
    [
      {
        system: 'top',
        messages: [
          { role: 'system', content: 'sys' },
          { role: 'user', content: [{ type: 'text', text: 'only part' }] },
          { role: 'user', content: ['bare part'] },
          { role: 'user', content: [{ type: 'text', text: 'a' }, { type: 'text', text: 'b' }] },
          { role: 'user', content: [{ type: 'image_url', image_url: { url: 'x' } }] },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'c1', type: 'function', function: { name: 'f', arguments: '{"a": 1}' } },
              { id: 'c2', type: 'function', function: { name: 'g', arguments: { a: 1 } } },
              { name: 'flat', arguments: 'x' },
            ],
          },
          { role: 'tool', tool_call_id: 'c1', content: '18C' },
          'loose string',
          { role: 'assistant', content: 7 },
          { role: 'assistant' },
        ],
      },
      [
        ['system'],
        ['messages', 0, 'content'],
        ['messages', 1, 'content', 0, 'text'],
        ['messages', 2, 'content', 0],
        ['messages', 5, 'tool_calls', 0, 'function', 'arguments'],
        ['messages', 5, 'tool_calls', 2, 'arguments'],
        ['messages', 6, 'content'],
        ['messages', 7],
      ],
    ],
    [
      { conversations: [{ from: 'human', value: 'q' }, { from: 'gpt', value: 'a' }, { from: 'gpt', value: null }] },
      [['conversations', 0, 'value'], ['conversations', 1, 'value']],
    ],
    [{ prompt: 'P', chosen: 'C', rejected: 'R' }, [['prompt'], ['chosen'], ['rejected']]],
    [
      { prompt: [{ role: 'user', content: 'P' }], chosen: [{ role: 'assistant', content: 'C' }], rejected: [{ role: 'assistant', content: 'R' }] },
      [['prompt', 0, 'content'], ['chosen', 0, 'content'], ['rejected', 0, 'content']],
    ],
    [
      // The shared prompt is shown once, from chosen.
      {
        chosen: [{ role: 'system', content: 's' }, { role: 'user', content: 'q' }, { role: 'assistant', content: 'good' }],
        rejected: [{ role: 'system', content: 's' }, { role: 'user', content: 'q' }, { role: 'assistant', content: 'bad' }],
      },
      [['chosen', 0, 'content'], ['chosen', 1, 'content'], ['chosen', 2, 'content'], ['rejected', 2, 'content']],
    ],
    [{ prompt: 'P', completion: 'C', label: true }, [['prompt'], ['completion']]],
    [{ prompt: [{ role: 'user', content: 'P' }], completion: [{ role: 'assistant', content: 'C' }], label: false }, [['prompt', 0, 'content'], ['completion', 0, 'content']]],
    [{ text: 'hello\nworld' }, [['text']]],
    [{ foo: 'bar' }, []],
  ];
  for (const [value, expected] of cases) {
    const text = row(value);
    assert.deepEqual(pathsOf(text), expected, text);
    assertPathsLeadToShown(text);
  }
  // Spacing and escapes in the row do not matter: paths are about values.
  assertPathsLeadToShown('{ "text" : "caf\\u00e9\\n" , "label":"x" }');
  // With a repeated key, the last one is what JSON.parse, the view and the edit all read.
  const dup = '{"text":"first","text":"second"}';
  assertPathsLeadToShown(dup);
  assert.equal(setField(dup, ['text'], 'third'), '{"text":"first","text":"third"}');
});

test('without { paths: true } the view has no paths, as before', () => {
  const lines = [
    row({ system: 'S', instruction: 'I', output: 'O' }),
    row({ system: 's', messages: [{ role: 'assistant', content: 'x', tool_calls: [{ function: { name: 'f', arguments: '{}' } }] }] }),
    row({ chosen: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }], rejected: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'b' }] }),
    row({ prompt: 'p', completion: 'c', label: true }),
    row({ text: 't' }),
  ];
  for (const line of lines) {
    const plain = JSON.stringify(viewRow(line));
    assert.ok(!/"(path|paths|systemPath|argumentsPath)"/.test(plain), plain);
    assert.notEqual(JSON.stringify(viewRow(line, { paths: true })), plain);
  }
});

test('pathLabel names a path as a person reads it', () => {
  assert.equal(pathLabel(['messages', 2, 'content']), 'messages[2].content');
  assert.equal(pathLabel(['chosen', 0, 'tool_calls', 1, 'function', 'arguments']), 'chosen[0].tool_calls[1].function.arguments');
  assert.equal(pathLabel(['a b', 0, 'é']), '["a b"][0]["é"]');
});

/** The line with `from` replaced by `to` exactly once: what a minimal edit must produce. */
function replacedOnce(line: string, from: string, to: string): string {
  const i = line.indexOf(from);
  assert.ok(i >= 0 && line.indexOf(from, i + 1) < 0, `"${from}" must occur once in ${line}`);
  return line.slice(0, i) + to + line.slice(i + from.length);
}

test('setField replaces the string\'s bytes and nothing else', () => {
  const line = '{ "messages" : [ {"role":"user" , "content": "old"}, {"role": "assistant","content":"caf\\u00e9"} ] ,"n": 1.50e0, "z":[1,  2], "label" :"x"}  ';
  assert.equal(setField(line, ['messages', 0, 'content'], 'new'), replacedOnce(line, '"old"', '"new"'));
  assert.equal(setField(line, ['messages', 1, 'content'], 'tea'), replacedOnce(line, '"caf\\u00e9"', '"tea"'));
  assert.equal(setField(line, ['label'], ''), replacedOnce(line, '"x"', '""'));
  // The same value again is no change, even where the row spells it with escapes.
  assert.equal(setField(line, ['messages', 1, 'content'], 'café'), line);
  assert.equal(setField(line, ['messages', 0, 'content'], 'old'), line);
});

test('setField escapes line breaks and keeps the row\'s way with non-ASCII text', () => {
  const ascii = '{"text":"a","b":1}';
  assert.equal(setField(ascii, ['text'], 'one\ntwo\r\nthree\tfour'), '{"text":"one\\ntwo\\r\\nthree\\tfour","b":1}');
  assert.equal(setField(ascii, ['text'], 'q"uote\\'), '{"text":"q\\"uote\\\\","b":1}');
  // A pure-ASCII row (Python's json.dumps default) stays pure ASCII.
  assert.equal(setField(ascii, ['text'], 'café 😀'), '{"text":"caf\\u00e9 \\ud83d\\ude00","b":1}');
  // A row that already has raw non-ASCII text gets it raw.
  const raw = '{"text":"a","b":"日本"}';
  assert.equal(setField(raw, ['text'], 'café 😀'), '{"text":"café 😀","b":"日本"}');
  // U+2028 and U+2029 are line breaks to some readers, so they are escaped either way.
  assert.equal(setField(raw, ['text'], 'x\u2028y\u2029z'), '{"text":"x\\u2028y\\u2029z","b":"日本"}');
  for (const line of [ascii, raw]) {
    for (const v of ['\n', '\r', '\u2028', '\u0085', '\ud800', 'a\u0000b']) {
      const out = setField(line, ['text'], v);
      assert.ok(!/[\n\r\u2028\u2029]/.test(out), JSON.stringify(out));
      assert.equal(JSON.parse(out).text, v);
    }
  }
});

test('setField says which path it could not set, and why', () => {
  const line = row({ messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: null }], n: 1, o: { a: [] } });
  const cases: Array<[string, JsonPath, RegExp]> = [
    ['{"a":', ['a'], /^Cannot set a: the row is not valid JSON \(/],
    ['{"a":"x",}', ['a'], /not valid JSON/],
    ['', ['text'], /^Cannot set text: the row is not valid JSON/],
    [line, ['missing'], /^Cannot set missing: the row has no key "missing"\.$/],
    [line, ['messages', 5, 'content'], /^Cannot set messages\[5\]\.content: messages has no item 5 \(it has 2\)\.$/],
    [line, ['messages', -1, 'content'], /has no item -1/],
    [line, ['messages', 0.5, 'content'], /has no item 0\.5/],
    [line, ['messages', 'x'], /^Cannot set messages\.x: messages is an array, so it has no key "x"\.$/],
    [line, ['messages', 1, 'content'], /^Cannot set messages\[1\]\.content: it is null, not a string\.$/],
    [line, ['n'], /^Cannot set n: it is a number, not a string\.$/],
    [line, ['o'], /^Cannot set o: it is an object, not a string\.$/],
    [line, ['o', 'a'], /it is an array, not a string/],
    [line, ['n', 'x'], /^Cannot set n\.x: n is a number, so it has no key "x"\.$/],
    [line, [0], /^Cannot set \[0\]: the row is an object, so it has no item 0\.$/],
    [line, [], /^Cannot set the row: it is an object, not a string\.$/],
    ['[1,"a"]', ['a'], /the row is an array/],
  ];
  for (const [text, path, message] of cases) {
    assert.throws(() => setField(text, path, 'v'), (e: unknown) => e instanceof Error && message.test(e.message), `${text} ${JSON.stringify(path)}`);
  }
  // Rows that are not objects still have strings to set.
  assert.equal(setField('[1, "a"]', [1], 'b'), '[1, "b"]');
  assert.equal(setField(' "s" ', [], 't'), ' "t" ');
});


/** Every path to a string in `value`. */
function stringPaths(value: unknown, at: JsonPath = []): JsonPath[] {
  if (typeof value === 'string') return [at];
  if (Array.isArray(value)) return value.flatMap((v, i) => stringPaths(v, [...at, i]));
  if (value && typeof value === 'object') return Object.entries(value).flatMap(([k, v]) => stringPaths(v, [...at, k]));
  return [];
}

test('setField on 300 random rows: only the chosen string changes, and the row stays one line', () => {
  const rand = prng(20240612);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const strings = ['', 'a', 'é', '𝄞', '日本語', 'q"uote', 'back\\slash', 'new\nline', 'cr\r\nlf', 'tab\t', '\u2028', '\u0000', '{"label":1}', 'Paris'];
  const str = () => Array.from({ length: 1 + Math.floor(rand() * 3) }, () => pick(strings)).join(' ');
  const content = (): unknown => pick<() => unknown>([str, str, str, () => null, () => [{ type: 'text', text: str() }], () => [{ type: 'text', text: str() }, { type: 'image_url', image_url: { url: 'u' } }], () => [str()]])();
  const msg = (role: string): Record<string, unknown> => {
    const m: Record<string, unknown> = { role, content: content() };
    if (role === 'assistant' && rand() < 0.3) m.tool_calls = [{ id: 'c' + Math.floor(rand() * 9), type: 'function', function: { name: 'f', arguments: pick<unknown>(['{"city": "Paris"}', '{}', 'not json', { a: 1 }]) } }];
    return m;
  };
  const conv = (n: number) => Array.from({ length: n }, (_, i) => msg(i % 2 ? 'assistant' : 'user'));
  const kinds: Array<() => Record<string, unknown>> = [
    () => ({ instruction: str(), input: pick<unknown>([str(), '', null]), output: str(), ...(rand() < 0.5 ? { system: str() } : {}) }),
    () => ({ messages: [...(rand() < 0.5 ? [msg('system')] : []), ...conv(1 + Math.floor(rand() * 4))], ...(rand() < 0.3 ? { system: str() } : {}) }),
    () => ({ conversations: Array.from({ length: 1 + Math.floor(rand() * 4) }, (_, i) => ({ from: i % 2 ? 'gpt' : 'human', value: str() })) }),
    () => ({ prompt: str(), chosen: str(), rejected: str() }),
    () => {
      const shared = conv(1 + 2 * Math.floor(rand() * 2));
      return { chosen: [...shared, msg('assistant')], rejected: [...structuredClone(shared), msg('assistant')] };
    },
    () => ({ prompt: conv(1), chosen: [msg('assistant')], rejected: [msg('assistant')] }),
    () => ({ prompt: pick([str(), conv(1)]), completion: str(), label: rand() < 0.5 }),
    () => ({ text: str() }),
  ];
  const styles = [
    { colon: ':', comma: ',', ascii: false },
    { colon: ': ', comma: ', ', ascii: false },
    { colon: ': ', comma: ', ', ascii: true },
    { colon: ' : ', comma: ' , ', ascii: false },
  ];
  let fromView = 0;
  for (let i = 0; i < 300; i++) {
    const obj = pick(kinds)();
    if (rand() < 0.3) obj.label = pick<unknown>([str(), 3, null]);
    if (rand() < 0.3) obj.meta = { source: str(), tags: [str(), str()] };
    const style = pick(styles);
    const line = dumps(obj, style);
    assertPathsLeadToShown(line);
    // Half the edits go where the row pane offers them, half to any string of the row.
    const offered = pathsOf(line);
    const all = stringPaths(obj);
    const path = offered.length && rand() < 0.5 ? (fromView++, pick(offered)) : pick(all);
    const value = rand() < 0.2 ? (getAt(obj, path) as string) : str();
    const out = setField(line, path, value);
    const what = `${line} at ${pathLabel(path)} = ${JSON.stringify(value)}`;
    assert.ok(!/[\n\r]/.test(out), what);
    // JSON.stringify leaves U+2028/U+2029 raw, so the row may have them; the edit adds none.
    const seps = (s: string) => s.replace(/[^\u2028\u2029]/g, '').length;
    assert.ok(seps(out) <= seps(line), what);
    assert.deepEqual(JSON.parse(out), setAt(obj, path, value), what);
    // Smallest change: what differs is within the old string and its new spelling.
    let p = 0;
    while (p < line.length && p < out.length && line[p] === out[p]) p++;
    let s = 0;
    while (s < line.length - p && s < out.length - p && line[line.length - 1 - s] === out[out.length - 1 - s]) s++;
    assert.ok(line.length - p - s <= dumps(getAt(obj, path), style).length, what);
    assert.ok(out.length - p - s <= JSON.stringify(value).length * 6, what);
    if (value === getAt(obj, path)) assert.equal(out, line, what);
    // Setting the same value again changes nothing.
    assert.equal(setField(out, path, value), out, what);
  }
  assert.ok(fromView > 100, `only ${fromView} edits went to offered paths`);
});
