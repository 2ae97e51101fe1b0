// The manifest's newcomer parts agree with the code: walkthrough steps are checked off by keys the extension
// sets, the Runs view's welcome texts read the key it sets, the notification setting lists every kind, and the
// package is built for production with an icon.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { AGENT_VIEW_STATE_KEY, WALKTHROUGH_KEYS, replayKey, type WalkthroughKey } from '../../src/core/onboarding/onboardingState';
import { NOTIFICATION_KINDS } from '../../src/core/runs/runNotifications';
import { repoRoot } from '../support/repoRoot';

const root = repoRoot();
const manifest = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const contributes = manifest.contributes;

test('every walkthrough step is checked off by a real event: a context key the extension pulses', () => {
  const [walkthrough] = contributes.walkthroughs;
  assert.deepEqual(walkthrough.steps.map((s: { id: string }) => s.id), ['setupAgent', 'openSample', 'launch', 'watchMetrics', 'chat']);
  const keys = new Set<string>(Object.values(WALKTHROUGH_KEYS));
  for (const step of walkthrough.steps) {
    // The milestone's own key, then the key pulsed when a walkthrough opens (replayKey explains why two).
    const [event, replay] = step.completionEvents as string[];
    assert.equal(step.completionEvents.length, 2, step.id);
    const key = event.slice('onContext:'.length) as WalkthroughKey;
    assert.ok(event.startsWith('onContext:') && keys.has(key), `${step.id}: ${event} is set by src/vscode/onboarding.ts`);
    assert.equal(replay, `onContext:${replayKey(key)}`, step.id);
    assert.ok(existsSync(join(root, step.media.markdown)), `${step.id}: ${step.media.markdown} exists`);
  }
  assert.equal(keys.size, 5, 'each key checks off one step');
});

test('the Runs view says "No runs yet" only when the agent is ready, and otherwise that it is connecting or down', () => {
  const welcome = contributes.viewsWelcome.filter((w: { view: string }) => w.view === 'tunelab.runs');
  const noRuns = welcome.find((w: { contents: string }) => w.contents.startsWith('No runs yet'));
  assert.equal(noRuns.when, `isWorkspaceTrusted && ${AGENT_VIEW_STATE_KEY} == ready`);
  assert.ok(welcome.some((w: { when: string; contents: string }) => w.when.includes(`${AGENT_VIEW_STATE_KEY} != ready`) && /Connecting/.test(w.contents)));
  assert.ok(welcome.some((w: { when: string; contents: string }) => w.when.includes(`${AGENT_VIEW_STATE_KEY} == failed`) && w.contents.includes('command:tunelab.reconnect')));
});

test('tunelab.notifications lists every notification kind, and tunelab.dataFolders is a list of folders', () => {
  const props = contributes.configuration.properties;
  assert.deepEqual(Object.keys(props['tunelab.notifications'].properties).sort(), [...NOTIFICATION_KINDS].sort());
  assert.equal(props['tunelab.dataFolders'].type, 'array');
  assert.equal(props['tunelab.dataFolders'].items.type, 'string');
});

test('Stop Run is in the palette, and Launch Run is on *.tunelab.yaml in the Explorer', () => {
  const palette = contributes.menus.commandPalette.find((m: { command: string }) => m.command === 'tunelab.stopRun');
  assert.equal(palette.when, 'isWorkspaceTrusted');
  const [launch] = contributes.menus['explorer/context'];
  assert.equal(launch.command, 'tunelab.launchConfig');
  assert.match(launch.when, /resourceFilename =~ .*tunelab.*ya\?ml/);
  assert.match(launch.when, /isWorkspaceTrusted/);
});

test('the package is a production build with an icon, and ships no source maps', () => {
  assert.match(manifest.scripts.package, /node scripts\/build\.mjs --production && vsce package/);
  const icon = readFileSync(join(root, manifest.icon));
  assert.equal(icon.subarray(1, 4).toString(), 'PNG', `${manifest.icon} is a PNG (the Marketplace takes no SVG icon)`);
  const ignore = readFileSync(join(root, '.vscodeignore'), 'utf8').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  assert.equal(ignore[0], '**', '.vscodeignore is an allowlist');
  assert.ok(ignore.includes(`!${manifest.icon}`) || ignore.includes('!media/**'), 'the icon is shipped');
  assert.ok(!ignore.some((l) => l.startsWith('!') && (l.endsWith('.map') || l.endsWith('/**') && l.startsWith('!dist'))), 'no source maps are let in');
});

test('the README, as the Extensions view shows it, starts with what a user does, not with npm', () => {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const firstSection = readme.slice(readme.indexOf('\n## '), readme.indexOf('\n## ', readme.indexOf('\n## ') + 1));
  assert.match(firstSection, /^\n## Getting started/);
  assert.doesNotMatch(firstSection, /npm (run|test|install)/);
});
