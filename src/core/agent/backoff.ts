// Delays between reconnect attempts: doubling from min up to max, so a restarting agent is
// found quickly and a missing one is not hammered.

export interface BackoffOptions {
  minMs: number;
  maxMs: number;
}

/** Delay before reconnect attempt `attempt` (1-based): min, 2·min, 4·min, … capped at max. */
export function backoffDelay(attempt: number, { minMs, maxMs }: BackoffOptions): number {
  if (!Number.isFinite(attempt) || attempt < 1) attempt = 1;
  // Capping the exponent keeps 2 ** n finite for very long outages.
  const exp = Math.min(attempt - 1, 52);
  return Math.min(maxMs, minMs * 2 ** exp);
}
