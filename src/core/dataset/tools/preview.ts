// The preview a data tool shows before its rows go in: two texts for a side-by-side diff, the source rows on the
// left and the same rows followed by their new rows on the right. Rows are pretty-printed, one field per line, so
// the diff lines up field by field instead of as one long changed line.
import type { AddedRow, ToolRow } from './synonyms';

/** A diff of thousands of rows is unreadable and slow to open; the preview shows this many source rows. */
export const PREVIEW_ROWS = 200;

function pretty(text: string): string {
  try {
    return JSON.stringify(JSON.parse(text.replace(/^\uFEFF/, '')), null, 2);
  } catch {
    // Only a row that a tool skipped can fail to parse, and it gains no rows; shown as it is all the same.
    return text;
  }
}

/**
 * `left`: each source row that gains rows, under a `# row N` line (N counted from 1). `right`: the same, each
 * followed by its new rows. Only the first PREVIEW_ROWS such source rows (in row order) are shown; a last line
 * `# … and N more rows` ("row" for one) on both sides counts the rest.
 */
export function toolDiff(before: readonly ToolRow[], added: readonly AddedRow[]): { left: string; right: string } {
  const source = new Map<number, string>();
  for (const r of before) source.set(r.row, r.text);
  const newRows = new Map<number, string[]>();
  for (const a of added) {
    const list = newRows.get(a.after);
    if (list) list.push(a.text);
    else newRows.set(a.after, [a.text]);
  }
  const rows = [...newRows.keys()].sort((a, b) => a - b);
  const left: string[] = [];
  const right: string[] = [];
  for (const row of rows.slice(0, PREVIEW_ROWS)) {
    const header = `# row ${row + 1}`;
    const text = source.get(row);
    const shown = text === undefined ? [header] : [header, pretty(text)];
    left.push(...shown, '');
    right.push(...shown, '');
    for (const t of newRows.get(row)!) right.push(pretty(t), '');
  }
  if (rows.length > PREVIEW_ROWS) {
    const n = rows.length - PREVIEW_ROWS;
    const more = `# … and ${n} more ${n === 1 ? 'row' : 'rows'}`;
    left.push(more, '');
    right.push(more, '');
  }
  return { left: left.join('\n'), right: right.join('\n') };
}
