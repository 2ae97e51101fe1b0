import assert from 'node:assert/strict';
import { test } from 'node:test';
import { WALKTHROUGH_KEYS, WalkthroughMilestones, isLiveAgentState } from '../../src/core/onboarding/onboardingState';

test('the Runs view says "no runs" only once connected and the run list has arrived', () => {
  assert.equal(isLiveAgentState('connected', true), 'ready');
  assert.equal(isLiveAgentState('connected', false), 'starting', 'connected, list_runs not answered yet: the view must not say "No runs yet"');
  for (const kind of ['idle', 'connecting', 'reconnecting'] as const) assert.equal(isLiveAgentState(kind, true), 'starting');
  assert.equal(isLiveAgentState('failed', false), 'failed');
  assert.equal(isLiveAgentState('closed', false), 'failed');
  assert.equal(isLiveAgentState('restricted', false), 'restricted');
});

test('walkthrough keys pulse once when their milestone happens, and every milestone ever reached is replayed', () => {
  const m = new WalkthroughMilestones(['tunelab.walkthrough.agentReady', 'not.a.key']);
  assert.deepEqual(m.all, [WALKTHROUGH_KEYS.agentReady], 'a stored milestone is kept; an unknown key is dropped');
  assert.equal(m.observe(WALKTHROUGH_KEYS.runStarted, false), false);
  assert.equal(m.observe(WALKTHROUGH_KEYS.runStarted, true), true, 'false → true: the moment to pulse');
  assert.equal(m.observe(WALKTHROUGH_KEYS.runStarted, true), false, 'still true at the next store change: no second pulse');
  assert.equal(m.observe(WALKTHROUGH_KEYS.runStarted, false), false);
  assert.equal(m.observe(WALKTHROUGH_KEYS.runStarted, true), true, 'the next run pulses again');
  assert.deepEqual(m.all.sort(), [WALKTHROUGH_KEYS.agentReady, WALKTHROUGH_KEYS.runStarted].sort());
});
