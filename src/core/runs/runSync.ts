// Connects a RunStore to one AgentClient's event stream. The client's first connection lists the runs
// and subscribes from the listing's head, so no past event is replayed; a store that already followed
// this agent (the client was replaced after a settings change) continues from its own seq instead, which
// keeps the points of shown runs whole. Later connections of the same client only list again, to repair
// summaries: the client resubscribes from the last seq it saw by itself.
import type { AgentClient } from '../agent/client';
import { AgentRequestError } from '../agent/errors';
import type { RunStore } from './runStore';

export type SyncClient = Pick<AgentClient, 'request' | 'subscribe'>;

export class RunSync {
  private subscribed = false;

  constructor(private readonly client: SyncClient, private readonly store: RunStore) {}

  /** Whether the stream has been asked for (the client keeps it up across reconnects from then on). */
  get isSubscribed(): boolean {
    return this.subscribed;
  }

  /** Call on every `connected` state. Resolves once the stream is subscribed; rejects when listing failed. */
  async connected(): Promise<void> {
    let listing;
    try {
      listing = await this.client.request('list_runs', {});
    } catch (e) {
      // Without a usable listing, the stream alone still builds the summaries, as before listings had a head.
      const linkDropped = e instanceof AgentRequestError && (e.reason === 'disconnected' || e.reason === 'disposed');
      if (!this.subscribed && !linkDropped) await this.subscribe(this.store.seq);
      throw e;
    }
    this.store.seed(listing.runs, listing.head);
    if (this.subscribed) return;
    const since = this.store.seq > 0 ? this.store.seq : listing.head;
    this.store.followFrom(since);
    await this.subscribe(since);
  }

  private async subscribe(since: number): Promise<void> {
    // Set first: the client remembers the subscription even when this request fails, and sends it again on reconnect.
    this.subscribed = true;
    await this.client.subscribe(since);
  }
}
