// The words the sidebar launcher shows: preflight reports, host and GPU rows, checkpoint rows and scores.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { describeGpu, describeHost } from '../../src/core/host/hostLabels';
import { lineOfKey } from '../../src/core/config/configProblems';
import { durationText, epochLine, preflightReport, reportText, sizeText, splitKey } from '../../src/core/launch/preflightReport';
import type { EvaluationResult, HostInfo, ResultOf } from '../../src/core/protocol/messages';
import { describeCheckpoint, evaluationLines, scoreLine } from '../../src/core/runs/checkpointLabels';
import { configForRun, selectedRunIds } from '../../src/core/runs/runRefs';

const H100 = { index: 0, name: 'NVIDIA H100 80GB HBM3', memory_total_mb: 81559, memory_free_mb: 80359, utilization: 37, bf16: true };
const host = (over: Partial<HostInfo> = {}): HostInfo => ({
  gpus: [H100], cpu_count: 16, ram_total_mb: 65536, ram_available_mb: 50000, disk_free_mb: 200_000,
  versions: { python: '3.12.3', torch: '2.5.1', cuda: '12.4', transformers: '4.47.0', peft: '0.14.0' }, ...over,
});
const estimate = (total: number) => ({
  total_mb: total, weights_mb: total * 0.6, lora_mb: 2, activations_mb: total * 0.3, overhead_mb: total * 0.1 - 2, device: 'gpu', processes: 1,
  disk: { total_mb: 14.2, checkpoints: 3, checkpoint_mb: 4.1, logs_mb: 1.9 },
});
const preflight = (over: Partial<ResultOf<'preflight'>> = {}): ResultOf<'preflight'> => ({ errors: [], warnings: [], estimate: estimate(15_000), ...over });

test('a config that fits: the estimate against the GPU, disk, and Start', () => {
  const r = preflightReport(preflight(), host(), 'gpu-box');
  assert.equal(r.verdict, 'ok');
  assert.equal(r.headline, 'Preflight on gpu-box: fits on the GPU; ready to start');
  // What the config editor's status bar shows: the estimate and the fit.
  assert.deepEqual([r.estimateMb, r.fit], [15_000, 'fits on the GPU']);
  assert.deepEqual([preflightReport(preflight({ estimate: null }), host(), 'gpu-box').estimateMb, preflightReport(preflight(), null, 'x').fit], [null, '']);
  assert.deepEqual(r.facts, [
    'Memory: about 14.6 GiB: weights 8.8 GiB, LoRA + optimizer 2.0 MB, activations 4.4 GiB, overhead 1.5 GiB',
    'GPU 0 (NVIDIA H100 80GB HBM3): 79.6 GiB, 78.5 GiB free: fits',
    'Disk: about 14 MB (3 checkpoints × 4.1 MB, logs 1.9 MB); 195.3 GiB free under the agent\'s root',
  ]);
});

test('an estimate from a built-in shape says so; one from the model\'s own config.json needs no note', () => {
  const shaped = preflightReport(preflight({ estimate: { ...estimate(15_000), basis: 'the built-in shape of qwen2.5-7b' } }), host(), 'gpu-box');
  assert.match(shaped.facts[0], /^Memory: about 14\.6 GiB \(estimated from the built-in shape of qwen2\.5-7b\): weights/);
  const own = preflightReport(preflight({ estimate: { ...estimate(15_000), basis: "the model's config.json" } }), host(), 'gpu-box');
  assert.match(own.facts[0], /^Memory: about 14\.6 GiB: weights/);
});

test('too big for the GPU, or for its free memory now; the headline says which', () => {
  assert.match(preflightReport(preflight({ estimate: estimate(90_000) }), host(), 'gpu-box').headline, /does not fit on the GPU/);
  const busy = host({ gpus: [{ ...H100, memory_free_mb: 10_000 }] });
  const r = preflightReport(preflight({ warnings: ['model.name: training needs about 14.6 GiB per GPU but GPU 0 has only 9.8 GiB free now'] }), busy, 'gpu-box');
  assert.equal(r.verdict, 'warnings');
  assert.equal(r.headline, 'Preflight on gpu-box: fits once memory is freed on the GPU; can start, with 1 warning');
});

test('a host without a GPU compares the estimate with its RAM', () => {
  const r = preflightReport(preflight({ estimate: { ...estimate(300), device: 'cpu' }, warnings: ['training.gpus: this host has no CUDA GPU; the run trains on the CPU'] }),
    host({ gpus: [] }), 'this machine');
  assert.equal(r.facts[1], 'No GPU on this host: trains on the CPU, in 64.0 GiB of RAM (48.8 GiB available): fits');
  assert.equal(r.headline, 'Preflight on this machine: no GPU, fits in RAM; can start, with 1 warning');
  assert.deepEqual(r.problems, [{ severity: 'warning', key: 'training.gpus', text: 'this host has no CUDA GPU; the run trains on the CPU' }]);
});

test('errors block the start; every problem keeps its config key in the text', () => {
  const r = preflightReport(preflight({
    errors: ['model.quantization: 4bit loading needs a CUDA GPU and this host has none'],
    warnings: ['training.save_total_limit: this run needs about 900 MB of disk', 'a message without a key'],
    estimate: null,
  }), null, 'this machine');
  assert.equal(r.verdict, 'errors');
  assert.equal(r.headline, 'Preflight on this machine: cannot start (1 error)');
  const text = reportText(r);
  assert.match(text, /^Memory: no estimate/);
  assert.match(text, /Errors:\n• model\.quantization: 4bit loading needs a CUDA GPU/);
  assert.match(text, /Warnings:\n• training\.save_total_limit: this run needs about 900 MB of disk\n• a message without a key$/);
});

test('data checks are listed per split', () => {
  const r = preflightReport(preflight({
    data: { train: { file: 'train.jsonl', format: 'alpaca', rows: 80, bad_rows: 2, over_length: 0, truncated: 0, share: 0.025, max_bad_rows: 0.05, sampled: false, approximate: false, max_tokens: 40, tokens: 2400, lines: 80 } },
  }), host(), 'gpu-box');
  assert.equal(r.facts.at(-1), 'Data (train): train.jsonl, 80 rows, 2 bad, 0 too long (2.5%, allowed 5.0%)');
});

test('one epoch: tokens, rows and steps, and a time with its basis or why there is none', () => {
  const gpu = { tokens: 1_234_567, rows: 9000, steps: 282, rows_per_step: 32, approximate: false, sampled: true, seconds: 840,
    basis: '4 × 7.6B parameters × tokens, on 2 × NVIDIA A100 at 312 TFLOPS peak and an assumed 35% utilisation' };
  const r = preflightReport(preflight({ estimate: { total_mb: 20_000, processes: 2, epoch: gpu } }), host(), 'gpu-box');
  assert.ok(r.facts.includes('Per epoch: about 1.2 M tokens in 9,000 rows, 282 steps of 32; about 14 min (4 × 7.6B parameters × tokens, on 2 × NVIDIA A100 at 312 TFLOPS peak and an assumed 35% utilisation)'), r.facts.join('\n'));
  assert.equal(epochLine({ ...gpu, tokens: 3100, rows: 36, steps: 9, rows_per_step: 4, sampled: false, approximate: true, seconds: null, basis: 'no GPU on this host: CPU time is not estimated' }),
    'Per epoch: 3,100 tokens (approximate: no tokenizer) in 36 rows, 9 steps of 4; no GPU on this host: CPU time is not estimated');
  assert.equal(durationText(5400), '1 h 30 min');
  assert.equal(durationText(12), '12 s');
});

test('splitKey and sizeText', () => {
  assert.deepEqual(splitKey('dataset.max_length: too short'), { key: 'dataset.max_length', text: 'too short' });
  assert.deepEqual(splitKey('no key here'), { key: null, text: 'no key here' });
  assert.equal(sizeText(512), '512 MB');
  assert.equal(sizeText(0.34), '0.3 MB');
  assert.equal(sizeText(2048), '2.0 GiB');
});

test('a preflight key is placed at its line, or its nearest written parent', () => {
  const yaml = 'name: x\nmodel: m\ntraining:\n  batch_size: 4\n  learning_rate: fast\n';
  assert.equal(lineOfKey(yaml, ['training', 'learning_rate']), 5);
  assert.equal(lineOfKey(yaml, ['training', 'max_steps']), 3, 'unset key: its section');
  assert.equal(lineOfKey(yaml, ['dataset', 'train']), null);
  assert.equal(lineOfKey('not: [valid', ['not']), 1);
});

test('the selected host shows link, agent version and GPUs; GPU rows show memory and load', () => {
  const l = describeHost({ name: 'This machine', detail: 'local agent', selected: true, link: { kind: 'connected', agentVersion: '0.1.0' }, info: host(), infoError: null });
  assert.equal(l.description, 'connected · agent 0.1.0 · 1 GPU');
  assert.match(l.tooltip, /^This machine \(local agent\): selected, runs train here/);
  assert.equal(l.contextValue, 'host.selected.connected');
  assert.match(l.tooltip, /16 CPUs, RAM 48\.8 GiB available of 64\.0 GiB/);
  const down = describeHost({ name: 'gpu-box', detail: 'me@10.0.0.5:22', selected: true, link: { kind: 'failed', reason: 'host key changed' }, info: null, infoError: null });
  assert.equal(down.description, 'failed');
  assert.equal(down.contextValue, 'host.selected.down');
  assert.match(down.tooltip, /link: failed: host key changed/);
  const other = describeHost({ name: 'gpu-box', detail: 'me@10.0.0.5:22', selected: false, link: null, info: null, infoError: null });
  assert.equal(other.description, 'me@10.0.0.5:22');
  assert.equal(other.contextValue, 'host');
  assert.deepEqual(
    [describeGpu(H100).label, describeGpu(H100).description],
    ['GPU 0: 1.2 GiB / 79.6 GiB · 37%', 'NVIDIA H100 80GB HBM3'],
  );
  assert.equal(describeGpu({ ...H100, utilization: null }).label, 'GPU 0: 1.2 GiB / 79.6 GiB');
  assert.match(describeGpu(H100).tooltip, /memory: 1\.2 GiB used, 78\.5 GiB free of 79\.6 GiB\nutilisation: 37%/);
});

const evaluation = (over: Partial<EvaluationResult> = {}): EvaluationResult => ({
  checkpoint: 'checkpoint-30', rows: 40, loss: 0.5, perplexity: 1.65, exact_match: 0.9,
  labels: { negative: { precision: 0.9, recall: 0.95, f1: 0.924, support: 20 }, positive: { precision: 0.947, recall: 0.9, f1: 0.923, support: 20 } },
  macro: { precision: 0.9236, recall: 0.925, f1: 0.9235 }, ttft_ms_median: 412.4,
  targets: { precision: { target: 0.92, value: 0.9236, met: true }, recall: { target: 0.92, value: 0.925, met: true }, ttft_ms: { target: 300, value: 412.4, met: false } },
  seconds: 12.5, ...over,
});

test('checkpoint rows: step, eval loss, a star on the best, and scores once evaluated', () => {
  const plain = describeCheckpoint({ name: 'checkpoint-30', step: 30, evalLoss: 1.23456, isBest: false, scores: null });
  assert.equal(plain.description, 'step 30 · eval loss 1.2346');
  assert.deepEqual(plain.icon, { id: 'save' });
  assert.equal(plain.contextValue, 'checkpoint');
  const best = describeCheckpoint({ name: 'checkpoint-60', step: 60, evalLoss: 0.9, isBest: true, scores: evaluation() });
  assert.equal(best.icon.id, 'star-full');
  assert.equal(best.contextValue, 'checkpoint.best');
  assert.equal(best.description, 'step 60 · eval loss 0.9000 · P 0.92 R 0.93 · TTFT 412 ms · 1 of 3 targets missed');
  assert.match(best.tooltip, /✗ TTFT 412 ms \(target < 300 ms\)/);
});

test('the evaluation report puts every score against its target', () => {
  const lines = evaluationLines(evaluation());
  assert.deepEqual(lines.slice(0, 3), ['✓ precision 0.924 (target ≥ 0.920)', '✓ recall 0.925 (target ≥ 0.920)', '✗ TTFT 412 ms (target < 300 ms)']);
  assert.ok(lines.includes('  negative: precision 0.900, recall 0.950, F1 0.924 (20 rows)'));
  const free = evaluation({ macro: null, labels: {}, targets: { precision: { target: 0.92, value: null, met: null } }, ttft_ms_median: null });
  assert.equal(evaluationLines(free)[0], '– precision: does not apply to this file (target ≥ 0.920)');
  assert.equal(scoreLine(free), 'exact 0.90');
});

test('Compare takes the selected runs once each; checkpoints in the selection are not runs', () => {
  const run = (id: string) => ({ kind: 'run', runId: id });
  assert.deepEqual(selectedRunIds(run('a'), [run('a'), run('b'), { kind: 'checkpoint', runId: 'c', checkpoint: 'x' }]), ['a', 'b']);
  assert.deepEqual(selectedRunIds(run('a'), undefined), ['a']);
  assert.deepEqual(selectedRunIds(undefined, undefined), []);
});

test('a run\'s config: the one naming it, else the one whose stem it took, never a guess between several', () => {
  const configs = [{ path: '/w/a.tunelab.yaml', name: 'alpha' }, { path: '/w/e2e.tunelab.yaml', name: null }, { path: '/w/sub/e2e.tunelab.yml', name: 'other' }];
  assert.equal(configForRun('alpha', configs), '/w/a.tunelab.yaml');
  assert.equal(configForRun('e2e', configs), '/w/e2e.tunelab.yaml');
  assert.equal(configForRun('missing', configs), undefined);
  assert.equal(configForRun('alpha', [...configs, { path: '/w/b.tunelab.yaml', name: 'alpha' }]), undefined);
});
