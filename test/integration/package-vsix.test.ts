// The .vsix is made the way `npm run package` makes it (its vsce flags, read from package.json), from the build
// already in dist/: it must package at all (vsce refuses a README whose relative images it cannot place), and hold
// what the extension needs at run time and nothing it does not.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { repoRoot } from '../support/repoRoot';

const root = repoRoot();

test('the .vsix packages with the package script\'s flags and holds the code, the agent, the samples and the README\'s images', { timeout: 180_000 }, () => {
  const script: string = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')).scripts.package;
  const vsce = /vsce package (.*) -o \S+$/.exec(script);
  assert.ok(vsce, `the package script runs vsce package: ${script}`);
  const dir = mkdtempSync(join(tmpdir(), 'tunelab-vsix-'));
  try {
    const out = join(dir, 'tunelab.vsix');
    const made = spawnSync(join(root, 'node_modules', '.bin', 'vsce'), ['package', ...vsce[1].split(/\s+/), '-o', out], { cwd: root, encoding: 'utf8' });
    assert.equal(made.status, 0, `${made.stdout}\n${made.stderr}`);
    const listed = spawnSync('unzip', ['-Z1', out], { encoding: 'utf8' });
    assert.equal(listed.status, 0, listed.stderr);
    const files = listed.stdout.split('\n').filter(Boolean);
    for (const needed of ['extension/package.json', 'extension/dist/extension.js', 'extension/dist/webview/metrics.js', 'extension/dist/webview/chat.js',
      'extension/dist/webview/configForm.js', 'extension/dist/webview/dataset.js', 'extension/dist/workers/datasetIndex.js', 'extension/dist/workers/datasetSearch.js',
      'extension/media/configForm.css', 'extension/media/base.css', 'extension/media/dataset.css', 'extension/media/datasetRows.css', 'extension/media/datasetStats.css',
      'extension/python-agent/tunelab_agent/serving/server.py', 'extension/media/icon.png', 'extension/docs/images/dashboard.png',
      'extension/presets/classification.tunelab.yaml', 'extension/presets/data/tickets.train.jsonl']) {
      assert.ok(files.includes(needed), `${needed} is in the .vsix`);
    }
    // Every image the README shows is shipped beside it (links stay relative: the Extensions view reads them there).
    const readme = readFileSync(join(root, 'README.md'), 'utf8');
    for (const [, image] of readme.matchAll(/!\[[^\]]*\]\(([^)]+)\)/g)) assert.ok(files.includes(`extension/${image}`), `${image} is shipped`);
    for (const f of files) assert.doesNotMatch(f, /\.map$|node_modules|__pycache__|\/test\/|\.venv/, `${f} does not belong in the .vsix`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
