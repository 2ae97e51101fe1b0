// Values and expectations in the words python-agent/tunelab_agent/training/run_config.py uses, so a
// squiggle in the editor and the agent's refusal at Start Run read alike.
import type { SchemaNode } from './schema';

/** `string "fast"`, `integer -3`, `number 0.5`, `boolean true`, `array`, `object`, `null`. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return 'null';
  if (Array.isArray(value)) return 'array';
  if (typeof value === 'object') return 'object';
  if (typeof value === 'number') return `${Number.isInteger(value) ? 'integer' : 'number'} ${JSON.stringify(value)}`;
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** The shapes of oneOf branches as the agent lists them: `an array of strings or "all-linear"`. */
export function shapes(alternatives: SchemaNode[]): string {
  return alternatives.map((b) => ('const' in b ? JSON.stringify(b.const) : b.enum ? `one of ${b.enum.map(String).join(', ')}`
    : b.type === 'array' ? `an array of ${(b.items as SchemaNode | undefined)?.type ?? 'value'}s`
      : String(b.type ?? 'value'))).join(' or ');
}

/** The bound keywords in words, as the agent's _explain says them. */
export const BOUND_WORDS: Record<string, string> = {
  minimum: 'at least',
  maximum: 'at most',
  exclusiveMinimum: 'more than',
  exclusiveMaximum: 'less than',
  minLength: 'a length of at least',
  maxLength: 'a length of at most',
};
