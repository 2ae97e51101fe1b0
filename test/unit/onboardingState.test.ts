import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { AgentEvent } from '../../src/core/protocol/messages';
import { isLiveAgentState, walkthroughStepOf } from '../../src/core/onboarding/onboardingState';

test('the Runs view says "no runs" only once connected and the run list has arrived', () => {
  assert.equal(isLiveAgentState('connected', true), 'ready');
  assert.equal(isLiveAgentState('connected', false), 'starting', 'connected, list_runs not answered yet: the view must not say "No runs yet"');
  for (const kind of ['idle', 'connecting', 'reconnecting'] as const) assert.equal(isLiveAgentState(kind, true), 'starting');
  assert.equal(isLiveAgentState('failed', false), 'failed');
  assert.equal(isLiveAgentState('closed', false), 'failed');
  assert.equal(isLiveAgentState('restricted', false), 'restricted');
});

test('a run created or training checks off the walkthrough\'s Launch step; other events do not', () => {
  const ev = (kind: string, data: object) => ({ type: 'event', seq: 1, time: 0, run_id: 'r', kind, data }) as AgentEvent;
  assert.equal(walkthroughStepOf(ev('run_created', { name: 'x', config: '' })), 'runStarted');
  assert.equal(walkthroughStepOf(ev('run_state', { state: 'running' })), 'runStarted');
  assert.equal(walkthroughStepOf(ev('run_state', { state: 'failed', error: 'x' })), undefined);
  assert.equal(walkthroughStepOf(ev('metrics', {})), undefined);
});
