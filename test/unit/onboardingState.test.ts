import assert from 'node:assert/strict';
import { test } from 'node:test';
import { isLiveAgentState } from '../../src/core/onboarding/onboardingState';

test('the Runs view says "no runs" only once connected and the run list has arrived', () => {
  assert.equal(isLiveAgentState('connected', true), 'ready');
  assert.equal(isLiveAgentState('connected', false), 'starting', 'connected, list_runs not answered yet: the view must not say "No runs yet"');
  for (const kind of ['idle', 'connecting', 'reconnecting'] as const) assert.equal(isLiveAgentState(kind, true), 'starting');
  assert.equal(isLiveAgentState('failed', false), 'failed');
  assert.equal(isLiveAgentState('closed', false), 'failed');
  assert.equal(isLiveAgentState('restricted', false), 'restricted');
});
