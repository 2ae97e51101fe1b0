// Which run config a dataset file belongs to, and what the agent needs from it to read the file as that run
// would: the model (for the tokenizer and chat template), dataset.format, train_on and max_length. The dataset
// editor asks the agent with these, so its stats, problems and template view are the trainer's own.
import { dirname, isAbsolute, resolve } from 'node:path';
import { parseConfig } from '../configEditor/parse';
import { schemaAt } from '../configEditor/schema';
import type { TrainOn } from '../protocol/messages';

export interface DatasetContext {
  configPath: string;
  /** dataset.train or dataset.eval: which of the config's files this is. */
  split: 'train' | 'eval';
  /** As the config names it, for labels. */
  modelName: string | null;
  /** As the agent is given it: a folder next to the config resolved to its path, else the name (a hub id). */
  model: string | null;
  format: string | null;
  trainOn: TrainOn | null;
  maxLength: number | null;
}

const schemaDefault = schemaAt(['dataset', 'max_length'])?.default;
const DEFAULT_MAX_LENGTH = typeof schemaDefault === 'number' ? schemaDefault : null;

/** The config's dataset path for `split`, resolved against the config's folder. */
export function datasetPathOf(configText: string, configPath: string, split: 'train' | 'eval'): string | undefined {
  const config = parseConfig(configText).value as { dataset?: Record<string, unknown> } | undefined;
  const written = config?.dataset?.[split];
  if (typeof written !== 'string' || !written) return undefined;
  return isAbsolute(written) ? written : resolve(dirname(configPath), written);
}

/**
 * The context a config gives `datasetPath`, or undefined when the config names another file (or cannot be read).
 * `exists` says whether a path is there: a model named like a folder next to the config is that folder.
 */
export function datasetContextOf(configText: string, configPath: string, datasetPath: string, exists: (path: string) => boolean): DatasetContext | undefined {
  const config = parseConfig(configText).value as { model?: unknown; dataset?: Record<string, unknown> } | undefined;
  if (!config || typeof config !== 'object') return undefined;
  const split = (['train', 'eval'] as const).find((s) => datasetPathOf(configText, configPath, s) === resolve(datasetPath));
  if (!split) return undefined;
  const named = typeof config.model === 'string' ? config.model : (config.model as { name?: unknown } | undefined)?.name;
  const modelName = typeof named === 'string' && named ? named : null;
  const local = modelName ? resolve(dirname(configPath), modelName) : null;
  const options = config.dataset ?? {};
  return {
    configPath,
    split,
    modelName,
    model: modelName && local && exists(local) ? local : modelName,
    format: typeof options.format === 'string' && options.format !== 'auto' ? options.format : null,
    trainOn: options.train_on === 'all' || options.train_on === 'assistant' ? options.train_on : null,
    // Unwritten, the trainer cuts at the schema's default: the histogram marks that.
    maxLength: typeof options.max_length === 'number' && Number.isInteger(options.max_length) && options.max_length > 0 ? options.max_length
      : options.max_length === undefined ? DEFAULT_MAX_LENGTH : null,
  };
}

/** The agent's reading options from a context (none without one: the file's own format, approximate tokens). */
export function readingOptions(context: DatasetContext | undefined): { format?: string; train_on?: TrainOn; max_length?: number } {
  const out: { format?: string; train_on?: TrainOn; max_length?: number } = {};
  if (context?.format) out.format = context.format;
  if (context?.trainOn) out.train_on = context.trainOn;
  if (context?.maxLength) out.max_length = context.maxLength;
  return out;
}
