// The line under the toolbar that says how much of the run's past the chart holds.
import type { HistoryStatus } from './protocol';

const count = (n: number) => n.toLocaleString('en-US');

/** Empty when the chart simply holds the whole history. */
export function historyNote(h: HistoryStatus): string {
  switch (h.state) {
    case 'loading':
      return 'Loading the run\'s history…';
    case 'loaded':
      return h.logged > h.received ? `History downsampled: ${count(h.received)} of ${count(h.logged)} logged points, then every new one.` : '';
    case 'unavailable':
      return `History unavailable: ${h.reason}. Showing the points logged since this chart opened.`;
    case 'failed':
      return `History could not be loaded: ${h.reason}. Showing the points logged since this chart opened.`;
  }
}

export function renderHistoryNote(h: HistoryStatus): void {
  const el = document.getElementById('history-note');
  if (!el) return;
  el.textContent = historyNote(h);
  el.hidden = !el.textContent;
  el.dataset.state = h.state;
}
