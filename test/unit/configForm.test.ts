// The run-config form's model and its edits: fields come from the agent's schema, reading a config gives what is
// written, and a form edit changes only its own characters. The random round trips interleave form edits with a
// person's own text edits (comments, blank lines) and check, after every form edit, that the document means
// exactly what it meant plus the one change, that no comment was lost or changed, and that every line outside
// the edit is byte for byte what it was.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { isMap, parseDocument } from 'yaml';
import { applyEdits, formEdit, type FormValue } from '../../src/core/configEditor/formEdit';
import { FORM_FIELDS, FORM_GROUPS, parseInput, readForm, type FormField } from '../../src/core/configEditor/formModel';
import { configDiagnostics } from '../../src/core/configEditor/diagnostics';
import { prng } from '../support/prng';
import { repoRoot } from '../support/repoRoot';

const field = (key: string): FormField => FORM_FIELDS.get(key)!;

function edit(text: string, key: string, value: FormValue | undefined): string {
  const r = formEdit(text, key.split('.'), value);
  if ('error' in r) throw new Error(`${key}: ${r.error}`);
  return applyEdits(text, r.edits);
}

test('the form has a group per section in the README\'s order and a field per key of the schema', () => {
  assert.deepEqual(FORM_GROUPS.map((g) => g.key), ['name', 'model', 'dataset', 'lora', 'training', 'layer_lr', 'loss', 'dpo', 'kto', 'monitoring', 'evaluation']);
  assert.equal(field('lora.r').kind, 'integer');
  assert.equal(field('lora.r').placeholder, '16');
  assert.equal(field('lora.r').min, 1);
  assert.equal(field('lora.target_modules').kind, 'list');
  assert.equal(field('lora.target_modules').word, 'all-linear');
  assert.equal(field('training.gpus').word, 'all');
  assert.deepEqual(field('training.scheduler').options, ['cosine', 'linear', 'constant', 'constant_with_warmup']);
  assert.equal(field('training.report_to').kind, 'choices');
  assert.equal(field('monitoring.grad_norm_band').kind, 'numbers');
  assert.equal(field('training.early_stopping.patience').label, 'early_stopping.patience');
  assert.equal(field('model.name').required, true);
  assert.equal(field('dataset.train').required, true);
  assert.equal(field('layer_lr').kind, 'entries');
});

test('reading a config gives the values as written, the short model form as its name, and a broken YAML\'s line', () => {
  const state = readForm('name: x\nmodel: ./m  # here\ndataset:\n  train: a.jsonl\nlora: {r: 8, target_modules: [q_proj]}\n');
  assert.ok(state.ok);
  assert.deepEqual(state.values, { name: 'x', 'model.name': './m', 'dataset.train': 'a.jsonl', 'lora.r': 8, 'lora.target_modules': ['q_proj'] });
  const numbers = readForm('model: m\ntraining:\n  learning_rate: 2e-4\n  max_grad_norm: 5.0\n  batch_size: 8\n');
  assert.ok(numbers.ok);
  assert.equal(numbers.values['training.learning_rate'], 2e-4);
  assert.deepEqual(numbers.written, { 'training.learning_rate': '2e-4', 'training.max_grad_norm': '5.0', 'training.batch_size': '8' }, 'numbers as the person spelt them');
  const broken = readForm('name: x\nmodel: ./m\ndataset:\n  train: [a\n');
  assert.equal(broken.ok, false);
  assert.ok(!broken.ok && broken.line >= 4, JSON.stringify(broken));
});

test('field input becomes the value to write, or a message naming the key', () => {
  assert.deepEqual(parseInput(field('lora.r'), '32'), { value: 32 });
  assert.deepEqual(parseInput(field('lora.r'), ' '), { value: undefined });
  assert.match((parseInput(field('lora.r'), '3.5') as { error: string }).error, /^lora\.r: must be a whole number/);
  assert.match((parseInput(field('training.learning_rate'), '2e-5x') as { error: string }).error, /^training\.learning_rate: "2e-5x" is not a number/);
  assert.deepEqual(parseInput(field('training.learning_rate'), '2e-5'), { value: 2e-5 });
  assert.deepEqual(parseInput(field('training.gpus'), 'all'), { value: 'all' });
  assert.deepEqual(parseInput(field('lora.target_modules'), 'q_proj, k_proj ,v_proj'), { value: ['q_proj', 'k_proj', 'v_proj'] });
  assert.deepEqual(parseInput(field('monitoring.grad_norm_band'), '2, 5'), { value: [2, 5] });
  assert.match((parseInput(field('dataset.train'), '') as { error: string }).error, /dataset\.train is required/);
  assert.match((parseInput(field('training.scheduler'), 'steep') as { error: string }).error, /pick one of cosine/);
  assert.deepEqual(parseInput(field('training.report_to'), ['tensorboard']), { value: ['tensorboard'] });
  assert.ok('error' in parseInput(field('training.report_to'), ['nope']));
});

const SAMPLE = `# A run config with every shape the form meets.
name: demo   # the run's name
model: ./model  # a local folder
dataset:
  train: "train.jsonl"
  eval: 'eval.jsonl'
lora:
  r: 16          # the guide's rank
  target_modules:
    - q_proj     # query
    - v_proj
training:
  learning_rate: 0.0002
  early_stopping:
    patience: 3
# evaluation targets follow
evaluation:
  targets: {precision: 0.92, recall: 0.92}
`;

test('a form edit replaces only the value: comments, quotes and other lines stay', () => {
  assert.equal(edit(SAMPLE, 'lora.r', 32), SAMPLE.replace('r: 16 ', 'r: 32 '));
  assert.equal(edit(SAMPLE, 'dataset.train', 'data/t.jsonl'), SAMPLE.replace('"train.jsonl"', '"data/t.jsonl"'));
  assert.equal(edit(SAMPLE, 'dataset.eval', "it's.jsonl"), SAMPLE.replace("'eval.jsonl'", "'it''s.jsonl'"));
  assert.equal(edit(SAMPLE, 'training.learning_rate', 2e-5), SAMPLE.replace('0.0002', '0.00002'));
  assert.equal(edit(SAMPLE, 'training.learning_rate', 1e-7), SAMPLE.replace('0.0002', '1.0e-7'), 'PyYAML reads 1e-7 as text; 1.0e-7 as a number');
  assert.equal(edit(SAMPLE, 'name', 'yes'), SAMPLE.replace('name: demo', 'name: "yes"'), 'a word YAML 1.1 reads as true is quoted');
  assert.equal(edit(SAMPLE, 'lora.r', 16), SAMPLE, 'the same value writes nothing');
});

test('a new key goes under its section at its indent; a missing section is added at the end', () => {
  assert.equal(edit(SAMPLE, 'lora.alpha', 32), SAMPLE.replace('    - v_proj\n', '    - v_proj\n  alpha: 32\n'));
  assert.equal(edit(SAMPLE, 'training.early_stopping.mode', 'max'), SAMPLE.replace('    patience: 3\n', '    patience: 3\n    mode: max\n'));
  assert.equal(edit(SAMPLE, 'loss.kl.weight', 0.1), `${SAMPLE}loss:\n  kl:\n    weight: 0.1\n`);
  assert.equal(edit(SAMPLE, 'evaluation.targets.ttft_ms', 300), SAMPLE.replace('recall: 0.92}', 'recall: 0.92, ttft_ms: 300}'));
  assert.equal(edit('model: m\ndataset:\n    train: a\n', 'training.seed', 1), 'model: m\ndataset:\n    train: a\ntraining:\n    seed: 1\n', 'the file\'s own indent step');
  assert.equal(edit('model: m\ndataset:\n  train: a', 'dataset.eval', 'b'), 'model: m\ndataset:\n  train: a\n  eval: b\n', 'a last line without a newline');
  assert.equal(edit('model: m\ntraining:\ndataset:\n  train: a\n', 'training.seed', 1), 'model: m\ntraining:\n  seed: 1\ndataset:\n  train: a\n');
});

test('an option of the short model form turns it into a section, the name and its comment kept', () => {
  assert.equal(edit(SAMPLE, 'model.dtype', 'bf16'), SAMPLE.replace('model: ./model  # a local folder\n', 'model:\n  name: ./model  # a local folder\n  dtype: bf16\n'));
  assert.equal(edit(SAMPLE, 'model.name', './other'), SAMPLE.replace('model: ./model', 'model: ./other'));
});

test('lists: a block list keeps its lines and comments, a flow list stays flow', () => {
  assert.equal(edit(SAMPLE, 'lora.target_modules', ['q_proj', 'k_proj', 'v_proj']), SAMPLE.replace('    - v_proj\n', '    - k_proj\n    - v_proj\n'));
  assert.equal(edit(SAMPLE, 'lora.target_modules', ['k_proj']), SAMPLE.replace('    - q_proj     # query\n    - v_proj\n', '    - k_proj     # query\n'));
  assert.equal(edit('lora: {target_modules: [q_proj]}\n', 'lora.target_modules', ['a', 'b']), 'lora: {target_modules: [a, b]}\n');
});

test('clearing a key drops its line but never its comment, and a section left empty goes with it', () => {
  assert.equal(edit(SAMPLE, 'lora.r', undefined), SAMPLE.replace('  r: 16          # the guide\'s rank\n', '  # the guide\'s rank\n'));
  assert.equal(edit(SAMPLE, 'training.early_stopping.patience', undefined), SAMPLE.replace('  early_stopping:\n    patience: 3\n', ''));
  assert.equal(edit(SAMPLE, 'evaluation.targets.precision', undefined), SAMPLE.replace('{precision: 0.92, recall', '{recall'));
  assert.equal(edit(SAMPLE, 'loss.kl.weight', undefined), SAMPLE, 'clearing what is not there writes nothing');
  const r = formEdit('model: [\n', ['lora', 'r'], 1);
  assert.ok('error' in r && /fix it in the text/.test(r.error));
});

// ---- random round trips ----

const TEXTS = ['abc', 'yes', 'two words', 'x: y', "it's", 'path/to/file.jsonl', '#not-a-comment', 'Null', '12', 'ünïcode'];
const MODULES = ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj'];
const NUMBERS = [0, 0.1, 0.92, 3, 2e-5, 1e-7, 12.5, 300];

function randomValue(f: FormField, r: () => number): FormValue | undefined {
  const pick = <T>(xs: T[]) => xs[Math.floor(r() * xs.length)];
  if (!f.required && r() < 0.2) return undefined;
  switch (f.kind) {
    case 'integer': return f.word && r() < 0.2 ? f.word : (f.min ?? 0) + Math.floor(r() * 100);
    case 'number': return pick(NUMBERS);
    case 'boolean': return r() < 0.5;
    case 'enum': return pick(f.options!);
    case 'list': return f.word && r() < 0.2 ? f.word : MODULES.filter(() => r() < 0.5).concat(['v_proj']).filter((v, i, a) => a.indexOf(v) === i);
    case 'numbers': return [pick(NUMBERS), pick(NUMBERS)];
    case 'choices': { const c = f.options!.filter(() => r() < 0.5); return c.length ? c : undefined; }
    default: return pick(TEXTS);
  }
}

/** What the edit must mean: the old data with the one key set or cleared (and a block section left empty gone). */
function expected(before: Record<string, unknown>, text: string, path: string[], value: FormValue | undefined): unknown {
  const out = structuredClone(before);
  if (value === undefined) {
    const doc = parseDocument(text);
    const chain: Record<string, unknown>[] = [out];
    for (const p of path.slice(0, -1)) {
      const next = chain[chain.length - 1][p];
      if (!next || typeof next !== 'object') return out;
      chain.push(next as Record<string, unknown>);
    }
    delete chain[chain.length - 1][path[path.length - 1]];
    for (let i = chain.length - 1; i > 0; i--) {
      const flow = (doc.getIn(path.slice(0, i)) as { flow?: boolean } | undefined)?.flow;
      if (Object.keys(chain[i]).length || flow) break;
      delete chain[i - 1][path[i - 1]];
    }
    return out;
  }
  let node: Record<string, unknown> = out;
  path.slice(0, -1).forEach((p, i) => {
    if (i === 0 && p === 'model' && typeof node.model === 'string') node.model = { name: node.model };
    node = (node[p] ??= {}) as Record<string, unknown>;
  });
  const last = path[path.length - 1];
  if (path.join('.') === 'model.name' && typeof out.model === 'string') out.model = value;
  else node[last] = value;
  return out;
}

const commentsOf = (text: string): string[] => text.split('\n').map((l) => /(^|\s)(#.*)$/.exec(l)?.[2]).filter((c): c is string => !!c).sort();

/** A person's own edit in the text: a comment line, a comment after a value, or a blank line. */
function personEdit(text: string, r: () => number, n: number): string {
  const lines = text.split('\n');
  const at = Math.floor(r() * lines.length);
  const roll = r();
  if (roll < 0.4) {
    const indent = /^\s*/.exec(lines[at] ?? '')![0];
    lines.splice(at, 0, `${indent}# note ${n}`);
  } else if (roll < 0.8) {
    const i = lines.findIndex((l, k) => k >= at && /^\s*(- )?[\w.]+(: [^#'"{}[\]]+)?$/.test(l) && !/:\s*$/.test(l));
    if (i >= 0) lines[i] += `  # said ${n}`;
  } else {
    lines.splice(at, 0, '');
  }
  return lines.join('\n');
}

test('200 random round trips of form and text edits keep every comment and every untouched line byte for byte', () => {
  const dir = join(repoRoot(), 'presets');
  const starts = [SAMPLE, readFileSync(join(dir, 'classification.tunelab.yaml'), 'utf8'), readFileSync(join(dir, 'customer-service.tunelab.yaml'), 'utf8')];
  const fields = [...FORM_FIELDS.values()].filter((f) => f.kind !== 'entries');
  for (const [s, start] of starts.entries()) {
    const seed = 1000 + s;
    const r = prng(seed);
    let text = start;
    for (let round = 0; round < 200; round++) {
      const where = `seed ${seed}, round ${round}`;
      if (r() < 0.3) {
        text = personEdit(text, r, round);
        assert.deepEqual(parseDocument(text).errors, [], `${where}: the person's edit keeps the YAML valid`);
        continue;
      }
      const f = fields[Math.floor(r() * fields.length)];
      const value = randomValue(f, r);
      const path = f.key.split('.');
      const doc = parseDocument(text);
      // A scalar where a section goes (never written by the form) is not an edit the form offers.
      if (!isMap(doc.contents)) continue;
      const before = doc.toJS() as Record<string, unknown>;
      const result = formEdit(text, path, value);
      assert.ok(!('error' in result), `${where}: ${f.key} = ${JSON.stringify(value)}: ${'error' in result ? result.error : ''}`);
      const after = applyEdits(text, result.edits);
      const context = `${where}: ${f.key} = ${JSON.stringify(value)}\n--- before\n${text}\n--- after\n${after}`;
      assert.deepEqual(parseDocument(after).errors, [], `${context}\nthe result parses`);
      assert.deepEqual(parseDocument(after).toJS(), expected(before, text, path, value), `${context}\nmeans the old data plus the one change`);
      assert.deepEqual(commentsOf(after), commentsOf(text), `${context}\nevery comment kept`);
      if (result.edits.length) {
        // Lines outside the edited span are byte for byte what they were.
        const oldLines = text.split('\n');
        const newLines = after.split('\n');
        const lineOf = (offset: number) => text.slice(0, offset).split('\n').length - 1;
        const first = Math.min(...result.edits.map((e) => lineOf(e.range.start)));
        const last = Math.max(...result.edits.map((e) => lineOf(Math.max(e.range.start, e.range.end - 1))));
        assert.deepEqual(newLines.slice(0, first), oldLines.slice(0, first), `${context}\nlines above the edit`);
        const below = oldLines.length - 1 - last;
        assert.deepEqual(newLines.slice(newLines.length - below), oldLines.slice(oldLines.length - below), `${context}\nlines below the edit`);
      }
      const read = readForm(after);
      assert.ok(read.ok);
      if (value !== undefined) assert.deepEqual(read.values[f.key], value, `${context}\nthe form reads back what it wrote`);
      text = after;
    }
  }
});

test('every preset edited through the form still passes the editor\'s checks', () => {
  const dir = join(repoRoot(), 'presets');
  let text = readFileSync(join(dir, 'classification.tunelab.yaml'), 'utf8');
  text = edit(text, 'lora.r', 32);
  text = edit(text, 'training.batch_size', 4);
  text = edit(text, 'model.gradient_checkpointing', true);
  text = edit(text, 'training.report_to', ['tensorboard']);
  assert.deepEqual(configDiagnostics(text).filter((d) => d.code !== 'missing-file'), []);
  assert.match(text, /^# Classification with labels/);
});
