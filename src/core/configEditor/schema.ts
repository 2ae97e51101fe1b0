// The agent's run-config schema, read from the one file the agent validates with, and walked by key path
// for completion, hover and quick fixes. Local `$ref`s are inlined once so every walk sees plain objects.
import runConfigSchema from '../../../python-agent/tunelab_agent/schema/run_config.schema.json';
import type { KeyPath } from './yamlNodes';

export interface SchemaNode {
  type?: string | string[];
  description?: string;
  default?: unknown;
  enum?: unknown[];
  const?: unknown;
  properties?: Record<string, SchemaNode>;
  additionalProperties?: boolean | SchemaNode;
  required?: string[];
  items?: SchemaNode | SchemaNode[];
  oneOf?: SchemaNode[];
  anyOf?: SchemaNode[];
  allOf?: SchemaNode[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  exclusiveMaximum?: number;
  $ref?: string;
  [other: string]: unknown;
}

/** The schema as the agent ships it (for ajv, which resolves `$ref` itself). */
export const RAW_SCHEMA = runConfigSchema as unknown as SchemaNode;

/** The schema with local `$ref`s (`#/definitions/x`, `#/$defs/x`) replaced by what they point at. */
export const SCHEMA: SchemaNode = resolveRefs(RAW_SCHEMA);

export function resolveRefs(root: SchemaNode): SchemaNode {
  const seen = new Map<string, SchemaNode>();
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!node || typeof node !== 'object') return node;
    const obj = node as SchemaNode;
    if (typeof obj.$ref === 'string' && obj.$ref.startsWith('#')) {
      const cached = seen.get(obj.$ref);
      if (cached) return cached;
      // A recursive schema points back at an object being built: the placeholder is filled in place.
      const out: SchemaNode = {};
      seen.set(obj.$ref, out);
      const { $ref: _ref, ...siblings } = obj;
      Object.assign(out, walk(pointer(root, obj.$ref)), walk(siblings));
      return out;
    }
    return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, k === 'enum' || k === 'const' || k === 'default' ? v : walk(v)]));
  };
  return walk(root) as SchemaNode;
}

function pointer(root: SchemaNode, ref: string): unknown {
  const parts = ref.replace(/^#\/?/, '').split('/').filter(Boolean).map((p) => decodeURIComponent(p).replace(/~1/g, '/').replace(/~0/g, '~'));
  let node: unknown = root;
  for (const p of parts) node = (node as Record<string, unknown> | undefined)?.[p];
  if (node === undefined) throw new Error(`run config schema: ${ref} points at nothing`);
  return node;
}

/** The node and its oneOf/anyOf/allOf branches, flattened: every shape a value there may take. */
export function branches(node: SchemaNode | undefined): SchemaNode[] {
  if (!node) return [];
  const alts = [...(node.oneOf ?? []), ...(node.anyOf ?? []), ...(node.allOf ?? [])];
  return [node, ...alts.flatMap(branches)];
}

/** The schema of the value at `path` (keys and item indices), or undefined where the schema says nothing. */
export function schemaAt(path: KeyPath, root: SchemaNode = SCHEMA): SchemaNode | undefined {
  let node: SchemaNode | undefined = root;
  for (const part of path) {
    const shapes = branches(node);
    node = undefined;
    for (const s of shapes) {
      if (typeof part === 'number' || /^\d+$/.test(String(part))) {
        const items = Array.isArray(s.items) ? s.items[Number(part)] : s.items;
        if (items) { node = items; break; }
      }
      const prop = s.properties?.[String(part)];
      if (prop) { node = prop; break; }
    }
    if (!node) return undefined;
  }
  return node;
}

/** The keys an object at `path` may have, with their schemas (from every object shape allowed there). */
export function propertiesAt(path: KeyPath, root: SchemaNode = SCHEMA): Record<string, SchemaNode> {
  const out: Record<string, SchemaNode> = {};
  for (const s of branches(schemaAt(path, root))) Object.assign(out, s.properties ?? {});
  return out;
}

/** The scalar values a schema allows by name: enum members, consts, and true/false for a boolean. */
export function namedValues(node: SchemaNode | undefined): unknown[] {
  const out: unknown[] = [];
  for (const s of branches(node)) {
    if (s.enum) out.push(...s.enum);
    if ('const' in s) out.push(s.const);
    if (typeOf(s).includes('boolean')) out.push(true, false);
  }
  return [...new Set(out)];
}

function typeOf(s: SchemaNode): string[] {
  return s.type === undefined ? [] : Array.isArray(s.type) ? s.type : [s.type];
}

/** The type in words: "integer", "string or object", "one of sft, dpo, kto", "an array of strings". */
export function typeText(node: SchemaNode | undefined): string {
  if (!node) return 'any value';
  const own = shapeText(node);
  if (own) return own;
  const alts = [...(node.oneOf ?? []), ...(node.anyOf ?? [])];
  return alts.length ? alts.map(shapeText).filter(Boolean).join(' or ') : 'any value';
}

function shapeText(s: SchemaNode): string {
  if (s.enum) return `one of ${s.enum.map(String).join(', ')}`;
  if ('const' in s) return JSON.stringify(s.const);
  const t = typeOf(s);
  if (t.includes('array') && s.items && !Array.isArray(s.items)) {
    const item = s.items.enum ? 'values' : `${typeOf(s.items)[0] ?? 'value'}s`;
    return `an array of ${item}`;
  }
  return t.join(' or ');
}
