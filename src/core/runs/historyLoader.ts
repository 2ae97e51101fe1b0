// Loads run_history for each run a view shows, into the RunStore. Requests go out only while the event
// stream is subscribed: the agent reads a history after the subscription's starting seq was fixed, so
// the history's head is at or past it, and history plus live events leave no gap between them.
import { AgentError, AgentRequestError } from '../agent/errors';
import type { ParamsOf, ResultOf } from '../protocol/messages';
import { CHART_SERIES, HISTORY_MAX_POINTS } from './history';
import type { RunStore } from './runStore';

export type FetchHistory = (params: ParamsOf<'run_history'>) => Promise<ResultOf<'run_history'>>;

/** Said when the agent does not know run_history: it predates this extension. */
export const HISTORY_UNKNOWN_TO_AGENT = 'this agent is older than the extension and cannot send a run\'s history';

export class HistoryLoader {
  private fetch: FetchHistory | undefined;
  /** Epoch of the request in flight per run, so a run is not asked for twice at once. */
  private readonly inFlight = new Map<string, number>();

  constructor(
    private readonly store: RunStore,
    private readonly log: (line: string) => void = () => undefined,
    private readonly maxPoints = HISTORY_MAX_POINTS,
  ) {}

  /** One more view shows `runId`. Disposing the handle hides it again; when no view shows a run, its points go. */
  open(runId: string): { dispose(): void } {
    this.store.show(runId);
    this.load(runId);
    let open = true;
    return {
      dispose: () => {
        if (!open) return;
        open = false;
        this.store.hide(runId);
      },
    };
  }

  /** The event stream is subscribed and `fetch` asks the same agent: load every shown run still waiting. */
  streamReady(fetch: FetchHistory): void {
    this.fetch = fetch;
    for (const runId of this.store.shownRuns()) this.load(runId);
  }

  /** The client went away (restart, another host): requests wait for the next stream. */
  streamLost(): void {
    this.fetch = undefined;
  }

  private load(runId: string): void {
    const fetch = this.fetch;
    const epoch = this.store.historyEpoch(runId);
    if (!fetch || epoch === undefined || this.inFlight.get(runId) === epoch) return;
    this.inFlight.set(runId, epoch);
    fetch({ run_id: runId, series: [...CHART_SERIES], max_points: this.maxPoints, details: true })
      // An agent from before the dashboard refuses `details` (and the two newer series are there since
      // run_history began): chart what it can send rather than nothing.
      .catch((e: unknown) => {
        if (e instanceof AgentError && e.code === 'bad_params' && e.message.includes('details')) {
          this.log(`run_history ${runId}: the agent does not know details (${e.message}); loading the series alone`);
          return fetch({ run_id: runId, series: [...CHART_SERIES], max_points: this.maxPoints });
        }
        throw e;
      })
      .then(
        (result) => void this.store.loadHistory(runId, epoch, result),
        (e: unknown) => this.failed(runId, epoch, e),
      )
      .finally(() => {
        if (this.inFlight.get(runId) === epoch) this.inFlight.delete(runId);
      });
  }

  private failed(runId: string, epoch: number, e: unknown): void {
    // The link dropped or the client was replaced: the run stays loading and is asked again on the next stream.
    if (e instanceof AgentRequestError && e.reason !== 'timeout' && e.reason !== 'bad_response') return;
    const reason = e instanceof Error ? e.message : String(e);
    this.log(`run_history ${runId}: ${reason}`);
    if (e instanceof AgentError && e.code === 'unknown_method') {
      this.store.historyMissing(runId, epoch, { state: 'unavailable', reason: HISTORY_UNKNOWN_TO_AGENT });
    } else if (e instanceof AgentError && e.code === 'not_found') {
      this.store.historyMissing(runId, epoch, { state: 'unavailable', reason: 'the agent has no record of this run' });
    } else {
      this.store.historyMissing(runId, epoch, { state: 'failed', reason });
    }
  }
}
