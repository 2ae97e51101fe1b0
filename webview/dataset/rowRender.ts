// The row pane's formatted view of one row, and the token view of what the trainer makes of it. Every string
// here comes from a dataset file or the agent, so it only ever reaches the page as textContent, never parsed as
// markup; no attribute is built from row text but sanitised class names and titles. With an editor, each shown
// string that is one JSON string of the row (it has a path) is a plain-text field edited in place; the page
// turns a field's new text into a row edit (src/core/dataset/fieldEdit.ts).
import { pathLabel, type JsonPath, type RowView, type Turn, type ViewedRow } from '../../src/core/dataset/rowView';

/** Where the formatted view sends a field's new text; without one (a read-only file) nothing is editable. */
export type FieldEditor = { onEdit(path: JsonPath, value: string): void };

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

/** Whether the fields of one rendered view may still send edits; set off once the view is replaced. */
type Life = { live: boolean };

type Ctx = { edit?: FieldEditor; life: Life };

type FieldState = { original: string; sent: string };
const fieldStates = new WeakMap<HTMLElement, FieldState>();
const lives = new WeakMap<HTMLElement, Life>();

/**
 * A field's text in the page is its value plus one '\n' when the value ends in one. Chromium draws no line for a
 * text's last '\n', and when a person ends a field with Enter it adds a '\n' (or, after a Backspace, a line-break
 * element) of its own to hold the new line open; with the extra '\n' the last line shows, and reading drops it.
 */
function putText(e: HTMLElement, value: string): void {
  e.textContent = value.endsWith('\n') ? value + '\n' : value;
}

function readText(e: HTMLElement): string {
  let s = '';
  for (const n of Array.from(e.childNodes)) s += n.nodeName === 'BR' ? '\n' : n.textContent ?? '';
  return s.endsWith('\n') ? s.slice(0, -1) : s;
}

/**
 * A shown string: plain text, or with an editor and a path, a field edited in place. `toValue` maps the field's
 * text to the string stored (tool arguments that are JSON show pretty-printed and are stored compact).
 */
function field(ctx: Ctx, tag: keyof HTMLElementTagNameMap, cls: string, shown: string, path?: JsonPath, toValue?: (s: string) => string): HTMLElement {
  const edit = ctx.edit;
  if (!edit || !path) return text(tag, cls, shown);
  const e = el('div', `${cls} editable`);
  putText(e, shown);
  e.setAttribute('contenteditable', 'plaintext-only');
  e.tabIndex = 0;
  e.setAttribute('role', 'textbox');
  e.setAttribute('aria-multiline', 'true');
  e.setAttribute('aria-label', pathLabel(path));
  e.dataset.path = JSON.stringify(path);
  const state: FieldState = { original: shown, sent: shown };
  fieldStates.set(e, state);
  const commit = () => {
    // A replaced view's field may still blur as it leaves the page; the row it was built from is gone by then.
    if (!ctx.life.live) return;
    const now = readText(e);
    if (now === state.sent) return;
    state.sent = now;
    edit.onEdit(path, toValue ? toValue(now) : now);
  };
  e.addEventListener('keydown', (ev) => {
    if (ev.isComposing) return;
    if (ev.key === 'Enter' && (ev.ctrlKey || ev.metaKey)) {
      ev.preventDefault();
      ev.stopPropagation();
      commit();
    } else if (ev.key === 'Escape') {
      ev.preventDefault();
      ev.stopPropagation();
      putText(e, state.original);
      state.sent = state.original;
      e.blur();
    }
  });
  e.addEventListener('blur', commit);
  return e;
}

function block(ctx: Ctx, title: string, body: string, cls = '', path?: JsonPath): HTMLElement {
  return el('div', `block${cls ? ' ' + cls : ''}`, text('div', 'block-title', title), field(ctx, 'div', 'block-body', body, path));
}

function prettyArguments(args: string): string {
  try {
    return JSON.stringify(JSON.parse(args), null, 2);
  } catch {
    return args;
  }
}

/** Arguments that are JSON are shown pretty-printed; an edit of them is stored compact, as chat APIs write them. */
function argumentsValue(raw: string): ((s: string) => string) | undefined {
  if (prettyArguments(raw) === raw) return undefined;
  return (s) => {
    try {
      return JSON.stringify(JSON.parse(s));
    } catch {
      return s;
    }
  };
}

function bubble(ctx: Ctx, t: Turn): HTMLElement {
  const head = el('div', 'bubble-role', t.role);
  if (t.name !== undefined && t.role !== 'tool') head.append(text('span', 'bubble-name', ` (${t.name})`));
  const b = el('div', `bubble ${roleClass(t.role)}`, head);
  if (t.toolCallId !== undefined || (t.role === 'tool' && t.name !== undefined)) {
    const of = [t.name, t.toolCallId].filter((s) => s !== undefined).join(', ');
    b.append(text('div', 'tool-result-of', `result of ${of}`));
  }
  if (t.content !== '' || !t.toolCalls?.length) b.append(field(ctx, 'div', 'bubble-content', t.content, t.path));
  for (const call of t.toolCalls ?? []) {
    b.append(
      el(
        'div',
        'tool-call',
        el('div', 'tool-call-head', text('span', 'tool-call-name', call.name), call.id !== undefined ? text('span', 'tool-call-id', call.id) : null),
        field(ctx, 'pre', 'tool-call-args', prettyArguments(call.arguments), call.argumentsPath, argumentsValue(call.arguments)),
      ),
    );
  }
  return b;
}

function bubbles(ctx: Ctx, turns: Turn[], cls = ''): HTMLElement {
  const box = el('div', `bubbles${cls ? ' ' + cls : ''}`);
  if (turns.length === 0) box.append(text('div', 'placeholder', '(no turns)'));
  for (const t of turns) box.append(bubble(ctx, t));
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

function body(ctx: Ctx, view: RowView): HTMLElement {
  // A blank field the row has is still shown when it can be edited, so it can be filled in.
  const shows = (s: string | undefined, path: JsonPath | undefined, blank: (s: string) => boolean) =>
    s !== undefined && (!blank(s) || (ctx.edit !== undefined && path !== undefined));
  const isEmpty = (s: string) => s === '';
  const isBlank = (s: string) => s.trim() === '';
  switch (view.kind) {
    case 'alpaca': {
      const box = el('div', 'blocks');
      const paths = view.paths ?? {};
      if (shows(view.system, paths.system, isEmpty)) box.append(block(ctx, 'System', view.system ?? '', 'system', paths.system));
      box.append(block(ctx, 'Instruction', view.instruction, 'instruction', paths.instruction));
      if (shows(view.input, paths.input, isBlank)) box.append(block(ctx, 'Input', view.input ?? '', 'input', paths.input));
      box.append(block(ctx, 'Output', view.output, 'output', paths.output));
      return box;
    }
    case 'chat': {
      const box = el('div', 'chat');
      if (shows(view.system, view.systemPath, isEmpty)) box.append(bubble(ctx, { role: 'system', content: view.system ?? '', path: view.systemPath }));
      box.append(bubbles(ctx, view.turns));
      return box;
    }
    case 'preference':
      return el(
        'div',
        'preference',
        view.prompt.length ? section('Prompt', bubbles(ctx, view.prompt), 'prompt') : null,
        el('div', 'pref-columns', section('Chosen', bubbles(ctx, view.chosen), 'pref-column chosen'), section('Rejected', bubbles(ctx, view.rejected), 'pref-column rejected')),
      );
    case 'kto':
      return el(
        'div',
        'kto',
        text('span', `badge ${view.desirable ? 'desirable' : 'undesirable'}`, view.desirable ? 'desirable' : 'undesirable'),
        section('Prompt', bubbles(ctx, view.prompt), 'prompt'),
        section('Completion', bubbles(ctx, view.completion), 'completion'),
      );
    case 'text':
      return field(ctx, 'div', 'block-body text-body', view.text, view.path);
    case 'other':
      return text('pre', 'json', prettyJson(view.value));
    case 'empty':
      return text('div', 'placeholder', '(empty line)');
    case 'invalid':
      return el('div', 'invalid', text('div', 'invalid-title', 'Not valid JSON'), text('div', 'invalid-error', view.error));
  }
}

/**
 * The formatted view of one row: label chips, then the row laid out by its format. With `edit`, the strings that
 * have a path (viewRow(text, { paths: true })) are fields: Tab and Shift+Tab move between them, Ctrl+Enter (Cmd+Enter)
 * commits and stays, Escape puts the text back and leaves, and leaving commits; `onEdit` hears only changed text.
 */
export function renderRow(view: ViewedRow, edit?: FieldEditor): HTMLElement {
  const life: Life = { live: true };
  const root = el('div', `row-view kind-${view.kind}`);
  lives.set(root, life);
  if (view.labels.length) {
    const chips = el('div', 'chips');
    for (const l of view.labels) chips.append(text('span', 'chip', l));
    root.append(chips);
  }
  root.append(body({ edit, life }, view));
  return root;
}

/** Where the caret is in `e`, as a count of characters of its text, or null when it is not in `e`. */
function caretIn(e: HTMLElement): number | null {
  const sel = document.getSelection();
  if (!sel || sel.rangeCount === 0 || !sel.focusNode || !e.contains(sel.focusNode)) return null;
  const r = document.createRange();
  r.selectNodeContents(e);
  r.setEnd(sel.focusNode, sel.focusOffset);
  return r.toString().length;
}

function placeCaret(e: HTMLElement, at: number): void {
  const sel = document.getSelection();
  const node = e.firstChild;
  if (!sel) return;
  const r = document.createRange();
  if (node && node.nodeType === Node.TEXT_NODE) r.setStart(node, Math.min(at, node.textContent?.length ?? 0));
  else r.setStart(e, 0);
  r.collapse(true);
  sel.removeAllRanges();
  sel.addRange(r);
}

/**
 * Shows `view` in `box` in place of what was there. A commit changes the row's text and so rebuilds the view; the
 * field that had focus then keeps it (found by its path), with its caret, and with text typed since its last
 * commit. `rowKey` names the row shown, so that nothing carries over to a different row.
 */
export function showRow(box: HTMLElement, view: ViewedRow, rowKey: string | number | null, edit?: FieldEditor): void {
  const active = document.activeElement;
  const was = active instanceof HTMLElement && box.contains(active) && active.dataset.path !== undefined ? active : null;
  const sameRow = box.dataset.rowKey === String(rowKey);
  const typed = was ? readText(was) : '';
  const dirty = was !== null && typed !== fieldStates.get(was)?.sent;
  const caret = was ? caretIn(was) : null;
  for (const old of Array.from(box.children)) {
    const life = lives.get(old as HTMLElement);
    if (life) life.live = false;
  }
  box.replaceChildren(renderRow(view, edit));
  box.dataset.rowKey = String(rowKey);
  if (!was || !sameRow || !edit) return;
  const again = Array.from(box.querySelectorAll<HTMLElement>('.editable')).find((e) => e.dataset.path === was.dataset.path);
  if (!again) return;
  if (dirty) putText(again, typed);
  again.focus({ preventScroll: true });
  if (caret !== null) placeCaret(again, caret);
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
