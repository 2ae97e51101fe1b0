// The dataset editor's stats pane: the agent's inspection of the file (inspect_dataset) as a summary, a token-length
// histogram against the config's max_length, role and label balance, duplicate and conflict groups that jump to their
// lines, and diagnostic counts by code. It lives in a narrow side column, so charts sit in fixed-height wrappers and
// follow the column's width. Everything from the dataset is set as text or properties, never as HTML.
import {
  BarController, BarElement, CategoryScale, Chart, LinearScale, Tooltip,
  type ChartConfiguration, type Plugin,
} from 'chart.js';
import type { DatasetInspection } from '../../src/core/protocol/messages';
import { strokeVertical } from '../metrics/chartPlugins';
import { readThemeColors, withAlpha, type ChartColors } from '../metrics/theme';

Chart.register(BarController, BarElement, CategoryScale, LinearScale, Tooltip);

export interface StatsEvents {
  goToLine(line: number): void;
}

export interface StatsContext {
  model: string | null;
  maxLength: number | null;
}

type Bin = DatasetInspection['tokens']['histogram'][number];
type BarChart = Chart<'bar', Array<number | null>, string>;

/** Groups listed per section and lines per group: enough to act on, bounded however many the agent sends. */
const MAX_GROUPS = 50;
const MAX_GROUP_LINES = 50;
/** Bars in a balance chart; more would be unreadable at this width (the rest are counted in a note). */
const MAX_BARS = 20;
const BAR_ROW_PX = 20;
const LABEL_CHARS = 40;
const FONT_SIZE = 11;

const fmt = (n: number) => n.toLocaleString('en-US');
const fmtStat = (n: number | null) => (n === null ? '–' : fmt(Math.round(n * 10) / 10));
const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

function share(part: number, whole: number): string {
  if (!whole || !part) return '';
  const pct = (100 * part) / whole;
  return pct < 0.1 ? ' (<0.1%)' : ` (${pct.toFixed(pct < 10 ? 1 : 0)}%)`;
}

function el<K extends keyof HTMLElementTagNameMap>(tag: K, className?: string, text?: string): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (className) e.className = className;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** The horizontal position of a token length on the histogram's category axis: inside its bin, proportionally. */
function pixelOfLength(chart: Chart, bins: Bin[], length: number): number | null {
  const x = chart.scales.x;
  if (!x || !bins.length) return null;
  const width = x.width / bins.length;
  let i = bins.findIndex((b) => length >= b.start && length < b.end);
  let frac: number;
  if (i >= 0) frac = bins[i].end > bins[i].start ? (length - bins[i].start) / (bins[i].end - bins[i].start) : 0;
  else if (length < bins[0].start) { i = 0; frac = 0; }
  else { i = bins.length - 1; frac = 1; }
  return x.getPixelForValue(i) - width / 2 + frac * width;
}

/**
 * Draws max_length as a labelled vertical line on the histogram. A plugin per chart (not registered globally), so
 * the value rides in its closure and no other chart on the page draws it. The pixel it drew at goes on the canvas
 * for end-to-end tests, which cannot see inside a canvas.
 */
function maxLengthPlugin(bins: Bin[], maxLength: number, colors: ChartColors): Plugin<'bar'> {
  return {
    id: 'maxLengthLine',
    afterDatasetsDraw(chart) {
      const px = pixelOfLength(chart, bins, maxLength);
      if (px === null) return;
      const { top, bottom, left, right } = chart.chartArea;
      const ctx = chart.ctx;
      strokeVertical(ctx, px, top, bottom, { color: colors.warning, width: 1.5, dash: [4, 3] });
      ctx.save();
      // Past the last bin the line sits on the right edge; the arrow says the value lies beyond the axis.
      const beyond = maxLength >= bins[bins.length - 1].end;
      const text = `max_length ${fmt(maxLength)}${beyond ? ' →' : ''}`;
      ctx.font = `${FONT_SIZE}px ${colors.font}`;
      ctx.textBaseline = 'top';
      // Beside the line, on whichever side has room for it in a narrow chart.
      const width = ctx.measureText(text).width;
      const fits = px + 4 + width <= right;
      const x0 = fits ? px + 4 : Math.max(left, px - 4 - width);
      // A backing box: the label may sit over tall bars.
      ctx.fillStyle = withAlpha(colors.background, 0.8);
      ctx.fillRect(x0 - 2, top + 1, width + 4, FONT_SIZE + 3);
      ctx.fillStyle = colors.warning;
      ctx.textAlign = 'left';
      ctx.fillText(text, x0, top + 2);
      ctx.restore();
      chart.canvas.dataset.maxLengthX = String(Math.round(px));
    },
  };
}

export class StatsPane {
  private charts: BarChart[] = [];
  private last: { inspection: DatasetInspection; context: StatsContext } | null = null;
  private themeFrame = 0;
  /** Charts read the theme's colours when drawn; a theme switch redraws them (VS Code rewrites <html>'s style). */
  private readonly themeObserver = new MutationObserver(() => {
    if (this.themeFrame || !this.last) return;
    this.themeFrame = requestAnimationFrame(() => {
      this.themeFrame = 0;
      if (!this.last || this.container.dataset.state !== 'ready') return;
      // Rebuilding empties the pane; the person keeps their place in it.
      const scroll = this.container.scrollTop;
      this.show(this.last.inspection, this.last.context);
      this.container.scrollTop = scroll;
    });
  });
  private readonly onClick = (e: MouseEvent) => {
    const target = (e.target as HTMLElement).closest<HTMLElement>('[data-line]');
    if (!target || !this.container.contains(target)) return;
    const line = Number(target.dataset.line);
    if (Number.isInteger(line) && line >= 1) this.events.goToLine(line);
  };

  constructor(private readonly container: HTMLElement, private readonly events: StatsEvents) {
    container.classList.add('stats-pane');
    // One listener for every line link: groups are rebuilt on each show, the listener stays.
    container.addEventListener('click', this.onClick);
    this.themeObserver.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
    this.themeObserver.observe(document.body, { attributes: true, attributeFilter: ['class'] });
  }

  showLoading(message: string, progress?: { done: number; total: number }): void {
    this.reset('loading');
    const box = el('div', 'stats-status');
    box.dataset.testid = 'stats-status';
    box.setAttribute('role', 'status');
    const text = el('div', 'stats-status-text', message);
    const bar = el('progress', 'stats-progress');
    bar.dataset.testid = 'stats-progress';
    bar.max = 1;
    if (progress && progress.total > 0) {
      const f = Math.max(0, Math.min(1, progress.done / progress.total));
      bar.value = f;
      text.textContent = `${message} (${Math.round(100 * f)}%)`;
    } else {
      bar.removeAttribute('value'); // indeterminate: the total is not known yet
    }
    box.append(text, bar);
    this.container.append(box);
  }

  /** Nothing read yet, and why (a big file waits to be asked for). */
  showNote(message: string): void {
    this.reset('idle');
    const box = el('div', 'stats-status', message);
    box.dataset.testid = 'stats-note';
    box.setAttribute('role', 'status');
    this.container.append(box);
  }

  showError(message: string): void {
    this.reset('error');
    const box = el('div', 'stats-status stats-error', message);
    box.dataset.testid = 'stats-error';
    box.setAttribute('role', 'alert');
    this.container.append(box);
  }

  show(inspection: DatasetInspection, context: StatsContext): void {
    this.reset('ready');
    this.last = { inspection, context };
    const colors = readThemeColors();
    Chart.defaults.color = colors.foreground;
    Chart.defaults.borderColor = colors.grid;
    Chart.defaults.font.family = colors.font;
    Chart.defaults.font.size = FONT_SIZE;
    this.container.append(
      this.summary(inspection, context),
      this.histogram(inspection, context, colors),
      this.balance('stats-roles', 'Roles', inspection.roles, colors.palette[0], 'No roles: the rows are not conversations.'),
      this.balance('stats-labels', 'Labels', inspection.labels, colors.palette[3], 'No labels found.', inspection.distinct_labels),
      this.groups('stats-duplicates', 'Duplicates', this.duplicatesHead(inspection), inspection.duplicates.groups.map((g) => ({ lines: g.lines }))),
      this.groups('stats-conflicts', 'Conflicting labels', this.conflictsHead(inspection), inspection.conflicts.groups),
      this.codes(inspection),
    );
  }

  dispose(): void {
    this.reset(null);
    this.last = null;
    if (this.themeFrame) cancelAnimationFrame(this.themeFrame);
    this.themeObserver.disconnect();
    this.container.removeEventListener('click', this.onClick);
    this.container.classList.remove('stats-pane');
  }

  // ---- sections -------------------------------------------------------------------------------

  private reset(state: 'idle' | 'loading' | 'error' | 'ready' | null): void {
    for (const chart of this.charts) chart.destroy();
    this.charts = [];
    this.container.replaceChildren();
    if (state) this.container.dataset.state = state;
    else delete this.container.dataset.state;
  }

  private section(id: string, title: string): HTMLElement {
    const s = el('section', 'stats-section');
    s.id = id;
    s.append(el('h3', 'stats-title', title));
    return s;
  }

  private summary(d: DatasetInspection, context: StatsContext): HTMLElement {
    const s = this.section('stats-summary', 'Summary');
    const list = el('dl', 'stats-facts');
    const fact = (testid: string, label: string, value: string, tone?: 'error' | 'warning', note?: string) => {
      const dt = el('dt', undefined, label);
      const dd = el('dd', undefined, value);
      dd.dataset.testid = testid;
      if (tone) dd.classList.add(`stats-${tone}`);
      if (note) dd.append(el('span', 'stats-note', note));
      list.append(dt, dd);
    };
    fact('stats-file', 'File', d.file);
    fact('stats-format', 'Format', d.format);
    fact('stats-rows', 'Rows', fmt(d.rows), undefined, d.sampled ? `first ${fmt(d.rows)} rows only` : undefined);
    fact('stats-bad-rows', 'Bad rows', fmt(d.bad_rows) + share(d.bad_rows, d.rows), d.bad_rows ? 'error' : undefined);
    fact('stats-over-length', 'Over max_length', fmt(d.over_length) + share(d.over_length, d.rows), d.over_length ? 'warning' : undefined,
      d.max_length === null ? 'no max_length set' : `max_length ${fmt(d.max_length)}`);
    fact('stats-truncated', 'Truncated', fmt(d.truncated) + share(d.truncated, d.rows));
    fact('stats-kept', 'Kept', fmt(d.kept) + share(d.kept, d.rows));
    const approximate = d.tokens.method === 'approximate';
    const method = approximate ? 'approximate (characters / 4): no model'
      : `tokens by ${context.model ? `${context.model}'s` : "the model's"} tokenizer`;
    fact('stats-token-method', 'Tokens', method, approximate ? 'warning' : undefined);
    list.lastElementChild?.setAttribute('title', d.tokens.note);
    s.append(list);

    const stats = el('div', 'stats-tokens');
    stats.dataset.testid = 'stats-token-stats';
    for (const [name, value] of [['min', d.tokens.min], ['median', d.tokens.median], ['p95', d.tokens.p95], ['max', d.tokens.max], ['mean', d.tokens.mean]] as const) {
      const cell = el('div', 'stats-token');
      const v = el('div', 'stats-token-value', fmtStat(value));
      v.dataset.testid = `stats-tokens-${name}`;
      cell.append(v, el('div', 'stats-token-name', name));
      stats.append(cell);
    }
    s.append(stats);
    s.append(el('div', 'stats-note stats-footer', `${d.cached ? 'from the cache' : `read in ${d.seconds.toFixed(1)} s`}`));
    return s;
  }

  private histogram(d: DatasetInspection, context: StatsContext, colors: ChartColors): HTMLElement {
    const s = this.section('stats-histogram-section', 'Token lengths');
    const bins = d.tokens.histogram;
    const maxLength = context.maxLength ?? d.max_length;
    const wrap = el('div', 'stats-chart stats-chart-histogram');
    const canvas = el('canvas');
    canvas.id = 'stats-histogram';
    canvas.dataset.bins = String(bins.length);
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', `Histogram of token lengths in ${bins.length} bins${maxLength === null ? '' : `, max_length ${maxLength}`}`);
    if (maxLength !== null) canvas.dataset.maxLength = String(maxLength);
    wrap.append(canvas);
    s.append(wrap);
    if (!bins.length) {
      wrap.hidden = true;
      s.append(el('div', 'stats-note', 'No rows to measure.'));
      return s;
    }
    // A bin wholly above max_length is all cut or dropped; one that straddles it only partly, so it is paler.
    const fill = bins.map((b) => maxLength === null || b.end - 1 <= maxLength ? colors.palette[0]
      : b.start > maxLength ? colors.warning : withAlpha(colors.warning, 0.55));
    const config: ChartConfiguration<'bar', Array<number | null>, string> = {
      type: 'bar',
      data: {
        labels: bins.map((b) => `${fmt(b.start)}–${fmt(b.end)}`),
        // A few long rows beside thousands of short ones would draw as nothing: a non-empty bin keeps a sliver
        // (minBarLength), an empty one stays empty (null, which minBarLength leaves alone).
        datasets: [{ data: bins.map((b) => b.count || null), backgroundColor: fill, borderWidth: 0, barPercentage: 1, categoryPercentage: 0.92, minBarLength: 2 }],
      },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          tooltip: { callbacks: { title: (items) => `${items[0]?.label ?? ''} tokens`, label: (item) => `${fmt(Number(item.raw))} rows` } },
        },
        scales: {
          x: {
            grid: { display: false },
            ticks: {
              maxRotation: 0,
              autoSkipPadding: 8,
              callback: (_v, i) => fmt(bins[i]?.start ?? 0),
            },
            title: { display: true, text: 'tokens' },
          },
          y: { beginAtZero: true, ticks: { precision: 0, maxTicksLimit: 5 }, title: { display: true, text: 'rows' } },
        },
      },
      plugins: maxLength === null ? [] : [maxLengthPlugin(bins, maxLength, colors)],
    };
    this.charts.push(new Chart(canvas, config));
    return s;
  }

  /** A horizontal bar per name, largest first; `distinct` counts names the agent did not send. */
  private balance(id: string, title: string, counts: Record<string, number>, color: string, empty: string, distinct?: number): HTMLElement {
    const s = this.section(id, title);
    const entries = Object.entries(counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    if (!entries.length) {
      s.append(el('div', 'stats-note', empty));
      return s;
    }
    const shown = entries.slice(0, MAX_BARS);
    const total = Math.max(distinct ?? 0, entries.length);
    if (total > shown.length) {
      const note = el('div', 'stats-note', `top ${fmt(shown.length)} of ${fmt(total)} distinct ${title.toLowerCase()}`);
      note.dataset.testid = `${id}-more`;
      s.append(note);
    }
    const sum = entries.reduce((a, [, n]) => a + n, 0);
    const wrap = el('div', 'stats-chart');
    // Height follows the bar count: a fixed height would squash twenty bars or stretch two.
    wrap.style.height = `${shown.length * BAR_ROW_PX + 28}px`;
    const canvas = el('canvas');
    canvas.dataset.testid = `${id}-chart`;
    canvas.dataset.bars = String(shown.length);
    canvas.setAttribute('role', 'img');
    canvas.setAttribute('aria-label', `${title}: ${shown.map(([k, n]) => `${k} ${n}`).join(', ')}`);
    wrap.append(canvas);
    s.append(wrap);
    const names = shown.map(([k]) => k);
    this.charts.push(new Chart(canvas, {
      type: 'bar',
      data: {
        labels: names.map((k) => clip(k === '' ? '(empty)' : k, 18)),
        datasets: [{ data: shown.map(([, n]) => n), backgroundColor: color, borderWidth: 0, barPercentage: 0.8, categoryPercentage: 0.9 }],
      },
      options: {
        indexAxis: 'y',
        responsive: true,
        maintainAspectRatio: false,
        animation: false,
        plugins: {
          tooltip: { callbacks: {
            title: (items) => names[items[0]?.dataIndex ?? 0] ?? '',
            label: (item) => `${fmt(Number(item.raw))}${share(Number(item.raw), sum)}`,
          } },
        },
        scales: {
          x: { beginAtZero: true, ticks: { precision: 0, maxTicksLimit: 4 } },
          y: { grid: { display: false }, ticks: { autoSkip: false } },
        },
      },
    }));
    return s;
  }

  private duplicatesHead(d: DatasetInspection): string {
    const { rows, groups } = d.duplicates;
    return rows ? `${fmt(rows)} duplicate ${rows === 1 ? 'row' : 'rows'} in ${fmt(groups.length)} ${groups.length === 1 ? 'group' : 'groups'}` : 'No duplicate rows.';
  }

  private conflictsHead(d: DatasetInspection): string {
    const n = d.conflicts.inputs;
    return n ? `${fmt(n)} ${n === 1 ? 'input' : 'inputs'} with conflicting labels` : 'No inputs with conflicting labels.';
  }

  /** Each group as "lines 3, 17, 40": "lines" goes to the first line, each number to its own. */
  private groups(id: string, title: string, head: string, groups: Array<{ lines: number[]; labels?: string[] }>): HTMLElement {
    const s = this.section(id, title);
    const summary = el('div', 'stats-group-head', head);
    summary.dataset.testid = `${id}-head`;
    s.append(summary);
    if (!groups.length) return s;
    const list = el('ul', 'stats-groups');
    for (const g of groups.slice(0, MAX_GROUPS)) {
      const item = el('li', 'stats-group');
      const first = el('button', 'stats-link stats-group-link', 'lines');
      first.type = 'button';
      first.dataset.line = String(g.lines[0]);
      first.title = `Go to line ${g.lines[0]}`;
      item.append(first, ' ');
      g.lines.slice(0, MAX_GROUP_LINES).forEach((line, i) => {
        if (i) item.append(', ');
        const link = el('button', 'stats-link stats-line', String(line));
        link.type = 'button';
        link.dataset.line = String(line);
        link.title = `Go to line ${line}`;
        item.append(link);
        const label = g.labels?.[i];
        if (label !== undefined) {
          const tag = el('span', 'stats-label', ` (${clip(label, LABEL_CHARS)})`);
          tag.title = label;
          item.append(tag);
        }
      });
      if (g.lines.length > MAX_GROUP_LINES) item.append(el('span', 'stats-note', ` +${fmt(g.lines.length - MAX_GROUP_LINES)} more`));
      list.append(item);
    }
    s.append(list);
    if (groups.length > MAX_GROUPS) s.append(el('div', 'stats-note', `+${fmt(groups.length - MAX_GROUPS)} more groups not listed`));
    return s;
  }

  private codes(d: DatasetInspection): HTMLElement {
    const s = this.section('stats-codes', 'Diagnostics');
    const entries = Object.entries(d.diagnostic_counts).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
    if (!entries.length) {
      s.append(el('div', 'stats-note', 'No diagnostics.'));
      return s;
    }
    const table = el('table', 'stats-codes-table');
    table.dataset.testid = 'stats-codes-table';
    // diagnostic_counts has no severity; the listed diagnostics tell it for the codes they include.
    const severity = new Map<string, string>();
    for (const diag of d.diagnostics) if (!severity.has(diag.code)) severity.set(diag.code, diag.severity);
    const head = el('tr');
    head.append(el('th', undefined, 'code'), el('th', 'stats-num', 'rows'));
    table.createTHead().append(head);
    const body = table.createTBody();
    for (const [code, n] of entries.slice(0, MAX_GROUPS)) {
      const row = el('tr');
      row.dataset.code = code;
      const name = el('td', 'stats-code', code);
      const sev = severity.get(code);
      if (sev) row.dataset.severity = sev;
      row.append(name, el('td', 'stats-num', fmt(n)));
      body.append(row);
    }
    s.append(table);
    if (entries.length > MAX_GROUPS) s.append(el('div', 'stats-note', `+${fmt(entries.length - MAX_GROUPS)} more codes`));
    return s;
  }
}
