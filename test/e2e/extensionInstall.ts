// Lays the built extension out in an --extensions-dir the way the .vsix would: manifest, bundles, media, agent sources.
import { cpSync, existsSync, mkdirSync, readFileSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';

// The code is copied: VS Code tells which extension is calling its API by the path of the calling module, and a
// symlinked dist/ resolves outside the extension's folder (notifications then came from "Null Extension
// Description"). The rest, read as files, is linked.
const COPIED = ['package.json', 'dist'];
const LINKED = ['media', 'samples', 'presets', 'python-agent/pyproject.toml', 'python-agent/README.md', 'python-agent/tunelab_agent'];

export function installExtension(repo: string, extensionsDir: string): string {
  const manifest = JSON.parse(readFileSync(join(repo, 'package.json'), 'utf8')) as { publisher: string; name: string; version: string };
  for (const built of ['dist/extension.js', 'dist/webview/metrics.js']) {
    if (!existsSync(join(repo, built))) throw new Error(`${built} is missing: run "node scripts/build.mjs" before the e2e tests`);
  }
  const target = join(extensionsDir, `${manifest.publisher}.${manifest.name}-${manifest.version}`);
  mkdirSync(join(target, 'python-agent'), { recursive: true });
  for (const part of COPIED) cpSync(join(repo, part), join(target, part), { recursive: true });
  for (const part of LINKED) symlinkSync(join(repo, part), join(target, part));
  return target;
}
