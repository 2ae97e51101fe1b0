// What one JSONL row of a dataset looks like to a person: the view model behind the dataset editor's row pane
// and its "Make a negative" action. This is display only: the agent decides what a row means to the trainer
// (its format, whether it is bad), so this guesses generously and never rejects. Rows come from untrusted files
// of any shape, so every reader here takes `unknown` and falls back rather than throwing.

/** Where one value sits in a row: object keys and array indexes from the top, as JSON.parse reads the row. */
export type JsonPath = Array<string | number>;

/**
 * A path is set only where the text shown is exactly one JSON string of the row, so that writing the shown text
 * back to that path is an edit of that string alone; joined, converted or made-up text has none.
 */
export type ToolCall = { id?: string; name: string; arguments: string; argumentsPath?: JsonPath };

export type Turn = {
  role: string;
  content: string;
  /** Where `content` comes from; see ToolCall. */
  path?: JsonPath;
  name?: string;
  toolCalls?: ToolCall[];
  toolCallId?: string;
};

export type AlpacaField = 'system' | 'instruction' | 'input' | 'output';

export type RowView =
  | { kind: 'alpaca'; system?: string; instruction: string; input?: string; output: string; paths?: Partial<Record<AlpacaField, JsonPath>> }
  | { kind: 'chat'; system?: string; systemPath?: JsonPath; turns: Turn[] }
  | { kind: 'preference'; prompt: Turn[]; chosen: Turn[]; rejected: Turn[] }
  | { kind: 'kto'; prompt: Turn[]; completion: Turn[]; desirable: boolean }
  | { kind: 'text'; text: string; path?: JsonPath }
  | { kind: 'other'; value: unknown }
  | { kind: 'empty' }
  | { kind: 'invalid'; error: string };

/** A row's view plus the label chips shown with it, whatever its format. */
export type ViewedRow = RowView & { labels: string[] };

export type PromptMessage = { role: 'system' | 'user' | 'assistant'; content: string };
export type PromptAndAnswer = { messages: PromptMessage[]; answer: string } | { error: string };

export const LABEL_KEY = 'label';

type Obj = Record<string, unknown>;

function isObj(x: unknown): x is Obj {
  return typeof x === 'object' && x !== null && !Array.isArray(x);
}

function has(o: Obj, key: string): boolean {
  return Object.prototype.hasOwnProperty.call(o, key);
}

/** How a path reads to a person and to a screen reader: messages[2].content, meta["a b"]. */
export function pathLabel(path: JsonPath): string {
  return path
    .map((seg, i) => {
      if (typeof seg === 'number') return `[${seg}]`;
      if (/^[A-Za-z_$][\w$]*$/.test(seg)) return i === 0 ? seg : `.${seg}`;
      return `[${JSON.stringify(seg)}]`;
    })
    .join('');
}

/** Any value as text a person can read: strings as they are, nothing as '', the rest as JSON. */
function textOf(x: unknown): string {
  if (typeof x === 'string') return x;
  if (x === null || x === undefined) return '';
  try {
    return JSON.stringify(x) ?? String(x);
  } catch {
    return String(x);
  }
}

/**
 * OpenAI content: a string, null, or a list of parts. Text parts are concatenated with nothing between them,
 * as the common chat templates do; other parts (images, audio) show as a marker so the reader sees they exist.
 */
function contentOf(x: unknown): string {
  if (!Array.isArray(x)) return textOf(x);
  return x
    .map((part) => {
      if (typeof part === 'string') return part;
      if (isObj(part)) {
        if (part.type === 'text' || (part.type === undefined && typeof part.text === 'string')) return textOf(part.text);
        if (typeof part.type === 'string') return `[${part.type}]`;
      }
      return textOf(part);
    })
    .join('');
}

const SHAREGPT_ROLES: Record<string, string> = { human: 'user', gpt: 'assistant' };

/**
 * The one string that contentOf shows for `x`, if there is one: the string itself, or a list holding a single
 * text part. Parts joined or shown as markers are not one value, so they get no path.
 */
function contentPath(x: unknown, at: JsonPath): JsonPath | undefined {
  if (typeof x === 'string') return at;
  if (!Array.isArray(x) || x.length !== 1) return undefined;
  const part = x[0];
  if (typeof part === 'string') return [...at, 0];
  if (isObj(part) && (part.type === 'text' || part.type === undefined) && typeof part.text === 'string') return [...at, 0, 'text'];
  return undefined;
}

function toolCallsOf(x: unknown, at: JsonPath): Turn['toolCalls'] {
  if (!Array.isArray(x) || x.length === 0) return undefined;
  return x.map((call, j) => {
    if (!isObj(call)) return { name: '?', arguments: textOf(call) };
    // Most rows wrap name/arguments in `function`; some writers put them on the call itself.
    const wrapped = isObj(call.function);
    const fn = wrapped ? (call.function as Obj) : call;
    const out: ToolCall = {
      name: typeof fn.name === 'string' ? fn.name : '?',
      arguments: textOf(fn.arguments),
    };
    // Arguments given as an object are shown as JSON made here; only a string is the row's own text.
    if (typeof fn.arguments === 'string') out.argumentsPath = wrapped ? [...at, j, 'function', 'arguments'] : [...at, j, 'arguments'];
    if (typeof call.id === 'string') out.id = call.id;
    return out;
  });
}

/** One message of either dialect (OpenAI role/content or ShareGPT from/value), or a best guess at junk. */
function toTurn(x: unknown, at: JsonPath): Turn {
  if (!isObj(x)) {
    const turn: Turn = { role: 'unknown', content: textOf(x) };
    if (typeof x === 'string') turn.path = at;
    return turn;
  }
  let role: string;
  let content: string;
  let path: JsonPath | undefined;
  if (!has(x, 'role') && has(x, 'from')) {
    const from = typeof x.from === 'string' ? x.from : 'unknown';
    role = SHAREGPT_ROLES[from] ?? from;
    content = contentOf(x.value);
    path = has(x, 'value') ? contentPath(x.value, [...at, 'value']) : undefined;
  } else {
    role = typeof x.role === 'string' ? x.role : 'unknown';
    content = contentOf(x.content);
    path = has(x, 'content') ? contentPath(x.content, [...at, 'content']) : undefined;
  }
  const turn: Turn = { role, content };
  if (path) turn.path = path;
  if (typeof x.name === 'string') turn.name = x.name;
  const calls = toolCallsOf(x.tool_calls, [...at, 'tool_calls']);
  if (calls) turn.toolCalls = calls;
  if (typeof x.tool_call_id === 'string') turn.toolCallId = x.tool_call_id;
  return turn;
}

function turnsOf(x: unknown[], key: string): Turn[] {
  return x.map((t, i) => toTurn(t, [key, i]));
}

/** A preference/KTO field: a string is one turn of `role`, a list is a conversation. */
function sideOf(o: Obj, key: string, role: string): Turn[] {
  const x = o[key];
  if (Array.isArray(x)) return turnsOf(x, key);
  const turn: Turn = { role, content: textOf(x) };
  if (typeof x === 'string') turn.path = [key];
  return [turn];
}

function isSide(x: unknown): boolean {
  return typeof x === 'string' || Array.isArray(x);
}

/** Whether two turns read the same; where they come from in the row does not count. */
function sameTurn(a: Turn, b: Turn): boolean {
  const bare = (t: Turn) => JSON.stringify(t, (k, v) => (k === 'path' || k === 'argumentsPath' ? undefined : v));
  return bare(a) === bare(b);
}

/**
 * Chosen and rejected written as whole conversations repeat the prompt in both; the shared leading turns are
 * shown once as the prompt (as TRL extracts an implicit prompt), and each side keeps at least its last turn.
 * The shared turns keep their paths into `chosen`: an edit there changes chosen's copy only.
 */
function splitImplicitPrompt(chosen: Turn[], rejected: Turn[]): { prompt: Turn[]; chosen: Turn[]; rejected: Turn[] } {
  let n = 0;
  const max = Math.min(chosen.length, rejected.length) - 1;
  while (n < max && sameTurn(chosen[n], rejected[n])) n++;
  return { prompt: chosen.slice(0, n), chosen: chosen.slice(n), rejected: rejected.slice(n) };
}

function labelsOf(o: Obj): string[] {
  const out: string[] = [];
  const push = (s: string) => {
    if (!out.includes(s)) out.push(s);
  };
  const label = o[LABEL_KEY];
  if (typeof label === 'string' || (typeof label === 'number' && Number.isFinite(label))) push(String(label));
  if (Array.isArray(o.labels)) for (const l of o.labels) if (typeof l === 'string') push(l);
  return out;
}

function optionalText(o: Obj, key: string): string | undefined {
  return o[key] === undefined || o[key] === null ? undefined : textOf(o[key]);
}

function classify(o: Obj): RowView {
  if (has(o, 'chosen') && has(o, 'rejected') && isSide(o.chosen) && isSide(o.rejected)) {
    const chosen = sideOf(o, 'chosen', 'assistant');
    const rejected = sideOf(o, 'rejected', 'assistant');
    if (has(o, 'prompt') && isSide(o.prompt)) return { kind: 'preference', prompt: sideOf(o, 'prompt', 'user'), chosen, rejected };
    return { kind: 'preference', ...splitImplicitPrompt(chosen, rejected) };
  }
  if (typeof o[LABEL_KEY] === 'boolean' && isSide(o.prompt) && isSide(o.completion)) {
    return {
      kind: 'kto',
      prompt: sideOf(o, 'prompt', 'user'),
      completion: sideOf(o, 'completion', 'assistant'),
      desirable: o[LABEL_KEY] as boolean,
    };
  }
  const system = typeof o.system === 'string' ? o.system : undefined;
  for (const key of ['messages', 'conversations']) {
    if (Array.isArray(o[key])) {
      const view: RowView = { kind: 'chat', turns: turnsOf(o[key] as unknown[], key) };
      if (system !== undefined) {
        view.system = system;
        view.systemPath = ['system'];
      }
      return view;
    }
  }
  if (has(o, 'instruction') && has(o, 'output')) {
    const view: RowView = { kind: 'alpaca', instruction: textOf(o.instruction), output: textOf(o.output) };
    const input = optionalText(o, 'input');
    if (input !== undefined) view.input = input;
    const sys = optionalText(o, 'system');
    if (sys !== undefined) view.system = sys;
    const paths: Partial<Record<AlpacaField, JsonPath>> = {};
    for (const key of ['system', 'instruction', 'input', 'output'] as const) if (typeof o[key] === 'string') paths[key] = [key];
    view.paths = paths;
    return view;
  }
  if (typeof o.text === 'string') return { kind: 'text', text: o.text, path: ['text'] };
  return { kind: 'other', value: o };
}

function withoutPath(t: Turn): Turn {
  const { path: _path, ...turn } = t;
  if (turn.toolCalls) turn.toolCalls = turn.toolCalls.map(({ argumentsPath: _a, ...call }) => call);
  return turn;
}

/** The view as it reads, with every path taken off (for callers and tests that compare views whole). */
function withoutPaths(v: RowView): RowView {
  switch (v.kind) {
    case 'alpaca': {
      const { paths: _p, ...rest } = v;
      return rest;
    }
    case 'chat': {
      const { systemPath: _s, ...rest } = v;
      return { ...rest, turns: v.turns.map(withoutPath) };
    }
    case 'preference':
      return { ...v, prompt: v.prompt.map(withoutPath), chosen: v.chosen.map(withoutPath), rejected: v.rejected.map(withoutPath) };
    case 'kto':
      return { ...v, prompt: v.prompt.map(withoutPath), completion: v.completion.map(withoutPath) };
    case 'text': {
      const { path: _p, ...rest } = v;
      return rest;
    }
    default:
      return v;
  }
}

export type ViewRowOptions = {
  /** Mark each shown string that is one JSON string of the row with its path (for editing in place). */
  paths?: boolean;
};

/** Classifies one JSONL line (without its line ending) for display. Never throws. */
export function viewRow(text: string, options: ViewRowOptions = {}): ViewedRow {
  if (typeof text !== 'string' || text.trim() === '') return { kind: 'empty', labels: [] };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return { kind: 'invalid', error: e instanceof Error ? e.message : String(e), labels: [] };
  }
  if (!isObj(value)) return { kind: 'other', value, labels: [] };
  try {
    const view = classify(value);
    return { ...(options.paths ? view : withoutPaths(view)), labels: labelsOf(value) };
  } catch {
    // Belt and braces: a row shape nobody thought of still shows, as its JSON.
    return { kind: 'other', value, labels: [] };
  }
}

/** The row's `label` as text (a string or a number), or undefined when it has none or is not a JSON object. */
export function labelOf(text: string): string | undefined {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObj(value)) return undefined;
  const label = value[LABEL_KEY];
  if (typeof label === 'string') return label;
  if (typeof label === 'number' && Number.isFinite(label)) return String(label);
  return undefined;
}

function isPromptRole(role: string): role is PromptMessage['role'] {
  return role === 'system' || role === 'user' || role === 'assistant';
}

/**
 * A conversation's last assistant turn as the answer and what comes before as the prompt. Tool turns and
 * assistant turns that only call tools are left out of the prompt: the new row's messages carry text only, and
 * an assistant turn with no text would teach nothing but an empty reply.
 */
function fromTurns(system: string | undefined, turns: Turn[]): PromptAndAnswer {
  const last = turns[turns.length - 1];
  if (!last) return { error: 'This row has no turns, so there is no answer to copy.' };
  if (last.role !== 'assistant') {
    return { error: `The last turn is a ${last.role} turn, not an assistant answer, so there is no answer to copy.` };
  }
  if (last.content.trim() === '') {
    return {
      error: last.toolCalls?.length
        ? 'The last assistant turn only calls a tool; it has no text answer to copy.'
        : 'The last assistant turn is empty, so there is no answer to copy.',
    };
  }
  const before = turns[turns.length - 2];
  if (!before || before.role !== 'user') {
    return {
      error: before
        ? `The turn before the answer is a ${before.role} turn; the prompt of a negative must end with the user's turn.`
        : 'The answer has no user turn before it to serve as the prompt.',
    };
  }
  const messages: PromptMessage[] = [];
  if (system !== undefined && system.trim() !== '') messages.push({ role: 'system', content: system });
  for (const t of turns.slice(0, -1)) {
    if (!isPromptRole(t.role)) continue;
    if (t.role === 'assistant' && t.content.trim() === '') continue;
    messages.push({ role: t.role, content: t.content });
  }
  return { messages, answer: last.content };
}

/**
 * For "Make a negative": the prompt a new row starts from and the answer it copies (to be rewritten as the bad
 * one). Rows that have no answer say why in one sentence.
 */
export function promptAndAnswer(view: RowView): PromptAndAnswer {
  switch (view.kind) {
    case 'alpaca': {
      if (view.output.trim() === '') return { error: "This row's output is empty, so there is no answer to copy." };
      const input = view.input ?? '';
      const user = input.trim() !== '' ? `${view.instruction}\n\n${input}` : view.instruction;
      if (user.trim() === '') return { error: 'This row has no instruction, so there is no prompt to answer.' };
      const messages: PromptMessage[] = [];
      if (view.system !== undefined && view.system.trim() !== '') messages.push({ role: 'system', content: view.system });
      messages.push({ role: 'user', content: user });
      return { messages, answer: view.output };
    }
    case 'chat':
      return fromTurns(view.system, view.turns);
    case 'preference':
      return fromTurns(undefined, [...view.prompt, ...view.chosen]);
    case 'kto':
      return fromTurns(undefined, [...view.prompt, ...view.completion]);
    case 'text':
      return { error: 'A plain text row has no separate prompt and answer, so there is nothing to copy.' };
    case 'other':
      return { error: 'This row is not in a format with a prompt and an answer (Alpaca, chat, preference or KTO).' };
    case 'empty':
      return { error: 'This line is empty, so there is no answer to copy.' };
    case 'invalid':
      return { error: `This line is not valid JSON (${view.error}), so there is no answer to copy.` };
  }
}
