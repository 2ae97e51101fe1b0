// Connects a RunStore to one AgentClient's event stream. The client's first connection lists the runs
// and subscribes from the listing's head, so no past event is replayed; a store that already followed
// this agent (the client was replaced after a settings change) continues from its own seq instead, which
// keeps the points of shown runs whole. Later connections of the same client only list again, to repair
// summaries: the client resubscribes from the last seq it saw by itself.
// Once the stream is subscribed, shown runs may load their history through the same client.
import type { AgentClient } from '../agent/client';
import { AgentRequestError } from '../agent/errors';
import type { HistoryLoader } from './historyLoader';
import type { RunStore } from './runStore';

export type SyncClient = Pick<AgentClient, 'request' | 'subscribe'>;

/** A history is a few thousand points per series, but the agent may read a million-line log to make it. */
const HISTORY_TIMEOUT_MS = 120_000;

export class RunSync {
  private subscribed = false;

  constructor(
    private readonly client: SyncClient,
    private readonly store: RunStore,
    private readonly history?: HistoryLoader,
    private readonly historyTimeoutMs = HISTORY_TIMEOUT_MS,
  ) {}

  /**
   * Call on every `connected` state. Resolves once the stream is subscribed and shown runs may load their
   * history; rejects when listing failed (having subscribed from the store's own seq if it had not yet).
   */
  async connected(): Promise<void> {
    let listing;
    try {
      listing = await this.client.request('list_runs', {});
    } catch (e) {
      // Without a usable listing, the stream alone still builds the summaries, as before listings had a head.
      const linkDropped = e instanceof AgentRequestError && (e.reason === 'disconnected' || e.reason === 'disposed');
      if (!this.subscribed && !linkDropped) await this.subscribe(this.store.seq);
      if (this.subscribed && !linkDropped) this.streamReady();
      throw e;
    }
    this.store.seed(listing.runs, listing.head);
    if (!this.subscribed) {
      const since = this.store.seq > 0 ? this.store.seq : listing.head;
      this.store.followFrom(since);
      await this.subscribe(since);
    }
    this.streamReady();
  }

  private streamReady(): void {
    this.history?.streamReady((params) => this.client.request('run_history', params, this.historyTimeoutMs));
  }

  private async subscribe(since: number): Promise<void> {
    // Set first: the client remembers the subscription even when this request fails, and sends it again on reconnect.
    this.subscribed = true;
    await this.client.subscribe(since);
  }
}
