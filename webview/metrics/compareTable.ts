// The table of config keys that differ between compared runs: one row per key, one column per run.
// Values are set as text: a config may hold anything.
import type { ConfigDiff, RunRecord } from './protocol';

export function renderCompareTable(root: HTMLElement, diff: ConfigDiff | null, runs: RunRecord[]): void {
  root.replaceChildren();
  root.hidden = diff === null;
  if (!diff) return;
  const heading = document.createElement('h2');
  heading.textContent = diff.rows.length
    ? `Config keys that differ (${diff.rows.length})`
    : 'The compared runs\' configs differ in no key but their names';
  root.append(heading);
  for (const note of diff.notes) {
    const p = document.createElement('p');
    p.className = 'note';
    p.textContent = note;
    root.append(p);
  }
  if (!diff.rows.length) return;
  const table = document.createElement('table');
  table.id = 'config-diff';
  const head = table.createTHead().insertRow();
  const th = (text: string) => {
    const cell = document.createElement('th');
    cell.textContent = text;
    head.append(cell);
  };
  th('key');
  for (const id of diff.runIds) th(runs.find((r) => r.runId === id)?.name ?? id);
  const body = table.createTBody();
  for (const row of diff.rows) {
    const tr = body.insertRow();
    tr.dataset.key = row.key;
    tr.insertCell().textContent = row.key;
    for (const v of row.values) {
      const cell = tr.insertCell();
      cell.textContent = v ?? '–';
      if (v === null) cell.className = 'absent';
    }
  }
  root.append(table);
}
