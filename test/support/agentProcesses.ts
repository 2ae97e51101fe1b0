// Reading and stopping the processes a test's agent root started (server and runs), so a failed
// test does not leave training processes behind.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export function agentPid(root: string): number {
  return (JSON.parse(readFileSync(join(root, 'agent.json'), 'utf8')) as { pid: number }).pid;
}

/** Sends SIGTERM to the root's server and run processes and waits (bounded) until they are gone. */
export async function stopEverything(root: string, waitMs = 15_000): Promise<void> {
  const pids: number[] = [];
  if (existsSync(join(root, 'agent.json'))) pids.push(agentPid(root));
  const runs = join(root, 'runs');
  for (const run of existsSync(runs) ? readdirSync(runs) : []) {
    try {
      const pid = (JSON.parse(readFileSync(join(runs, run, 'run.json'), 'utf8')) as { pid?: number }).pid;
      if (pid) pids.push(-pid); // runs lead their own process group
    } catch {
      // no run.json yet
    }
  }
  const alive = (pid: number) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  };
  for (const pid of pids.filter(alive)) process.kill(pid, 'SIGTERM');
  // The server tidies the root on SIGTERM; removing the folder before it finished races with that.
  for (const deadline = Date.now() + waitMs; pids.some(alive) && Date.now() < deadline; ) {
    await new Promise((r) => setTimeout(r, 50));
  }
  // A run busy in a long eval may not reach its next step in time; a test must not leave it training.
  for (const pid of pids.filter(alive)) process.kill(pid, 'SIGKILL');
}

/** Every seq on disk across all runs' events.jsonl, sorted. */
export function seqsOnDisk(root: string): number[] {
  const runs = join(root, 'runs');
  const seqs: number[] = [];
  for (const run of readdirSync(runs)) {
    const file = join(runs, run, 'events.jsonl');
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line.trim()) seqs.push((JSON.parse(line) as { seq: number }).seq);
    }
  }
  return seqs.sort((a, b) => a - b);
}
