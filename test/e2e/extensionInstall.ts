// Lays the built extension out in an --extensions-dir the way the .vsix would: manifest, bundles, media, agent sources.
import { existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

const PARTS = ['package.json', 'dist', 'media', 'samples', 'python-agent/pyproject.toml', 'python-agent/README.md', 'python-agent/tunelab_agent'];

export function installExtension(repo: string, extensionsDir: string): string {
  const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };
  for (const built of ['dist/extension.js', 'dist/webview/metrics.js']) {
    if (!existsSync(join(repo, built))) throw new Error(`${built} is missing: run "node scripts/build.mjs" before the e2e tests`);
  }
  const target = join(extensionsDir, `${manifest.publisher}.${manifest.name}-${manifest.version}`);
  mkdirSync(join(target, 'python-agent'), { recursive: true });
  for (const part of PARTS) symlinkSync(join(repo, part), join(target, part));
  return target;
}
