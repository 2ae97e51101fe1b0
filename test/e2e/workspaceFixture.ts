// The e2e workspace: the shared tiny model, dataset and run configs (test/support), as files VS Code opens.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { NO_EARLY_STOP, makeTinyModel, runConfig, writeDataset } from '../support/trainingFixture';

export const E2E_RUN_NAME = 'e2e-tiny';
export const E2E_MAX_STEPS = 60;
export const E2E_CONFIG = 'e2e.tunelab.yaml';
/** A run long enough to still be going when the test stops it. */
export const E2E_LONG_CONFIG = 'long.tunelab.yaml';
export const E2E_LONG_RUN_NAME = 'e2e-long';
/** A config the agent must refuse with bad_config, naming the key. */
export const E2E_BAD_CONFIG = 'bad.tunelab.yaml';

export function makeWorkspace(dir: string, python: string): string {
  writeDataset(join(dir, 'train.jsonl'), 4);
  const config = runConfig({ name: E2E_RUN_NAME, maxSteps: E2E_MAX_STEPS, evalSteps: 10, saveSteps: 30 });
  writeFileSync(join(dir, E2E_CONFIG), config);
  // Early stopping off: on a fast machine the eval loss plateaus before the test reaches its Stop button.
  writeFileSync(join(dir, E2E_LONG_CONFIG), runConfig({ name: E2E_LONG_RUN_NAME, maxSteps: 100_000, evalSteps: 10, saveSteps: 30, extra: NO_EARLY_STOP }));
  writeFileSync(join(dir, E2E_BAD_CONFIG), config.replace('learning_rate: 0.001', 'learning_rate: fast'));
  makeTinyModel(python, join(dir, 'model'), join(dir, 'train.jsonl'));
  return join(dir, E2E_CONFIG);
}
