// The agent's own checks of a config (preflight's errors and warnings, or the bad_config refusal of a config
// the schema passes but the agent does not, such as packing with DPO), placed on the keys they name. The
// agent decides what is wrong; this only finds where.
import { parseConfigProblems } from '../config/configProblems';
import { splitKey } from '../launch/preflightReport';
import type { ResultOf } from '../protocol/messages';
import type { ConfigDiagnostic, Severity } from './diagnostics';
import type { ParsedConfig } from './parse';
import { type TextRange, firstLine, keyRange } from './yamlNodes';

/** One problem the agent named, kept by key so it can be placed again after the text moves. */
export interface AgentProblem {
  severity: Severity;
  key: string | null;
  /** The message with its key first, as the agent wrote it. */
  message: string;
  /** 1-based line the agent gave, used only when it named no key. */
  line?: number | null;
}

/** Keys whose value is a path on the host: on a remote host the editor's copy is uploaded only at Start Run. */
export const PATH_KEYS = new Set(['model', 'model.name', 'dataset.train', 'dataset.eval', 'training.resume_from']);

export function preflightProblems(result: ResultOf<'preflight'>): AgentProblem[] {
  return [
    ...result.errors.map((m) => ({ severity: 'error' as const, key: splitKey(m).key, message: m })),
    ...result.warnings.map((m) => ({ severity: 'warning' as const, key: splitKey(m).key, message: m })),
  ];
}

/** A bad_config answer ("<file> line N: key: what", one per line) about the config named `source`. */
export function badConfigProblems(message: string, source: string): AgentProblem[] {
  return parseConfigProblems(message, source).map((p) => ({ severity: 'error' as const, key: p.key, message: p.text, line: p.line }));
}

/** The problems as diagnostics on the current text: each at its key, or the deepest part of it written. */
export function agentDiagnostics(parsed: ParsedConfig, problems: AgentProblem[]): ConfigDiagnostic[] {
  return problems.map((p) => ({
    range: p.key ? keyRange(parsed.doc, p.key.split('.')) : lineRange(parsed, p.line) ?? firstLine(parsed.doc),
    severity: p.severity,
    message: p.message,
    key: p.key,
    code: 'agent' as const,
  }));
}

function lineRange({ lines, text }: ParsedConfig, line: number | null | undefined): TextRange | undefined {
  if (!line || line > lines.lineStarts.length) return undefined;
  const start = lines.lineStarts[line - 1];
  const next = text.indexOf('\n', start);
  return { start, end: next < 0 ? text.length : next };
}
