// One field of the form: its label, its control (a toolkit text field, dropdown or checkbox, or a row of
// checkboxes for a list of named values), its description and its problems. Built with DOM calls and textContent
// only: values come from the person's file and are never parsed as HTML.
import type { EditInput, FormField } from './protocol';
import type { Checkbox, Dropdown, TextField } from './toolkit';

export interface FieldEvents {
  edit(key: string, input: EditInput): void;
  reveal(key: string): void;
}

type Problem = { severity: string; message: string; key: string | null };

export const fieldId = (key: string) => `field-${key.replace(/\./g, '-')}`;

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

export class FieldControl {
  readonly element: HTMLElement;
  private readonly control: HTMLElement;
  private readonly problemsEl: HTMLElement;
  private readonly defaultEl: HTMLElement;
  private boxes: Checkbox[] = [];
  /** An input the host refused: kept in the control until the person changes it, with the reason shown. */
  private refused: string | undefined;
  /** What the file holds, as last shown (a change event that leaves it as it was writes nothing). */
  private shown: unknown;
  private applying = false;
  /** A number as the file spells it. */
  private written: string | undefined;
  /** The checks' problems now shown (a refused input is shown above them). */
  private hostProblems: Problem[] = [];

  constructor(readonly field: FormField, private readonly events: FieldEvents) {
    const row = (this.element = el('div', 'field'));
    row.id = fieldId(field.key);
    row.dataset.key = field.key;
    row.dataset.kind = field.kind;
    const head = el('div', 'field-head');
    const label = el('label', 'field-label', field.label);
    label.htmlFor = `${row.id}-control`;
    head.append(label);
    if (field.required) head.append(el('span', 'required', 'required'));
    this.defaultEl = el('span', 'default');
    head.append(this.defaultEl);
    this.control = this.makeControl();
    this.control.id = `${row.id}-control`;
    this.control.setAttribute('aria-label', field.key);
    row.append(head, this.control);
    if (field.description) row.append(el('div', 'description', field.description));
    this.problemsEl = el('ul', 'problems');
    this.problemsEl.hidden = true;
    row.append(this.problemsEl);
  }

  private makeControl(): HTMLElement {
    const f = this.field;
    switch (f.kind) {
      case 'boolean': {
        const box = document.createElement('vscode-checkbox') as Checkbox;
        box.textContent = f.label;
        box.addEventListener('change', () => this.changed(box.checked));
        return box;
      }
      case 'enum': {
        const dd = document.createElement('vscode-dropdown') as Dropdown;
        // The empty choice leaves the key out of the file: the default applies, and says which it is.
        const none = document.createElement('vscode-option');
        none.setAttribute('value', '');
        none.textContent = f.placeholder ? `(default: ${f.placeholder})` : '(not set)';
        dd.append(none);
        for (const o of f.options ?? []) {
          const opt = document.createElement('vscode-option');
          opt.setAttribute('value', o);
          opt.textContent = o;
          dd.append(opt);
        }
        dd.addEventListener('change', () => this.changed(dd.value));
        return dd;
      }
      case 'choices': {
        const group = el('div', 'choices');
        group.setAttribute('role', 'group');
        this.boxes = (f.options ?? []).map((o) => {
          const box = document.createElement('vscode-checkbox') as Checkbox;
          box.textContent = o;
          box.dataset.value = o;
          box.addEventListener('change', () => this.changed(this.boxes.filter((b) => b.checked).map((b) => b.dataset.value!)));
          group.append(box);
          return box;
        });
        return group;
      }
      case 'entries': {
        const wrap = el('div', 'entries');
        const summary = el('span', 'entries-summary');
        const edit = document.createElement('vscode-button');
        edit.setAttribute('appearance', 'secondary');
        edit.textContent = 'Edit in text';
        edit.addEventListener('click', () => this.events.reveal(f.key));
        wrap.append(summary, edit);
        return wrap;
      }
      default: {
        const input = document.createElement('vscode-text-field') as TextField;
        input.setAttribute('placeholder', this.placeholderText());
        input.addEventListener('change', () => this.changed(input.value));
        // The file changed while this field was being typed in: its new value shows once the person leaves it.
        input.addEventListener('focusout', () => {
          if (input.dataset.pending === undefined) return;
          input.value = input.dataset.pending;
          delete input.dataset.pending;
        });
        return input;
      }
    }
  }

  private placeholderText(): string {
    const f = this.field;
    const list = f.kind === 'list' || f.kind === 'numbers' ? ' (comma-separated)' : '';
    const word = f.word ? ` or ${f.word}` : '';
    return f.placeholder ? `${f.placeholder}${list}` : `${f.kind === 'text' ? '' : f.kind}${list}${word}`.trim();
  }

  private changed(input: EditInput): void {
    // Setting a toolkit control from the file fires its change event too: that is not the person's edit.
    if (this.applying) return;
    this.refused = undefined;
    if (JSON.stringify(input) === JSON.stringify(this.displayOf(this.shown))) return;
    this.events.edit(this.field.key, input);
  }

  /** The value written in the file (undefined: not written), shown unless the person is mid-way through typing it. */
  setValue(value: unknown, odd: boolean, written?: string): void {
    this.applying = true;
    this.written = written;
    try {
      this.apply(value, odd);
    } finally {
      this.applying = false;
    }
  }

  private apply(value: unknown, odd: boolean): void {
    // The file changed this key since an input was refused: the file's value wins.
    if (this.refused !== undefined && JSON.stringify(value) !== JSON.stringify(this.shown)) this.refused = undefined;
    this.shown = value;
    const f = this.field;
    const written = value !== undefined;
    this.element.classList.toggle('written', written);
    this.defaultEl.textContent = written || !f.placeholder ? '' : `default ${f.placeholder}`;
    this.element.classList.toggle('odd', odd);
    if (odd) {
      this.setProblems([{ severity: 'warning', message: 'written in a shape this form does not edit: use the text', key: f.key }]);
    }
    const c = this.control;
    const focused = c.matches(':focus-within') || document.activeElement === c;
    if (this.refused !== undefined) return;
    switch (f.kind) {
      case 'boolean':
        (c as Checkbox).checked = typeof value === 'boolean' ? value : f.placeholder === 'true';
        return;
      case 'enum':
        (c as Dropdown).value = typeof value === 'string' ? value : '';
        return;
      case 'choices': {
        const chosen = new Set(Array.isArray(value) ? value.map(String) : []);
        for (const b of this.boxes) b.checked = chosen.has(b.dataset.value!);
        return;
      }
      case 'entries': {
        const list = Array.isArray(value) ? value : [];
        const summary = c.querySelector('.entries-summary')!;
        summary.textContent = list.length
          ? list.map((e) => (e && typeof e === 'object' ? `${(e as Record<string, unknown>).pattern} → ${(e as Record<string, unknown>).learning_rate}` : String(e))).join('; ')
          : 'none: every parameter uses training.learning_rate';
        return;
      }
      default: {
        const text = String(this.displayOf(value));
        const tf = c as TextField;
        delete tf.dataset.pending;
        if (!focused) tf.value = text;
        else if (tf.value !== text) tf.dataset.pending = text;
      }
    }
  }

  private displayOf(value: unknown): EditInput {
    const f = this.field;
    if (f.kind === 'boolean') return typeof value === 'boolean' ? value : f.placeholder === 'true';
    if (f.kind === 'choices') return Array.isArray(value) ? value.map(String) : [];
    if (value === undefined || value === null) return '';
    if (typeof value === 'number' && this.written !== undefined && Number(this.written) === value) return this.written;
    return Array.isArray(value) ? value.map(String).join(', ') : String(value);
  }

  /** The host refused the input: say why beside it and keep what was typed. */
  refuse(message: string): void {
    this.refused = message;
    this.setProblems(this.hostProblems);
  }

  setProblems(problems: Problem[]): void {
    this.hostProblems = problems;
    if (this.refused !== undefined) problems = [{ severity: 'error', message: this.refused, key: this.field.key }, ...problems];
    this.problemsEl.replaceChildren(...problems.map((p) => {
      const li = el('li', `problem ${p.severity}`, p.message);
      if (p.key && p.key !== this.field.key) {
        // A problem about a part of the value (an item of a list): the text shows which.
        const show = el('a', 'show', 'show in text');
        show.tabIndex = 0;
        show.addEventListener('click', () => this.events.reveal(p.key!));
        li.append(' ', show);
      }
      return li;
    }));
    this.problemsEl.hidden = problems.length === 0;
    this.element.classList.toggle('has-error', problems.some((p) => p.severity === 'error'));
    this.element.classList.toggle('has-warning', problems.some((p) => p.severity === 'warning'));
  }

  setEnabled(enabled: boolean): void {
    const targets = this.field.kind === 'choices' ? this.boxes : this.field.kind === 'entries' ? [] : [this.control];
    for (const t of targets) (t as HTMLElement & { disabled: boolean }).disabled = !enabled;
  }
}
