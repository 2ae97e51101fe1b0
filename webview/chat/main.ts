// Chat panel (browser side): announces `ready`, draws the conversation the host sends, streams tokens into
// their panes, and turns the person's clicks into validated messages. The host holds the conversation; this
// page only mirrors it, so a reload or a hidden panel loses nothing.
import './toolkit';
import { AnswerCard, el, type AnswerAction } from './answerCard';
import { paneLabel, SAMPLING_LIMITS } from '../../src/core/chat/conversation';
import { parseHostMessage, type ChatSampling, type Conversation, type LinkStatus, type PaneTarget, type WebviewMessage } from './protocol';
import type { Button } from './toolkit';

declare function acquireVsCodeApi(): { postMessage(message: WebviewMessage): void };

const vscode = acquireVsCodeApi();
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const turnsEl = $('turns');
const emptyEl = $('empty');
const chips = $('pane-chips');
const heads = $('pane-heads');
const addPane = $<HTMLSelectElement>('add-pane');
const system = $<HTMLTextAreaElement>('system');
const prompt = $<HTMLTextAreaElement>('prompt');
const send = $<Button>('send');
const stop = $<Button>('stop');
const newChat = $<Button>('new-chat');
const banner = $('link-banner');
const notice = $('notice');
const numbers: Record<keyof ChatSampling, HTMLInputElement> = {
  temperature: $('temperature'), topP: $('top-p'), maxNewTokens: $('max-new-tokens'), seed: $('seed'),
};

let conversation: Conversation | undefined;
let targets: PaneTarget[] = [];
let link: LinkStatus = { connected: false, reason: 'connecting to the agent…' };
/** cards[turn][pane] */
let cards: AnswerCard[][] = [];
/**
 * Per answer ("turn/pane"): pieces streamed in this page, when the first came and when it finished. Shown as
 * data attributes that survive re-renders; the end-to-end test reads them to tell streaming from one late blob.
 */
const streamed = new Map<string, { pieces: number; firstAt: number; doneAt: number }>();

function markStreamed(turn: number, pane: number, change: 'piece' | 'done'): void {
  const key = `${turn}/${pane}`;
  const s = streamed.get(key) ?? { pieces: 0, firstAt: 0, doneAt: 0 };
  if (change === 'piece') {
    s.pieces += 1;
    if (s.pieces === 1) s.firstAt = Date.now();
  } else if (!s.doneAt) s.doneAt = Date.now();
  streamed.set(key, s);
  applyStreamed(turn, pane);
}

function applyStreamed(turn: number, pane: number): void {
  const s = streamed.get(`${turn}/${pane}`);
  const card = cards[turn]?.[pane];
  if (!s || !card) return;
  card.element.dataset.pieces = String(s.pieces);
  card.element.dataset.firstPieceAt = String(s.firstAt);
  if (s.doneAt) card.element.dataset.doneAt = String(s.doneAt);
}

// A CSP violation would silently break the panel; count them where the end-to-end test can read them.
let cspViolations = 0;
document.body.dataset.cspViolations = '0';
document.addEventListener('securitypolicyviolation', (e) => {
  cspViolations += 1;
  document.body.dataset.cspViolations = String(cspViolations);
  vscode.postMessage({ type: 'error', message: `CSP blocked ${e.blockedURI || 'inline code'} (${e.violatedDirective})` });
});

for (const [key, input] of Object.entries(numbers) as Array<[keyof ChatSampling, HTMLInputElement]>) {
  input.min = String(SAMPLING_LIMITS[key].min);
  input.max = String(SAMPLING_LIMITS[key].max);
  input.addEventListener('input', sendSettings);
}
system.addEventListener('input', sendSettings);

function sendSettings(): void {
  if (!conversation) return;
  const read = (key: keyof ChatSampling) => {
    const v = Number(numbers[key].value);
    const { min, max } = SAMPLING_LIMITS[key];
    const ok = numbers[key].value.trim() !== '' && Number.isFinite(v) && v >= min && v <= max && (key === 'temperature' || key === 'topP' || Number.isInteger(v));
    numbers[key].classList.toggle('invalid', !ok);
    numbers[key].title = ok ? '' : `${min} to ${max}${key === 'maxNewTokens' || key === 'seed' ? ', a whole number' : ''}`;
    return ok ? v : conversation!.sampling[key];
  };
  const sampling: ChatSampling = { temperature: read('temperature'), topP: read('topP'), maxNewTokens: read('maxNewTokens'), seed: read('seed') };
  conversation = { ...conversation, system: system.value, sampling };
  vscode.postMessage({ type: 'settings', system: system.value, sampling });
}

function submit(): void {
  const text = prompt.value;
  if (!text.trim() || !canSend()) return;
  sendSettings();
  vscode.postMessage({ type: 'send', text });
  prompt.value = '';
}

send.addEventListener('click', submit);
prompt.addEventListener('keydown', (e) => {
  if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) {
    e.preventDefault();
    submit();
  }
});
stop.addEventListener('click', () => vscode.postMessage({ type: 'stop' }));
newChat.addEventListener('click', () => vscode.postMessage({ type: 'clear' }));
addPane.addEventListener('change', () => {
  const picked = targets[Number(addPane.value)];
  addPane.value = '';
  if (picked && conversation) vscode.postMessage({ type: 'setPanes', panes: [...conversation.panes, picked] });
});

const streaming = () => conversation?.turns.at(-1)?.answers.some((a) => a.finish === null) ?? false;
const canSend = () => link.connected && !streaming();

function onAction(action: AnswerAction, turn: number, pane: number): void {
  if (action === 'copy' || action === 'promote' || action === 'prefer') vscode.postMessage({ type: action, turn, pane });
}

function onSaveEdit(turn: number, pane: number, text: string): void {
  const answer = conversation?.turns[turn]?.answers[pane];
  if (answer) answer.text = text;
  if (answer) answer.edited = true;
  vscode.postMessage({ type: 'edit', turn, pane, text });
}

function renderAll(): void {
  if (!conversation) return;
  const c = conversation;
  document.body.style.setProperty('--panes', String(c.panes.length));
  chips.replaceChildren(...c.panes.map((p, i) => {
    const chip = el('span', 'chip');
    chip.append(el('span', 'chip-label', paneLabel(p, c.panes)));
    if (c.panes.length > 1) {
      const remove = el('button', 'chip-remove', '×') as HTMLButtonElement;
      remove.title = `Remove ${paneLabel(p, c.panes)}`;
      remove.setAttribute('aria-label', remove.title);
      remove.addEventListener('click', () => vscode.postMessage({ type: 'setPanes', panes: c.panes.filter((_, j) => j !== i) }));
      chip.append(remove);
    }
    return chip;
  }));
  const taken = new Set(c.panes.map((p) => `${p.runId}/${p.adapter}`));
  const options = [el('option', '', c.panes.length >= 4 ? 'Four panes at most' : 'Add pane…')];
  targets.forEach((t, i) => {
    if (taken.has(`${t.runId}/${t.adapter}`)) return;
    const o = el('option', '', paneLabel(t, [...c.panes, t])) as HTMLOptionElement;
    o.value = String(i);
    options.push(o);
  });
  (options[0] as HTMLOptionElement).value = '';
  addPane.replaceChildren(...options);
  heads.replaceChildren(...c.panes.map((p) => el('div', 'pane-head', paneLabel(p, c.panes))));
  if (document.activeElement !== system) system.value = c.system;
  for (const [key, input] of Object.entries(numbers) as Array<[keyof ChatSampling, HTMLInputElement]>) {
    if (document.activeElement !== input) input.value = String(c.sampling[key]);
    input.classList.remove('invalid');
  }
  cards = [];
  const turnEls = c.turns.map((t, turn) => {
    const row = el('section', 'turn');
    row.dataset.turn = String(turn);
    row.append(el('div', 'user', t.user));
    const answers = el('div', 'answers');
    cards[turn] = t.answers.map((a, pane) => {
      const card = new AnswerCard(a, { turn, pane, canPrefer: c.panes.length > 1, onAction, onSaveEdit });
      answers.append(card.element);
      return card;
    });
    t.answers.forEach((_, pane) => applyStreamed(turn, pane));
    row.append(answers);
    return row;
  });
  turnsEl.replaceChildren(...(turnEls.length ? turnEls : [emptyEl]));
  renderControls();
  turnsEl.lastElementChild?.scrollIntoView({ block: 'end' });
}

function renderControls(): void {
  const live = streaming();
  send.disabled = !canSend();
  stop.disabled = !live || !link.connected;
  newChat.disabled = live;
  addPane.disabled = live || !link.connected || (conversation?.panes.length ?? 0) >= 4;
  for (const b of Array.from(chips.querySelectorAll('button'))) (b as HTMLButtonElement).disabled = live;
  for (const row of cards) for (const card of row) card.setDisabled(!link.connected);
  document.body.classList.toggle('offline', !link.connected);
  document.body.dataset.streaming = String(live);
  banner.hidden = link.connected;
  banner.textContent = link.connected ? '' : `No link to the agent: ${link.reason}. The conversation stays; controls return with the link.`;
}

let noticeTimer: number | undefined;
function showNotice(level: 'info' | 'error', text: string): void {
  notice.textContent = text;
  notice.dataset.level = level;
  notice.hidden = false;
  window.clearTimeout(noticeTimer);
  if (level === 'info') noticeTimer = window.setTimeout(() => (notice.hidden = true), 8000);
}

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  const m = parseHostMessage(event.data);
  if (!m) {
    vscode.postMessage({ type: 'error', message: `chat panel ignored an invalid message: ${JSON.stringify(event.data)?.slice(0, 200)}` });
    return;
  }
  switch (m.type) {
    case 'init':
      // A new chat starts its turn numbers again; what streamed before belongs to the old one.
      if (m.conversation.turns.length < (conversation?.turns.length ?? 0)) streamed.clear();
      conversation = m.conversation;
      targets = m.targets;
      link = m.link;
      renderAll();
      return;
    case 'token': {
      const answer = conversation?.turns[m.turn]?.answers[m.pane];
      if (!answer || answer.finish !== null) return; // a token for a finished or unknown answer: stale
      answer.text += m.text;
      cards[m.turn]?.[m.pane]?.appendToken(m.text);
      markStreamed(m.turn, m.pane, 'piece');
      return;
    }
    case 'done': {
      const turn = conversation?.turns[m.turn];
      if (!turn || m.pane >= turn.answers.length) return;
      turn.answers[m.pane] = m.answer;
      cards[m.turn]?.[m.pane]?.update(m.answer);
      markStreamed(m.turn, m.pane, 'done');
      renderControls();
      return;
    }
    case 'link':
      link = m.link;
      renderControls();
      return;
    case 'notice':
      showNotice(m.level, m.text);
      return;
  }
});

vscode.postMessage({ type: 'ready' });
