// "~" in paths the user wrote (settings, ssh config, run configs), expanded the way a shell would.
import { homedir } from 'node:os';
import { join } from 'node:path';

/** "~" and "~/x" under `home` (default: this user's home); any other path is returned as it is. */
export function expandHome(path: string, home: string = homedir()): string {
  return path === '~' ? home : path.startsWith('~/') ? join(home, path.slice(2)) : path;
}
