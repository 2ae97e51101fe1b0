// Run-config form (browser side): draws a group per section and a field per key from the agent's schema (the
// same file the diagnostics check against, bundled), announces `ready`, and shows each `state` the host sends:
// the values as written, the problems beside their fields, the estimate in the header. A field's change goes to
// the host as its raw input; the host writes it into the YAML and the new text comes back as the next state.
import './toolkit';
import { FieldControl } from './fieldControl';
import { FORM_GROUPS } from '../../src/core/configEditor/formModel';
import { parseHostMessage, type FieldProblem, type FormAction, type HostMessage, type WebviewMessage } from './protocol';

declare function acquireVsCodeApi(): { postMessage(message: WebviewMessage): void };

const vscode = acquireVsCodeApi();
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const groupsEl = $('groups');
const toc = $('toc');
const broken = $('broken');
const brokenText = $('broken-text');
const fileProblems = $('file-problems');
const estimateEl = $('estimate');
const estimateText = $('estimate-text');
const estimateFacts = $('estimate-facts');
let brokenLine: number | null = null;

const events = {
  edit: (key: string, input: string | boolean | string[]) => vscode.postMessage({ type: 'edit', key, input }),
  reveal: (key: string) => vscode.postMessage({ type: 'reveal', key, line: null }),
};

const controls = new Map<string, FieldControl>();
const groupProblems = new Map<string, HTMLElement>();

for (const group of FORM_GROUPS) {
  const section = document.createElement('section');
  section.className = 'group';
  section.id = `group-${group.key}`;
  const h2 = document.createElement('h2');
  h2.textContent = group.title;
  const about = document.createElement('p');
  about.className = 'about';
  about.textContent = group.about;
  const problems = document.createElement('ul');
  problems.className = 'problems group-problems';
  problems.hidden = true;
  groupProblems.set(group.key, problems);
  const fields = document.createElement('div');
  fields.className = 'fields';
  for (const f of group.fields) {
    const c = new FieldControl(f, events);
    controls.set(f.key, c);
    fields.append(c.element);
  }
  section.append(h2, about, problems, fields);
  groupsEl.append(section);
  const link = document.createElement('a');
  link.textContent = group.title;
  link.tabIndex = 0;
  link.addEventListener('click', () => section.scrollIntoView({ block: 'start' }));
  toc.append(link);
}

for (const [id, action] of [['launch', 'launch'], ['estimate-report', 'estimate'], ['open-text', 'text']] as Array<[string, FormAction]>) {
  $(id).addEventListener('click', () => vscode.postMessage({ type: 'run', action }));
}
$('broken-show').addEventListener('click', () => vscode.postMessage({ type: 'reveal', key: null, line: brokenLine }));
estimateEl.addEventListener('click', (e) => { if ((e.target as HTMLElement).closest('#estimate-text')) vscode.postMessage({ type: 'run', action: 'estimate' }); });

/** The field a problem's key belongs to: itself, or the nearest field above it (an item of a list). */
function fieldOf(key: string): FieldControl | undefined {
  const parts = key.split('.');
  for (let n = parts.length; n > 0; n--) {
    const c = controls.get(parts.slice(0, n).join('.'));
    if (c) return c;
  }
  return undefined;
}

function problemItem(p: FieldProblem): HTMLLIElement {
  const li = document.createElement('li');
  li.className = `problem ${p.severity}`;
  li.textContent = p.message;
  if (p.key) {
    const show = document.createElement('a');
    show.className = 'show';
    show.textContent = 'show in text';
    show.tabIndex = 0;
    show.addEventListener('click', () => events.reveal(p.key!));
    li.append(' ', show);
  }
  return li;
}

function showState(m: Extract<HostMessage, { type: 'state' }>): void {
  $('file-name').textContent = m.fileName;
  document.title = m.fileName;
  const { form } = m;
  broken.hidden = form.ok;
  document.body.classList.toggle('broken-yaml', !form.ok);
  if (!form.ok) {
    // Never a guess at a half-parsed file: the last good values stay, greyed out, until the YAML is fixed.
    brokenLine = form.line;
    brokenText.textContent = `Fix the YAML at line ${form.line}: ${form.message}`;
  } else {
    brokenLine = null;
    const odd = new Set(form.odd);
    for (const [key, c] of controls) c.setValue(form.values[key], odd.has(key), form.written[key]);
  }
  for (const c of controls.values()) c.setEnabled(form.ok && m.editable);

  const byField = new Map<FieldControl, FieldProblem[]>();
  const byGroup = new Map<string, FieldProblem[]>();
  const whole: FieldProblem[] = [];
  for (const p of m.problems) {
    const c = p.key ? fieldOf(p.key) : undefined;
    if (c) byField.set(c, [...(byField.get(c) ?? []), p]);
    else if (p.key && groupProblems.has(p.key.split('.')[0])) byGroup.set(p.key.split('.')[0], [...(byGroup.get(p.key.split('.')[0]) ?? []), p]);
    else whole.push(p);
  }
  if (form.ok) for (const c of controls.values()) if (!form.odd.includes(c.field.key)) c.setProblems(byField.get(c) ?? []);
  for (const [key, ul] of groupProblems) {
    const list = byGroup.get(key) ?? [];
    ul.replaceChildren(...list.map(problemItem));
    ul.hidden = list.length === 0;
  }
  // A YAML error is the banner's; anything else about the whole file is listed under the header.
  const fileLevel = form.ok ? whole : whole.filter((p) => !/YAML|line \d/.test(p.message));
  fileProblems.replaceChildren(...fileLevel.map(problemItem));
  fileProblems.hidden = fileLevel.length === 0;
  const errors = m.problems.filter((p) => p.severity === 'error').length;
  document.body.dataset.errors = String(errors);

  const e = m.estimate;
  estimateEl.dataset.state = e.state;
  estimateText.textContent = e.short;
  estimateText.title = e.tooltip;
  estimateFacts.replaceChildren(...e.facts.map((f) => { const li = document.createElement('li'); li.textContent = f; return li; }));
}

window.addEventListener('message', (event: MessageEvent) => {
  const m = parseHostMessage(event.data);
  if (!m) {
    vscode.postMessage({ type: 'error', message: `dropped an invalid message from the host: ${JSON.stringify(event.data)?.slice(0, 200)}` });
    return;
  }
  try {
    if (m.type === 'state') showState(m);
    else controls.get(m.key)?.refuse(m.message);
  } catch (err) {
    vscode.postMessage({ type: 'error', message: `could not show the state: ${err instanceof Error ? err.message : String(err)}` });
  }
});

// CSP violations are counted where the end-to-end test can read them.
let violations = 0;
document.body.dataset.cspViolations = '0';
document.addEventListener('securitypolicyviolation', () => { document.body.dataset.cspViolations = String(++violations); });

vscode.postMessage({ type: 'ready' });
