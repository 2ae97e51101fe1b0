// Preview dataset's page: the agent's answers laid out as Markdown, with every piece of the file's own text fenced
// so that a row can never turn into Markdown or HTML. Rendered with markdown-it (the renderer VS Code's preview uses).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import MarkdownIt from 'markdown-it';
import { fence, previewMarkdown } from '../../src/core/dataset/previewMarkdown';
import type { DatasetInspection } from '../../src/core/protocol/messages';

const inspection: DatasetInspection = {
  file: 'train.jsonl', format: 'alpaca', bytes: 1200, lines: 12, rows: 12, bad_rows: 1, over_length: 0, truncated: 0, kept: 11,
  max_length: 64, sampled: false,
  tokens: { method: 'tokenizer', note: '', count: 11, total: 330, min: 20, median: 30, p95: 40, max: 41, mean: 30, histogram: [] },
  roles: {}, labels: { positive: 6, '<b>negative</b>': 5 }, distinct_labels: 2,
  duplicates: { rows: 0, groups: [] }, conflicts: { inputs: 0, groups: [] },
  diagnostics: [{ line: 3, severity: 'error', code: 'invalid_json', message: 'not valid JSON: <script>x</script>' }],
  diagnostic_counts: { invalid_json: 1 }, cached: false, seconds: 0.1,
};

const hostile = 'Review: ```\n<img src=x onerror=alert(1)> **bold** `tick`';

test('the page gives the agent\'s counts, its problems by line, and each sample with what carries loss', () => {
  const md = previewMarkdown({
    key: 'dataset.train', written: 'train.jsonl', configName: 'a.tunelab.yaml', model: 'model', inspection,
    samples: [
      { line: 1, sequences: [{ name: 'sample', text: `${hostile}\nAnswer: positive`, length: 30, trained_tokens: 2,
        tokens: [{ id: 1, text: 'Review', start: 0, end: 6, trained: false }, { id: 2, text: ' positive', start: hostile.length + 8, end: hostile.length + 17, trained: true }, { id: 3, text: '</s>', start: 0, end: 0, trained: true }] }] },
      { line: 2, error: 'the template refused it' },
    ],
  });
  const html = new MarkdownIt({ html: false }).render(md);
  assert.match(html, /<td>format<\/td>\s*<td>alpaca<\/td>/);
  assert.match(html, /<td>bad rows<\/td>\s*<td>1<\/td>/);
  assert.match(html, /median 30, p95 40, max 41; 330 in all/);
  assert.match(html, /line 3, error: <code>not valid JSON: &lt;script&gt;x&lt;\/script&gt;<\/code>/);
  assert.match(html, /<code>&lt;b&gt;negative&lt;\/b&gt;<\/code> 5/);
  assert.match(html, /<strong>sample<\/strong>: 30 tokens, 2 carry loss\./);
  assert.match(html, /What carries loss:<\/p>\s*<pre><code class="language-text"> positive&lt;\/s&gt;\n<\/code><\/pre>/);
  assert.match(html, /Not rendered: <code>the template refused it<\/code>/);
  // The row's own text stays inside its block, whole: its backticks did not close the fence.
  assert.ok(html.includes('Review: ```\n&lt;img src=x onerror=alert(1)&gt; **bold** `tick`\nAnswer: positive'), html);
  assert.doesNotMatch(html, /<img|<script|<strong>bold/);
});

test('a fence is longer than any backtick run in its text', () => {
  assert.equal(fence('a'), '```text\na\n```');
  assert.equal(fence('x ```` y'), '`````text\nx ```` y\n`````');
});
