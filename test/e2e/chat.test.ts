// End to end in a real VS Code (code-server) and Chromium: a real tiny-model run saves two checkpoints, then
// the chat panel talks to the base model and both checkpoints at once. Tokens stream into the three panes,
// Stop cancels, an edited answer is promoted into a dataset file and a preference pair written, both read
// back by the agent's own reader; the panel greys out when the agent link drops and keeps its conversation
// when it is closed and opened again. One code-server session for all of it.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Frame, Page } from 'playwright-core';
import { openSession, python, repo, results, type Session } from './session';
import { GiveUp, waitFor } from './waitFor';
import { findFrame, openFile, pickItem, runCommand } from './workbench';
import { makeTinyModel, runConfig, writeDataset } from '../support/trainingFixture';

const RUN_NAME = 'chat-tiny';
const CONFIG = 'chat.tunelab.yaml';
const SFT_FILE = 'sft.jsonl';
const SFT_ROWS = [
  { messages: [{ role: 'user', content: 'Say hi.' }, { role: 'assistant', content: 'hi' }] },
  { messages: [{ role: 'user', content: 'Say bye.' }, { role: 'assistant', content: 'bye' }] },
];
const SAVED_ON_DISK = { messages: [{ role: 'user', content: 'written by an editor meanwhile' }, { role: 'assistant', content: 'kept' }] };
/** Markdown with a code block, plus what a hostile answer might carry: it must show as text. */
const EDITED = 'Edited: **positive**.\n\n```python\nprint("ok")\n```\n\n<img src=x onerror="document.body.dataset.pwned=1"> <script>document.body.dataset.pwned=2</script>';

let session: Session | undefined;
let page: Page;
let agentRoot: string;
let workspace: string;

function prepare(dir: string): void {
  writeDataset(join(dir, 'train.jsonl'), 2);
  // 8 steps, a checkpoint every 4: checkpoint-4 and checkpoint-8 to talk to.
  writeFileSync(join(dir, CONFIG), runConfig({ name: RUN_NAME, maxSteps: 8, evalSteps: 4, saveSteps: 4 }));
  writeFileSync(join(dir, SFT_FILE), SFT_ROWS.map((r) => JSON.stringify(r)).join('\n') + '\n');
  makeTinyModel(python, join(dir, 'model'), join(dir, 'train.jsonl'));
}

before(async () => {
  session = await openSession({ name: 'chat', trusted: true, prepareWorkspace: prepare });
  ({ page, agentRoot, workspace } = session);
});

after(async () => {
  await session?.close();
});

/** What the agent's reader (the one training uses) makes of a dataset file. */
function readBack(path: string): { format: string; bad: string[]; samples: Array<Record<string, unknown>> } {
  const script = [
    'import json, sys, dataclasses',
    'from tunelab_agent.data.formats import read_rows',
    'rows = read_rows(sys.argv[1])',
    'print(json.dumps({"format": rows.format, "bad": [b.describe() for b in rows.bad], "samples": [dataclasses.asdict(s) for s in rows.samples]}))',
  ].join('\n');
  return JSON.parse(execFileSync(python, ['-c', script, path], { cwd: repo, encoding: 'utf8', env: { ...process.env, PYTHONPATH: join(repo, 'python-agent') } }));
}

interface CardState { pane: number; finish: string; pieces: number; firstAt: number; doneAt: number; text: string; stats: string }

const cardsOf = (frame: Frame, turn: number): Promise<CardState[]> => frame.$$eval(`.answer[data-turn="${turn}"]`, (els) => els.map((e) => {
  const d = (e as HTMLElement).dataset;
  return {
    pane: Number(d.pane), finish: d.finish ?? '', pieces: Number(d.pieces ?? 0), firstAt: Number(d.firstPieceAt ?? 0), doneAt: Number(d.doneAt ?? 0),
    text: e.querySelector('.body')?.textContent ?? '', stats: e.querySelector('.stats')?.textContent ?? '',
  };
}));

const notice = (frame: Frame) => frame.$eval('#notice', (e) => ((e as HTMLElement).hidden ? '' : e.textContent ?? ''));
const disabled = (frame: Frame, selector: string) => frame.$eval(selector, (b) => (b as HTMLElement & { disabled: boolean }).disabled);

async function setNumber(frame: Frame, id: string, value: string): Promise<void> {
  await frame.fill(`#${id}`, value);
}

async function say(frame: Frame, text: string): Promise<void> {
  await frame.fill('#prompt', text);
  await frame.click('#send');
}

async function openChat(): Promise<Frame> {
  await runCommand(page, 'Tunelab: Chat with Checkpoints…');
  await pickItem(page, RUN_NAME);
  // The multi-select opens with the base and the newest checkpoints (or the kept panes) ticked: accept them.
  await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'checkpoint-8' }).first().waitFor({ timeout: 60_000 });
  await page.keyboard.press('Enter');
  const frame = await findFrame(page, '#prompt', 'the chat webview', 90_000);
  // The page asks with `ready`; the panes are drawn once the host's `init` arrives.
  await waitFor('the chat panes', async () => (await frame.$$('.pane-head')).length === 3 || undefined, { timeoutMs: 30_000 });
  return frame;
}

let frame: Frame;

test('a short real run saves two checkpoints', { timeout: 300_000 }, async () => {
  await openFile(page, CONFIG);
  await runCommand(page, 'Tunelab: Start Run');
  const metrics = await findFrame(page, '#run-name', 'the metrics webview of the run', 120_000, RUN_NAME);
  await waitFor('the run to complete', async () => {
    const state = await metrics.$eval('#run-state', (e) => e.textContent);
    if (state === 'failed' || state === 'stopped') throw new GiveUp(`the run ended ${state}: ${await metrics.$eval('#run-error', (e) => e.textContent)}`);
    return state === 'completed' || undefined;
  }, { timeoutMs: 240_000, intervalMs: 500 });
  const runId = readdirSync(join(agentRoot, 'runs')).find((r) => r.includes(RUN_NAME))!;
  assert.deepEqual(readdirSync(join(agentRoot, 'runs', runId, 'checkpoints')).filter((c) => c.startsWith('checkpoint-')).sort(), ['checkpoint-4', 'checkpoint-8']);
});

test('three panes (base + two checkpoints) stream one answer each at once, with TTFT, tokens/s and finish reason', { timeout: 240_000 }, async () => {
  frame = await openChat();
  assert.deepEqual(await frame.$$eval('.pane-head', (els) => els.map((e) => e.textContent)), ['base', 'checkpoint-4', 'checkpoint-8']);
  await setNumber(frame, 'temperature', '0');
  await setNumber(frame, 'max-new-tokens', '24');
  await frame.fill('#system', 'Answer with one word.');
  await say(frame, 'Classify the sentiment.\n\nWhat a great day');

  const cards = await waitFor('every pane to finish its answer', async () => {
    const c = await cardsOf(frame, 0);
    return c.length === 3 && c.every((x) => x.finish !== 'streaming') ? c : undefined;
  }, { timeoutMs: 180_000, intervalMs: 100 });
  for (const c of cards) {
    assert.match(c.finish, /^(eos|length)$/, `pane ${c.pane} finished normally: ${c.stats}`);
    assert.match(c.stats, new RegExp(`^TTFT \\d+ ms · [\\d.]+ tokens/s · ${c.finish}$`), `pane ${c.pane} shows its figures`);
    assert.ok(c.pieces >= 1, `pane ${c.pane} received streamed pieces (${c.pieces})`);
  }
  // Streaming, not one blob at the end: the pane that wrote most got it in several pieces, and every pane had
  // its first piece before any pane finished (one batched request decodes them together).
  assert.ok(Math.max(...cards.map((c) => c.pieces)) > 3, `pieces per pane: ${cards.map((c) => c.pieces).join(', ')}`);
  assert.ok(Math.max(...cards.map((c) => c.firstAt)) <= Math.min(...cards.map((c) => c.doneAt)),
    `first pieces ${cards.map((c) => c.firstAt).join(', ')} vs done ${cards.map((c) => c.doneAt).join(', ')}`);
  assert.equal(await disabled(frame, '#send'), false, 'Send is back once every pane finished');
  assert.equal(await disabled(frame, '#stop'), true);
  assert.equal(await frame.$eval('body', (b) => b.dataset.cspViolations), '0');
  await page.screenshot({ path: join(results, 'e2e-chat-streamed.png') });
});

test('a second turn streams into every pane at once, each with its own history, and Stop cancels it', { timeout: 180_000 }, async () => {
  await setNumber(frame, 'temperature', '1');
  await setNumber(frame, 'max-new-tokens', '4000');
  await say(frame, 'Tell me a very long story.');
  await waitFor('the base pane to stream', async () => ((await cardsOf(frame, 1))[0]?.pieces ?? 0) > 2 || undefined, { timeoutMs: 60_000, intervalMs: 50 });
  assert.equal(await disabled(frame, '#send'), true, 'Send waits while the turn streams');
  const stopAt = Date.now();
  await frame.click('#stop');
  const cards = await waitFor('every pane to end after Stop', async () => {
    const c = await cardsOf(frame, 1);
    return c.every((x) => x.finish !== 'streaming') ? c : undefined;
  }, { timeoutMs: 30_000, intervalMs: 50 });
  const ended = Date.now() - stopAt;
  // A later turn asks each pane with its own first answer, still in one batch: every pane streams at once.
  for (const c of cards) assert.ok(c.pieces >= 1, `pane ${c.pane} streamed (${c.pieces} pieces): ${c.stats}`);
  assert.ok(Math.max(...cards.map((c) => c.firstAt)) <= Math.min(...cards.map((c) => c.doneAt)),
    `first pieces ${cards.map((c) => c.firstAt).join(', ')} vs done ${cards.map((c) => c.doneAt).join(', ')}`);
  // The random-weight base model rarely says EOS; at temperature 1 over 4,000 tokens it is still writing.
  assert.equal(cards[0].finish, 'cancelled', `the base pane: ${cards[0].stats}`);
  for (const c of cards) assert.match(c.finish, /^(cancelled|eos)$/, `pane ${c.pane}: ${c.stats}`);
  assert.ok(ended < 20_000, `the panes ended ${ended} ms after Stop`);
  assert.ok(cards[0].text.length > 0, 'the cancelled pane keeps what it wrote');
  assert.equal(await disabled(frame, '#stop'), true);
});

test('an edited answer renders as Markdown with raw HTML shown as text, and Promote appends it in the file\'s format', { timeout: 120_000 }, async () => {
  const card = frame.locator('.answer[data-turn="0"][data-pane="1"]');
  await card.locator('button.edit').click();
  await card.locator('textarea.editor').fill(EDITED);
  await card.locator('button.save').click();
  await waitFor('the edited answer to render', async () => (await card.locator('.stats').textContent())?.includes('edited') || undefined, { timeoutMs: 10_000 });
  assert.equal(await card.locator('.body pre code').count(), 1, 'the code block is a code block');
  assert.equal(await card.locator('.body strong').textContent(), 'positive');
  assert.equal(await card.locator('.body img, .body script').count(), 0, 'no element came from the answer\'s HTML');
  assert.match(await card.locator('.body').textContent() ?? '', /<img src=x onerror="document.body.dataset.pwned=1"> <script>document.body.dataset.pwned=2<\/script>/);
  assert.equal(await frame.$eval('body', (b) => b.dataset.pwned ?? 'none'), 'none', 'nothing in the answer ran');

  // Copy puts the answer's Markdown source (not the rendered text) on the clipboard, through VS Code.
  await page.context().grantPermissions(['clipboard-read', 'clipboard-write']);
  await card.locator('button.copy').click();
  await waitFor('the copy to be confirmed', async () => (await notice(frame)).includes('copied') || undefined, { timeoutMs: 10_000 });
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), EDITED);

  await card.locator('button.promote').click();
  // While the file picker is open, an editor saves the dataset: the promote must not overwrite that row.
  await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: SFT_FILE }).first().waitFor({ timeout: 30_000 });
  appendFileSync(join(workspace, SFT_FILE), JSON.stringify(SAVED_ON_DISK) + '\n');
  await pickItem(page, SFT_FILE);
  const said = await waitFor('the promote to be confirmed', async () => (await notice(frame)).match(/Appended to/) ? notice(frame) : undefined, { timeoutMs: 30_000 });
  assert.equal(said, `Appended to ${SFT_FILE} at line 4 (openai format); the trainer's reader reads it back.`);

  const lines = readFileSync(join(workspace, SFT_FILE), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.deepEqual(lines.slice(0, 3), [...SFT_ROWS, SAVED_ON_DISK], 'the rows on disk, including the one saved meanwhile, are kept');
  assert.deepEqual(lines[3], { messages: [
    { role: 'system', content: 'Answer with one word.' },
    { role: 'user', content: 'Classify the sentiment.\n\nWhat a great day' },
    { role: 'assistant', content: EDITED },
  ] });
  const back = readBack(join(workspace, SFT_FILE));
  assert.equal(back.format, 'openai');
  assert.deepEqual(back.bad, []);
  assert.equal(back.samples.length, 4);
  assert.deepEqual((back.samples[3].messages as Array<{ content: string }>).at(-1)!.content, EDITED);
  await page.screenshot({ path: join(results, 'e2e-chat-promoted.png') });
});

test('Prefer writes a preference pair (this pane chosen, another rejected) to a new file the agent reads as preference', { timeout: 120_000 }, async () => {
  const before = await cardsOf(frame, 0);
  await frame.locator('.answer[data-turn="0"][data-pane="2"] button.prefer').click();
  // Three panes: the person says which answer is the rejected one.
  await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'checkpoint-4' }).first().waitFor({ timeout: 30_000 });
  await pickItem(page, 'checkpoint-4');
  await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'New file' }).first().waitFor({ timeout: 30_000 });
  await pickItem(page, 'New file', 'New file');
  const input = page.locator('.quick-input-widget .quick-input-box input');
  await waitFor('the new file name box', async () => (await input.inputValue()) === 'preferences.jsonl' || undefined, { timeoutMs: 30_000 });
  await page.keyboard.press('Enter');
  const said = await waitFor('the pair to be confirmed', async () => (await notice(frame)).match(/Pair written/) ? notice(frame) : undefined, { timeoutMs: 30_000 });
  assert.equal(said, 'Pair written to preferences.jsonl at line 1: checkpoint-8 chosen, checkpoint-4 rejected.');
  const path = join(workspace, 'preferences.jsonl');
  assert.ok(existsSync(path));
  const back = readBack(path);
  assert.equal(back.format, 'preference');
  assert.deepEqual(back.bad, []);
  assert.equal(back.samples.length, 1);
  // The page shows the answer as rendered Markdown; compare what Markdown and whitespace leave alone.
  const plain = (t: unknown) => String(t).replace(/[\s*_`#>\-[\]\\~]/g, '');
  assert.equal(plain(back.samples[0].chosen), plain(before[2].text), 'the chosen answer is checkpoint-8\'s');
  assert.notEqual(back.samples[0].chosen, back.samples[0].rejected);
  assert.equal(back.samples[0].rejected, EDITED, 'the rejected one is checkpoint-4\'s as edited');
  assert.deepEqual(back.samples[0].prompt, [
    { role: 'system', content: 'Answer with one word.' },
    { role: 'user', content: 'Classify the sentiment.\n\nWhat a great day' },
  ]);
});

test('a dropped agent link greys out the controls and keeps the conversation; they return with the link', { timeout: 180_000 }, async () => {
  const shown = await cardsOf(frame, 0);
  const { pid } = JSON.parse(readFileSync(join(agentRoot, 'agent.json'), 'utf8')) as { pid: number };
  process.kill(pid, 'SIGKILL');
  await waitFor('the link banner', async () => frame.$eval('#link-banner', (e) => !(e as HTMLElement).hidden || undefined), { timeoutMs: 60_000, intervalMs: 100 });
  assert.equal(await disabled(frame, '#send'), true, 'Send is off without a link');
  assert.equal(await frame.locator('.answer[data-turn="0"][data-pane="0"] button.promote').isDisabled(), true, 'Promote is off without a link');
  assert.deepEqual((await cardsOf(frame, 0)).map((c) => c.text), shown.map((c) => c.text), 'what is drawn stays');
  assert.match(await frame.$eval('#link-banner', (e) => e.textContent ?? ''), /No link to the agent/);
  await page.screenshot({ path: join(results, 'e2e-chat-offline.png') });
  // The extension starts the local agent again on its next reconnect.
  await waitFor('the link to return', async () => frame.$eval('#link-banner', (e) => (e as HTMLElement).hidden || undefined), { timeoutMs: 120_000, intervalMs: 250 });
  assert.equal(await disabled(frame, '#send'), false);
});

test('the conversation is kept per run and comes back when the chat opens again', { timeout: 120_000 }, async () => {
  const shown = await cardsOf(frame, 0);
  await runCommand(page, 'View: Close All Editors');
  await waitFor('the chat panel to close', async () => {
    for (const f of page.frames()) if (await f.$('#prompt').catch(() => null)) return undefined;
    return true;
  }, { timeoutMs: 30_000 });
  frame = await openChat();
  const back = await waitFor('the kept conversation', async () => {
    const c = await cardsOf(frame, 0);
    return c.length === 3 ? c : undefined;
  }, { timeoutMs: 30_000 });
  assert.deepEqual(back.map((c) => [c.finish, c.text]), shown.map((c) => [c.finish, c.text]));
  assert.equal((await cardsOf(frame, 1)).length, 3, 'both turns are back');
  assert.equal(await frame.$eval('#system', (e) => (e as HTMLTextAreaElement).value), 'Answer with one word.');
  assert.equal(await frame.$eval('#max-new-tokens', (e) => (e as HTMLInputElement).value), '4000');
  assert.match(await frame.locator('.answer[data-turn="0"][data-pane="1"] .stats').textContent() ?? '', /edited/);
  assert.equal(await frame.$eval('body', (b) => b.dataset.cspViolations), '0');
  await page.screenshot({ path: join(results, 'e2e-chat-restored.png') });
});
