// The row pane's formatted view of one row, and the token view of what the trainer makes of it. Every string
// here comes from a dataset file or the agent, so it only ever reaches the page as textContent: no innerHTML,
// no attributes built from row text other than sanitised class names and titles.
import type { RowView, Turn, ViewedRow } from '../../src/core/dataset/rowView';

type Kids = Array<Node | string | null | undefined | false>;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, cls?: string, ...kids: Kids): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  for (const k of kids) {
    if (k === null || k === undefined || k === false) continue;
    e.append(typeof k === 'string' ? document.createTextNode(k) : k);
  }
  return e;
}

function text(tag: keyof HTMLElementTagNameMap, cls: string, s: string): HTMLElement {
  const e = el(tag, cls);
  e.textContent = s;
  return e;
}

/** Roles are free text in a file; only a safe, bounded token of one may become a class name. */
function roleClass(role: string): string {
  const safe = role.toLowerCase().replace(/[^a-z0-9_-]+/g, '-').replace(/^-+|-+$/g, '').slice(0, 32);
  return `role-${safe || 'unknown'}`;
}

function block(title: string, body: string, cls = ''): HTMLElement {
  return el('div', `block${cls ? ' ' + cls : ''}`, text('div', 'block-title', title), text('div', 'block-body', body));
}

function prettyArguments(args: string): string {
  try {
    return JSON.stringify(JSON.parse(args), null, 2);
  } catch {
    return args;
  }
}

function bubble(t: Turn): HTMLElement {
  const head = el('div', 'bubble-role', t.role);
  if (t.name !== undefined && t.role !== 'tool') head.append(text('span', 'bubble-name', ` (${t.name})`));
  const b = el('div', `bubble ${roleClass(t.role)}`, head);
  if (t.toolCallId !== undefined || (t.role === 'tool' && t.name !== undefined)) {
    const of = [t.name, t.toolCallId].filter((s) => s !== undefined).join(', ');
    b.append(text('div', 'tool-result-of', `result of ${of}`));
  }
  if (t.content !== '' || !t.toolCalls?.length) b.append(text('div', 'bubble-content', t.content));
  for (const call of t.toolCalls ?? []) {
    b.append(
      el(
        'div',
        'tool-call',
        el('div', 'tool-call-head', text('span', 'tool-call-name', call.name), call.id !== undefined ? text('span', 'tool-call-id', call.id) : null),
        text('pre', 'tool-call-args', prettyArguments(call.arguments)),
      ),
    );
  }
  return b;
}

function bubbles(turns: Turn[], cls = ''): HTMLElement {
  const box = el('div', `bubbles${cls ? ' ' + cls : ''}`);
  if (turns.length === 0) box.append(text('div', 'placeholder', '(no turns)'));
  for (const t of turns) box.append(bubble(t));
  return box;
}

function section(title: string, body: HTMLElement, cls: string): HTMLElement {
  return el('div', `section ${cls}`, text('div', 'section-title', title), body);
}

function prettyJson(value: unknown): string {
  try {
    return JSON.stringify(value, null, 2) ?? String(value);
  } catch {
    return String(value);
  }
}

function body(view: RowView): HTMLElement {
  switch (view.kind) {
    case 'alpaca': {
      const box = el('div', 'blocks');
      if (view.system !== undefined && view.system !== '') box.append(block('System', view.system, 'system'));
      box.append(block('Instruction', view.instruction, 'instruction'));
      if (view.input !== undefined && view.input.trim() !== '') box.append(block('Input', view.input, 'input'));
      box.append(block('Output', view.output, 'output'));
      return box;
    }
    case 'chat': {
      const box = el('div', 'chat');
      if (view.system !== undefined && view.system !== '') box.append(bubble({ role: 'system', content: view.system }));
      box.append(bubbles(view.turns));
      return box;
    }
    case 'preference':
      return el(
        'div',
        'preference',
        view.prompt.length ? section('Prompt', bubbles(view.prompt), 'prompt') : null,
        el('div', 'pref-columns', section('Chosen', bubbles(view.chosen), 'pref-column chosen'), section('Rejected', bubbles(view.rejected), 'pref-column rejected')),
      );
    case 'kto':
      return el(
        'div',
        'kto',
        text('span', `badge ${view.desirable ? 'desirable' : 'undesirable'}`, view.desirable ? 'desirable' : 'undesirable'),
        section('Prompt', bubbles(view.prompt), 'prompt'),
        section('Completion', bubbles(view.completion), 'completion'),
      );
    case 'text':
      return text('div', 'block-body text-body', view.text);
    case 'other':
      return text('pre', 'json', prettyJson(view.value));
    case 'empty':
      return text('div', 'placeholder', '(empty line)');
    case 'invalid':
      return el('div', 'invalid', text('div', 'invalid-title', 'Not valid JSON'), text('div', 'invalid-error', view.error));
  }
}

/** The formatted view of one row: label chips, then the row laid out by its format. */
export function renderRow(view: ViewedRow): HTMLElement {
  const root = el('div', `row-view kind-${view.kind}`);
  if (view.labels.length) {
    const chips = el('div', 'chips');
    for (const l of view.labels) chips.append(text('span', 'chip', l));
    root.append(chips);
  }
  root.append(body(view));
  return root;
}

export type TokenSequence = {
  name: string;
  tokens: Array<{ text: string; trained: boolean }>;
  length: number;
  trained_tokens: number;
};

const plural = (n: number, one: string) => `${n} ${one}${n === 1 ? '' : 's'}`;

/** The trainer's view of a row: each sequence's tokens, the ones that carry loss set apart from the rest. */
export function renderTokens(seqs: TokenSequence[], maxLength: number | null): HTMLElement {
  const root = el('div', 'tokens-view');
  for (const s of seqs) {
    const seq = el('div', 'token-seq', text('div', 'token-seq-head', `${s.name}: ${plural(s.length, 'token')}, ${s.trained_tokens} trained`));
    if (maxLength !== null && s.length > maxLength) {
      seq.append(text('div', 'over-length', `${plural(s.length, 'token')}: over max_length (${maxLength}); the trainer cuts or drops this row`));
    }
    // One fragment, so a long sequence costs one layout rather than one per token.
    const frag = document.createDocumentFragment();
    for (const t of s.tokens) {
      const span = text('span', t.trained ? 'tok trained' : 'tok untrained', t.text);
      span.title = t.trained ? 'trained' : 'not trained (no loss)';
      frag.append(span);
    }
    seq.append(el('div', 'token-text', frag));
    root.append(seq);
  }
  return root;
}
