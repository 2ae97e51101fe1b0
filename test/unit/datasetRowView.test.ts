// The dataset editor's row view model (src/core/dataset/rowView.ts) and its label edit (labelEdit.ts): each
// format read into the fields the row pane shows, junk read without throwing, "Make a negative"'s prompt and
// answer, and label edits that change the label's bytes and nothing else.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { LABEL_KEY, labelOf, promptAndAnswer, viewRow, type ViewedRow } from '../../src/core/dataset/rowView';
import { setLabel, setLabels } from '../../src/core/dataset/labelEdit';
import { dumps } from '../support/jsonStyles';
import { prng } from '../support/prng';

const row = (x: unknown) => JSON.stringify(x);

function expectKind<K extends ViewedRow['kind']>(v: ViewedRow, kind: K): Extract<ViewedRow, { kind: K }> {
  assert.equal(v.kind, kind, `expected ${kind}, got ${JSON.stringify(v)}`);
  return v as Extract<ViewedRow, { kind: K }>;
}

test('Alpaca rows give their fields, with system and input when present', () => {
  const v = expectKind(viewRow(row({ instruction: 'Add.', input: '2 3', output: '5', system: 'Be terse.' })), 'alpaca');
  assert.deepEqual(v, { kind: 'alpaca', instruction: 'Add.', input: '2 3', output: '5', system: 'Be terse.', labels: [] });
  const bare = expectKind(viewRow(row({ instruction: 'Hi', output: 'Hello' })), 'alpaca');
  assert.equal(bare.input, undefined);
  assert.equal(bare.system, undefined);
});

test('ShareGPT rows map human/gpt to user/assistant and keep the other roles', () => {
  const v = expectKind(
    viewRow(
      row({
        system: 'top system',
        conversations: [
          { from: 'system', value: 'sys' },
          { from: 'human', value: 'q' },
          { from: 'function_call', value: '{"name":"f"}' },
          { from: 'observation', value: 'obs' },
          { from: 'tool', value: 't' },
          { from: 'gpt', value: 'a' },
        ],
      }),
    ),
    'chat',
  );
  assert.equal(v.system, 'top system');
  assert.deepEqual(
    v.turns.map((t) => [t.role, t.content]),
    [['system', 'sys'], ['user', 'q'], ['function_call', '{"name":"f"}'], ['observation', 'obs'], ['tool', 't'], ['assistant', 'a']],
  );
});

test('OpenAI chat rows: content parts joined, null content empty, tool calls with string and object arguments', () => {
  const v = expectKind(
    viewRow(
      row({
        messages: [
          { role: 'system', content: 'sys' },
          { role: 'user', content: [{ type: 'text', text: 'Weather ' }, { type: 'image_url', image_url: { url: 'x' } }, { type: 'text', text: 'in Paris?' }] },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'c1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
              { id: 'c2', type: 'function', function: { name: 'time', arguments: { tz: 'CET' } } },
            ],
          },
          { role: 'tool', tool_call_id: 'c1', name: 'weather', content: '18C' },
          { role: 'assistant', content: 'It is 18C.' },
        ],
      }),
    ),
    'chat',
  );
  assert.equal(v.turns[1].content, 'Weather [image_url]in Paris?');
  assert.equal(v.turns[2].content, '');
  assert.deepEqual(v.turns[2].toolCalls, [
    { id: 'c1', name: 'weather', arguments: '{"city":"Paris"}' },
    { id: 'c2', name: 'time', arguments: '{"tz":"CET"}' },
  ]);
  assert.deepEqual(v.turns[3], { role: 'tool', content: '18C', name: 'weather', toolCallId: 'c1' });
  assert.deepEqual(v.turns[4], { role: 'assistant', content: 'It is 18C.' });
  assert.equal(v.system, undefined);
});

test('preference rows: string prompt and answers become turns, lists are read as conversations', () => {
  const s = expectKind(viewRow(row({ prompt: 'Q?', chosen: 'good', rejected: 'bad' })), 'preference');
  assert.deepEqual(s.prompt, [{ role: 'user', content: 'Q?' }]);
  assert.deepEqual(s.chosen, [{ role: 'assistant', content: 'good' }]);
  assert.deepEqual(s.rejected, [{ role: 'assistant', content: 'bad' }]);

  const l = expectKind(
    viewRow(
      row({
        prompt: [{ role: 'system', content: 'sys' }, { role: 'user', content: 'Q?' }],
        chosen: [{ role: 'assistant', content: 'good' }],
        rejected: [{ role: 'assistant', content: 'bad' }],
      }),
    ),
    'preference',
  );
  assert.deepEqual(l.prompt.map((t) => t.role), ['system', 'user']);
  assert.equal(l.chosen[0].content, 'good');

  // Whole conversations without a prompt: the shared turns are the prompt.
  const q = { role: 'user', content: 'Q?' };
  const w = expectKind(
    viewRow(row({ chosen: [q, { role: 'assistant', content: 'good' }], rejected: [q, { role: 'assistant', content: 'bad' }] })),
    'preference',
  );
  assert.deepEqual(w.prompt, [q]);
  assert.deepEqual(w.chosen, [{ role: 'assistant', content: 'good' }]);
  assert.deepEqual(w.rejected, [{ role: 'assistant', content: 'bad' }]);

  // Identical sides still keep a turn each.
  const same = expectKind(viewRow(row({ chosen: [q], rejected: [q] })), 'preference');
  assert.deepEqual([same.prompt.length, same.chosen.length, same.rejected.length], [0, 1, 1]);
});

test('KTO rows: the boolean label is desirable, not a chip', () => {
  const v = expectKind(viewRow(row({ prompt: 'Q?', completion: 'A.', label: false })), 'kto');
  assert.deepEqual(v, {
    kind: 'kto',
    prompt: [{ role: 'user', content: 'Q?' }],
    completion: [{ role: 'assistant', content: 'A.' }],
    desirable: false,
    labels: [],
  });
  const l = expectKind(viewRow(row({ prompt: [{ role: 'user', content: 'Q' }], completion: [{ role: 'assistant', content: 'A' }], label: true })), 'kto');
  assert.equal(l.desirable, true);
});

test('text, other, empty and invalid lines', () => {
  assert.deepEqual(viewRow(row({ text: 'hello\nworld' })), { kind: 'text', text: 'hello\nworld', labels: [] });
  assert.deepEqual(viewRow(row({ foo: 1 })), { kind: 'other', value: { foo: 1 }, labels: [] });
  assert.deepEqual(viewRow(''), { kind: 'empty', labels: [] });
  assert.deepEqual(viewRow('  \t '), { kind: 'empty', labels: [] });
  const bad = expectKind(viewRow('{"a":'), 'invalid');
  let message = '';
  try {
    JSON.parse('{"a":');
  } catch (e) {
    message = (e as Error).message;
  }
  assert.equal(bad.error, message);
});

test('labels: a string or number label, a labels list of strings; booleans are not chips', () => {
  assert.deepEqual(viewRow(row({ text: 'x', label: 'spam' })).labels, ['spam']);
  assert.deepEqual(viewRow(row({ text: 'x', label: 3 })).labels, ['3']);
  assert.deepEqual(viewRow(row({ text: 'x', labels: ['a', 7, 'b', null] })).labels, ['a', 'b']);
  assert.deepEqual(viewRow(row({ text: 'x', label: 'a', labels: ['a', 'b'] })).labels, ['a', 'b']);
  assert.deepEqual(viewRow(row({ text: 'x', label: true })).labels, []);
  assert.deepEqual(viewRow(row({ messages: [], label: { x: 1 } })).labels, []);
  assert.equal(LABEL_KEY, 'label');
  assert.equal(labelOf(row({ label: 'spam', text: 'x' })), 'spam');
  assert.equal(labelOf(row({ label: 2.5 })), '2.5');
  assert.equal(labelOf(row({ label: true })), undefined);
  assert.equal(labelOf(row({ text: 'x' })), undefined);
  assert.equal(labelOf('not json'), undefined);
  assert.equal(labelOf('[1]'), undefined);
  assert.equal(labelOf(''), undefined);
});

test('odd rows never throw and fall back to other or a best-effort view', () => {
  const odd = [
    '[1,2]', '5', '"s"', 'null', 'true', '{}',
    row({ messages: 5 }), row({ conversations: 'x' }), row({ messages: [5, null, 'hi', []] }),
    row({ messages: [{}] }), row({ messages: [{ role: 1, content: { a: 1 } }] }),
    row({ messages: [{ role: 'user', content: [1, null, { type: 'text' }, { text: 'loose' }] }] }),
    row({ messages: [{ role: 'assistant', tool_calls: 'x' }] }),
    row({ messages: [{ role: 'assistant', tool_calls: [5, { function: 3 }, { name: 'flat', arguments: { a: 1 } }] }] }),
    row({ conversations: [{ from: 3, value: null }] }),
    row({ instruction: 5, output: null, input: [1] }),
    row({ prompt: 5, chosen: 'a', rejected: 'b' }), row({ chosen: 5, rejected: 'b' }),
    row({ prompt: 'p', completion: 3, label: true }), row({ prompt: 'p', completion: 'c', label: 'yes' }),
    row({ text: 5 }), row({ labels: 'x' }), row({ label: null }),
    row({ __proto__: 1, constructor: 2 }), '{"__proto__": {"label": "x"}}',
  ];
  for (const line of odd) {
    const v = viewRow(line);
    assert.ok(v.kind !== 'invalid' && v.kind !== 'empty', line);
    assert.ok(Array.isArray(v.labels));
    const pa = promptAndAnswer(v);
    assert.ok('error' in pa || typeof pa.answer === 'string');
  }
  assert.equal(viewRow('[1,2]').kind, 'other');
  assert.equal(viewRow(row({ messages: 5 })).kind, 'other');
  const junk = expectKind(viewRow(row({ messages: [5, { role: 'user' }] })), 'chat');
  assert.deepEqual(junk.turns, [{ role: 'unknown', content: '5' }, { role: 'user', content: '' }]);
  const flat = expectKind(viewRow(row({ messages: [{ role: 'assistant', tool_calls: [{ name: 'flat', arguments: { a: 1 } }] }] })), 'chat');
  assert.deepEqual(flat.turns[0].toolCalls, [{ name: 'flat', arguments: '{"a":1}' }]);
  assert.equal(viewRow(row({ prompt: 'p', completion: 'c', label: 'yes' })).kind, 'other');
});

test('promptAndAnswer: Alpaca', () => {
  assert.deepEqual(promptAndAnswer(viewRow(row({ system: 'S', instruction: 'Do', input: 'this', output: 'done' }))), {
    messages: [{ role: 'system', content: 'S' }, { role: 'user', content: 'Do\n\nthis' }],
    answer: 'done',
  });
  assert.deepEqual(promptAndAnswer(viewRow(row({ instruction: 'Do', input: '  ', output: 'done' }))), {
    messages: [{ role: 'user', content: 'Do' }],
    answer: 'done',
  });
  assert.ok('error' in promptAndAnswer(viewRow(row({ instruction: 'Do', output: ' ' }))));
});

test('promptAndAnswer: chat, dropping tool turns from the prompt', () => {
  const msgs = [
    { role: 'system', content: 'sys' },
    { role: 'user', content: 'weather?' },
    { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'w', arguments: '{}' } }] },
    { role: 'tool', tool_call_id: 'c', content: '18C' },
    { role: 'assistant', content: 'It is 18C.' },
    { role: 'user', content: 'thanks' },
    { role: 'assistant', content: 'You are welcome.' },
  ];
  assert.deepEqual(promptAndAnswer(viewRow(row({ messages: msgs }))), {
    messages: [
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'weather?' },
      { role: 'assistant', content: 'It is 18C.' },
      { role: 'user', content: 'thanks' },
    ],
    answer: 'You are welcome.',
  });
  assert.deepEqual(promptAndAnswer(viewRow(row({ system: 'top', conversations: [{ from: 'human', value: 'q' }, { from: 'gpt', value: 'a' }] }))), {
    messages: [{ role: 'system', content: 'top' }, { role: 'user', content: 'q' }],
    answer: 'a',
  });
  const errors = [
    { messages: [] },
    { messages: [{ role: 'user', content: 'q' }] },
    { messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: '' }] },
    { messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: null, tool_calls: [{ function: { name: 'f', arguments: '{}' } }] }] },
    { messages: msgs.slice(0, 5) }, // the turn before the answer is a tool result
    { messages: [{ role: 'assistant', content: 'hi' }] },
    { messages: [{ role: 'system', content: 's' }, { role: 'assistant', content: 'hi' }] },
  ];
  for (const e of errors) {
    const r = promptAndAnswer(viewRow(row(e)));
    assert.ok('error' in r, JSON.stringify(e));
    assert.match(r.error, /^[A-Z].*\.$/);
  }
});

test('promptAndAnswer: preference and KTO', () => {
  assert.deepEqual(promptAndAnswer(viewRow(row({ prompt: 'Q', chosen: 'good', rejected: 'bad' }))), {
    messages: [{ role: 'user', content: 'Q' }],
    answer: 'good',
  });
  const q = { role: 'user', content: 'Q' };
  assert.deepEqual(
    promptAndAnswer(viewRow(row({ chosen: [{ role: 'system', content: 's' }, q, { role: 'assistant', content: 'good' }], rejected: [{ role: 'system', content: 's' }, q, { role: 'assistant', content: 'bad' }] }))),
    { messages: [{ role: 'system', content: 's' }, q], answer: 'good' },
  );
  assert.ok('error' in promptAndAnswer(viewRow(row({ chosen: 'good', rejected: 'bad' }))));
  assert.deepEqual(promptAndAnswer(viewRow(row({ prompt: 'Q', completion: 'A', label: true }))), {
    messages: [{ role: 'user', content: 'Q' }],
    answer: 'A',
  });
});

test('promptAndAnswer: rows without an answer say why', () => {
  for (const line of [row({ text: 'x' }), row({ foo: 1 }), '', '{', '[1]']) {
    const r = promptAndAnswer(viewRow(line));
    assert.ok('error' in r, line);
    assert.ok(r.error.length > 10);
  }
});

/** The line with `from` replaced by `to` exactly once: what a minimal edit must produce. */
function replacedOnce(line: string, from: string, to: string): string {
  const i = line.indexOf(from);
  assert.ok(i >= 0 && line.indexOf(from, i + 1) < 0, `"${from}" must occur once in ${line}`);
  return line.slice(0, i) + to + line.slice(i + from.length);
}

test('setLabel changes only the label value in place', () => {
  const line = '{"text": "caf\\u00e9 \\"q\\" \\n", "label" : "old",  "n": 1.50, "z":[1, 2]}';
  assert.equal(setLabel(line, 'new'), replacedOnce(line, '"old"', '"new"'));
  assert.equal(setLabel(line, 'ünï "x"\n'), replacedOnce(line, '"old"', '"\\u00fcn\\u00ef \\"x\\"\\n"'));
  const raw = '{"text":"café 𝄞","label":"old"}';
  assert.equal(setLabel(raw, 'ünï'), replacedOnce(raw, '"old"', '"ünï"'));
  const numeric = '{"label":3,"a":1}';
  assert.equal(setLabel(numeric, '4'), '{"label":"4","a":1}');
});

test('setLabel adds a label in the row\'s own style, and removes one with its separator', () => {
  assert.equal(setLabel('{"a":1,"b":2}', 'x'), '{"a":1,"b":2,"label":"x"}');
  assert.equal(setLabel('{"a": 1, "b": 2}', 'x'), '{"a": 1, "b": 2, "label": "x"}');
  assert.equal(setLabel('{"a" : 1}', 'x'), '{"a" : 1, "label" : "x"}');
  assert.equal(setLabel('{}', 'x'), '{"label": "x"}');
  assert.equal(setLabel('  {"a":1}  ', 'x'), '  {"a":1,"label":"x"}  ');
  assert.equal(setLabel('{"a":"\\u00e9"}', 'é'), '{"a":"\\u00e9","label":"\\u00e9"}');
  assert.equal(setLabel('{"a":"é"}', 'é'), '{"a":"é","label":"é"}');

  assert.equal(setLabel('{"a": 1, "label": "x", "b": 2}', null), '{"a": 1, "b": 2}');
  assert.equal(setLabel('{"label": "x", "a": 1}', null), '{"a": 1}');
  assert.equal(setLabel('{"a": 1, "label": "x"}', null), '{"a": 1}');
  assert.equal(setLabel('{"label":"x"}', null), '{}');
  assert.equal(setLabel('{"a":1}', null), '{"a":1}');
});

test('setLabel leaves nested label keys alone and handles a repeated top-level label', () => {
  const line = '{"messages":[{"role":"user","content":"q","label":"inner"}],"meta":{"label":"m"}}';
  const out = setLabel(line, 'top');
  assert.equal(out, line.slice(0, -1) + ',"label":"top"}');
  assert.equal(setLabel(out, null), line);
  const v = JSON.parse(out);
  assert.equal(v.messages[0].label, 'inner');
  assert.equal(v.meta.label, 'm');

  const dup = '{"label":"a","x":1,"label":"b"}';
  assert.deepEqual(JSON.parse(setLabel(dup, 'c')), { x: 1, label: 'c' });
  assert.deepEqual(JSON.parse(setLabel(dup, null)), { x: 1 });
});

test('setLabel refuses rows that are not JSON objects', () => {
  for (const line of ['', '[1]', '5', 'null', '"s"', '{"a":', '{"a":1,}', '{"a":1} // c']) {
    assert.throws(() => setLabel(line, 'x'), /not (valid JSON|a JSON object)/, line);
  }
  assert.throws(() => setLabels(['{}', '[]'], 'x'), /^Error: Row 2 of 2: /);
  assert.deepEqual(setLabels(['{"a":1}', '{"label":"q"}'], 'z'), ['{"a":1,"label":"z"}', '{"label":"z"}']);
  assert.deepEqual(setLabels(['{"a":1}', '{"label":"q"}'], null), ['{"a":1}', '{}']);
});


test('setLabel on 300 random rows: only the label changes, and the row stays one line', () => {
  const rand = prng(20240611);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  const strings = ['', 'a', 'é', '𝄞', '日本語', 'q"uote', 'back\\slash', 'new\nline', 'tab\t', '\u2028', 'label', '{"label":1}'];
  const randomValue = (depth: number): unknown => {
    const r = rand();
    if (depth > 2 || r < 0.4) return pick<unknown>([pick(strings), Math.floor(rand() * 1000) - 500, rand(), true, false, null]);
    if (r < 0.7) return Array.from({ length: Math.floor(rand() * 4) }, () => randomValue(depth + 1));
    return randomObject(depth + 1);
  };
  const randomObject = (depth: number): Record<string, unknown> => {
    const o: Record<string, unknown> = {};
    const n = Math.floor(rand() * 5);
    for (let i = 0; i < n; i++) o[pick(['text', 'messages', 'role', 'content', 'label', 'x', 'é', 'k' + i])] = randomValue(depth);
    return o;
  };
  const styles = [
    { colon: ':', comma: ',', ascii: false },
    { colon: ': ', comma: ', ', ascii: false },
    { colon: ': ', comma: ', ', ascii: true },
    { colon: ' : ', comma: ' , ', ascii: false },
  ];
  for (let i = 0; i < 300; i++) {
    const obj = randomObject(0);
    if (rand() < 0.4) obj.label = pick<unknown>(['old', 1, true, null, { a: 1 }, ['x']]);
    const style = pick(styles);
    const line = dumps(obj, style);
    const label = rand() < 0.25 ? null : pick(strings.concat(['spam', 'ham', 'ünïcode', '']));
    const out = setLabel(line, label);
    assert.ok(!out.includes('\n') && !out.includes('\r'), out);
    const expected: Record<string, unknown> = { ...JSON.parse(line), label };
    if (label === null) delete expected.label;
    assert.deepEqual(JSON.parse(out), expected, `${line} with ${JSON.stringify(label)}`);
    // Smallest change: what differs between the lines is no longer than the label member plus its separators.
    let p = 0;
    while (p < line.length && p < out.length && line[p] === out[p]) p++;
    let s = 0;
    while (s < line.length - p && s < out.length - p && line[line.length - 1 - s] === out[out.length - 1 - s]) s++;
    const oldLabel = 'label' in obj ? dumps(obj.label, style).length : 0;
    const newLabel = label === null ? 0 : JSON.stringify(label).length * 6;
    assert.ok(line.length - p - s <= oldLabel + 16 && out.length - p - s <= newLabel + 16, `${line} -> ${out}`);
    // Setting the same label again changes nothing.
    assert.equal(setLabel(out, label), out);
  }
});
