// Pure rules behind the onboarding context keys (src/vscode/onboarding.ts sets them).
import type { ConnectionState } from '../agent/client';

/** Context key read by package.json viewsWelcome: starting | ready | failed | restricted. */
export const AGENT_VIEW_STATE_KEY = 'tunelab.agentViewState';
/** Walkthrough context keys, one per step (package.json walkthroughs completionEvents). */
export const WALKTHROUGH_KEYS = {
  agentReady: 'tunelab.walkthrough.agentReady',
  configOpened: 'tunelab.walkthrough.configOpened',
  runStarted: 'tunelab.walkthrough.runStarted',
  metricsShown: 'tunelab.walkthrough.metricsShown',
} as const;

/** What the Runs view's welcome text says: the agent is on its way, down, refused in restricted mode, or ready. */
export type AgentViewState = 'starting' | 'ready' | 'failed' | 'restricted';

/**
 * `ready` only once connected AND the run list has arrived: between the two (1-3 s after every reload) an
 * empty view would wrongly say "No runs yet".
 */
export function isLiveAgentState(kind: ConnectionState['kind'] | 'idle' | 'restricted', listed: boolean): AgentViewState {
  switch (kind) {
    case 'restricted': return 'restricted';
    case 'failed':
    case 'closed': return 'failed';
    case 'connected': return listed ? 'ready' : 'starting';
    default: return 'starting';
  }
}
