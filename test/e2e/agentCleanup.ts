// Ends what the extension started under a test's agent root: the detached agent server and every run process.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

function pidFrom(file: string): number | undefined {
  try {
    const pid = (JSON.parse(readFileSync(file, 'utf8')) as { pid?: unknown }).pid;
    return typeof pid === 'number' && pid > 1 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function kill(pid: number, group: boolean): void {
  try { process.kill(group ? -pid : pid, 'SIGKILL'); } catch { /* already gone */ }
}

export function killAgentProcesses(root: string): void {
  const runs = join(root, 'runs');
  for (const run of existsSync(runs) ? readdirSync(runs) : []) {
    const pid = pidFrom(join(runs, run, 'run.json'));
    // Runs are session leaders (start_new_session), so the group takes any workers with them.
    if (pid) { kill(pid, true); kill(pid, false); }
  }
  const agent = pidFrom(join(root, 'agent.json'));
  if (agent) kill(agent, false);
}
