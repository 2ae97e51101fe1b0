import assert from 'node:assert/strict';
import { test } from 'node:test';
import { backoffDelay } from '../../src/core/agent/backoff';

test('delays double from the minimum and stop at the maximum', () => {
  const opts = { minMs: 1000, maxMs: 30_000 };
  assert.deepEqual([1, 2, 3, 4, 5, 6, 7, 8].map((a) => backoffDelay(a, opts)), [1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000]);
});

test('very long outages stay at the maximum instead of overflowing', () => {
  assert.equal(backoffDelay(10_000, { minMs: 1000, maxMs: 30_000 }), 30_000);
});

test('attempt numbers below 1 are treated as the first attempt', () => {
  assert.equal(backoffDelay(0, { minMs: 250, maxMs: 1000 }), 250);
  assert.equal(backoffDelay(Number.NaN, { minMs: 250, maxMs: 1000 }), 250);
});
