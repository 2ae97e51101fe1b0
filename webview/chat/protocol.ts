// Messages between the chat panel host (extension) and its webview, and their validators.
// Flow: webview -> `ready`; host -> `init` (the whole conversation, the panes that can be added, the link);
// host -> `token` (a piece of one pane's answer) and `done` (that pane's final answer); host -> `init` again
// after anything structural (a new turn, panes changed, a new chat); host -> `link` when the agent link
// drops or returns; host -> `notice` (what Promote/Prefer/Copy did).
// Webview -> `send`, `stop`, `settings` (system prompt and sampling), `setPanes`, `edit`, `copy`, `promote`,
// `prefer`, `clear`. Both sides treat the other as untrusted input: anything that does not validate is dropped.
import type { Answer, ChatSampling, Conversation, PaneTarget } from '../../src/core/chat/conversation';
import { hasKeys, isAnswer, isConversation, isObj, isPaneList, isPaneTarget, isSampling, MAX_TEXT, MAX_TURNS } from '../../src/core/chat/validate';

export type { Answer, ChatSampling, Conversation, PaneTarget } from '../../src/core/chat/conversation';

export interface LinkStatus {
  connected: boolean;
  /** Why not, in words (shown in the banner). */
  reason: string;
}

export type HostMessage =
  | { type: 'init'; conversation: Conversation; targets: PaneTarget[]; link: LinkStatus }
  | { type: 'token'; turn: number; pane: number; text: string }
  | { type: 'done'; turn: number; pane: number; answer: Answer }
  | { type: 'link'; link: LinkStatus }
  | { type: 'notice'; level: 'info' | 'error'; text: string };

/** Which answer an action is about. */
export interface AnswerRef { turn: number; pane: number }

export type WebviewMessage =
  | { type: 'ready' }
  | { type: 'error'; message: string }
  | { type: 'send'; text: string }
  | { type: 'stop' }
  | { type: 'settings'; system: string; sampling: ChatSampling }
  | { type: 'setPanes'; panes: PaneTarget[] }
  | { type: 'edit'; turn: number; pane: number; text: string }
  | { type: 'copy'; turn: number; pane: number }
  | { type: 'promote'; turn: number; pane: number }
  | { type: 'prefer'; turn: number; pane: number }
  | { type: 'clear' };

const isIndex = (v: unknown, max: number): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0 && v < max;
const isLink = (v: unknown): v is LinkStatus => isObj(v) && hasKeys(v, 'connected', 'reason') && typeof v.connected === 'boolean' && typeof v.reason === 'string';

export function parseHostMessage(v: unknown): HostMessage | undefined {
  if (!isObj(v)) return undefined;
  switch (v.type) {
    case 'init':
      return hasKeys(v, 'type', 'conversation', 'targets', 'link') && isConversation(v.conversation)
        && Array.isArray(v.targets) && v.targets.length <= 1000 && v.targets.every(isPaneTarget) && isLink(v.link)
        ? { type: 'init', conversation: v.conversation, targets: v.targets, link: v.link } : undefined;
    case 'token':
      return hasKeys(v, 'type', 'turn', 'pane', 'text') && isIndex(v.turn, MAX_TURNS) && isIndex(v.pane, 4) && typeof v.text === 'string' && v.text.length <= MAX_TEXT
        ? { type: 'token', turn: v.turn, pane: v.pane, text: v.text } : undefined;
    case 'done':
      return hasKeys(v, 'type', 'turn', 'pane', 'answer') && isIndex(v.turn, MAX_TURNS) && isIndex(v.pane, 4) && isAnswer(v.answer)
        ? { type: 'done', turn: v.turn, pane: v.pane, answer: v.answer } : undefined;
    case 'link':
      return hasKeys(v, 'type', 'link') && isLink(v.link) ? { type: 'link', link: v.link } : undefined;
    case 'notice':
      return hasKeys(v, 'type', 'level', 'text') && (v.level === 'info' || v.level === 'error') && typeof v.text === 'string'
        ? { type: 'notice', level: v.level, text: v.text.slice(0, 2000) } : undefined;
    default:
      return undefined;
  }
}

// Exact shapes only for messages that make the host act, so nothing extra rides along unnoticed.
export function parseWebviewMessage(v: unknown): WebviewMessage | undefined {
  if (!isObj(v)) return undefined;
  const ref = (type: 'copy' | 'promote' | 'prefer'): WebviewMessage | undefined =>
    hasKeys(v, 'type', 'turn', 'pane') && isIndex(v.turn, MAX_TURNS) && isIndex(v.pane, 4) ? { type, turn: v.turn, pane: v.pane } : undefined;
  switch (v.type) {
    case 'ready':
    case 'stop':
    case 'clear':
      return hasKeys(v, 'type') ? { type: v.type } : undefined;
    case 'error':
      return typeof v.message === 'string' ? { type: 'error', message: v.message.slice(0, 2000) } : undefined;
    case 'send':
      return hasKeys(v, 'type', 'text') && typeof v.text === 'string' && v.text.trim() !== '' && v.text.length <= MAX_TEXT
        ? { type: 'send', text: v.text } : undefined;
    case 'settings':
      return hasKeys(v, 'type', 'system', 'sampling') && typeof v.system === 'string' && v.system.length <= MAX_TEXT && isSampling(v.sampling)
        ? { type: 'settings', system: v.system, sampling: v.sampling } : undefined;
    case 'setPanes':
      return hasKeys(v, 'type', 'panes') && isPaneList(v.panes) ? { type: 'setPanes', panes: v.panes } : undefined;
    case 'edit':
      return hasKeys(v, 'type', 'turn', 'pane', 'text') && isIndex(v.turn, MAX_TURNS) && isIndex(v.pane, 4)
        && typeof v.text === 'string' && v.text.length <= MAX_TEXT ? { type: 'edit', turn: v.turn, pane: v.pane, text: v.text } : undefined;
    case 'copy':
    case 'promote':
    case 'prefer':
      return ref(v.type);
    default:
      return undefined;
  }
}
