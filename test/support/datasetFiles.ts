// Scratch files for the dataset core's tests, and its worker bundles built the way the extension's bundler
// builds them: each worker its own entry point with all of src bundled in.
import { buildSync } from 'esbuild';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after } from 'node:test';
import { repoRoot } from './repoRoot';

/** A temp folder removed after the test file, and a writer of numbered files in it. */
export function scratchFiles(prefix: string): { dir: string; file(content: string | Buffer, name?: string): string } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  after(() => rmSync(dir, { recursive: true, force: true }));
  let n = 0;
  return {
    dir,
    file(content, name = `f${n++}.jsonl`) {
      const path = join(dir, name);
      writeFileSync(path, content);
      return path;
    },
  };
}

const bundles = new Map<string, string>();

/** `src/core/dataset/<name>.ts` bundled once per process into `dir`; its path. */
export function workerBundle(name: 'indexWorker' | 'searchWorker', dir: string): string {
  let out = bundles.get(name);
  if (!out) {
    out = join(mkdtempSync(join(dir, 'worker-')), `${name}.js`);
    buildSync({
      entryPoints: [join(repoRoot(), 'src/core/dataset', `${name}.ts`)], outfile: out,
      bundle: true, platform: 'node', target: 'node20', format: 'cjs', logLevel: 'warning',
    });
    bundles.set(name, out);
  }
  return out;
}
