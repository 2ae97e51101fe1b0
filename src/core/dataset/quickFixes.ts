// Quick fixes for the agent's row diagnostics where the fix is clear: drop an exact duplicate, rename a role the
// trainer does not know to the one it means, remove an empty turn. The agent says what is wrong (its code and
// message name the key and index); this only turns that into the smallest edit of the row's text, so the rest of
// the line stays byte for byte (jsonc-parser's modify edits the text in place).
import { applyEdits, modify, type JSONPath } from 'jsonc-parser';
import type { Diagnostic } from '../protocol/messages';

export type RowFix =
  | { title: string; kind: 'delete' }
  | { title: string; kind: 'replace'; text: string };

/** OpenAI-style roles the trainer takes, by the names people write for them. */
const ROLE_ALIASES: Record<string, string> = {
  human: 'user', user: 'user', person: 'user', customer: 'user', question: 'user',
  gpt: 'assistant', assistant: 'assistant', bot: 'assistant', model: 'assistant', ai: 'assistant', chatgpt: 'assistant', answer: 'assistant',
  system: 'system', developer: 'system',
  tool: 'tool', function: 'tool', ipython: 'tool',
};
/** ShareGPT's `from` names, by the OpenAI role they stand for. */
const SHAREGPT_FROM: Record<string, string> = { user: 'human', assistant: 'gpt', system: 'system', tool: 'observation' };

// No formattingOptions: with them jsonc-parser re-indents the whole value over many lines, and a row is one line.
function edit(text: string, path: JSONPath, value: unknown): string {
  return applyEdits(text, modify(text, path, value, {}));
}

/** The fixes for one diagnostic of a row whose text is `text` (none when the fix is not clear). */
export function fixesFor(d: Pick<Diagnostic, 'code' | 'message'>, text: string): RowFix[] {
  if (d.code === 'duplicate') return [{ title: 'Drop this duplicate row', kind: 'delete' }];
  if (d.code !== 'bad_row') return [];
  const role = /^(\w+)\[(\d+)\]\.(role|from) is '([^']*)'/.exec(d.message);
  if (role) {
    const [, key, index, field, written] = role;
    const meant = ROLE_ALIASES[written.trim().toLowerCase()];
    const value = field === 'from' ? (meant ? SHAREGPT_FROM[meant] : undefined) : meant;
    if (!value || value === written) return [];
    return [{ title: `Rename role "${written}" to "${value}"`, kind: 'replace', text: edit(text, [key, Number(index), field], value) }];
  }
  const empty = /^empty assistant turn at (\w+)\[(\d+)\]/.exec(d.message);
  if (empty) {
    const [, key, index] = empty;
    return [{ title: `Remove the empty turn ${key}[${index}]`, kind: 'replace', text: edit(text, [key, Number(index)], undefined) }];
  }
  return [];
}
