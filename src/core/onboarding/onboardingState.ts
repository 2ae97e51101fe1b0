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
  chatOpened: 'tunelab.walkthrough.chatOpened',
} as const;
export type WalkthroughKey = (typeof WALKTHROUGH_KEYS)[keyof typeof WALKTHROUGH_KEYS];

/**
 * The second completion event of each step, pulsed only when a walkthrough opens. VS Code records an event
 * whose key is true at registration as seen, never to fire that session: if the milestone's own pulse was on
 * just then (both happen as the window starts), the step could only be checked off through this other key.
 */
export function replayKey(key: WalkthroughKey): string {
  return key.replace('tunelab.walkthrough.', 'tunelab.walkthrough.replay.');
}

/**
 * Which walkthrough keys to pulse (true for a moment, then false again), and which milestones a person has
 * reached. VS Code checks a step off when its key *turns* true while its walkthrough service watches; a key
 * already true when the service registers the walkthrough (it does so lazily, when a walkthrough first opens)
 * is swallowed for the whole session. So a key is true only in a short pulse: when its milestone happens
 * (false → true of the condition), and again for every milestone reached so far when a walkthrough opens.
 */
export class WalkthroughMilestones {
  private readonly reached: Set<WalkthroughKey>;
  private readonly holding = new Set<WalkthroughKey>();

  constructor(reached: Iterable<string>) {
    const known = new Set<string>(Object.values(WALKTHROUGH_KEYS));
    this.reached = new Set([...reached].filter((k): k is WalkthroughKey => known.has(k)));
  }

  /** The condition behind `key` now; true when this is the moment to pulse (it just turned true). */
  observe(key: WalkthroughKey, now: boolean): boolean {
    if (!now) {
      this.holding.delete(key);
      return false;
    }
    if (this.holding.has(key)) return false;
    this.holding.add(key);
    this.reached.add(key);
    return true;
  }

  /** Every milestone reached, in any session: what a walkthrough that just opened should see checked. */
  get all(): WalkthroughKey[] {
    return [...this.reached];
  }
}

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
