// A tiny model, dataset and run config in a temp folder, small enough to train for real on a CPU.
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';

const POSITIVE = ['I loved this film', 'What a great day', 'The food was wonderful', 'Such a kind person', 'This works perfectly',
  'A delightful surprise', 'Best purchase ever', 'The view is beautiful', 'I am very happy', 'Fantastic service'];
const NEGATIVE = ['I hated this film', 'What a terrible day', 'The food was awful', 'Such a rude person', 'This is broken',
  'A horrible surprise', 'Worst purchase ever', 'The view is ugly', 'I am very sad', 'Dreadful service'];

export function writeDataset(path: string, copies = 2): void {
  const rows: string[] = [];
  for (let i = 0; i < copies; i++) {
    for (const text of POSITIVE) rows.push(JSON.stringify({ instruction: 'Classify the sentiment.', input: text, output: 'positive' }));
    for (const text of NEGATIVE) rows.push(JSON.stringify({ instruction: 'Classify the sentiment.', input: text, output: 'negative' }));
  }
  writeFileSync(path, `${rows.join('\n')}\n`);
}

export function makeTinyModel(python: string, dir: string, corpus: string): void {
  const r = spawnSync(python, ['-m', 'tunelab_agent', 'make-tiny-model', dir, '--corpus', corpus], { encoding: 'utf8' });
  if (r.error || r.status !== 0) {
    throw new Error(`make-tiny-model failed (${r.error?.message ?? `exit ${r.status}`}):\n${r.stderr?.slice(-3000)}`);
  }
}

/** `extra` for a run that must last as long as its test needs: no early stop when the eval loss plateaus. */
export const NO_EARLY_STOP = '  early_stopping:\n    enabled: false';

/** A run config as YAML; paths are relative to the config file, as users write them. */
export function runConfig(opts: { name: string; maxSteps: number; evalSteps: number; saveSteps: number; extra?: string }): string {
  return [
    `name: ${opts.name}`,
    'model: model',
    'dataset:',
    '  train: train.jsonl',
    '  eval_ratio: 0.1',
    '  max_length: 48',
    'lora:',
    '  r: 4',
    '  alpha: 8',
    '  dropout: 0.0',
    'training:',
    '  learning_rate: 0.001',
    '  scheduler: constant',
    '  warmup_steps: 0',
    '  batch_size: 4',
    `  max_steps: ${opts.maxSteps}`,
    `  eval_steps: ${opts.evalSteps}`,
    `  save_steps: ${opts.saveSteps}`,
    '  logging_steps: 1',
    opts.extra ?? '',
  ].join('\n');
}
