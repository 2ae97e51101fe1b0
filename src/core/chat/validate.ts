// Shape checks for chat data that crosses a trust boundary: the webview's messages, the host's messages to
// the webview, and conversations read back from workspace storage (an older or damaged copy must not crash).
import { MAX_PANES, SAMPLING_LIMITS, type Answer, type ChatSampling, type Conversation, type PaneTarget, type Turn } from './conversation';

import { hasKeys, isObj } from '../protocol/shapes';

export { hasKeys, isObj };
export const isNum = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const isNumOrNull = (v: unknown): boolean => v === null || isNum(v);
const isStrOrNull = (v: unknown): boolean => v === null || typeof v === 'string';

/** The agent's run id and checkpoint name patterns (protocol schema), so nothing odd reaches a request. */
const RUN_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
const ADAPTER = /^(base|checkpoint-\d+)$/;
const FINISH = ['eos', 'length', 'cancelled', 'error'];
/** Text limits: far above a real chat, low enough that a runaway page cannot make the host hold gigabytes. */
export const MAX_TEXT = 200_000;
export const MAX_TURNS = 200;

const isText = (v: unknown, max = MAX_TEXT): v is string => typeof v === 'string' && v.length <= max;

export function isPaneTarget(v: unknown): v is PaneTarget {
  return isObj(v) && hasKeys(v, 'runId', 'runName', 'adapter')
    && typeof v.runId === 'string' && RUN_ID.test(v.runId)
    && isText(v.runName, 500) && typeof v.adapter === 'string' && ADAPTER.test(v.adapter);
}

export function isPaneList(v: unknown): v is PaneTarget[] {
  if (!Array.isArray(v) || v.length < 1 || v.length > MAX_PANES || !v.every(isPaneTarget)) return false;
  return new Set(v.map((p) => `${p.runId}/${p.adapter}`)).size === v.length;
}

export function isSampling(v: unknown): v is ChatSampling {
  if (!isObj(v) || !hasKeys(v, 'temperature', 'topP', 'maxNewTokens', 'seed')) return false;
  const within = (x: unknown, { min, max }: { min: number; max: number }) => isNum(x) && x >= min && x <= max;
  return within(v.temperature, SAMPLING_LIMITS.temperature) && within(v.topP, SAMPLING_LIMITS.topP)
    && within(v.maxNewTokens, SAMPLING_LIMITS.maxNewTokens) && Number.isInteger(v.maxNewTokens)
    && within(v.seed, SAMPLING_LIMITS.seed) && Number.isInteger(v.seed);
}

export function isAnswer(v: unknown): v is Answer {
  return isObj(v) && isText(v.text)
    && (v.finish === null || FINISH.includes(v.finish as string))
    && isNumOrNull(v.ttftMs) && isNumOrNull(v.tokensPerSec) && isNumOrNull(v.newTokens)
    && isStrOrNull(v.error) && typeof v.edited === 'boolean';
}

export function isTurn(v: unknown, panes: number): v is Turn {
  return isObj(v) && isText(v.user) && Array.isArray(v.answers) && v.answers.length === panes && v.answers.every(isAnswer);
}

export function isConversation(v: unknown): v is Conversation {
  return isObj(v) && isPaneList(v.panes) && isText(v.system) && isSampling(v.sampling)
    && Array.isArray(v.turns) && v.turns.length <= MAX_TURNS && v.turns.every((t) => isTurn(t, (v.panes as unknown[]).length));
}
