// Text formatting for the terminal demo: numbers, durations, a progress bar and a fixed-width table.
// Plain functions so they are unit-tested without a terminal.

export function formatDuration(seconds: number | null | undefined): string {
  if (seconds == null || !Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const pad = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${pad(m)}:${pad(s % 60)}` : `${pad(m)}:${pad(s % 60)}`;
}

export function formatNumber(value: number | null | undefined, digits = 4): string {
  if (value == null || !Number.isFinite(value)) return '-';
  if (value !== 0 && (Math.abs(value) < 1e-3 || Math.abs(value) >= 1e5)) return value.toExponential(2);
  return value.toFixed(digits);
}

export function progressBar(done: number, total: number, width = 24): string {
  const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const filled = Math.round(fraction * width);
  return `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${String(Math.round(fraction * 100)).padStart(3)}%`;
}

export function truncate(text: string, width: number): string {
  // A base model babbles control characters and broken UTF-8; show them as dots so columns stay aligned.
  const oneLine = text.replace(/\s+/g, ' ').replace(/[\u0000-\u001f\u007f-\u009f\ufffd]/g, '·').trim();
  return oneLine.length <= width ? oneLine : `${oneLine.slice(0, Math.max(0, width - 1))}…`;
}

/** Renders rows as an aligned text table; the first row is the header. */
export function renderTable(rows: string[][], maxWidths: number[] = []): string {
  const cols = Math.max(...rows.map((r) => r.length));
  const cells = rows.map((r) => Array.from({ length: cols }, (_, i) => truncate(r[i] ?? '', maxWidths[i] ?? 40)));
  const widths = Array.from({ length: cols }, (_, i) => Math.max(...cells.map((r) => r[i].length)));
  const line = (r: string[]) => r.map((c, i) => c.padEnd(widths[i])).join(' │ ').trimEnd();
  const rule = widths.map((w) => '─'.repeat(w)).join('─┼─');
  return [line(cells[0]), rule, ...cells.slice(1).map(line)].join('\n');
}
