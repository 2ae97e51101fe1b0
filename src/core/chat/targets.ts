// What a chat pane can show: the base model and the checkpoints of one run, plus the checkpoints of other
// runs that train the same base model (the agent names each run's model in list_checkpoints). Panes of
// different base models would compare nothing useful, and each would load another model into memory.
import type { RunRecord } from '../runs/types';
import { BASE, type PaneTarget } from './conversation';
import type { Requester } from './turnRequest';

/** Other runs asked about at most: listing is one request per run. */
const MAX_OTHER_RUNS = 30;

export async function listTargets(client: Requester, primary: RunRecord, others: readonly RunRecord[]): Promise<PaneTarget[]> {
  const own = await client.request('list_checkpoints', { run_id: primary.runId });
  const targets: PaneTarget[] = [
    { runId: primary.runId, runName: primary.name, adapter: BASE },
    ...own.checkpoints.map((c) => ({ runId: primary.runId, runName: primary.name, adapter: c.name })),
  ];
  if (own.model === undefined) return targets; // an agent that does not name models: this run only
  const rest = others.filter((r) => r.runId !== primary.runId).slice(0, MAX_OTHER_RUNS);
  const listed = await Promise.all(rest.map((r) => client.request('list_checkpoints', { run_id: r.runId }).catch(() => undefined)));
  rest.forEach((r, i) => {
    const l = listed[i];
    if (!l || l.model !== own.model) return;
    for (const c of l.checkpoints) targets.push({ runId: r.runId, runName: r.name, adapter: c.name });
  });
  return targets;
}

/** Panes to start with: the base and the newest checkpoints of the run, four at most. */
export function defaultPanes(targets: readonly PaneTarget[], runId: string): PaneTarget[] {
  const own = targets.filter((t) => t.runId === runId);
  const base = own.filter((t) => t.adapter === BASE);
  const checkpoints = own.filter((t) => t.adapter !== BASE).sort((a, b) => stepOf(b.adapter) - stepOf(a.adapter)).slice(0, 3).reverse();
  return [...base, ...checkpoints];
}

export const stepOf = (adapter: string): number => Number(/^checkpoint-(\d+)$/.exec(adapter)?.[1] ?? -1);
