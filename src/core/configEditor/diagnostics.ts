// Live diagnostics of a run config: YAML syntax errors where the parser stopped, then every schema error
// at once (ajv, allErrors), each placed on the exact key or value it is about and worded as the agent words
// its own refusal. Runs on every keystroke (debounced), so it parses once and walks only the Document.
import Ajv, { type ErrorObject } from 'ajv';
import { RAW_SCHEMA, type SchemaNode } from './schema';
import { parseConfig, type ParsedConfig } from './parse';
import { BOUND_WORDS, describe, shapes } from './words';
import { type KeyPath, type TextRange, firstLine, keyRange, valueRange } from './yamlNodes';

export type Severity = 'error' | 'warning' | 'info';

export type DiagnosticCode =
  | 'yaml-syntax' | 'yaml-warning' | 'empty' | 'unknown-key' | 'required' | 'type' | 'enum' | 'const' | 'one-of'
  | 'out-of-range' | 'length' | 'items' | 'unique' | 'pattern' | 'schema' | 'missing-file' | 'agent';

export interface ConfigDiagnostic {
  range: TextRange;
  severity: Severity;
  message: string;
  /** Dotted key path ("training.learning_rate"), or null for the file as a whole. */
  key: string | null;
  code: DiagnosticCode;
  /** What a quick fix needs (see quickFixes.ts). */
  data?: UnknownKeyData | OutOfRangeData | MissingFileData;
}

export interface UnknownKeyData { kind: 'unknown-key'; name: string; allowed: string[] }
export interface OutOfRangeData { kind: 'out-of-range'; keyword: string; limit: number; integer: boolean; fallback?: number }
export interface MissingFileData { kind: 'missing-file'; path: string }

export type SchemaCheck = (parsed: ParsedConfig) => ConfigDiagnostic[];

/** A checker for `schema` (the run config's, or a test's): ajv with every error, `$ref`s resolved by ajv. */
export function schemaChecker(schema: SchemaNode): SchemaCheck {
  // strict off: the schema names enums without `type`, valid draft-07 that strict mode would only warn about.
  const validate = new Ajv({ allErrors: true, verbose: true, strict: false }).compile(schema);
  return (parsed) => {
    const { doc, value } = parsed;
    if (value === null || value === undefined) {
      return [{ range: firstLine(doc), severity: 'error', message: 'the file is empty: a run config needs at least model and dataset.train', key: null, code: 'empty' }];
    }
    if (validate(value)) return [];
    return specificErrors(validate.errors ?? []).map((e) => toDiagnostic(parsed, e));
  };
}

/** Schema errors of a document that parsed, against the agent's run-config schema. */
export const schemaDiagnostics: SchemaCheck = schemaChecker(RAW_SCHEMA);

/** Every problem in `text`, in the order of the text. */
export function configDiagnostics(text: string, check: SchemaCheck = schemaDiagnostics): ConfigDiagnostic[] {
  return diagnosticsOf(parseConfig(text), check);
}

export function diagnosticsOf(parsed: ParsedConfig, check: SchemaCheck = schemaDiagnostics): ConfigDiagnostic[] {
  const syntax = syntaxDiagnostics(parsed);
  // A half-parsed document would only produce schema errors that the syntax error explains.
  if (syntax.some((d) => d.severity === 'error')) return syntax;
  return [...syntax, ...check(parsed)].sort((a, b) => a.range.start - b.range.start || a.range.end - b.range.end);
}

function syntaxDiagnostics({ doc }: ParsedConfig): ConfigDiagnostic[] {
  const out: ConfigDiagnostic[] = [];
  for (const [list, severity] of [[doc.errors, 'error'], [doc.warnings, 'warning']] as const) {
    for (const e of list) {
      // The message's first line; the rest repeats the source line with a caret, which the squiggle shows.
      const what = e.message.split('\n')[0].replace(/ at line \d+, column \d+:?$/, '');
      out.push({ range: { start: e.pos[0], end: e.pos[1] }, severity, message: `not valid YAML (${what})`, key: null, code: severity === 'error' ? 'yaml-syntax' : 'yaml-warning' });
    }
  }
  return out;
}

const SHAPE_KEYWORDS = new Set(['type', 'const', 'enum']);

/**
 * For a value that matches no branch of a oneOf/anyOf, the errors of the branch it came closest to (those
 * that are not about its type), else the oneOf itself: as the agent's _specific does. `if` only summarises.
 */
function specificErrors(errors: ErrorObject[]): ErrorObject[] {
  let list = errors.filter((e) => e.keyword !== 'if');
  const alternatives = list.filter((e) => e.keyword === 'oneOf' || e.keyword === 'anyOf')
    .sort((a, b) => b.schemaPath.length - a.schemaPath.length);
  for (const alt of alternatives) {
    const prefix = `${alt.schemaPath}/`;
    const inside = list.filter((e) => e.schemaPath.startsWith(prefix));
    // A branch that only names other types or values says nothing more than the oneOf's own list of shapes.
    const specific = inside.filter((e) => !SHAPE_KEYWORDS.has(e.keyword) || e.instancePath !== alt.instancePath);
    list = list.filter((e) => !e.schemaPath.startsWith(prefix) && (e !== alt || !specific.length));
    if (specific.length) list.push(...closestBranch(specific, alt.schemaPath));
  }
  return list;
}

/** The errors of the branch with the fewest, so a string value is not told what an object would need. */
function closestBranch(errors: ErrorObject[], altPath: string): ErrorObject[] {
  const byBranch = new Map<string, ErrorObject[]>();
  for (const e of errors) {
    const branch = e.schemaPath.slice(altPath.length + 1).split('/')[0];
    byBranch.set(branch, [...(byBranch.get(branch) ?? []), e]);
  }
  return [...byBranch.values()].sort((a, b) => a.length - b.length)[0];
}

function pathOf(instancePath: string): KeyPath {
  return instancePath.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
}

const dotted = (path: KeyPath) => path.join('.');

function toDiagnostic({ doc }: ParsedConfig, e: ErrorObject): ConfigDiagnostic {
  const path = pathOf(e.instancePath);
  const key = dotted(path);
  const prefix = key ? `${key}: ` : '';
  const params = e.params as Record<string, unknown>;
  const parent = e.parentSchema as SchemaNode | undefined;
  const at = (code: DiagnosticCode, message: string, data?: ConfigDiagnostic['data']): ConfigDiagnostic =>
    ({ range: valueRange(doc, path), severity: 'error', message, key: key || null, code, ...(data ? { data } : {}) });

  switch (e.keyword) {
    case 'additionalProperties': {
      const name = String(params.additionalProperty);
      const allowed = Object.keys(parent?.properties ?? {}).sort();
      const full = dotted([...path, name]);
      return {
        range: keyRange(doc, [...path, name]), severity: 'error', key: full, code: 'unknown-key',
        message: `${full}: unknown key (allowed here: ${allowed.join(', ')})`, data: { kind: 'unknown-key', name, allowed },
      };
    }
    case 'required': {
      const full = dotted([...path, String(params.missingProperty)]);
      // The parent key is where the missing one belongs; a missing top-level key marks the first key.
      return { range: path.length ? keyRange(doc, path) : firstLine(doc), severity: 'error', key: full, code: 'required', message: `${full}: required key is missing` };
    }
    case 'type': {
      if (!path.length) return at('type', `expected a mapping of keys (model, dataset, ...), got ${describe(e.data)}`);
      const expected = Array.isArray(e.schema) ? e.schema.join(' or ') : String(e.schema);
      return at('type', `${prefix}expected ${expected}, got ${describe(e.data)}`);
    }
    case 'enum':
      return at('enum', `${prefix}expected one of ${(e.schema as unknown[]).map(String).join(', ')}, got ${describe(e.data)}`);
    case 'const':
      return at('const', `${prefix}expected ${JSON.stringify(e.schema)}, got ${describe(e.data)}`);
    case 'oneOf':
    case 'anyOf':
      return at('one-of', `${prefix}expected ${shapes(e.schema as SchemaNode[])}, got ${describe(e.data)}`);
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum': {
      const limit = Number(e.schema);
      const integer = parent?.type === 'integer';
      const fallback = typeof parent?.default === 'number' ? parent.default : undefined;
      return at('out-of-range', `${prefix}must be ${BOUND_WORDS[e.keyword]} ${limit}, got ${describe(e.data)}`,
        { kind: 'out-of-range', keyword: e.keyword, limit, integer, ...(fallback !== undefined ? { fallback } : {}) });
    }
    case 'minLength':
    case 'maxLength':
      return at('length', `${prefix}must have ${BOUND_WORDS[e.keyword]} ${e.schema}, got ${describe(e.data)}`);
    case 'minItems':
    case 'maxItems': {
      const n = Number(e.schema);
      const count = Array.isArray(e.data) ? e.data.length : 0;
      return at('items', `${prefix}must have ${e.keyword === 'minItems' ? 'at least' : 'at most'} ${n} item${n === 1 ? '' : 's'}, got ${count}`);
    }
    case 'uniqueItems': {
      const i = Number(params.i);
      const item = Array.isArray(e.data) ? e.data[i] : undefined;
      return { ...at('unique', `${prefix}lists ${JSON.stringify(item)} twice`), range: valueRange(doc, [...path, i]) };
    }
    case 'pattern':
      return at('pattern', `${prefix}must match ${e.schema}, got ${describe(e.data)}`);
    case 'multipleOf':
      return at('schema', `${prefix}must be a multiple of ${e.schema}, got ${describe(e.data)}`);
    case 'propertyNames':
    case 'dependencies':
    case 'dependentRequired':
      return { ...at('schema', `${prefix}${e.message ?? e.keyword}`), range: path.length ? keyRange(doc, path) : firstLine(doc) };
    default:
      return at('schema', `${prefix}${e.message ?? e.keyword}`);
  }
}
