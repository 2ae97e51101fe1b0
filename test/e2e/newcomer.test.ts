// End to end in a real VS Code (code-server) and Chromium, as a newcomer meets Tunelab: a config with several
// mistakes, a run whose loss turns NaN, a model kept outside the workspace, the sample's tiny model missing,
// and telling runs apart in the Runs view and the Show Metrics picker; the run-config form, and the dataset editor on
// a 1 GB file. Everything is real: the agent, torch on the tiny model, the notifications. One code-server session
// for the whole file.
import assert from 'node:assert/strict';
import { appendFileSync, closeSync, cpSync, createReadStream, existsSync, mkdirSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { Locator, Page } from 'playwright-core';
import { makeTinyModel, runConfig, writeDataset } from '../support/trainingFixture';
import { openSession, python, repo, results, type Session } from './session';
import { waitFor } from './waitFor';
import { answerInput, clearNotifications, describeWorkbench, findFrame, openFile, pickItem, recordErrorToasts, runCommand, takeErrorToasts } from './workbench';

const NAN_RUN = 'newcomer-nan';
const OUTSIDE_RUN = 'newcomer-outside';
const CONFIGS = {
  mistakes: 'mistakes.tunelab.yaml',
  nan: 'nan.tunelab.yaml',
  outside: 'outside.tunelab.yaml',
  sample: 'smoke.tunelab.yaml',
  typo: 'typo.tunelab.yaml',
  quantized: 'quantized.tunelab.yaml',
  form: 'form.tunelab.yaml',
};
/** The big file: ~1 GB of 1.6 M chat rows of ~650 bytes, every 997th with a needle. Made here, never stored. */
const BIG_DATASET = 'rows.jsonl';
const BIG_ROWS = 1_600_000;
const POLICY = 'The policy keeps personal data for thirty days, encrypts it at rest, and deletes it on request. ';
const bigRow = (i: number) => JSON.stringify({
  messages: [
    { role: 'system', content: 'You answer questions about the company data policy and cite its clauses by number.' },
    { role: 'user', content: `Question ${i}${i % 997 === 0 ? ' about the zebrafish' : ''}? ${POLICY}` },
    { role: 'assistant', content: `Answer ${i}, é€. ${POLICY}${POLICY}${POLICY}` },
  ],
});
/** A small chat file with a role the trainer does not know (line 2) and a malformed line (line 3). */
const BROKEN_DATASET = 'broken.jsonl';
const chatRow = (q: string, a: string, role = 'assistant') => JSON.stringify({ messages: [{ role: 'user', content: q }, { role, content: a }] });
const BROKEN_LINES = [chatRow('Is 2 prime?', 'Yes.'), chatRow('Is 9 prime?', 'No.', 'bot'), '{"messages": [{"role": "user", "content": "Is 7 prime?"}', chatRow('Is 4 prime?', 'No.')];

/** Writes the big file a batch at a time: 1 GB never becomes one string. */
function writeBigDataset(path: string): void {
  const fd = openSync(path, 'w');
  try {
    for (let start = 0; start < BIG_ROWS; start += 20_000) {
      const rows: string[] = [];
      for (let i = start; i < Math.min(BIG_ROWS, start + 20_000); i++) rows.push(bigRow(i));
      writeSync(fd, `${rows.join('\n')}\n`);
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * The lines of the file that differ from `expected(i)` (the row the file was made with), streamed: a git diff of
 * two 1 GB blobs would hold both in memory, so the check walks the file once and names each changed line.
 */
async function changedLines(path: string, expected: (i: number) => string): Promise<{ lines: number; changed: Array<[number, string]> }> {
  const changed: Array<[number, string]> = [];
  let lines = 0;
  for await (const line of createInterface({ input: createReadStream(path, { encoding: 'utf8', highWaterMark: 1 << 20 }), crlfDelay: Infinity })) {
    if (line !== expected(lines)) changed.push([lines, line]);
    lines++;
  }
  return { lines, changed };
}

let session: Session | undefined;
let page: Page;
let workspace: string;

/** A config a person wrote, comments and all: the form must keep every byte it does not change. */
const FORM_CONFIG = `# Written by hand: the form must not touch these words.
${runConfig({ name: 'form', maxSteps: 4, evalSteps: 2, saveSteps: 2 })
    .replace('  r: 4', '  r: 4              # the adapter\'s rank')
    .replace('  batch_size: 4', '  batch_size: 4     # rows per step')}
# the end
`;

/** A model folder next to the workspace, not inside it: the agent must refuse it until it is allowed. */
const outsideModel = (ws: string) => join(ws, '..', 'models-elsewhere', 'tiny');

function prepare(dir: string): void {
  writeDataset(join(dir, 'train.jsonl'), 2);
  makeTinyModel(python, join(dir, 'model'), join(dir, 'train.jsonl'));
  const short = (name: string) => runConfig({ name, maxSteps: 4, evalSteps: 2, saveSteps: 2 });
  // Three mistakes at three lines: the agent reports each; the person must see each.
  writeFileSync(join(dir, CONFIGS.mistakes), short('mistakes')
    .replace('learning_rate: 0.001', 'learning_rate: fast')
    .replace('batch_size: 4', 'batch_size: 0')
    .replace('  logging_steps: 1', '  logging_steps: 1\n  warmup_step: 3'));
  // A config-level blow-up (python-agent/tests/test_forced_nan_config.py): learning rate 1 and LoRA alpha 1e30
  // overflow the adapter after the first step, so the loss turns NaN on CPU, with no test hook.
  writeFileSync(join(dir, CONFIGS.nan), runConfig({ name: NAN_RUN, maxSteps: 30, evalSteps: 100, saveSteps: 100 })
    .replace('learning_rate: 0.001', 'learning_rate: 1.0').replace('alpha: 8', 'alpha: 1.0e+30'));
  // For the editor's own checks: a misspelt key. For the agent's: 4-bit loading, which needs a GPU this host lacks.
  writeFileSync(join(dir, CONFIGS.typo), short('typo').replace('  warmup_steps: 0', '  warmup_step: 0'));
  writeFileSync(join(dir, CONFIGS.form), FORM_CONFIG);
  writeBigDataset(join(dir, BIG_DATASET));
  writeFileSync(join(dir, BROKEN_DATASET), `${BROKEN_LINES.join('\n')}\n`);
  writeFileSync(join(dir, 'synonyms.yaml'), '# words the augmentation may swap\nprime: [primal]\n');
  writeFileSync(join(dir, CONFIGS.quantized), short('quantized').replace('model: model', 'model:\n  name: model\n  quantization: 4bit'));
  cpSync(join(dir, 'model'), outsideModel(dir), { recursive: true });
  writeFileSync(join(dir, CONFIGS.outside), short(OUTSIDE_RUN).replace('model: model', `model: ${outsideModel(dir)}`));
  // The shipped smoke sample as a newcomer gets it: config and data, no model yet.
  mkdirSync(join(dir, 'samples', 'sentiment'), { recursive: true });
  cpSync(join(repo, 'samples', CONFIGS.sample), join(dir, 'samples', CONFIGS.sample));
  for (const f of ['train.jsonl', 'eval.jsonl']) cpSync(join(repo, 'samples', 'sentiment', f), join(dir, 'samples', 'sentiment', f));
}

before(async () => {
  session = await openSession({ name: 'newcomer', trusted: true, prepareWorkspace: prepare });
  ({ page, workspace } = session);
  await recordErrorToasts(page);
});

after(async () => {
  await session?.close();
});

const toast = (text: string | RegExp): Locator => page.locator('.notifications-toasts .notification-toast', { hasText: text }).first();
const toastButton = (t: Locator, title: string) => t.locator('.monaco-button', { hasText: title }).first();

test('the status bar names where runs train, Reconnect reports its result, and no install channel is made before an install', { timeout: 180_000 }, async () => {
  await page.locator('.part.activitybar .action-item a[aria-label^="Tunelab"]').first().click();
  const item = page.locator('.part.statusbar .statusbar-item', { hasText: 'Tunelab: this machine' }).first();
  await item.waitFor({ timeout: 90_000 });
  assert.match(await item.innerText(), /Tunelab: this machine/);
  await page.locator('.part.statusbar [aria-label$=": connected"]').first().waitFor({ state: 'attached', timeout: 90_000 });

  // A newcomer opens the walkthrough first; its steps are checked off as the session goes (the last test looks).
  await runCommand(page, 'Welcome: Open Walkthrough');
  await pickItem(page, 'Get Started with Tunelab');
  await page.locator('.getting-started-step', { hasText: 'Set up the training agent' }).first().waitFor({ timeout: 30_000 });

  // Reconnect says how it went, rather than a status-bar flicker.
  await runCommand(page, 'Tunelab: Reconnect to Agent');
  await toast(/Tunelab: connected to the agent on this machine \(tunelab-agent /).waitFor({ timeout: 60_000 });

  // The remote-install channel exists only once a remote install starts; this session has none.
  await runCommand(page, 'Output: Show Output Channels');
  const channels = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
  await channels.filter({ hasText: 'Tunelab' }).first().waitFor({ timeout: 20_000 });
  const names = await channels.allInnerTexts();
  assert.ok(!names.some((n) => n.includes('Remote Agent Install')), `no Remote Agent Install channel yet: ${names.join(' | ')}`);
  await page.keyboard.press('Escape');
  assert.deepEqual(await takeErrorToasts(page), []);
  await clearNotifications(page);
});

test('a config with three mistakes: one toast lists them apart, Show All opens each in Problems at its line, no "starting…" beside it', { timeout: 120_000 }, async () => {
  await openFile(page, CONFIGS.mistakes);
  await runCommand(page, 'Tunelab: Start Run');
  const error = toast('invalid run config');
  await error.waitFor({ timeout: 60_000 });
  const text = await error.locator('.notification-list-item-message').innerText();
  assert.match(text, /invalid run config \(3 problems\): /);
  assert.equal(text.split(' │ ').length, 3, `three problems, each set apart: ${text}`);
  for (const key of ['training.learning_rate', 'training.batch_size', 'training.warmup_step']) assert.ok(text.includes(key), `${key} in: ${text}`);
  // The progress toast of this start has closed: the error is alone.
  await page.waitForTimeout(1_000);
  assert.equal(await toast('starting').count(), 0, 'no "starting…" progress toast stays beside the error');

  await toastButton(error, 'Show All').click();
  const markers = page.locator('.markers-panel .monaco-list-row');
  await waitFor('the Problems panel to list the three problems', async () => ((await markers.count()) >= 4 ? true : undefined), { timeoutMs: 30_000 });
  const rows = await markers.allInnerTexts();
  // Once each: the editor's live checks show them at their keys, and the refusal adds none on the same lines.
  assert.equal(rows.filter((r) => /\[Ln \d+, Col \d+\]/.test(r)).length, 3, rows.join('\n'));
  const joined = rows.join('\n');
  assert.match(joined, /training\.learning_rate: expected number[\s\S]*\[Ln 12, Col \d+\]/, joined);
  assert.match(joined, /training\.batch_size: .*[\s\S]*\[Ln 15, Col \d+\]/, joined);
  assert.match(joined, /training\.warmup_step: unknown key[\s\S]*\[Ln 20, Col \d+\]/, joined);
  await page.screenshot({ path: join(results, 'newcomer-config-problems.png') });
  assert.deepEqual(await takeErrorToasts(page), [text.trim()], 'the one error toast is the config error');
  await clearNotifications(page);
});

test('a config is checked as it is typed: a squiggle on a misspelt key, its quick fix, and the agent\'s check on its key', { timeout: 180_000 }, async () => {
  await openFile(page, CONFIGS.typo);
  const editor = page.locator('.editor-instance .monaco-editor').first();
  await editor.locator('.squiggly-error').first().waitFor({ timeout: 30_000 });
  // The quick fix, as a person gets it: the cursor on the key, then Ctrl+. and the preferred fix.
  await editor.locator('.view-line span', { hasText: /^\s*warmup_step$|^warmup_step/ }).first().click();
  await page.keyboard.press('Control+.');
  const fix = page.locator('.action-widget').getByText("Change to 'warmup_steps'").first();
  await fix.waitFor({ timeout: 15_000 }).catch(async (e: Error) => {
    await page.screenshot({ path: join(results, 'newcomer-config-quick-fix-missing.png') });
    throw e;
  });
  await page.screenshot({ path: join(results, 'newcomer-config-quick-fix.png') });
  await page.keyboard.press('Enter'); // the preferred fix is the one focused
  await editor.locator('.view-line', { hasText: 'warmup_steps: 0' }).first().waitFor({ timeout: 10_000 });
  await page.keyboard.press('Control+s');
  await waitFor('the fixed config saved', async () => (readFileSync(join(workspace, CONFIGS.typo), 'utf8').includes('  warmup_steps: 0\n') ? true : undefined), { timeoutMs: 10_000 });
  await waitFor('the squiggle to go', async () => ((await editor.locator('.squiggly-error').count()) === 0 ? true : undefined), { timeoutMs: 15_000 });

  // The estimate beside the text, from the agent's check of what is typed now.
  const estimate = page.locator('.part.statusbar .statusbar-item', { hasText: /≈ [\d.]+ (MB|GiB) · no GPU, (fits|fits once RAM is freed) in RAM/ }).first();
  await estimate.waitFor({ timeout: 60_000 });
  assert.doesNotMatch(await estimate.innerText(), /updating/);

  // The CodeLens above the first line: Estimate runs the launcher's preflight and starts nothing.
  const lens = editor.locator('.codelens-decoration a', { hasText: 'Estimate' }).first();
  await lens.waitFor({ timeout: 30_000 });
  assert.ok(await editor.locator('.codelens-decoration a', { hasText: 'Launch' }).count() > 0, 'Launch beside Estimate');
  const runCount = () => (existsSync(join(session!.agentRoot, 'runs')) ? readdirSync(join(session!.agentRoot, 'runs')).length : 0);
  const runsBefore = runCount();
  await lens.click();
  const box = page.locator('.monaco-dialog-box');
  await box.waitFor({ timeout: 90_000 });
  const report = await box.innerText();
  assert.match(report, /Preflight on this machine: no GPU, (fits|fits once RAM is freed) in RAM; can start, with \d+ warnings?/);
  assert.match(report, /Memory: about [\d.]+ (MB|GiB)/);
  assert.match(report, /training\.gpus: this host has no CUDA GPU/);
  await page.screenshot({ path: join(results, 'newcomer-config-estimate.png') });
  await box.locator('.monaco-button', { hasText: 'OK' }).first().click();
  assert.equal(runCount(), runsBefore, 'Estimate started no run');

  // Compare with…: a diff of the two configs, normalised: the names and the model's shape differ, nothing else.
  await runCommand(page, 'Tunelab: Compare Run Config with…');
  await pickItem(page, CONFIGS.quantized);
  const tab = page.locator('.tabs-container .tab', { hasText: `${CONFIGS.typo} ↔ ${CONFIGS.quantized} (normalised)` }).first();
  await tab.waitFor({ timeout: 30_000 });
  const modified = page.locator('.monaco-diff-editor .editor.modified .view-line');
  await modified.filter({ hasText: 'quantization: 4bit' }).first().waitFor({ timeout: 30_000 });
  const inserted = await page.locator('.monaco-diff-editor .editor.modified .line-insert, .monaco-diff-editor .editor.modified .char-insert').count();
  assert.ok(inserted > 0, 'the diff marks what the other config adds');
  await page.screenshot({ path: join(results, 'newcomer-config-compare.png') });

  // The agent's check: 4-bit loading on a host without a GPU, placed on the quantization key.
  await openFile(page, CONFIGS.quantized);
  await runCommand(page, 'View: Focus Problems (Errors, Warnings, Infos)');
  const markers = page.locator('.markers-panel .monaco-list-row');
  const row = await waitFor('the agent\'s check in Problems', async () => {
    const rows = await markers.allInnerTexts();
    return rows.find((r) => r.includes('model.quantization: 4bit loading needs a CUDA GPU'));
  }, { timeoutMs: 90_000 });
  assert.match(row, /tunelab agent/);
  assert.match(row, /\[Ln 4, Col \d+\]/, row);
  await page.screenshot({ path: join(results, 'newcomer-config-agent-check.png') });
  await clearNotifications(page);
});

test('the form shows the config, writes an edit into the YAML with its comments, undoes it, follows the file, and its estimate follows lora.r and batch_size; Preview dataset shows the rows as trained', { timeout: 300_000 }, async () => {
  const path = join(workspace, CONFIGS.form);
  await openFile(page, CONFIGS.form);
  // The editor title's button, as a person finds it.
  await page.locator('.editor-actions .action-label[aria-label^="Open Run Config as Form"]').first().click();
  const form = await findFrame(page, '#groups .field', 'the run config form', 90_000);
  const value = (key: string) => form.$eval(`#field-${key.replace(/\./g, '-')}-control`, (e) => (e as HTMLInputElement).value);
  const set = async (key: string, text: string) => {
    const input = `#field-${key.replace(/\./g, '-')}-control input`;
    await form.fill(input, text);
    await form.press(input, 'Enter');
  };
  await waitFor('the values as written', async () => ((await value('lora.r')) === '4' ? true : undefined), { timeoutMs: 30_000 });
  assert.equal(await value('training.batch_size'), '4');
  assert.equal(await value('name'), 'form');
  assert.equal(await value('model.name'), 'model');
  assert.equal(await form.$eval('#field-lora-alpha .default', (e) => e.textContent), '', 'a written key shows no default');
  assert.equal(await form.$eval('#field-lora-bias .default', (e) => e.textContent), 'default none');

  // The estimate in the header, from the agent's preflight of this text.
  const estimate = () => form.$eval('#estimate', (e) => ({ state: (e as HTMLElement).dataset.state, text: e.querySelector('#estimate-text')?.textContent ?? '', facts: e.querySelector('#estimate-facts')?.textContent ?? '' }));
  const ready = (after?: string) => waitFor('the estimate', async () => {
    const e = await estimate();
    return e.state === 'ready' && !e.text.includes('updating') && e.facts !== after ? e : undefined;
  }, { timeoutMs: 90_000, intervalMs: 300 });
  const first = await ready();
  assert.match(first.text, /^≈ [\d.]+ (MB|GiB) · no GPU, (fits|fits once RAM is freed) in RAM$/);
  assert.match(first.facts, /Memory: about [\d.]+ (MB|GiB): weights [\d.]+ (MB|GiB), LoRA \+ optimizer [\d.]+ (MB|GiB), activations [\d.]+ (MB|GiB)/);
  // Tokens per epoch from the trainer's own count; no time on a host without a GPU, and it says so.
  assert.match(first.facts, /Per epoch: [\d,]+ tokens in [\d,]+ rows, \d+ steps of 4; no GPU on this host: CPU time is not estimated/);
  await page.screenshot({ path: join(results, 'newcomer-config-form.png') });

  // A form edit is a text edit: only the value changes, the comment after it and every other line stay.
  await set('lora.r', '64');
  await waitFor('the edit in the document', async () => ((await page.locator('.tabs-container .tab.dirty', { hasText: CONFIGS.form }).count()) > 0 ? true : undefined), { timeoutMs: 15_000 });
  const lora = (s: string) => /LoRA \+ optimizer ([\d.]+ (MB|GiB))/.exec(s)?.[1];
  const activations = (s: string) => /activations ([\d.]+ (MB|GiB))/.exec(s)?.[1];
  const afterR = await ready(first.facts);
  assert.notEqual(lora(afterR.facts), lora(first.facts), `LoRA memory follows lora.r: ${first.facts} -> ${afterR.facts}`);
  assert.equal(activations(afterR.facts), activations(first.facts));
  await set('training.batch_size', '32');
  const afterBatch = await ready(afterR.facts);
  assert.notEqual(activations(afterBatch.facts), activations(afterR.facts), `activations follow batch_size: ${afterR.facts} -> ${afterBatch.facts}`);
  await page.keyboard.press('Control+s');
  await waitFor('the form\'s edits saved', async () => (readFileSync(path, 'utf8').includes('batch_size: 32') ? true : undefined), { timeoutMs: 15_000 });
  assert.equal(readFileSync(path, 'utf8'), FORM_CONFIG.replace('  r: 4 ', '  r: 64 ').replace('batch_size: 4 ', 'batch_size: 32 '), 'only the two values changed, byte for byte');

  // One undo reverts one form edit, in the document the text editor shares.
  await form.click('#groups h2');
  await page.keyboard.press('Control+z');
  await waitFor('batch_size back to 4 in the form', async () => ((await value('training.batch_size')) === '4' ? true : undefined), { timeoutMs: 15_000 });
  assert.equal(await value('lora.r'), '64', 'one undo, one edit');
  await page.keyboard.press('Control+s');
  await waitFor('the undo saved', async () => (readFileSync(path, 'utf8').includes('batch_size: 4     # rows per step') ? true : undefined), { timeoutMs: 15_000 });

  // A value the field cannot take is refused beside it and not written; a value out of range is written and
  // marked by the same checks as the text (they name the key).
  await set('lora.dropout', 'lots');
  await form.locator('#field-lora-dropout .problem.error', { hasText: 'lora.dropout: "lots" is not a number' }).waitFor({ timeout: 15_000 });
  await set('lora.dropout', '2');
  await form.locator('#field-lora-dropout .problem.error', { hasText: /lora\.dropout: must be at most 1/ }).waitFor({ timeout: 15_000 });
  assert.equal((await estimate()).state, 'fix');
  await form.locator('#field-lora-dropout').scrollIntoViewIfNeeded();
  await page.screenshot({ path: join(results, 'newcomer-config-form-problem.png') });
  // Undone back to the saved text, the document is clean again: nothing to save.
  await form.click('#groups h2');
  await page.keyboard.press('Control+z');
  await waitFor('dropout back to 0.0', async () => ((await value('lora.dropout')) === '0.0' ? true : undefined), { timeoutMs: 15_000 }).catch(async (e: Error) => {
    await page.screenshot({ path: join(results, 'newcomer-config-form-undo-missed.png') });
    const focus = await form.evaluate(() => `${document.activeElement?.tagName}#${document.activeElement?.id}`);
    throw new Error(`${e.message}; dropout shows ${await value('lora.dropout')}, focus ${focus}, pending ${await form.$eval('#field-lora-dropout-control', (el) => (el as HTMLElement).dataset.pending)}`);
  });
  await waitFor('the document clean again', async () => ((await page.locator('.tabs-container .tab.dirty', { hasText: CONFIGS.form }).count()) === 0 ? true : undefined), { timeoutMs: 15_000 });

  // Edits on disk reach the form; a broken YAML says where, and the form guesses nothing.
  writeFileSync(path, readFileSync(path, 'utf8').replace('  r: 64', '  r: 12'));
  await waitFor('the change on disk in the form', async () => ((await value('lora.r')) === '12' ? true : undefined), { timeoutMs: 30_000 }).catch(async (e: Error) => {
    await page.screenshot({ path: join(results, 'newcomer-config-form-disk-missed.png') });
    throw new Error(`${e.message}; lora.r shows ${await value('lora.r')}; on disk:\n${readFileSync(path, 'utf8')}`);
  });
  writeFileSync(path, readFileSync(path, 'utf8').replace('  alpha: 8', '  alpha: [8'));
  const banner = form.locator('#broken-text');
  await banner.waitFor({ state: 'visible', timeout: 30_000 });
  assert.match(await banner.innerText(), /^Fix the YAML at line \d+: /);
  assert.equal(await form.$eval('#field-lora-r-control', (e) => (e as HTMLElement & { disabled: boolean }).disabled), true, 'fields are read-only until the YAML is fixed');
  assert.equal(await value('lora.r'), '12', 'the last good values stay');
  await page.screenshot({ path: join(results, 'newcomer-config-form-broken.png') });
  assert.equal(await form.$eval('body', (b) => b.dataset.cspViolations), '0');

  // Open as Text shows the same document in the text editor.
  writeFileSync(path, FORM_CONFIG);
  await banner.waitFor({ state: 'hidden', timeout: 30_000 });
  await form.click('#open-text');
  await page.locator('.editor-instance .monaco-editor .view-line', { hasText: '# the adapter\'s rank' }).first().waitFor({ timeout: 30_000 });

  // Preview dataset, above dataset.train: the file opens in the dataset editor beside the config, read as this
  // config's run would read it. The stats come from the agent with the model's tokenizer; the selected row shows
  // the text after the chat template, with the tokens that carry loss set apart.
  const lens = page.locator('.codelens-decoration a', { hasText: 'Preview dataset' }).first();
  await lens.waitFor({ timeout: 30_000 });
  await lens.click();
  const preview = await findFrame(page, '#file-name', 'the dataset editor for train.jsonl', 120_000, 'train.jsonl');
  assert.match(await preview.$eval('#context', (e) => e.textContent ?? ''), /read for form\.tunelab\.yaml · model · max_length \d+/);
  await waitFor('the agent\'s reading of train.jsonl', async () => ((await preview.$eval('body', (b) => b.dataset.inspection)) === 'done' ? true : undefined), { timeoutMs: 120_000 });
  await preview.click('#tab-stats');
  const summary = await preview.$eval('#stats-summary', (e) => e.textContent ?? '');
  assert.match(summary, /alpaca/);
  assert.match(summary, /40/);
  assert.match(summary, /tokenizer/);
  assert.ok(Number(await preview.$eval('#stats-histogram', (e) => (e as HTMLElement).dataset.bins)) > 0, 'the token-length histogram has bins');
  assert.ok(await preview.$eval('#stats-histogram', (e) => (e as HTMLElement).dataset.maxLength), 'max_length is marked on the histogram');
  await page.screenshot({ path: join(results, 'newcomer-dataset-stats.png') });
  await preview.click('#tab-row');
  await preview.click('#grid .row[data-row="0"]');
  await waitFor('the template view of row 1', async () => ((await preview.$$('#template-body .tok.trained')).length > 0 ? true : undefined), { timeoutMs: 120_000 });
  const trained = (await preview.$$eval('#template-body .tok.trained', (t) => t.map((e) => e.textContent ?? '').join(''))).trim();
  const all = await preview.$eval('#template-body', (e) => e.textContent ?? '');
  assert.match(all, /Classify the sentiment\./);
  assert.match(trained, /positive/);
  assert.doesNotMatch(trained, /Classify/, 'the prompt carries no loss');
  assert.ok((await preview.$$('#template-body .tok.untrained')).length > 0, 'the prompt\'s tokens are shown dimmed');
  await page.screenshot({ path: join(results, 'newcomer-dataset-preview.png') });
});

test('the dataset editor opens a 1 GB file at once, jumps to its last row, edits with undo, redo and a one-line save, streams a search, labels three rows from the keyboard and makes a negative', { timeout: 420_000 }, async () => {
  const path = join(workspace, BIG_DATASET);
  // Quick Open shows a file this large as a placeholder in the text editor; the command opens it in the dataset editor.
  await openFile(page, BIG_DATASET);
  await runCommand(page, 'Tunelab: Open in Tunelab Dataset Editor');
  const editor = await findFrame(page, '#file-name', 'the dataset editor', 90_000, BIG_DATASET).catch(async (e: Error) => {
    await page.screenshot({ path: join(results, 'newcomer-dataset-editor-missing.png') });
    throw e;
  });
  // The first page comes from the file's head, before any index.
  await waitFor('the first page', async () => ((await editor.$eval('#grid .row[data-row="0"] .text', (e) => e.textContent).catch(() => null)) === bigRow(0) ? true : undefined), { timeoutMs: 30_000 });
  await page.screenshot({ path: join(results, 'newcomer-dataset-first-page.png') });
  await waitFor('the index', async () => ((await editor.$eval('body', (b) => b.dataset.indexed)) === 'true' ? true : undefined), { timeoutMs: 120_000 });
  assert.equal(await editor.$eval('#row-count', (e) => e.textContent), '1,600,000 rows');
  // A file this big is read by the agent only when asked (tens of seconds of a core): the Stats tab offers it.
  await waitFor('the offer to read the file', async () => ((await editor.$eval('body', (b) => b.dataset.inspection)) === 'idle' ? true : undefined), { timeoutMs: 30_000 });
  assert.equal(await editor.$eval('#inspect-now', (b) => (b as HTMLElement).hidden), false);
  assert.match(await editor.$eval('#stats-pane', (e) => e.textContent ?? ''), /is 0\.\d\d GB: the agent reads it when asked/);
  // Virtualised: a window of rows is in the page, not 1.6 million.
  const drawn = await editor.$$eval('#grid .row', (rows) => rows.length);
  assert.ok(drawn > 10 && drawn < 200, `${drawn} rows in the page`);
  const pane = () => editor.$eval('#pretty', (e) => e.textContent ?? '');

  // The last row, from the keyboard.
  await editor.click('#grid .row[data-row="0"]');
  await page.keyboard.press('Control+End');
  await waitFor('the last row shown', async () => ((await pane()).includes(`Question ${BIG_ROWS - 1}?`) ? true : undefined), { timeoutMs: 30_000 });
  assert.equal(await editor.$eval('#detail-title', (e) => e.textContent), `Row ${BIG_ROWS}`);
  assert.equal(await editor.$eval('#grid .row.selected .num', (e) => e.textContent), String(BIG_ROWS));
  // The row shown by its format: bubbles by role.
  assert.deepEqual(await editor.$$eval('#formatted .bubble', (b) => b.map((e) => Array.from(e.classList).find((c) => c.startsWith('role-')))), ['role-system', 'role-user', 'role-assistant']);
  await page.screenshot({ path: join(results, 'newcomer-dataset-last-row.png') });

  // Go to row 40,000 and edit it.
  await editor.fill('#goto', '40000');
  await editor.press('#goto', 'Enter');
  await waitFor('row 40,000 shown', async () => ((await pane()).includes('Question 39999?') ? true : undefined), { timeoutMs: 30_000 });
  assert.equal(await editor.$eval('#detail-title', (e) => e.textContent), 'Row 40000');
  const changed = bigRow(39999).replace('Answer 39999', 'Answer 39999, checked');
  await editor.fill('#row-text', changed);
  await editor.press('#row-text', 'Enter');
  await waitFor('the edited row in the grid', async () => ((await editor.$eval('#grid .row.selected .text', (e) => e.textContent)) === changed ? true : undefined), { timeoutMs: 15_000 });
  await page.locator('.tabs-container .tab.dirty', { hasText: BIG_DATASET }).first().waitFor({ timeout: 15_000 });
  await page.screenshot({ path: join(results, 'newcomer-dataset-editor.png') });

  // Undo and redo are VS Code's own.
  await editor.click('#detail-title'); // a real click gives the page the keyboard (a row would change the selection)
  await page.keyboard.press('Control+z');
  await waitFor('the row undone', async () => ((await pane()).includes('"Answer 39999, é€.') ? true : undefined), { timeoutMs: 15_000 }).catch(async (e: Error) => {
    await page.screenshot({ path: join(results, 'newcomer-dataset-undo-missed.png') });
    throw new Error(`${e.message}; the pane shows ${await pane()}; ${await describeWorkbench(page)}`);
  });
  await waitFor('the tab clean again', async () => ((await page.locator('.tabs-container .tab.dirty', { hasText: BIG_DATASET }).count()) === 0 ? true : undefined), { timeoutMs: 15_000 });
  await editor.click('#detail-title');
  await page.keyboard.press('Control+y');
  await waitFor('the row redone', async () => ((await pane()).includes('"Answer 39999, checked, é€.') ? true : undefined), { timeoutMs: 15_000 });

  // Save (the file is compared line by line after the next save, which must add exactly the labels to it).
  await page.keyboard.press('Control+s');
  await waitFor('the save finished', async () => ((await page.locator('.tabs-container .tab.dirty', { hasText: BIG_DATASET }).count()) === 0 ? true : undefined), { timeoutMs: 120_000 });

  // Search streams its hits from a worker; Enter again walks them.
  await editor.fill('#search', 'zebrafish');
  await editor.press('#search', 'Enter');
  await waitFor('the search to finish', async () => ((await editor.$eval('body', (b) => b.dataset.searchDone)) ? true : undefined), { timeoutMs: 120_000 });
  const expected = Math.floor((BIG_ROWS - 1) / 997) + 1;
  assert.equal(await editor.$eval('#hits', (e) => e.textContent), `1 of ${expected.toLocaleString('en-US')}`);
  assert.equal(await editor.$eval('#detail-title', (e) => e.textContent), 'Row 1');
  await editor.press('#search', 'Enter');
  assert.equal(await editor.$eval('#detail-title', (e) => e.textContent), 'Row 998');
  await page.screenshot({ path: join(results, 'newcomer-dataset-search.png') });

  // Three rows labelled from the keyboard: a new label on key 1, rows 11-13 selected with Shift, then 1.
  await editor.fill('#new-label', 'keep');
  await editor.press('#new-label', 'Enter');
  assert.equal(await editor.$eval('#label-set .label-key[data-key="1"]', (e) => e.textContent), '1keep');
  await editor.fill('#goto', '11');
  await editor.press('#goto', 'Enter');
  await editor.click('#grid .row[data-row="10"]');
  await page.keyboard.press('Shift+ArrowDown');
  await page.keyboard.press('Shift+ArrowDown');
  assert.equal(await editor.$eval('#selection-info', (e) => e.textContent), '3 rows selected');
  await page.keyboard.press('1');
  const chips = () => editor.$$eval('#grid .row .label-chip', (c) => c.map((e) => `${(e.parentElement as HTMLElement).dataset.row}:${e.textContent}`));
  await waitFor('three rows labelled', async () => ((await chips()).length === 3 ? true : undefined), { timeoutMs: 15_000 });
  assert.deepEqual(await chips(), ['10:keep', '11:keep', '12:keep']);
  await page.screenshot({ path: join(results, 'newcomer-dataset-labels.png') });
  // One step of the undo stack.
  await editor.click('#detail-title');
  await page.keyboard.press('Control+z');
  await waitFor('the three labels undone', async () => ((await chips()).length === 0 ? true : undefined), { timeoutMs: 15_000 });
  await editor.click('#detail-title');
  await page.keyboard.press('Control+y');
  await waitFor('the three labels redone', async () => ((await chips()).length === 3 ? true : undefined), { timeoutMs: 15_000 });
  await page.keyboard.press('Control+s');
  await waitFor('the labels saved', async () => ((await page.locator('.tabs-container .tab.dirty', { hasText: BIG_DATASET }).count()) === 0 ? true : undefined), { timeoutMs: 120_000 });
  const afterLabels = await changedLines(path, bigRow);
  // The edited line, and each labelled line as its old text with one member added at its end; nothing else moved.
  assert.equal(afterLabels.lines, BIG_ROWS);
  assert.deepEqual(afterLabels.changed, [
    ...[10, 11, 12].map((i): [number, string] => [i, `${bigRow(i).slice(0, -1)},"label":"keep"}`]),
    [39999, changed],
  ]);

  // Filters stream like a search: label is "keep" shows just those three rows.
  await editor.selectOption('#search-mode', 'label');
  await editor.fill('#search', 'keep');
  await editor.press('#search', 'Enter');
  await waitFor('the label filter', async () => ((await editor.$eval('body', (b) => b.dataset.searchDone)) && (await editor.$eval('#view-info', (e) => e.textContent)) === '3 of 1,600,000 rows' ? true : undefined), { timeoutMs: 120_000 });
  assert.deepEqual(await editor.$$eval('#grid .row', (rows) => rows.map((r) => (r as HTMLElement).dataset.row)), ['10', '11', '12']);
  await page.screenshot({ path: join(results, 'newcomer-dataset-filter.png') });
  // Sorted longest first, once indexed: the rows with the needle are the longest.
  await editor.selectOption('#show', 'length');
  await waitFor('the rows sorted', async () => ((await editor.$eval('body', (b) => b.dataset.view)) === 'length' ? true : undefined), { timeoutMs: 120_000 });
  const top = () => editor.$eval('#grid .row[data-row] .text', (e) => e.textContent ?? '');
  await waitFor('the longest row on top', async () => (/zebrafish/.test(await top()) ? true : undefined), { timeoutMs: 30_000 })
    .catch(async (e: Error) => { throw new Error(`${e.message}; the top row is ${(await top()).slice(0, 120)}`); });
  assert.equal(await editor.$$eval('#grid .row', (rows) => rows.length < 200), true, 'still virtualised');
  await editor.selectOption('#show', 'all');
  await editor.selectOption('#search-mode', 'text');

  // Make a negative: an edited copy of row 6's answer, saved as the rejected side of a pair beside the file.
  await editor.click('#grid .row[data-row="5"]');
  await editor.click('#negative');
  const answer = await editor.$eval('#negative-text', (e) => (e as HTMLTextAreaElement).value);
  assert.equal(answer, JSON.parse(bigRow(5)).messages[2].content);
  await editor.fill('#negative-text', 'The policy keeps personal data forever and shares it with anyone.');
  await editor.click('#negative-save');
  await waitFor('the pair written', async () => ((await editor.$eval('#notice', (e) => e.textContent ?? '')).includes('Pair written to rows.preference.jsonl at line 1') ? true : undefined), { timeoutMs: 60_000 })
    .catch(async (e: Error) => { throw new Error(`${e.message}; the page says: ${await editor.$eval('#notice', (n) => n.textContent)}`); });
  const pair = JSON.parse(readFileSync(join(workspace, 'rows.preference.jsonl'), 'utf8').trim()) as Record<string, unknown>;
  assert.match(JSON.stringify(pair.chosen), /Answer 5, é€/);
  assert.match(JSON.stringify(pair.rejected), /shares it with anyone/);
  assert.match(JSON.stringify(pair.prompt), /Question 5\?/);
  await page.screenshot({ path: join(results, 'newcomer-dataset-negative.png') });
  assert.equal(await editor.$eval('body', (b) => b.dataset.cspViolations), '0');
  await runCommand(page, 'View: Close All Editors');
});

test('a malformed line and an unknown role show as problems in the grid and the Problems panel, and are fixed in place', { timeout: 240_000 }, async () => {
  const path = join(workspace, BROKEN_DATASET);
  const dirty = () => page.locator('.tabs-container .tab.dirty', { hasText: BROKEN_DATASET }).count();
  await openFile(page, BROKEN_DATASET);
  await runCommand(page, 'Tunelab: Open in Tunelab Dataset Editor');
  const editor = await findFrame(page, '#file-name', 'the dataset editor', 90_000, BROKEN_DATASET);
  const rowCountIs = (n: number) => async () => ((await editor.$eval('#row-count', (e) => e.textContent)) === `${n} rows` ? true : undefined);
  await waitFor('the agent\'s reading', async () => ((await editor.$eval('body', (b) => b.dataset.inspection)) === 'done' ? true : undefined), { timeoutMs: 120_000 });
  const marked = () => editor.$$eval('#grid .row', (rows) => rows.filter((r) => /problem-/.test(r.className)).map((r) => `${Number((r as HTMLElement).dataset.row) + 1}:${Array.from(r.classList).find((c) => c.startsWith('problem-'))}`));
  assert.deepEqual(await marked(), ['2:problem-error', '3:problem-error']);
  // In the Problems panel too, with the file and line.
  await page.keyboard.press('Control+Shift+M');
  const markers = page.locator('.markers-panel .monaco-list-row');
  await waitFor('the dataset problems listed', async () => ((await markers.allInnerTexts()).some((t) => t.includes('not valid JSON')) ? true : undefined), { timeoutMs: 30_000 });
  const listed = (await markers.allInnerTexts()).join('\n');
  assert.match(listed, /broken\.jsonl/);
  assert.match(listed, /role is 'bot'[\s\S]*\[Ln 2, Col 1\]/);
  assert.match(listed, /not valid JSON[\s\S]*\[Ln 3, Col 1\]/);
  await page.screenshot({ path: join(results, 'newcomer-dataset-problems.png') });

  // Only the rows with a problem, then every row again.
  await editor.selectOption('#show', 'problems');
  assert.deepEqual(await editor.$$eval('#grid .row', (rows) => rows.map((r) => (r as HTMLElement).dataset.row)), ['1', '2']);
  await editor.selectOption('#show', 'all');

  // Row 2: its quick fix renames the role.
  await editor.click('#grid .row[data-row="1"]');
  await editor.locator('#row-problems vscode-button.fix', { hasText: 'Rename role "bot" to "assistant"' }).click();
  await waitFor('the role renamed', async () => ((await editor.$eval('#grid .row[data-row="1"] .text', (e) => e.textContent)) === chatRow('Is 9 prime?', 'No.') ? true : undefined), { timeoutMs: 15_000 });
  // Row 3: fixed by hand in the row's text.
  await editor.click('#grid .row[data-row="2"]');
  assert.match(await editor.$eval('#row-problems', (e) => e.textContent ?? ''), /not valid JSON/);
  await page.screenshot({ path: join(results, 'newcomer-dataset-malformed.png') });
  const fixed = chatRow('Is 7 prime?', 'Yes.');
  await editor.fill('#row-text', fixed);
  await editor.press('#row-text', 'Enter');
  await waitFor('the row fixed', async () => ((await editor.$eval('#grid .row[data-row="2"] .text', (e) => e.textContent)) === fixed ? true : undefined), { timeoutMs: 15_000 });
  await editor.click('#detail-title');
  await page.keyboard.press('Control+s');
  // Saved, read again by the agent: no problem left, in the grid or in Problems.
  await waitFor('the file saved', async () => (readFileSync(path, 'utf8') === `${[BROKEN_LINES[0], chatRow('Is 9 prime?', 'No.'), fixed, BROKEN_LINES[3]].join('\n')}\n` ? true : undefined), { timeoutMs: 30_000 });
  await waitFor('no problem left', async () => ((await editor.$eval('body', (b) => b.dataset.inspection)) === 'done' && (await marked()).length === 0 ? true : undefined), { timeoutMs: 60_000 });
  await waitFor('Problems cleared', async () => ((await markers.allInnerTexts()).some((t) => t.includes('broken.jsonl')) ? undefined : true), { timeoutMs: 30_000 });
  await page.screenshot({ path: join(results, 'newcomer-dataset-fixed.png') });

  // A field edited in place in the formatted view: Tab applies it as one edit of the row's line; undo takes it back.
  await editor.click('#grid .row[data-row="0"]');
  // fill, not Ctrl+A and typing: a webview's select-all goes to the workbench and back, after the typed keys.
  const answerField = editor.locator(`#formatted .editable[data-path='["messages",1,"content"]']`);
  await answerField.fill('Yes: 2 is prime.');
  await answerField.press('Tab');
  const first = () => editor.$eval('#grid .row[data-row="0"] .text', (e) => e.textContent);
  await waitFor('the field applied to the row', async () => ((await first()) === chatRow('Is 2 prime?', 'Yes: 2 is prime.') ? true : undefined), { timeoutMs: 15_000 })
    .catch(async (e: Error) => { throw new Error(`${e.message}; row 1 is ${await first()}`); });
  // The row's line box (where Tab went) shows the new line, not the one before the field's edit.
  const lineBox = () => editor.$eval('#row-text', (e) => ({ value: (e as HTMLTextAreaElement).value, focus: document.activeElement?.id || document.activeElement?.className }));
  await waitFor('the line box updated', async () => ((await lineBox()).value === chatRow('Is 2 prime?', 'Yes: 2 is prime.') ? true : undefined), { timeoutMs: 15_000 })
    .catch(async (e: Error) => { throw new Error(`${e.message}; the line box: ${JSON.stringify(await lineBox())}`); });
  await page.screenshot({ path: join(results, 'newcomer-dataset-field-edit.png') });
  await editor.click('#detail-title');
  await page.keyboard.press('Control+z');
  await waitFor('the field edit undone', async () => ((await first()) === BROKEN_LINES[0] && (await dirty()) === 0 ? true : undefined), { timeoutMs: 15_000 });

  // The IOB check finds no tagged rows here, and says so.
  await editor.click('#tool-iob');
  await waitFor('the IOB check', async () => ((await editor.$eval('#notice', (e) => e.textContent ?? '')).includes('IOB check: no row') ? true : undefined), { timeoutMs: 15_000 });

  // Synonym augmentation: from a synonyms file, every chance taken (p = 1), previewed as a diff, applied as one step.
  await editor.click('#tool-synonyms');
  await pickItem(page, 'synonyms.yaml');
  await answerInput(page, '0.7', '1');
  await answerInput(page, '42', '42');
  const apply = toast('Synonym augmentation (p=1): 4 new rows (seed 42)');
  await apply.waitFor({ timeout: 30_000 });
  await page.locator('.tabs-container .tab', { hasText: 'preview' }).first().waitFor({ timeout: 15_000 });
  await page.screenshot({ path: join(results, 'newcomer-dataset-tool-preview.png') });
  await toastButton(apply, 'Apply').click();
  await waitFor('the new rows', rowCountIs(8), { timeoutMs: 15_000 });
  // Each new row right below its source row, marked as augmented.
  const second = () => editor.$eval('#grid .row[data-row="1"] .text', (e) => e.textContent ?? '');
  await waitFor('the augmented row below its source', async () => (/Is 2 primal\?.*"augmented":"synonyms"/.test(await second()) ? true : undefined), { timeoutMs: 15_000 })
    .catch(async (e: Error) => { throw new Error(`${e.message}; row 2 is ${await second()}`); });
  await editor.click('#detail-title');
  await page.keyboard.press('Control+z');
  await waitFor('the new rows undone as one step', rowCountIs(4), { timeoutMs: 15_000 });
  await waitFor('the tab clean', async () => ((await dirty()) === 0 ? true : undefined), { timeoutMs: 15_000 });

  // Changed on disk while clean: the editor reads the file again.
  appendFileSync(path, `${chatRow('Is 11 prime?', 'Yes.')}\n`);
  await waitFor('the file read again', rowCountIs(5), { timeoutMs: 30_000 });
  // While dirty: it asks, and Reload drops the edits for the file as it is on disk.
  await editor.click('#grid .row[data-row="0"]');
  await editor.click('#duplicate');
  await waitFor('the tab dirty', async () => ((await dirty()) === 1 ? true : undefined), { timeoutMs: 15_000 });
  appendFileSync(path, `${chatRow('Is 13 prime?', 'Yes.')}\n`);
  const ask = toast('changed on disk while you have unsaved edits');
  await ask.waitFor({ timeout: 30_000 });
  await toastButton(ask, 'Reload (drop my edits)').click();
  await waitFor('the file on disk, without the edit', async () => ((await dirty()) === 0 && (await rowCountIs(6)()) ? true : undefined), { timeoutMs: 30_000 });
  const sixth = () => editor.$eval('#grid .row[data-row="5"] .text', (e) => e.textContent);
  await waitFor('row 6 read from the file on disk', async () => ((await sixth()) === chatRow('Is 13 prime?', 'Yes.') ? true : undefined), { timeoutMs: 15_000 })
    .catch(async (e: Error) => { throw new Error(`${e.message}; row 6 shows ${await sixth()}`); });
  await runCommand(page, 'View: Close All Editors');
});

test('a run whose loss turns NaN notifies with its cause, and Show Log opens the run\'s log', { timeout: 240_000 }, async () => {
  await openFile(page, CONFIGS.nan);
  await runCommand(page, 'Tunelab: Start Run');
  const nan = toast('NaN or Inf loss');
  await nan.waitFor({ timeout: 180_000 });
  const text = await nan.locator('.notification-list-item-message').innerText();
  // The agent's own words: which value went non-finite, at which step, and what it did about it.
  assert.match(text, new RegExp(`^Tunelab: run ${NAN_RUN}: NaN or Inf loss: training diverged: loss \\S+, grad norm \\S+ at step \\d+; restored the LoRA weights`));
  assert.match(text, /\b(nan|inf)\b/i, 'a value that is not finite is named');
  assert.ok(await nan.locator('.codicon-error').count(), 'shown as an error');
  await page.screenshot({ path: join(results, 'newcomer-nan-notification.png') });
  // The failure that follows says nothing new: no second toast for the same run.
  await page.waitForTimeout(3_000);
  assert.equal(await toast(`run ${NAN_RUN}: failed`).count(), 0, 'the NaN notice is the only one for this run');

  await toastButton(nan, 'Show Log').click();
  const tab = page.locator('.tabs-container .tab', { hasText: 'train.log' }).first();
  await tab.waitFor({ timeout: 30_000 });
  // The log's last metrics line, where the editor opens it, holds the value that was not finite.
  await page.locator('.editor-instance .view-lines', { hasText: /'(inf|nan)'/i }).first().waitFor({ timeout: 10_000 });
  assert.equal((await takeErrorToasts(page)).filter((t) => !t.includes('NaN or Inf loss')).length, 0);
  await clearNotifications(page);
});

test('a model folder outside the workspace is refused with Allow This Folder, which lets the run start and complete', { timeout: 300_000 }, async () => {
  await openFile(page, CONFIGS.outside);
  await runCommand(page, 'Tunelab: Start Run');
  const refused = toast('outside the folders this agent serves');
  await refused.waitFor({ timeout: 60_000 });
  await page.screenshot({ path: join(results, 'newcomer-allow-folder.png') });
  await toastButton(refused, 'Allow This Folder').click();
  const frame = await findFrame(page, '#run-name', 'the metrics panel of the allowed run', 180_000, OUTSIDE_RUN);
  const done = toast(`run ${OUTSIDE_RUN}: completed`);
  await done.waitFor({ timeout: 180_000 });
  assert.equal(await toastButton(done, 'Open Metrics').count(), 1);
  assert.equal(await toastButton(done, 'Chat with Best Checkpoint').count(), 1);
  assert.equal(await frame.$eval('#run-state', (e) => e.textContent), 'completed');
  await page.screenshot({ path: join(results, 'newcomer-completed.png') });
  const errors = await takeErrorToasts(page);
  assert.equal(errors.length, 1, `only the refusal was an error: ${errors.join(' | ')}`);
  assert.match(errors[0], /model: .*outside the folders this agent serves/);
  await clearNotifications(page);
});

test('the sample config\'s missing tiny model is built on request and its run completes', { timeout: 300_000 }, async () => {
  await openFile(page, CONFIGS.sample);
  await runCommand(page, 'Tunelab: Start Run');
  const missing = toast('folder not found');
  await missing.waitFor({ timeout: 60_000 });
  await toastButton(missing, 'Build Tiny Model').click();
  await toast('run smoke: completed').waitFor({ timeout: 240_000 });
  assert.ok(existsSync(join(workspace, 'samples', 'smoke-model', 'config.json')), 'the model was built next to the sample config');
  const errors = await takeErrorToasts(page);
  assert.equal(errors.length, 1, `only the missing model was an error: ${errors.join(' | ')}`);
  await clearNotifications(page);
});

test('runs are told apart by start time and short id, and the Show Metrics picker finds them by state', { timeout: 120_000 }, async () => {
  const title = /^(\S+) \((\d\d:\d\d) · ([0-9a-f]{4})\)/;
  // The Runs view's run rows: the side bar also holds the Hosts and Configs views, and a run's checkpoints.
  const runsPane = page.locator('.part.sidebar .pane', { has: page.locator('.pane-header[aria-label^="Runs"]') });
  const rows = runsPane.locator('.monaco-list-row', { hasText: /\(\d\d:\d\d · [0-9a-f]{4}\)/ });
  // Lists draw only the rows that fit: fold the Hosts and Configs views so the Runs view has the room.
  for (const view of ['Hosts', 'Configs']) {
    const header = page.locator(`.part.sidebar .pane-header[aria-label^="${view}"]`).first();
    if ((await header.getAttribute('aria-expanded')) === 'true') await header.click();
  }
  await waitFor('the three runs in the Runs view', async () => ((await rows.count()) === 3 ? true : undefined), { timeoutMs: 30_000 })
    .catch(async (e: Error) => {
      await page.screenshot({ path: join(results, 'newcomer-runs-view-failed.png') });
      throw e;
    });
  const labels = (await rows.locator('.label-name').allInnerTexts()).map((l) => l.trim());
  for (const l of labels) assert.match(l, title, `a Runs view label with start time and short id: ${l}`);
  assert.equal(new Set(labels.map((l) => title.exec(l)?.[3])).size, 3, `three short ids: ${labels.join(' | ')}`);

  await runCommand(page, 'Tunelab: Show Metrics');
  await page.locator('.quick-input-widget .quick-input-box input').fill('completed');
  const picked = page.locator('.quick-input-widget .quick-input-list .monaco-list-row');
  await waitFor('the picker to list the two completed runs', async () => ((await picked.count()) === 2 ? true : undefined), { timeoutMs: 20_000 });
  const texts = await picked.allInnerTexts();
  assert.ok(texts.every((t) => t.includes('completed')), `every match is completed: ${texts.join(' | ')}`);
  assert.ok(texts.some((t) => t.includes(OUTSIDE_RUN)) && texts.some((t) => t.includes('smoke')), texts.join(' | '));
  assert.ok(!texts.some((t) => t.includes(NAN_RUN)), 'the failed run does not match "completed"');
  await page.screenshot({ path: join(results, 'newcomer-picker.png') });
  // Picked with the keyboard: a hover card from the Runs view can lie over the list and take a click.
  await page.locator('.quick-input-widget .quick-input-box input').fill('smoke');
  await waitFor('one match for smoke', async () => ((await picked.count()) === 1 ? true : undefined), { timeoutMs: 10_000 });
  await page.keyboard.press('Enter');
  await findFrame(page, '#run-name', 'the picked run\'s panel', 60_000, 'smoke');
  await page.locator('.tabs-container .tab', { hasText: /Metrics: smoke \(\d\d:\d\d · [0-9a-f]{4}\)/ }).first().waitFor({ timeout: 10_000 });
  // Show Training Data: the run's config's dataset.train in the dataset editor, read as that config reads it.
  await runCommand(page, 'Tunelab: Show Training Data');
  await page.locator('.quick-input-widget .quick-input-box input').fill(OUTSIDE_RUN);
  await waitFor('one match for the outside run', async () => ((await picked.count()) === 1 ? true : undefined), { timeoutMs: 10_000 });
  await page.keyboard.press('Enter');
  const data = await findFrame(page, '#file-name', 'the run\'s training data', 60_000, 'train.jsonl');
  await waitFor('the config it is read for', async () => (/read for outside\.tunelab\.yaml/.test(await data.$eval('#context', (e) => e.textContent ?? '')) ? true : undefined), { timeoutMs: 30_000 });
  assert.deepEqual(await takeErrorToasts(page), [], 'no error notification on this healthy path');
  assert.equal(readdirSync(join(session!.agentRoot, 'runs')).length, 3, 'nan, outside and smoke: the refused configs made no run');
});

test('New Run Config writes each of the guide\'s presets with its example data, and the editor finds nothing wrong in any', { timeout: 300_000 }, async () => {
  const presets: Array<[string, string]> = [
    ['classification', 'Classification with labels'], ['customer-service', 'Customer-service dialogue'], ['code-dpo', 'Code generation (DPO)'],
    ['continued', 'Continued training'], ['size-7b-2xa100', '7B on 2 × A100'], ['size-13b-4xa100', '13B on 4 × A100'],
    ['size-70b-8xa100', '70B on 8 × A100'], ['size-7b-qlora-1gpu', '7B with QLoRA on one 24 GB GPU'],
  ];
  const status = page.locator('.part.statusbar .statusbar-item', { hasText: /Tunelab: estimating|Tunelab estimate|≈ / }).first();
  for (const [id, title] of presets) {
    await runCommand(page, 'Tunelab: New Run Config…');
    await pickItem(page, title);
    if (id === 'continued') {
      // A second stage starts from a checkpoint of a run this session trained.
      await pickItem(page, OUTSIDE_RUN);
      await page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: 'checkpoint-' }).first().waitFor({ timeout: 30_000 })
        .then(() => pickItem(page, 'checkpoint-'), () => undefined); // one checkpoint is taken without asking
    }
    const box = page.locator('.quick-input-widget .quick-input-box input');
    await box.waitFor({ state: 'visible', timeout: 30_000 });
    await box.fill(`preset-${id}`);
    await page.keyboard.press('Enter');
    const file = `preset-${id}.tunelab.yaml`;
    await page.locator('.tabs-container .tab', { hasText: file }).first().waitFor({ timeout: 30_000 });
    const text = readFileSync(join(workspace, file), 'utf8');
    assert.match(text, new RegExp(`^name: preset-${id}$`, 'm'));
    for (const data of text.matchAll(/^ {2}(?:train|eval): (\S+)/gm)) assert.ok(existsSync(join(workspace, data[1])), `${file}: ${data[1]} was written beside it`);
    if (id === 'continued') assert.match(text, /^ {2}resume_from: \d{8}-\d{6}-newcomer-outside-[0-9a-f]{4}\/checkpoint-\d+ /m);
    // The editor's own checks (YAML, schema, data files) run as the file opens, before its status is drawn: they
    // pass, so the estimate item waits for the agent instead of asking for a fix. (The agent cannot size a Hub
    // model on this machine, which has no Hub, and has no GPU for the size presets: that is about the machine.)
    const shown = await waitFor(`${file}'s status`, async () => (await status.innerText().catch(() => '')) || undefined, { timeoutMs: 30_000 });
    assert.doesNotMatch(shown, /fix the config first/, `${file}: ${shown}`);
  }
  await page.screenshot({ path: join(results, 'newcomer-new-run-config.png') });
});

test('the walkthrough lists its five steps, each with its action, and checks off the ones this session did', { timeout: 120_000 }, async () => {
  await runCommand(page, 'Welcome: Open Walkthrough');
  await pickItem(page, 'Get Started with Tunelab');
  const steps = page.locator('.getting-started-step');
  await steps.first().waitFor({ timeout: 30_000 });
  const titles = await steps.evaluateAll((els) => els.map((e) => e.getAttribute('data-step-id')?.split('#').pop()));
  assert.deepEqual(titles, ['setupAgent', 'openSample', 'launch', 'watchMetrics', 'chat']);
  // The session connected the agent (before this walkthrough was first opened: replayed when it opened), opened
  // run configs, started runs and showed their metrics; it never opened a chat, so that step stays open.
  const checked = async () => page.locator('[data-done-step-id]').evaluateAll((els) =>
    Object.fromEntries(els.map((e) => [e.getAttribute('data-done-step-id')!.split('#').pop(), e.getAttribute('aria-checked')])));
  const want = { setupAgent: 'true', openSample: 'true', launch: 'true', watchMetrics: 'true', chat: 'false' };
  await waitFor('the walkthrough to check off the steps this session did', async () =>
    JSON.stringify(await checked()) === JSON.stringify(want) || undefined, { timeoutMs: 30_000 })
    .catch(async (e: Error) => assert.fail(`${e.message}: ${JSON.stringify(await checked())}`));
  await page.locator('.getting-started-step', { hasText: 'Set up the training agent' }).first().click();
  await page.locator('.getting-started-step .monaco-button', { hasText: 'Set Up Agent Environment' }).first().waitFor({ timeout: 10_000 });
  await page.screenshot({ path: join(results, 'newcomer-walkthrough.png') });
});
