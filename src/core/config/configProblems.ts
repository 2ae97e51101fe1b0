// Reads the agent's bad_config answer (one problem per line, "<file>[ line N]: <key>: <what>") into problems a
// person can see one by one: in the toast, and in the Problems panel at their line. The agent decides what is
// wrong; this only splits its words and finds the line of a key it named without one.
import { isAbsolute, resolve, sep } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { locate } from '../configEditor/yamlNodes';

export interface ConfigProblem {
  /** 1-based line in the config file, or null when neither the agent nor the YAML could place it. */
  line: number | null;
  /** Dotted key path the problem is about ("training.learning_rate"), or null (e.g. the YAML does not parse). */
  key: string | null;
  /** The problem without the file name: "training.learning_rate: expected number, got string \"fast\"". */
  text: string;
}

const LINE_PREFIX = /^(.*?)(?: line (\d+))?: (.*)$/;
const KEY = /^([A-Za-z_][\w-]*(?:\.[\w-]+)*): /;

/** The problems in a bad_config message about `source` (the config's file name). */
export function parseConfigProblems(message: string, source: string, yamlText?: string): ConfigProblem[] {
  return message.split('\n').map((l) => l.trim()).filter(Boolean).map((line) => {
    let rest = line;
    let at: number | null = null;
    const m = LINE_PREFIX.exec(line);
    // Only strip a prefix that is the file's name (a message may hold other colons, e.g. a path).
    if (m && m[1] === source) {
      rest = m[3];
      at = m[2] ? Number(m[2]) : null;
    }
    const key = KEY.exec(rest)?.[1] ?? null;
    if (at === null && key && yamlText !== undefined) at = lineOfKey(yamlText, key.split('.'));
    return { line: at, key, text: rest };
  });
}

/** The 1-based line of the key at `path` in the YAML text, or of its deepest present parent; null if none. */
export function lineOfKey(yamlText: string, path: string[]): number | null {
  const counter = new LineCounter();
  let doc;
  try {
    doc = parseDocument(yamlText, { lineCounter: counter });
  } catch {
    return null;
  }
  const key = locate(doc, path).key;
  return key ? counter.linePos(key.start).line : null;
}

/** One line for a toast: the problems in order, each short, with a visible separator. */
export function problemsSummary(problems: ConfigProblem[], maxEach = 110): string {
  const cut = (s: string) => (s.length > maxEach ? `${s.slice(0, maxEach - 1)}…` : s);
  return problems.map((p) => cut(`${p.line ? `line ${p.line}: ` : ''}${p.text}`)).join(' │ ');
}

const REFUSED = /^(.*): outside the folders this agent serves/;

/**
 * A path the agent refused because it lies outside the folders it serves: the folder to allow (the model
 * folder itself, or the folder holding a data file), resolved against the config's folder. Undefined otherwise.
 */
export function refusedFolder(problem: ConfigProblem, configDir: string): { key: string; folder: string } | undefined {
  if (!problem.key) return undefined;
  const rest = problem.text.slice(problem.key.length + 2);
  const m = REFUSED.exec(rest);
  if (!m) return undefined;
  const path = isAbsolute(m[1]) ? m[1] : resolve(configDir, m[1]);
  return { key: problem.key, folder: problem.key === 'model' || problem.key === 'training.resume_from' ? path : resolve(path, '..') };
}

const MISSING_FOLDER = /^folder not found: (.*)$/;

/** The model folder the agent did not find (an absolute path), or undefined. */
export function missingModelFolder(problem: ConfigProblem): string | undefined {
  if (problem.key !== 'model') return undefined;
  return MISSING_FOLDER.exec(problem.text.slice('model: '.length))?.[1];
}

/**
 * How the config says its model is built, when it is a tiny model made by the agent (the samples say so in a
 * comment: "tunelab-agent make-tiny-model tiny-model --corpus sentiment/train.jsonl --hidden 256 --layers 4",
 * paths relative to the config). Only known flags with plain values are taken, so a comment cannot smuggle in
 * anything else; the target must be the missing folder.
 */
export function tinyModelRecipe(yamlText: string, configDir: string, missing: string): string[] | undefined {
  const line = /make-tiny-model\s+(\S+)((?:\s+--(?:corpus|hidden|layers|vocab-size|seed)\s+[\w./-]+)*)\s*$/m.exec(yamlText);
  if (!line || resolve(configDir, line[1]) !== resolve(missing)) return undefined;
  const args = ['make-tiny-model', resolve(missing)];
  const flags = line[2].trim().split(/\s+/).filter(Boolean);
  for (let i = 0; i + 1 < flags.length; i += 2) {
    const value = flags[i] === '--corpus' ? resolve(configDir, flags[i + 1]) : flags[i + 1];
    // The corpus is the sample's own data, next to the config; sizes are plain numbers.
    if (flags[i] === '--corpus' ? !value.startsWith(resolve(configDir) + sep) : !/^\d+$/.test(value)) return undefined;
    args.push(flags[i], value);
  }
  return args;
}
