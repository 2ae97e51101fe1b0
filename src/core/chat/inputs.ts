// Checks of what the chat commands receive from outside: a command argument, a file name typed by the person.
import { isAbsolute, relative, resolve } from 'node:path';

/** The `{runId, checkpoint}` that the Runs view and the dashboard pass; anything else means "ask". */
export function checkpointArg(arg: unknown): { runId: string; checkpoint?: string } | undefined {
  if (typeof arg !== 'object' || arg === null) return undefined;
  const { runId, checkpoint } = arg as { runId?: unknown; checkpoint?: unknown };
  if (typeof runId !== 'string' || !runId) return undefined;
  return { runId, checkpoint: typeof checkpoint === 'string' && checkpoint ? checkpoint : undefined };
}

/** `name` resolved under `root` stays inside it and names a .jsonl file. */
export function insideFolder(root: string, name: string): boolean {
  if (!name.trim() || !name.toLowerCase().endsWith('.jsonl')) return false;
  const rel = relative(root, resolve(root, name));
  return rel !== '' && !rel.startsWith('..') && !isAbsolute(rel);
}
