import assert from 'node:assert/strict';
import { mkdtempSync, mkdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { dataFolders } from '../../src/core/host/dataFolders';

test('tunelab.dataFolders: ~ is expanded, only folders that exist are passed to the agent', () => {
  const home = mkdtempSync(join(tmpdir(), 'tunelab-datafolders-'));
  mkdirSync(join(home, 'models'));
  writeFileSync(join(home, 'a-file'), 'x');
  assert.deepEqual(dataFolders(['~/models', ' ~/models/ ', '~/missing', '~/a-file', '', 7, null], home), [join(home, 'models'), join(home, 'models')]);
  assert.deepEqual(dataFolders('~/models', home), [], 'a string instead of a list is ignored, not split');
  assert.deepEqual(dataFolders(undefined, home), []);
});
