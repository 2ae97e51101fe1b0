// Fails when the TypeScript protocol types and the agent's JSON schema drift apart:
// - every sample below is typed with the TS types (tsc checks it) and validated by the schema
//   (additionalProperties:false there catches a field renamed or added on the TS side);
// - every property the schema defines must appear in the samples (catches fields added to the
//   schema but not to TS, since a sample cannot carry a field its TS type lacks);
// - the runtime lists of methods, event kinds, states and error codes equal the schema's enums.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import schema from '../../python-agent/tunelab_agent/schema/protocol.schema.json';
import {
  ERROR_CODES,
  EVENT_KINDS,
  METHODS,
  RUN_STATES,
  type AgentEvent,
  type Checkpoint,
  type ClientHello,
  type EventBatch,
  type EventDataOf,
  type EventKind,
  type Method,
  type ParamsOf,
  type RequestMessage,
  type ResponseMessage,
  type ResultOf,
  type ServerHello,
  type StreamMessage,
} from '../../src/core/protocol/messages';
import { definitionValidator, formatErrors } from '../../src/core/protocol/validate';

type Json = Record<string, unknown>;
const defs = (schema as unknown as { definitions: Json }).definitions;

const sha = 'ab'.repeat(32);
const checkpoint: Checkpoint = {
  name: 'checkpoint-20',
  step: 20,
  path: '/root/runs/r1/checkpoints/checkpoint-20',
  files: [{ name: 'adapter_model.safetensors', size: 1234, sha256: sha }],
  eval_loss: 0.5,
  is_best: true,
};
const runId = '20250101-120000-demo-ab12';

// Required<> makes every sample carry the optional TS fields too, so a field that exists only
// in TS reaches ajv and is rejected there as an unknown property.
const params: { [M in Method]: Required<ParamsOf<M>> } = {
  list_runs: { offset: 0, limit: 50 },
  start_run: { config: 'model: m\n', config_path: '/data/demo.tunelab.yaml', name: 'demo' },
  stop_run: { run_id: runId },
  resume_run: { run_id: runId, checkpoint: 'checkpoint-20' },
  control_run: { run_id: runId, action: 'set_logging_steps', value: 5 },
  subscribe: { since: 0, batch: true },
  list_checkpoints: { run_id: runId },
  generate: {
    run_id: runId,
    adapters: ['base', 'checkpoint-20'],
    messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }],
    sampling: { max_new_tokens: 16, temperature: 0.7, top_p: 0.9, top_k: 50, seed: 1 },
    stream: true,
    conversations: [[{ role: 'user', content: 'hi' }], [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'yo' }, { role: 'user', content: 'and?' }]],
  },
  cancel: { request_id: 4 },
  evaluate: { run_id: runId, checkpoint: 'checkpoint-20', file: '/data/eval.jsonl', max_new_tokens: 8, targets: { precision: 0.92, recall: 0.92, ttft_ms: 300 } },
  export_checkpoint: { run_id: runId, checkpoint: 'checkpoint-20', dest: '/data/merged' },
  host_info: {},
  preflight: { config: 'model: m\n', config_path: '/data/demo.tunelab.yaml' },
  inspect_dataset: { path: '/data/train.jsonl', format: 'auto', model: '/data/model', max_length: 512, train_on: 'assistant' },
  render_sample: {
    model: '/data/model', path: '/data/train.jsonl', line: 3, row: { instruction: 'hi', output: 'yo' }, format: 'alpaca', train_on: 'all', max_length: 512,
  },
  run_history: { run_id: runId, series: ['loss', 'eval_loss'], from_step: 0, to_step: 500, max_points: 400, details: true },
  delete_run: { run_id: runId },
  append_dataset_row: { path: '/data/chat.jsonl', messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }], answer: 'hello', rejected: 'go away' },
  format_dataset_row: { file_name: 'chat.jsonl', head: '{"messages": []}\n', messages: [{ role: 'user', content: 'hi' }], answer: 'hello', rejected: 'go away' },
};

const results: { [M in Method]: Required<ResultOf<M>> } = {
  list_runs: {
    runs: [{
      run_id: 'r1', name: 'demo', state: 'running', created: 1700000000.5, step: 3, max_steps: 40, loss: 2.5, error: null,
      damaged: '2 lines of events.jsonl are damaged and were skipped (first: line 7, not a complete event)', checkpoints: 2,
    }],
    total: 7,
    head: 120,
  },
  start_run: { run_id: 'r1' },
  stop_run: { run_id: 'r1', state: 'stopped' },
  resume_run: { run_id: 'r1', segment: 1 },
  control_run: { run_id: 'r1', action: 'save', id: 'c1' },
  subscribe: { head: 12 },
  list_checkpoints: { checkpoints: [checkpoint], model: '/data/model' },
  generate: { results: [{ adapter: 'base', text: 'hello', new_tokens: 3, ttft_ms: 12.5, tokens_per_sec: 40, finish_reason: 'eos' }] },
  cancel: { request_id: 4, cancelled: true },
  evaluate: {
    checkpoint: 'checkpoint-20', rows: 40, loss: 0.3, perplexity: 1.35, exact_match: 0.9,
    labels: { positive: { precision: 1, recall: 0.8, f1: 0.89, support: 20 } },
    macro: { precision: 0.95, recall: 0.9, f1: 0.92 },
    ttft_ms_median: 21, targets: { precision: { target: 0.92, value: 0.95, met: true } }, seconds: 3.2,
    preference: { pairs: 16, accuracy: 0.94, likelihood_accuracy: 0.88, margin: 2.5 },
  },
  export_checkpoint: { path: '/data/merged', files: [{ name: 'model.safetensors', size: 99, sha256: sha }] },
  host_info: {
    gpus: [{ index: 0, name: 'NVIDIA H100', memory_total_mb: 81559, memory_free_mb: 80000, utilization: 3, bf16: true }],
    cpu_count: 16, ram_total_mb: 128000, ram_available_mb: 100000, disk_free_mb: 50000, versions: { torch: '2.13.0', cuda: null },
  },
  preflight: {
    errors: ['training.gpus: 4 requested but this host has 2 GPUs'], warnings: ['no GPU: training runs on the CPU'], estimate: { total_mb: 1500, device: 'cuda' },
    data: {
      train: {
        file: 'train.jsonl', format: 'alpaca', rows: 5000, bad_rows: 10, over_length: 5, truncated: 0, share: 0.003, max_bad_rows: 0.05,
        sampled: true, approximate: false, max_tokens: 700, tokens: 400_000, lines: 90_000,
      },
    },
  },
  inspect_dataset: {
    file: 'train.jsonl', format: 'alpaca', bytes: 1234, lines: 12, rows: 11, bad_rows: 1, over_length: 1, truncated: 0, kept: 9, max_length: 64, sampled: false,
    tokens: {
      method: 'tokenizer', note: 'the model tokenizer', count: 10, total: 300, min: 12, median: 30, p95: 70.5, max: 80, mean: 30,
      histogram: [{ start: 0, end: 40, count: 8 }],
    },
    roles: { user: 10, assistant: 10 }, labels: { positive: 6 }, distinct_labels: 2,
    duplicates: { rows: 1, groups: [{ lines: [2, 9] }] },
    conflicts: { inputs: 1, groups: [{ lines: [3, 4], labels: ['positive', 'negative'] }] },
    diagnostics: [{ line: 5, severity: 'error', code: 'invalid_json', message: 'not valid JSON' }],
    diagnostic_counts: { invalid_json: 1 }, cached: false, seconds: 0.2,
  },
  render_sample: {
    format: 'alpaca', line: 3, max_length: 512, over_length: false,
    sequences: [{ name: 'sample', text: 'hi yo', tokens: [{ id: 7, text: 'yo', start: 3, end: 5, trained: true }], length: 1, trained_tokens: 1 }],
  },
  run_history: {
    run_id: runId, head: 120,
    series: {
      loss: { step: [1, 2, 3], value: [2.5, 2.4, 2.2], segment: [0, 0, 0], total: 3 },
      eval_loss: { step: [10], value: [2.1], segment: [0], total: 1 },
      learning_rate: { step: [1, 3], value: [1e-4, 2e-4], segment: [0, 0], total: 3 },
      grad_norm: { step: [1, 3], value: [3.1, 2.2], segment: [0, 0], total: 3 },
      tokens_per_sec: { step: [1, 3], value: [900, 950], segment: [0, 0], total: 3 },
    },
    extra_series: { 'gpu.allocated_mb': { step: [1], value: [1000], segment: [0], total: 1 } },
    events: [{ seq: 7, kind: 'control_done', data: { id: 'a', action: 'save', step: 3 } }],
    config: 'name: demo\n',
  },
  delete_run: { run_id: runId },
  append_dataset_row: { path: '/data/chat.jsonl', format: 'openai', line: 12 },
  format_dataset_row: { row: '{"messages": []}', format: 'openai' },
};

const eventData: { [K in EventKind]: Required<EventDataOf<K>> } = {
  run_created: { name: 'demo', config: 'model: m\n' },
  run_state: { state: 'failed', error: 'train.jsonl line 7: not valid JSON', max_steps: 40, segment: 1, resumed_from: 'checkpoint-20' },
  metrics: {
    step: 3, max_steps: 40, epoch: 0.5, loss: 2.5, learning_rate: 0.0002, grad_norm: 1.1, tokens_per_sec: 900, eta_s: 12,
    segment: 0, samples_per_sec: 12.5, loss_terms: { ce_loss: 2.4, kl: 0.1 }, lr_groups: { default: 0.0002 },
    gpu: { allocated_mb: 1000, reserved_mb: 1200, peak_mb: 1500, utilization: null },
    host_memory: { available_mb: 64000, total_mb: 128000, process_rss_mb: 9000.5 },
    preference: { chosen_reward: 0.4, rejected_reward: -0.3, margin: 0.7, accuracy: 0.75, kl: null },
  },
  eval: { step: 10, eval_loss: 2.1, segment: 0, metrics: { eval_runtime: 1.5 }, best: true },
  checkpoint: { name: 'checkpoint-20', step: 20, path: '/p', files: checkpoint.files, eval_loss: 0.5, reason: 'scheduled', segment: 0 },
  checkpoint_removed: { name: 'checkpoint-10', reason: 'save_total_limit 3' },
  log: { level: 'warning', message: 'careful', code: 'grad_norm_band', step: 12 },
  param_groups: { groups: [{ name: 'attn-4-6', pattern: 'layers\\.[4-6]\\.self_attn', learning_rate: 1e-5, tensors: 12, parameters: 98304 }] },
  data_report: { split: 'train', file: 'train.jsonl', format: 'alpaca', rows: 100, kept: 98, bad: 2, cached: false, tokens: 5000, truncated: 1 },
  bad_row: { split: 'train', file: 'train.jsonl', line: 7, reason: 'not valid JSON' },
  truncated_row: { split: 'train', file: 'train.jsonl', line: 9, reason: 'cut from 700 to 512 tokens: the end of the last answer is dropped (dataset.truncation: answer)' },
  early_stop: { step: 40, reason: 'eval_loss did not improve for 3 evaluations', metric: 'eval_loss', best_value: 0.4, best_step: 10 },
  control_done: { id: 'c1', action: 'set_logging_steps', step: 12, value: 5, checkpoint: 'checkpoint-12', error: 'no eval split' },
  disk_low: {
    step: 20, free_mb: 150.5, checkpoint_mb: 96, path: '/',
    message: 'disk almost full: 150 MB free on /, and the next checkpoint needs about 96 MB; free some space or the run will fail at its next save',
  },
};

const clientHello: ClientHello = { type: 'hello', protocol: 1, token: 'secret', client: 'tunelab-vscode/0.1.0' };
const serverHello: ServerHello = { type: 'hello', protocol: 1, agent_version: '0.1.0', capabilities: ['generate'] };
const requests: RequestMessage[] = METHODS.map((m, i) => ({ type: 'request', id: i + 1, method: m, params: params[m] }) as RequestMessage);
const responses: ResponseMessage[] = [
  ...METHODS.map((m, i): ResponseMessage => ({ type: 'response', re: i + 1, result: results[m] })),
  { type: 'response', re: 7, error: { code: 'bad_config', message: 'demo.tunelab.yaml: training.learning_rate: expected number' } },
  { type: 'response', re: null, error: { code: 'bad_message', message: 'not JSON' } },
];
const streams: StreamMessage[] = [
  { type: 'stream', re: 3, kind: 'token', data: { adapter: 'checkpoint-20', text: 'hel' } },
  { type: 'stream', re: 4, kind: 'progress', data: { done: 3, total: 40, message: 'checkpoint-20' } },
  { type: 'stream', re: 5, kind: 'diagnostic', data: { line: 7, severity: 'warning', code: 'duplicate', message: 'the same row as line 2' } },
];
const events: AgentEvent[] = EVENT_KINDS.map((kind, i) => ({ type: 'event', seq: i + 1, time: 1700000000 + i, run_id: 'r1', kind, data: eventData[kind] }) as AgentEvent);
const batch: EventBatch = { type: 'events', events };

function resolveRef(node: Json): Json {
  const ref = node.$ref as string | undefined;
  if (!ref) return node;
  const path = ref.replace(/^#\//, '').split('/');
  return resolveRef(path.reduce<Json>((n, key) => n[key] as Json, schema as unknown as Json));
}

/** Property paths the schema defines under `node` that `sample` lacks (following $refs and array items). */
function missingProperties(node: Json, sample: unknown, at: string): string[] {
  node = resolveRef(node);
  const missing: string[] = [];
  const props = node.properties as Record<string, Json> | undefined;
  if (props && typeof sample === 'object' && sample !== null) {
    for (const [key, sub] of Object.entries(props)) {
      if (!(key in sample)) missing.push(`${at}.${key}`);
      else missing.push(...missingProperties(sub, (sample as Json)[key], `${at}.${key}`));
    }
  }
  const items = node.items as Json | undefined;
  if (items && Array.isArray(sample)) {
    if (sample.length === 0) missing.push(`${at}[] (sample array is empty)`);
    for (const el of sample) missing.push(...missingProperties(items, el, `${at}[]`));
  }
  return missing;
}

function assertValid(pointer: string, value: unknown): void {
  const v = definitionValidator(pointer);
  assert.ok(v(value), `${pointer} sample does not match the schema: ${formatErrors(v.errors)}`);
}

const sections = { params, results, eventData } as Record<'params' | 'results' | 'eventData', Record<string, unknown>>;

for (const [section, samples] of Object.entries(sections)) {
  test(`every ${section} sample matches its schema definition and names every schema property`, () => {
    const sectionDefs = defs[section] as Record<string, Json>;
    assert.deepEqual(Object.keys(samples).sort(), Object.keys(sectionDefs).sort(), `${section}: TS and schema cover different names`);
    for (const [name, sample] of Object.entries(samples)) {
      assertValid(`${section}/${name}`, sample);
      assert.deepEqual(missingProperties(sectionDefs[name], sample, `${section}.${name}`), [], `schema properties missing from the TS type of ${section}.${name}`);
    }
  });

  test(`every ${section} definition rejects a property it does not define`, () => {
    for (const [name, sample] of Object.entries(samples)) {
      const v = definitionValidator(`${section}/${name}`);
      assert.equal(v({ ...(sample as Json), renamed_field: 1 }), false, `${section}/${name} accepts unknown properties, so renamed TS fields would go unnoticed`);
    }
  });
}

test('every whole frame sample is a valid protocol message', () => {
  const frames: unknown[] = [clientHello, serverHello, ...requests, ...responses, ...events, batch, ...streams];
  for (const f of frames) assertValid('message', f);
  assert.deepEqual(missingProperties(defs.eventBatch as Json, batch, 'eventBatch'), []);
  const v = definitionValidator('eventBatch');
  assert.equal(v({ ...batch, renamed_field: 1 }), false, 'eventBatch accepts unknown properties');
  assert.equal(v({ type: 'events', events: [] }), false, 'eventBatch accepts an empty batch');
  assert.equal(v({ type: 'events', events: [{ ...events[0], seq: 0 }] }), false, 'eventBatch accepts a malformed event');
  for (const m of streams) assert.deepEqual(missingProperties((defs.streamData as Json)[m.kind] as Json, m.data, `stream.${m.kind}`), []);
  for (const e of events) assert.deepEqual(missingProperties(defs.event as Json, e, 'event'), []);
  assert.deepEqual(missingProperties(defs.clientHello as Json, clientHello, 'clientHello'), []);
  assert.deepEqual(missingProperties(defs.serverHello as Json, serverHello, 'serverHello'), []);
  assert.deepEqual(missingProperties(defs.request as Json, requests[0], 'request'), []);
});

test('a request whose params belong to another method is rejected', () => {
  const wrong = { type: 'request', id: 1, method: 'stop_run', params: params.subscribe };
  assert.equal(definitionValidator('request')(wrong), false);
});

test('runtime lists equal the schema enums', () => {
  const enumOf = (node: unknown) => [...((resolveRef(node as Json).enum as string[]) ?? [])].sort();
  const req = defs.request as { properties: { method: unknown } };
  const ev = defs.event as { properties: { kind: unknown } };
  const err = defs.error as { properties: { code: unknown } };
  assert.deepEqual([...METHODS].sort(), enumOf(req.properties.method));
  assert.deepEqual([...EVENT_KINDS].sort(), enumOf(ev.properties.kind));
  assert.deepEqual([...RUN_STATES].sort(), enumOf(defs.runState));
  assert.deepEqual([...ERROR_CODES].sort(), enumOf(err.properties.code));
  const logLevels: Array<EventDataOf<'log'>['level']> = ['info', 'warning', 'error'];
  const logDef = (defs.eventData as Record<string, { properties: { level: unknown } }>).log;
  assert.deepEqual(logLevels.sort(), enumOf(logDef.properties.level));
});
