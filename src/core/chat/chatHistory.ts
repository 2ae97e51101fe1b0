// Conversations kept per run in the workspace's storage (VS Code's workspaceState behind a tiny interface),
// so a chat panel that reopens shows where the person left off. Bounded: the newest turns are kept up to a
// byte budget, and only the most recent runs keep theirs.
import type { Conversation } from './conversation';
import { isConversation } from './validate';

/** What workspaceState offers; a Map-backed one serves the unit tests. */
export interface KeyValueStore {
  get(key: string): unknown;
  update(key: string, value: unknown): Thenable<void> | Promise<void>;
}

const PREFIX = 'tunelab.chat.';
const INDEX = 'tunelab.chat.runs';
/** Per conversation, as JSON. Workspace state is loaded whole at startup, so it stays small. */
export const MAX_CONVERSATION_BYTES = 256 * 1024;
export const MAX_RUNS_KEPT = 20;

export class ChatHistory {
  constructor(private readonly store: KeyValueStore, private readonly warn: (line: string) => void = () => undefined) {}

  /** The run's last conversation, or undefined when none was kept (or what was kept does not validate). */
  load(runId: string): Conversation | undefined {
    const raw = this.store.get(PREFIX + runId);
    if (raw === undefined) return undefined;
    if (!isConversation(raw)) {
      this.warn(`chat history of run ${runId} in workspace storage is not a conversation this version reads; starting afresh`);
      return undefined;
    }
    return raw;
  }

  async save(runId: string, c: Conversation): Promise<void> {
    await this.store.update(PREFIX + runId, bounded(c));
    const runs = this.runs().filter((r) => r !== runId);
    runs.unshift(runId);
    for (const dropped of runs.splice(MAX_RUNS_KEPT)) await this.store.update(PREFIX + dropped, undefined);
    await this.store.update(INDEX, runs);
  }

  async forget(runId: string): Promise<void> {
    await this.store.update(PREFIX + runId, undefined);
    await this.store.update(INDEX, this.runs().filter((r) => r !== runId));
  }

  /** Runs with a kept conversation, most recent first. */
  runs(): string[] {
    const v = this.store.get(INDEX);
    return Array.isArray(v) ? v.filter((r): r is string => typeof r === 'string') : [];
  }
}

/** The conversation with its oldest turns dropped until it fits the budget; a turn still streaming is kept as it is. */
export function bounded(c: Conversation, maxBytes = MAX_CONVERSATION_BYTES): Conversation {
  const out: Conversation = { ...c, turns: [...c.turns] };
  while (out.turns.length > 1 && JSON.stringify(out).length > maxBytes) out.turns.shift();
  if (JSON.stringify(out).length > maxBytes && out.turns.length === 1) {
    // One huge turn: keep its start, which is what the person saw first.
    const share = Math.floor(maxBytes / (2 + out.turns[0].answers.length));
    const t = out.turns[0];
    out.turns = [{ user: t.user.slice(0, share), answers: t.answers.map((a) => ({ ...a, text: a.text.slice(0, share) })) }];
  }
  return out;
}
