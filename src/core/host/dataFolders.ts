// The tunelab.dataFolders setting as the agent needs it: absolute paths of folders that exist. A folder that
// is gone is left out rather than passed on (the agent refuses to start with a --data-dir that is not a folder).
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { expandHome } from '../homePath';

const isFolder = (path: string): boolean => {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
};

export function dataFolders(value: unknown, home?: string, exists: (path: string) => boolean = isFolder): string[] {
  if (!Array.isArray(value)) return [];
  return value
    .filter((v): v is string => typeof v === 'string' && v.trim() !== '')
    .map((v) => resolve(expandHome(v.trim(), home)))
    .filter(exists);
}
