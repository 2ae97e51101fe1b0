// Writes an agent root full of finished runs without training any: run.json and events.jsonl as the
// agent lays them out (rundir/eventlog.py, serving/runs.py), one seq across all runs, and events.seq.
// Tests and benches then start the real agent on it. Appending to a root an agent serves goes through
// the agent's own writer (appendEvents), which takes its lock.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { AgentEvent, EventDataOf, EventKind } from '../../src/core/protocol/messages';
import { syntheticEvalLoss, syntheticLoss, syntheticLr } from './syntheticCurve';

export { syntheticEvalLoss, syntheticLoss, syntheticLr } from './syntheticCurve';

export interface SyntheticRun {
  runId: string;
  /** Training steps logged, each a metrics event. */
  steps: number;
  /** An eval event every this many steps (0: none). */
  evalEvery?: number;
  /** Resumed at this step: the steps after it are logged again in segment 1, up to `steps`. */
  resumeAt?: number;
  /** Steps segment 0 logged before the resume (default: `steps`); only with resumeAt. */
  stepsBeforeResume?: number;
  /** 'completed' (default) ends the run; null leaves it with no run_state, which the agent's reaper leaves alone. */
  state?: 'completed' | null;
  created?: number;
}

export function metricsData(step: number, maxSteps: number, segment = 0): EventDataOf<'metrics'> {
  return {
    step, max_steps: maxSteps, epoch: step / maxSteps, loss: syntheticLoss(step, segment), learning_rate: syntheticLr(step),
    grad_norm: 1, tokens_per_sec: 5000, eta_s: maxSteps - step, ...(segment ? { segment } : {}),
  };
}

/** Writes the runs into `root` (created if missing); returns the last seq written. */
export function writeSyntheticRoot(root: string, runs: SyntheticRun[]): number {
  let seq = 0;
  mkdirSync(join(root, 'runs'), { recursive: true });
  for (const [i, run] of runs.entries()) {
    const created = run.created ?? 1_800_000_000 + i * 3600;
    let time = created;
    const lines: string[] = [];
    const event = <K extends EventKind>(kind: K, data: EventDataOf<K>) => {
      const e = { type: 'event', seq: ++seq, time: (time += 0.5), run_id: run.runId, kind, data } as AgentEvent;
      lines.push(JSON.stringify(e));
    };
    event('run_created', { name: run.runId, config: 'model: tiny\n' });
    if (run.state !== null) event('run_state', { state: 'running', max_steps: run.steps });
    const segment = (from: number, to: number, seg: number) => {
      for (let step = from; step <= to; step++) {
        event('metrics', metricsData(step, run.steps, seg));
        if (run.evalEvery && step % run.evalEvery === 0) event('eval', { step, eval_loss: syntheticEvalLoss(step, seg), ...(seg ? { segment: seg } : {}) });
      }
    };
    if (run.resumeAt === undefined) {
      segment(1, run.steps, 0);
    } else {
      segment(1, run.stepsBeforeResume ?? run.steps, 0);
      event('run_state', { state: 'starting', segment: 1, resumed_from: `checkpoint-${run.resumeAt}` });
      segment(run.resumeAt + 1, run.steps, 1);
    }
    if (run.state !== null) event('run_state', { state: 'completed' });
    const dir = join(root, 'runs', run.runId);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'run.json'), JSON.stringify({ name: run.runId, created, config_path: null, resolved: {}, pid: null }));
    writeFileSync(join(dir, 'events.jsonl'), lines.join('\n') + '\n');
  }
  writeFileSync(join(root, 'events.seq'), String(seq));
  return seq;
}

/**
 * Appends metrics events to a run through the agent's own writer (eventlog.append, under its lock), at
 * `perSecond`, while an agent serves the root. Resolves with the seqs written.
 */
export function appendMetrics(python: string, agentSource: string, root: string, runId: string, steps: number[], maxSteps: number, perSecond = 0): Promise<number[]> {
  const script = `
import json, sys, time
from tunelab_agent.rundir import eventlog
root, run_id, per_second = sys.argv[1], sys.argv[2], float(sys.argv[3])
start = time.perf_counter()
for i, line in enumerate(sys.stdin):
    if per_second:
        time.sleep(max(0.0, start + i / per_second - time.perf_counter()))
    ev = eventlog.append(root, run_id, "metrics", json.loads(line))
    print(ev["seq"], flush=True)
`;
  const child = spawn(python, ['-c', script, root, runId, String(perSecond)], {
    env: { ...process.env, PYTHONPATH: agentSource }, stdio: ['pipe', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdin.end(steps.map((s) => JSON.stringify(metricsData(s, maxSteps))).join('\n') + '\n');
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(out.trim().split('\n').filter(Boolean).map(Number)) : reject(new Error(`appending events failed (${code}): ${err}`))));
  });
}
