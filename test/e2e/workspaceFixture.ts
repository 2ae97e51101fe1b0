// A workspace with a tiny local model, a small Alpaca dataset and a short run config, so a real run finishes in seconds.
import { spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const E2E_RUN_NAME = 'e2e-tiny';
export const E2E_MAX_STEPS = 60;
export const E2E_CONFIG = 'e2e.tunelab.yaml';
/** A run long enough to still be going when the test stops it. */
export const E2E_LONG_CONFIG = 'long.tunelab.yaml';
export const E2E_LONG_RUN_NAME = 'e2e-long';
/** A config the agent must refuse with bad_config, naming the key. */
export const E2E_BAD_CONFIG = 'bad.tunelab.yaml';

const CONFIG = `# Small enough for a 2-core CPU: about a minute of real LoRA training.
name: ${E2E_RUN_NAME}
model: model
dataset:
  train: data/train.jsonl
  eval_ratio: 0.1
  max_length: 128
lora:
  r: 4
  alpha: 8
  target_modules: [q_proj, v_proj]
training:
  learning_rate: 0.002
  warmup_steps: 5
  batch_size: 4
  max_steps: ${E2E_MAX_STEPS}
  eval_steps: 10
  save_steps: 30
  logging_steps: 1
`;

function rows(): string {
  const good = ['I loved this film', 'What a great day', 'The food was wonderful', 'Best purchase ever', 'Such a kind person'];
  const bad = ['This was awful', 'I hated the ending', 'The service was terrible', 'Worst trip of my life', 'It broke after a day'];
  const out: string[] = [];
  for (let i = 0; i < 80; i++) {
    const positive = i % 2 === 0;
    const text = (positive ? good : bad)[i % 5];
    out.push(JSON.stringify({ instruction: 'Classify the sentiment of the text as positive or negative.', input: `${text} (#${i})`, output: positive ? 'positive' : 'negative' }));
  }
  return out.join('\n') + '\n';
}

export function makeWorkspace(dir: string, python: string): string {
  mkdirSync(join(dir, 'data'), { recursive: true });
  writeFileSync(join(dir, 'data', 'train.jsonl'), rows());
  writeFileSync(join(dir, E2E_CONFIG), CONFIG);
  writeFileSync(join(dir, E2E_LONG_CONFIG), CONFIG.replace(`name: ${E2E_RUN_NAME}`, `name: ${E2E_LONG_RUN_NAME}`).replace(`max_steps: ${E2E_MAX_STEPS}`, 'max_steps: 100000'));
  writeFileSync(join(dir, E2E_BAD_CONFIG), CONFIG.replace('learning_rate: 0.002', 'learning_rate: fast'));
  // BPE merges learned from the dataset keep rows short in tokens, so training steps stay cheap.
  const made = spawnSync(python, ['-m', 'tunelab_agent', 'make-tiny-model', join(dir, 'model'), '--corpus', join(dir, 'data', 'train.jsonl')], { encoding: 'utf8', timeout: 300_000 });
  if (made.status !== 0) throw new Error(`make-tiny-model failed (exit ${made.status ?? made.signal}):\n${made.stderr}`);
  return join(dir, E2E_CONFIG);
}
