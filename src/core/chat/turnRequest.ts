// One turn of the chat sent to the agent: a `generate` request per group of panes (conversation.ts), all in
// flight at once so tokens stream into every pane together, and `cancel` for each of them on Stop.
import { AgentError } from '../agent/errors';
import type { AgentClient } from '../agent/client';
import type { Generation, StreamMessage } from '../protocol/messages';
import { generateGroups, toAgentSampling, type Conversation, type FinishReason, type GenerateGroup } from './conversation';

export type Requester = Pick<AgentClient, 'request'>;

export interface PaneResult {
  text: string;
  finish: FinishReason;
  ttftMs: number | null;
  tokensPerSec: number | null;
  newTokens: number | null;
  error: string | null;
}

export interface TurnListener {
  /** A piece of pane `pane`'s answer, as the agent streamed it. */
  token(pane: number, text: string): void;
  /** Pane `pane` finished (its whole text is in the result). */
  done(pane: number, result: PaneResult): void;
}

/** A CPU generating a long answer for four panes takes a while; the agent cancels on Stop, not on this. */
const GENERATE_TIMEOUT_MS = 15 * 60_000;

export class TurnRequest {
  private readonly ids: number[] = [];
  private stopped = false;

  constructor(private readonly client: Requester, private readonly listener: TurnListener) {}

  /** Resolves when every pane has finished (answered, cancelled or failed); never rejects. */
  async run(c: Conversation): Promise<void> {
    const sampling = toAgentSampling(c.sampling);
    await Promise.all(generateGroups(c).map((g) => this.runGroup(g, sampling)));
  }

  /** Cancels every request of the turn; their panes finish as `cancelled` with what they had so far. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.ids.map((id) => this.cancel(id)));
  }

  private async runGroup(g: GenerateGroup, sampling: ReturnType<typeof toAgentSampling>): Promise<void> {
    const paneOf = new Map(g.adapters.map((a, i) => [a, g.panes[i]]));
    const onStream = (m: StreamMessage) => {
      if (m.kind !== 'token') return;
      const pane = paneOf.get(m.data.adapter);
      if (pane !== undefined) this.listener.token(pane, m.data.text);
    };
    const onSent = (id: number) => {
      this.ids.push(id);
      // Stop pressed while the request was on its way: cancel it as soon as it has an id.
      if (this.stopped) void this.cancel(id);
    };
    try {
      const { results } = await this.client.request('generate', {
        run_id: g.runId, adapters: g.adapters, messages: g.messages, sampling, stream: true,
        ...(g.conversations ? { conversations: g.conversations } : {}),
      }, GENERATE_TIMEOUT_MS, { onStream, onSent });
      for (const [i, adapter] of g.adapters.entries()) {
        const r = results.find((x) => x.adapter === adapter);
        this.listener.done(g.panes[i], r ? fromGeneration(r) : failed(`the agent sent no answer for ${adapter}`));
      }
    } catch (e) {
      const cancelled = this.stopped || (e instanceof AgentError && e.code === 'cancelled');
      for (const pane of g.panes) this.listener.done(pane, cancelled ? { ...failed(null), finish: 'cancelled' } : failed(describe(e)));
    }
  }

  private async cancel(id: number): Promise<void> {
    // The request may have ended meanwhile (cancelled: false); nothing else to do either way.
    await this.client.request('cancel', { request_id: id }, 10_000).catch(() => undefined);
  }
}

function fromGeneration(r: Generation): PaneResult {
  return { text: r.text, finish: r.finish_reason, ttftMs: r.ttft_ms, tokensPerSec: r.tokens_per_sec, newTokens: r.new_tokens, error: null };
}

function failed(error: string | null): PaneResult {
  return { text: '', finish: 'error', ttftMs: null, tokensPerSec: null, newTokens: null, error };
}

function describe(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
