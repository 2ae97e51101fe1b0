// One pane's answer to one turn: its Markdown, its figures (TTFT, tokens/s, finish reason) and its actions.
// Built from validated data with DOM calls and textContent; the Markdown too (markdown.ts), never from HTML strings.
import type { Answer } from './protocol';
import { appendMarkdown } from './markdown';

export type AnswerAction = 'copy' | 'edit' | 'promote' | 'prefer';

export interface CardOptions {
  turn: number;
  pane: number;
  /** Prefer needs another pane to reject. */
  canPrefer: boolean;
  onAction(action: AnswerAction, turn: number, pane: number): void;
  onSaveEdit(turn: number, pane: number, text: string): void;
}

/**
 * A piece that comes after a quiet spell is drawn at once (the first token shows without waiting). Pieces that
 * follow sooner are drawn together: at most once a frame, and for a long answer, whose Markdown takes a while to
 * render, no sooner than four render times after the last, so three panes streaming fast keep the page at most
 * about a quarter busy with rendering.
 */
const FRAME_MS = 16;
const BUSY_SHARE = 4;

export class AnswerCard {
  readonly element: HTMLElement;
  private readonly body: HTMLElement;
  private readonly stats: HTMLElement;
  private readonly actions: HTMLElement;
  private answer: Answer;
  private editing = false;
  private renderTimer: number | undefined;
  /** How long to wait after a render before the next one (see BUSY_SHARE). */
  private gap = FRAME_MS;
  private lastRender = 0;
  private disabled = false;

  constructor(answer: Answer, private readonly opts: CardOptions) {
    this.answer = answer;
    this.element = el('article', 'answer');
    this.element.dataset.turn = String(opts.turn);
    this.element.dataset.pane = String(opts.pane);
    this.body = el('div', 'body markdown');
    this.stats = el('div', 'stats');
    this.actions = el('div', 'actions');
    this.element.append(this.body, this.stats, this.actions);
    this.update(answer);
  }

  /** A streamed piece: appended and drawn now (or shortly, for a long answer). */
  appendToken(text: string): void {
    this.answer = { ...this.answer, text: this.answer.text + text };
    if (this.renderTimer !== undefined) return;
    const wait = this.gap - (performance.now() - this.lastRender);
    if (wait <= 0) this.renderBody();
    else this.renderTimer = window.setTimeout(() => this.renderBody(), wait);
  }

  update(answer: Answer): void {
    this.answer = answer;
    this.editing = false;
    this.element.dataset.finish = answer.finish ?? 'streaming';
    this.renderBody();
    this.renderStats();
    this.renderActions();
  }

  setDisabled(disabled: boolean): void {
    this.disabled = disabled;
    for (const b of Array.from(this.actions.querySelectorAll('button'))) (b as HTMLButtonElement).disabled = disabled || b.dataset.alwaysOn !== 'true' && this.answer.finish === null;
  }

  get text(): string {
    return this.answer.text;
  }

  private renderBody(): void {
    window.clearTimeout(this.renderTimer);
    this.renderTimer = undefined;
    const started = performance.now();
    this.drawBody();
    this.lastRender = performance.now();
    this.gap = Math.max(FRAME_MS, BUSY_SHARE * (this.lastRender - started));
  }

  private drawBody(): void {
    if (this.editing) return;
    this.body.classList.toggle('error', this.answer.finish === 'error');
    if (this.answer.finish === 'error') {
      this.body.textContent = this.answer.error ?? 'no answer';
      return;
    }
    if (this.answer.text === '') {
      const why = this.answer.finish === null ? 'waiting for the first token…' : this.answer.finish === 'cancelled' ? 'stopped before the first token' : 'no text';
      this.body.replaceChildren(el('span', 'waiting', why));
      return;
    }
    this.body.replaceChildren();
    appendMarkdown(this.body, this.answer.text, document);
  }

  private renderStats(): void {
    const a = this.answer;
    const parts: string[] = [];
    if (a.finish === null) parts.push('streaming…');
    else if (a.finish !== 'error') {
      // An answer stopped before its first token has no timings to show.
      if (a.ttftMs !== null) parts.push(`TTFT ${Math.round(a.ttftMs)} ms`);
      if (a.tokensPerSec !== null && a.newTokens !== 0) parts.push(`${a.tokensPerSec.toFixed(1)} tokens/s`);
      parts.push(a.finish);
    }
    if (a.edited) parts.push('edited');
    this.stats.textContent = parts.join(' · ');
    this.stats.dataset.finish = a.finish ?? '';
  }

  private renderActions(): void {
    this.actions.replaceChildren();
    if (this.answer.finish === 'error') return;
    const add = (action: AnswerAction, label: string, title: string) => {
      const b = el('button', `action ${action}`, label) as HTMLButtonElement;
      b.title = title;
      b.addEventListener('click', () => (action === 'edit' ? this.startEdit() : this.opts.onAction(action, this.opts.turn, this.opts.pane)));
      this.actions.append(b);
    };
    const hasText = this.answer.text.trim() !== '';
    if (hasText) add('copy', 'Copy', 'Copy this answer as Markdown');
    // An empty answer can still be written by hand and then promoted.
    add('edit', 'Edit', 'Edit this answer before promoting it');
    if (hasText) add('promote', 'Promote…', 'Append the conversation with this answer to a dataset file');
    if (hasText && this.opts.canPrefer) add('prefer', 'Prefer', 'Write a preference pair: this answer chosen, another pane\'s rejected');
    this.setDisabled(this.disabled);
  }

  private startEdit(): void {
    this.editing = true;
    const editor = el('textarea', 'editor') as HTMLTextAreaElement;
    editor.value = this.answer.text;
    editor.rows = Math.min(16, Math.max(3, this.answer.text.split('\n').length + 1));
    const save = el('button', 'action save', 'Save edit') as HTMLButtonElement;
    const cancel = el('button', 'action cancel', 'Cancel') as HTMLButtonElement;
    save.addEventListener('click', () => {
      this.opts.onSaveEdit(this.opts.turn, this.opts.pane, editor.value);
      this.update({ ...this.answer, text: editor.value, edited: true });
    });
    cancel.addEventListener('click', () => this.update(this.answer));
    this.body.replaceChildren(editor);
    this.actions.replaceChildren(save, cancel);
    editor.focus();
  }
}

export function el(tag: string, className: string, text?: string): HTMLElement {
  const e = document.createElement(tag);
  e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}
