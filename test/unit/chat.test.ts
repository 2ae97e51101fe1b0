// The chat panel's logic under plain Node: which requests a turn makes, what is kept in workspace storage,
// the webview protocol's validation both ways, the Markdown renderer's refusal of raw HTML, and the CSP.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { bounded, ChatHistory, MAX_RUNS_KEPT, type KeyValueStore } from '../../src/core/chat/chatHistory';
import {
  clampSampling, emptyAnswer, generateGroups, messagesFor, newConversation, paneLabel, toAgentSampling,
  type Answer, type Conversation, type PaneTarget,
} from '../../src/core/chat/conversation';
import { checkpointArg, insideFolder } from '../../src/core/chat/inputs';
import { defaultPanes } from '../../src/core/chat/targets';
import { chatHtml } from '../../src/vscode/chat/chatHtml';
import { appendMarkdown } from '../../webview/chat/markdown';
import { parseHostMessage, parseWebviewMessage } from '../../webview/chat/protocol';

const pane = (runId: string, adapter: string, runName = runId): PaneTarget => ({ runId, runName, adapter });
const answer = (text: string): Answer => ({ ...emptyAnswer(), text, finish: 'eos', ttftMs: 12, tokensPerSec: 40, newTokens: 3 });

function chat(panes: PaneTarget[], turns: Array<{ user: string; answers: string[] }>, system = ''): Conversation {
  const c = newConversation(panes);
  c.system = system;
  c.turns = turns.map((t) => ({ user: t.user, answers: t.answers.map(answer) }));
  return c;
}

test('the first turn of one run goes out as one batched request with every pane as an adapter', () => {
  const c = chat([pane('r1', 'base'), pane('r1', 'checkpoint-10'), pane('r1', 'checkpoint-20')], [{ user: 'hi', answers: ['', '', ''] }], 'Be brief.');
  const groups = generateGroups(c);
  assert.equal(groups.length, 1);
  assert.deepEqual(groups[0], {
    runId: 'r1', adapters: ['base', 'checkpoint-10', 'checkpoint-20'], panes: [0, 1, 2],
    messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'hi' }],
  });
});

test('a later turn asks each pane with its own earlier answers, in the same batch, other runs\' checkpoints by run id', () => {
  const c = chat([pane('r1', 'base'), pane('r1', 'checkpoint-10'), pane('r2', 'checkpoint-5')], [
    { user: 'hi', answers: ['hello', 'hey', 'yo'] },
    { user: 'and?', answers: ['', '', ''] },
  ]);
  assert.deepEqual(messagesFor(c, 1), [
    { role: 'user', content: 'hi' }, { role: 'assistant', content: 'hey' }, { role: 'user', content: 'and?' },
  ]);
  const groups = generateGroups(c);
  assert.deepEqual(groups.map((g) => [g.runId, g.adapters, g.panes]), [['r1', ['base', 'checkpoint-10', 'r2/checkpoint-5'], [0, 1, 2]]]);
  assert.deepEqual(groups[0].conversations, [0, 1, 2].map((i) => messagesFor(c, i)), 'each adapter with its own history');
  // The prompt of turn 0 for Promote: no later turns leak in.
  assert.deepEqual(messagesFor(c, 2, 0), [{ role: 'user', content: 'hi' }]);
});

test('a first turn sends the one conversation; a pane the batch cannot name twice gets its own request', () => {
  const c = chat([pane('r2', 'checkpoint-5'), pane('r1', 'base'), pane('r2', 'base')], [{ user: 'q', answers: ['', '', ''] }]);
  const groups = generateGroups(c);
  assert.deepEqual(groups.map((g) => [g.runId, g.adapters, g.panes, g.conversations]), [
    ['r2', ['checkpoint-5', 'base'], [0, 1], undefined],
    ['r2', ['base'], [2], undefined],
  ]);
});

test('sampling goes to the agent under its own names and is clamped into its limits', () => {
  assert.deepEqual(toAgentSampling({ temperature: 0.7, topP: 0.9, maxNewTokens: 32, seed: 3 }), { temperature: 0.7, top_p: 0.9, max_new_tokens: 32, seed: 3 });
  assert.deepEqual(clampSampling({ temperature: 9, topP: 0, maxNewTokens: 10.6, seed: -4 }), { temperature: 2, topP: 0.01, maxNewTokens: 11, seed: 0 });
});

test('labels name the run only when panes come from several runs; default panes are the base and the newest checkpoints', () => {
  const one = [pane('r1', 'base', 'demo'), pane('r1', 'checkpoint-10', 'demo')];
  assert.equal(paneLabel(one[1], one), 'checkpoint-10');
  const two = [...one, pane('r2', 'checkpoint-5', 'other')];
  assert.equal(paneLabel(two[2], two), 'other · checkpoint-5');
  const targets = ['base', 'checkpoint-5', 'checkpoint-40', 'checkpoint-10', 'checkpoint-20'].map((a) => pane('r1', a));
  assert.deepEqual(defaultPanes([...targets, pane('r2', 'checkpoint-99')], 'r1').map((p) => p.adapter), ['base', 'checkpoint-10', 'checkpoint-20', 'checkpoint-40']);
});

class MemoryState implements KeyValueStore {
  readonly data = new Map<string, unknown>();
  get(key: string): unknown { return this.data.get(key) === undefined ? undefined : structuredClone(this.data.get(key)); }
  async update(key: string, value: unknown): Promise<void> { if (value === undefined) this.data.delete(key); else this.data.set(key, structuredClone(value)); }
}

test('conversations are kept per run and come back; damaged ones are refused with a warning', async () => {
  const state = new MemoryState();
  const warnings: string[] = [];
  const history = new ChatHistory(state, (w) => warnings.push(w));
  const c = chat([pane('r1', 'base'), pane('r1', 'checkpoint-10')], [{ user: 'hi', answers: ['hello', 'hey'] }], 'sys');
  await history.save('r1', c);
  assert.deepEqual(history.load('r1'), c);
  assert.equal(history.load('r2'), undefined);
  await state.update('tunelab.chat.r3', { panes: 'nope' });
  assert.equal(history.load('r3'), undefined);
  assert.match(warnings[0], /chat history of run r3 .* not a conversation/);
  await history.forget('r1');
  assert.equal(history.load('r1'), undefined);
  assert.deepEqual(history.runs(), []);
});

test('history is bounded: oldest turns go first, and only the most recent runs keep theirs', async () => {
  const long = 'x'.repeat(1000);
  const c = chat([pane('r1', 'base')], Array.from({ length: 50 }, (_, i) => ({ user: `q${i}`, answers: [long] })));
  const b = bounded(c, 10_000);
  assert.ok(JSON.stringify(b).length <= 10_000);
  assert.equal(b.turns.at(-1)!.user, 'q49', 'the newest turn is kept');
  assert.ok(b.turns.length < 50 && b.turns.length > 1);
  const huge = bounded(chat([pane('r1', 'base')], [{ user: 'q', answers: ['y'.repeat(50_000)] }]), 10_000);
  assert.ok(JSON.stringify(huge).length <= 10_000 && huge.turns.length === 1);

  const state = new MemoryState();
  const history = new ChatHistory(state);
  for (let i = 0; i < MAX_RUNS_KEPT + 3; i++) await history.save(`run${i}`, chat([pane(`run${i}`, 'base')], []));
  assert.equal(history.runs().length, MAX_RUNS_KEPT);
  assert.equal(history.load('run0'), undefined, 'the least recent run lost its conversation');
  assert.ok(history.load(`run${MAX_RUNS_KEPT + 2}`));
});

test('the host drops webview messages that do not validate, and takes the ones that do', () => {
  const sampling = { temperature: 0.5, topP: 1, maxNewTokens: 64, seed: 1 };
  assert.deepEqual(parseWebviewMessage({ type: 'ready' }), { type: 'ready' });
  assert.deepEqual(parseWebviewMessage({ type: 'send', text: 'hi' }), { type: 'send', text: 'hi' });
  assert.deepEqual(parseWebviewMessage({ type: 'promote', turn: 0, pane: 2 }), { type: 'promote', turn: 0, pane: 2 });
  assert.deepEqual(parseWebviewMessage({ type: 'settings', system: '', sampling }), { type: 'settings', system: '', sampling });
  const bad: unknown[] = [
    null, 'ready', { type: 'ready', extra: 1 }, { type: 'send', text: '   ' }, { type: 'send', text: 5 },
    { type: 'promote', turn: -1, pane: 0 }, { type: 'prefer', turn: 0, pane: 4 }, { type: 'copy', turn: 0.5, pane: 0 },
    { type: 'settings', system: '', sampling: { ...sampling, topP: 0 } },
    { type: 'settings', system: '', sampling: { ...sampling, maxNewTokens: 1.5 } },
    { type: 'setPanes', panes: [] },
    { type: 'setPanes', panes: [pane('r1', 'base'), pane('r1', 'base')] },
    { type: 'setPanes', panes: [pane('../etc', 'base')] },
    { type: 'setPanes', panes: [pane('r1', 'checkpoint-1/../../x')] },
    { type: 'setPanes', panes: ['base', 'checkpoint-1', 'checkpoint-2', 'checkpoint-3', 'checkpoint-4'].map((a) => pane('r1', a)) },
    { type: 'edit', turn: 0, pane: 0, text: 'x'.repeat(300_000) },
    { type: 'launch' },
  ];
  for (const m of bad) assert.equal(parseWebviewMessage(m), undefined, JSON.stringify(m)?.slice(0, 120));
});

test('the webview drops host messages that do not validate', () => {
  const c = chat([pane('r1', 'base'), pane('r1', 'checkpoint-10')], [{ user: 'hi', answers: ['a', 'b'] }]);
  const link = { connected: true, reason: '' };
  assert.ok(parseHostMessage({ type: 'init', conversation: c, targets: c.panes, link }));
  assert.deepEqual(parseHostMessage({ type: 'token', turn: 0, pane: 1, text: 'x' }), { type: 'token', turn: 0, pane: 1, text: 'x' });
  assert.ok(parseHostMessage({ type: 'done', turn: 0, pane: 1, answer: answer('b') }));
  const broken = structuredClone(c);
  broken.turns[0].answers.pop();
  const bad: unknown[] = [
    { type: 'init', conversation: broken, targets: [], link },
    { type: 'init', conversation: c, targets: [], link: { connected: 'yes', reason: '' } },
    { type: 'token', turn: 0, pane: 1, text: 7 },
    { type: 'done', turn: 0, pane: 0, answer: { ...answer('b'), finish: 'exploded' } },
    { type: 'notice', level: 'debug', text: 'x' },
  ];
  for (const m of bad) assert.equal(parseHostMessage(m), undefined, JSON.stringify(m).slice(0, 120));
});

/** A stand-in for the webview's document: records the tree the builder makes (tags, attributes, text). */
class FakeElement {
  readonly attrs: Record<string, string> = {};
  readonly children: Array<FakeElement | string> = [];
  constructor(readonly tag: string) {}
  append(...nodes: unknown[]): void { this.children.push(...(nodes as Array<FakeElement | string>)); }
  setAttribute(name: string, value: string): void { this.attrs[name] = value; }
  get text(): string { return this.children.map((c) => (typeof c === 'string' ? c : c.text)).join(''); }
  all(): FakeElement[] { return [this, ...this.children.flatMap((c) => (typeof c === 'string' ? [] : c.all()))]; }
}
const fakeDocument = { createElement: (tag: string) => new FakeElement(tag), createTextNode: (text: string) => text };

test('Markdown answers are built as elements and text: code blocks stay, raw HTML, scripts, links and images are text', () => {
  const body = new FakeElement('div');
  appendMarkdown(body, 'Hi <img src=x onerror="alert(1)"> and <script>alert(2)</script> **bold**\n\n```python\nprint("<b>")\n```\n\n[click](javascript:alert(3)) <http://example.com> ![i](http://example.com/x.png)\n\n3. three\n4. four', fakeDocument);
  const tags = body.all().map((e) => e.tag);
  assert.deepEqual([...new Set(tags)].sort(), ['code', 'div', 'li', 'ol', 'p', 'pre', 'strong']);
  assert.match(body.text, /Hi <img src=x onerror="alert\(1\)"> and <script>alert\(2\)<\/script> bold/);
  const code = body.all().find((e) => e.tag === 'code')!;
  assert.deepEqual([code.attrs, code.text], [{ class: 'language-python' }, 'print("<b>")\n']);
  assert.match(body.text, /\[click\]\(javascript:alert\(3\)\) <http:\/\/example\.com> !\[i\]\(http:\/\/example\.com\/x\.png\)/);
  assert.deepEqual(body.all().find((e) => e.tag === 'ol')!.attrs, { start: '3' });
  // Nothing but an ordered list's start and a code block's language class is ever set.
  assert.deepEqual(body.all().flatMap((e) => Object.keys(e.attrs)).sort(), ['class', 'start']);
});

test('the chat page has a strict CSP with its nonces and escapes its title', () => {
  const html = chatHtml({ cspSource: 'vscode-webview://x', scriptUri: 'https://x/chat.js', styleUri: 'https://x/chat.css', scriptNonce: 'SN', styleNonce: 'TN', title: '<run> "a"' });
  const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)![1];
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /script-src 'nonce-SN'(;|$)/);
  assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
  assert.match(html, /<script nonce="SN" src="https:\/\/x\/chat.js">/);
  assert.match(html, /<title>&lt;run&gt; &quot;a&quot;<\/title>/);
});

test('command arguments and new file names are checked', () => {
  assert.deepEqual(checkpointArg({ runId: 'r1', checkpoint: 'checkpoint-10' }), { runId: 'r1', checkpoint: 'checkpoint-10' });
  assert.deepEqual(checkpointArg({ runId: 'r1' }), { runId: 'r1', checkpoint: undefined });
  assert.equal(checkpointArg('r1'), undefined);
  assert.equal(checkpointArg({ runId: 3 }), undefined);
  assert.equal(insideFolder('/ws', 'data/prefs.jsonl'), true);
  assert.equal(insideFolder('/ws', '../prefs.jsonl'), false);
  assert.equal(insideFolder('/ws', '/etc/prefs.jsonl'), false);
  assert.equal(insideFolder('/ws', 'prefs.csv'), false);
});
