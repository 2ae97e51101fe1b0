// The chat panel's data: up to four panes (the base model or a checkpoint of a run) that share one system
// prompt, one conversation and one set of sampling controls. Each pane keeps its own answers, so a later turn
// asks each model with its own earlier answers (as in any side-by-side chat). Every turn goes to the agent as
// one batched request per run, so the panes stream together.
import type { ChatMessage, Generation, Sampling } from '../protocol/messages';

export const MAX_PANES = 4;
export const BASE = 'base';

export interface PaneTarget {
  runId: string;
  /** The run's name as the Runs view shows it, for labels. */
  runName: string;
  /** "base" or a checkpoint name of the run ("checkpoint-20"). */
  adapter: string;
}

export type FinishReason = Generation['finish_reason'] | 'error';

export interface Answer {
  text: string;
  /** null while it streams. */
  finish: FinishReason | null;
  ttftMs: number | null;
  tokensPerSec: number | null;
  newTokens: number | null;
  /** Why the agent gave no answer (finish === 'error'). */
  error: string | null;
  /** The person changed the text (Promote writes what they see). */
  edited: boolean;
}

export interface Turn {
  user: string;
  /** One per pane, in pane order. */
  answers: Answer[];
}

export interface ChatSampling {
  temperature: number;
  topP: number;
  maxNewTokens: number;
  seed: number;
}

export interface Conversation {
  panes: PaneTarget[];
  system: string;
  sampling: ChatSampling;
  turns: Turn[];
}

export const DEFAULT_SAMPLING: ChatSampling = { temperature: 0.7, topP: 0.95, maxNewTokens: 256, seed: 0 };

/** Limits of the sampling controls, shared by the webview's inputs and both sides' validation. */
export const SAMPLING_LIMITS = {
  temperature: { min: 0, max: 2 },
  topP: { min: 0.01, max: 1 },
  maxNewTokens: { min: 1, max: 4096 },
  seed: { min: 0, max: 2 ** 31 - 1 },
} as const;

export const paneKey = (p: Pick<PaneTarget, 'runId' | 'adapter'>): string => `${p.runId}/${p.adapter}`;

export function paneLabel(p: PaneTarget, panes: readonly PaneTarget[]): string {
  // The run's name is only worth its space when the panes come from more than one run.
  const oneRun = panes.every((q) => q.runId === p.runId);
  return oneRun ? p.adapter : `${p.runName} · ${p.adapter}`;
}

export function emptyAnswer(): Answer {
  return { text: '', finish: null, ttftMs: null, tokensPerSec: null, newTokens: null, error: null, edited: false };
}

export function newConversation(panes: PaneTarget[], previous?: Pick<Conversation, 'system' | 'sampling'>): Conversation {
  return { panes: panes.slice(0, MAX_PANES), system: previous?.system ?? '', sampling: { ...(previous?.sampling ?? DEFAULT_SAMPLING) }, turns: [] };
}

/** What pane `pane` is asked at turn `turn`: the system prompt, the earlier turns with its own answers, the new user turn. */
export function messagesFor(c: Conversation, pane: number, turn = c.turns.length - 1): ChatMessage[] {
  const messages: ChatMessage[] = c.system.trim() ? [{ role: 'system', content: c.system }] : [];
  for (const [i, t] of c.turns.slice(0, turn + 1).entries()) {
    messages.push({ role: 'user', content: t.user });
    if (i < turn) messages.push({ role: 'assistant', content: t.answers[pane]?.text ?? '' });
  }
  return messages;
}

export interface GenerateGroup {
  runId: string;
  /** Unique within the group: the agent names each answer by its adapter. */
  adapters: string[];
  /** The pane index of each adapter. */
  panes: number[];
  /** What every adapter is asked, when they are all asked the same (a first turn)... */
  messages: ChatMessage[];
  /** ...or one conversation per adapter (later turns: each pane with its own earlier answers). */
  conversations?: ChatMessage[][];
}

/**
 * The requests for the last turn: one for every pane, decoded in one batch by the agent. The request goes to the
 * first pane's run; checkpoints of other runs (on the same base model) are named <run-id>/checkpoint-N. A pane the
 * batch cannot take (a second "base", from another run) gets a request of its own.
 */
export function generateGroups(c: Conversation): GenerateGroup[] {
  const groups: Array<GenerateGroup & { all: ChatMessage[][] }> = [];
  c.panes.forEach((p, i) => {
    const messages = messagesFor(c, i);
    const fits = (g: GenerateGroup) => !g.adapters.includes(adapterName(g.runId, p));
    const group = groups.find(fits);
    if (group) {
      group.adapters.push(adapterName(group.runId, p));
      group.panes.push(i);
      group.all.push(messages);
    } else {
      groups.push({ runId: p.runId, adapters: [p.adapter], panes: [i], messages, all: [messages] });
    }
  });
  return groups.map(({ all, ...g }) => {
    const same = all.every((m) => JSON.stringify(m) === JSON.stringify(all[0]));
    return same ? g : { ...g, conversations: all };
  });
}

/** How a request to run `runId` names pane `p`'s adapter. */
function adapterName(runId: string, p: PaneTarget): string {
  return p.runId === runId || p.adapter === BASE ? p.adapter : `${p.runId}/${p.adapter}`;
}

export function toAgentSampling(s: ChatSampling): Sampling {
  return { temperature: s.temperature, top_p: s.topP, max_new_tokens: s.maxNewTokens, seed: s.seed };
}

/** The sampling values clamped into their limits (integers where the agent wants integers). */
export function clampSampling(s: ChatSampling): ChatSampling {
  const clamp = (v: number, { min, max }: { min: number; max: number }) => Math.min(max, Math.max(min, v));
  return {
    temperature: clamp(s.temperature, SAMPLING_LIMITS.temperature),
    topP: clamp(s.topP, SAMPLING_LIMITS.topP),
    maxNewTokens: Math.round(clamp(s.maxNewTokens, SAMPLING_LIMITS.maxNewTokens)),
    seed: Math.round(clamp(s.seed, SAMPLING_LIMITS.seed)),
  };
}

/** Is a turn still streaming in any pane? */
export const isStreaming = (c: Conversation): boolean => c.turns.at(-1)?.answers.some((a) => a.finish === null) ?? false;
