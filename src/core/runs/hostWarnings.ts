// Decides which host warnings in the event stream a person is told about right away (a pop-up), and in what words.
// Pure: the VS Code side asks it about every event and shows what it returns.
import type { AgentEvent, EventDataOf } from '../protocol/messages';

/** An event older than this (by its own time) was replayed on (re)connect, not just sent: it is not popped up. */
export const LIVE_EVENT_WINDOW_S = 120;

/** A warning to show now, about one run. */
export interface HostWarning {
  runId: string;
  text: string;
}

/** The sentence for a disk_low event; the agent writes one, and a blank one is made up from the numbers. */
export function diskLowText(data: EventDataOf<'disk_low'>): string {
  const message = data.message.trim();
  if (message) return message;
  return `disk almost full: ${formatMb(data.free_mb)} free on ${data.path}, and the next checkpoint needs about ${formatMb(data.checkpoint_mb)}`;
}

function formatMb(mb: number): string {
  return mb >= 1024 ? `${(mb / 1024).toFixed(1)} GB` : `${Math.round(mb)} MB`;
}

export class HostWarnings {
  /** "<run id>#<seq>" of each event already shown, so a replay of the same event is not shown twice. */
  private readonly shown = new Set<string>();

  constructor(
    /** Unix time in seconds (injectable for tests). */
    private readonly nowS: () => number = () => Date.now() / 1000,
    private readonly windowS: number = LIVE_EVENT_WINDOW_S,
  ) {}

  /**
   * The warning to show for this event, or undefined: not a warning kind, too old to be news (a replay),
   * or shown already. `runName` is how the person knows the run (the run id when unknown).
   */
  consider(event: AgentEvent, runName?: string): HostWarning | undefined {
    if (event.kind !== 'disk_low') return undefined;
    // Compared as "younger than the window" so NaN/garbage times are never treated as live.
    if (!(this.nowS() - event.time < this.windowS)) return undefined;
    const key = `${event.run_id}#${event.seq}`;
    if (this.shown.has(key)) return undefined;
    this.shown.add(key);
    const name = runName?.trim() || event.run_id;
    return { runId: event.run_id, text: `Tunelab: run ${name}: ${diskLowText(event.data)}` };
  }
}
