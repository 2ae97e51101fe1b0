// Completion in a run config: the keys the schema allows at the cursor's map (those not written yet),
// and the named values (enum members, consts, true/false) of the key whose value is being typed.
import { cursorContext } from './cursor';
import { type SchemaNode, branches, namedValues, propertiesAt, schemaAt, typeText } from './schema';
import type { TextRange } from './yamlNodes';

export interface ConfigCompletion {
  label: string;
  kind: 'key' | 'value';
  /** The text that replaces `replace`. */
  insertText: string;
  replace: TextRange;
  /** The type in words ("integer", "one of sft, dpo, kto"). */
  detail: string;
  /** Markdown: the schema's description and default. */
  documentation: string;
  /** The schema's default value: listed first among values. */
  isDefault?: boolean;
  /** A key whose value has names to pick from (enum, boolean): the editor may offer them right after. */
  suggestValues?: boolean;
}

export function configCompletions(text: string, offset: number): ConfigCompletion[] {
  const ctx = cursorContext(text, offset);
  if (!ctx) return [];
  if (ctx.kind === 'key') {
    const props = propertiesAt(ctx.path);
    // A list item whose items are not maps takes a value after its dash, not a key.
    if (!Object.keys(props).length && ctx.itemStart) return valueItems(schemaAt(ctx.path), ctx.replace);
    const present = new Set(ctx.present);
    return Object.entries(props).filter(([name]) => !present.has(name)).map(([name, s]) => ({
      label: name,
      kind: 'key',
      insertText: ctx.renaming ? name : `${name}:${opensBlock(s) ? `\n${' '.repeat(ctx.column + 2)}` : ' '}`,
      replace: ctx.replace,
      detail: typeText(s),
      documentation: documentation(s),
      ...(!ctx.renaming && namedValues(s).length ? { suggestValues: true } : {}),
    }));
  }
  return valueItems(schemaAt(ctx.path), ctx.replace);
}

function valueItems(s: SchemaNode | undefined, replace: TextRange): ConfigCompletion[] {
  return namedValues(s).map((v) => {
    const label = typeof v === 'string' ? v : JSON.stringify(v);
    const isDefault = s?.default === v;
    return { label, kind: 'value', insertText: label, replace, detail: typeText(s), documentation: documentation(s), ...(isDefault ? { isDefault } : {}) };
  });
}

/** A key whose value is only ever a map (or a list of maps) goes on its own line with the map below. */
function opensBlock(s: SchemaNode): boolean {
  const shapes = branches(s).filter((b) => b.type !== undefined || b.enum || 'const' in b);
  return shapes.length > 0 && shapes.every((b) => b.type === 'object');
}

/** The description, then the default, as Markdown. */
export function documentation(s: SchemaNode | undefined): string {
  if (!s) return '';
  const parts = [s.description ?? ''];
  if ('default' in s) parts.push(`Default: \`${JSON.stringify(s.default)}\``);
  return parts.filter(Boolean).join('\n\n');
}
