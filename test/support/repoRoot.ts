// The repository root, found from wherever a compiled test runs (out/test/<suite>/...).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export function repoRoot(start = __dirname): string {
  for (let dir = start; ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === 'tunelab') return dir;
    if (dirname(dir) === dir) throw new Error(`no tunelab package.json above ${start}`);
  }
}
