// The config editor's diagnostics (YAML parse, ajv over the value, every error placed on its key) for a
// 200-line run config with comments and a few mistakes, against parsing the same YAML alone with `yaml`
// (npm run bench:config). Goal (issue 13): <= 3x the parse time and <= 30 ms p95.
// Usage: node out/bench/config_diagnostics.js [iterations=400]
import { performance } from 'node:perf_hooks';
import { LineCounter, parseDocument } from 'yaml';
import { configDiagnostics } from '../../src/core/configEditor/diagnostics';

const ITERATIONS = Number(process.argv[2] ?? 400);
const WARMUP = 50;
const GOAL_RATIO = 3;
const GOAL_P95_MS = 30;

/** A config as a person keeps one: every section, comments on most keys, many layer_lr groups, 3 mistakes. */
function realisticConfig(): string {
  const lines = [
    '# Sentiment classifier: LoRA on a 7B base, tuned for precision on the support queue.',
    '# Owner: ml-platform. Keep the seed fixed so runs compare.',
    'name: sentiment-7b-lora   # shown in the Runs view',
    '',
    'model:',
    '  name: meta-llama/Llama-2-7b-hf   # Hub id; a local folder works too',
    '  revision: main',
    '  dtype: bf16                       # A100/H100',
    '  attn_implementation: sdpa',
    '  quantization: none                # 4bit for QLoRA on smaller GPUs',
    '  gradient_checkpointing: true',
    '',
    'dataset:',
    '  train: data/train.jsonl           # alpaca rows',
    '  eval: data/eval.jsonl',
    '  eval_ratio: 0.1',
    '  max_length: 2048',
    '  format: auto',
    '  train_on: assistant',
    '  packing: false',
    '  max_bad_rows: 0.02',
    '  truncation: answer                # keep prompts whole',
    '',
    'lora:',
    '  r: 16',
    '  alpha: 32',
    '  dropout: 0.05',
    '  target_modules:',
    '    - q_proj',
    '    - k_proj',
    '    - v_proj',
    '    - o_proj',
    '  bias: none',
    '  use_rslora: false',
    '  use_dora: false',
    '',
    'training:',
    '  method: sft',
    '  learning_rate: 2e-4',
    '  scheduler: cosine',
    '  warmup_steps: 100',
    '  batch_size: 4',
    '  gradient_accumulation_steps: 8    # effective batch 32',
    '  epochs: 3',
    '  eval_steps: 50',
    '  save_steps: 100',
    '  logging_steps: 5',
    '  seed: 42',
    '  warmup_ratio_cap: 0.1',
    '  weight_decay: 0.01',
    '  max_grad_norm: 1.0',
    '  save_total_limit: 3',
    '  report_to: [tensorboard]',
    '  gpus: 2',
    '  distributed: ddp',
    '  early_stopping:',
    '    enabled: true',
    '    patience: 3',
    '    metric: eval_loss',
    '    mode: min',
    '    min_delta: 0.001',
    '  learnin_rate_decay: 0.9          # mistake: unknown key',
    '',
    'loss:',
    '  length_penalty:',
    '    weight: 0.0',
    '    target_length: 256',
    '  kl:',
    '    weight: 0.0',
    '',
    'monitoring:',
    '  grad_norm_band: [2, 5]',
    '  grad_norm_patience: 10',
    '',
    'evaluation:',
    '  targets:',
    '    precision: 1.2                  # mistake: above 1',
    '    recall: 0.92',
    '    ttft_ms: 300',
    '',
    '# Lower learning rates for the early layers, higher for the top ones.',
    'layer_lr:',
  ];
  for (let layer = 0; lines.length + 4 <= 197; layer++) {
    lines.push(`  # block ${layer}`, `  - name: layer-${layer}`, `    pattern: 'layers\\.${layer}\\.self_attn'`, `    learning_rate: ${(1e-5 * (layer + 1)).toExponential(1)}`);
  }
  lines.push('dpo:', '  beta: 0.1', '  loss_type: sigmod                  # mistake: not a loss type');
  while (lines.length < 200) lines.push('# end of config');
  return `${lines.join('\n')}\n`;
}

function timeIt(fn: () => void): number[] {
  for (let i = 0; i < WARMUP; i++) fn();
  const out: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    const t = performance.now();
    fn();
    out.push(performance.now() - t);
  }
  return out.sort((a, b) => a - b);
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];

const text = realisticConfig();
const diagnostics = configDiagnostics(text);
console.log(`config: ${text.split('\n').length - 1} lines, ${text.length} bytes, ${diagnostics.length} diagnostics:`);
for (const d of diagnostics) console.log(`  ${d.code}: ${d.message.slice(0, 100)}`);

// Interleaved rounds, so a busy neighbour slows both sides alike.
const parse: number[] = [];
const full: number[] = [];
for (let round = 0; round < 4; round++) {
  parse.push(...timeIt(() => parseDocument(text, { lineCounter: new LineCounter() })));
  full.push(...timeIt(() => configDiagnostics(text)));
}
parse.sort((a, b) => a - b);
full.sort((a, b) => a - b);

const row = (name: string, s: number[]) => `${name.padEnd(22)} p50 ${pct(s, 50).toFixed(3)} ms   p95 ${pct(s, 95).toFixed(3)} ms`;
console.log(row('yaml parseDocument', parse));
console.log(row('configDiagnostics', full));
const ratio50 = pct(full, 50) / pct(parse, 50);
const ratio95 = pct(full, 95) / pct(parse, 95);
console.log(`ratio (diagnostics / parse): p50 ${ratio50.toFixed(2)}x, p95 ${ratio95.toFixed(2)}x`);
const ok = ratio50 <= GOAL_RATIO && pct(full, 95) <= GOAL_P95_MS;
console.log(`goal <= ${GOAL_RATIO}x parse and <= ${GOAL_P95_MS} ms p95: ${ok ? 'met' : 'NOT met'}`);
process.exitCode = ok ? 0 : 1;
