// Chart.js plugins of the dashboard, each one drawing job: the healthy band of a chart (grad norm), the
// markers on the step axis (checkpoints, Save/Eval now, warnings, resumes), and the crosshair of the
// synchronised hover. They read their inputs from the chart's options, so the grid only sets options.
import type { Chart, Plugin } from 'chart.js';

export interface BandOptions { low: number; high: number; color: string }

export interface DrawnMarker {
  step: number;
  color: string;
  /** A solid line for checkpoints and control results, dashed for warnings and resumes. */
  dashed: boolean;
  text: string;
  runId: string;
  checkpoint?: string;
  kind: string;
}

export interface MarkerOptions { items: DrawnMarker[] }
export interface CrosshairOptions { step: number | null; color: string }

declare module 'chart.js' {
  interface PluginOptionsByType<TType> {
    band?: BandOptions | false;
    markers?: MarkerOptions;
    crosshair?: CrosshairOptions;
  }
}

export const bandPlugin: Plugin<'line'> = {
  id: 'band',
  beforeDatasetsDraw(chart: Chart) {
    const band = chart.options.plugins?.band as BandOptions | false | undefined;
    const y = chart.scales.y;
    if (!band || !y) return;
    const { left, right, top, bottom } = chart.chartArea;
    const y1 = Math.max(top, Math.min(bottom, y.getPixelForValue(band.high)));
    const y2 = Math.max(top, Math.min(bottom, y.getPixelForValue(band.low)));
    if (!(y2 > y1)) return;
    const ctx = chart.ctx;
    ctx.save();
    ctx.fillStyle = band.color;
    ctx.fillRect(left, y1, right - left, y2 - y1);
    ctx.restore();
  },
};

export const markersPlugin: Plugin<'line'> = {
  id: 'markers',
  afterDatasetsDraw(chart: Chart) {
    const items = (chart.options.plugins?.markers as MarkerOptions | undefined)?.items ?? [];
    const x = chart.scales.x;
    if (!items.length || !x) return;
    const { left, right, top, bottom } = chart.chartArea;
    const ctx = chart.ctx;
    ctx.save();
    for (const m of items) {
      const px = x.getPixelForValue(m.step);
      if (px < left - 0.5 || px > right + 0.5) continue;
      strokeVertical(ctx, px, top, bottom, { color: m.color, width: 1.5, dash: m.dashed ? [3, 3] : [] });
      // A small flag at the top: what a person clicks (checkpoints) or hovers (everything).
      ctx.fillStyle = m.color;
      ctx.beginPath();
      ctx.moveTo(px, top);
      ctx.lineTo(px + 6, top + 4);
      ctx.lineTo(px, top + 8);
      ctx.closePath();
      ctx.fill();
    }
    ctx.restore();
  },
};

/** A vertical line across the plot at x (a marker, the crosshair, a limit); the canvas state is left as it was. */
export function strokeVertical(ctx: CanvasRenderingContext2D, x: number, top: number, bottom: number, style: { color: string; width: number; dash: number[] }): void {
  ctx.save();
  ctx.strokeStyle = style.color;
  ctx.lineWidth = style.width;
  ctx.setLineDash(style.dash);
  ctx.beginPath();
  ctx.moveTo(x, top);
  ctx.lineTo(x, bottom);
  ctx.stroke();
  ctx.restore();
}

export const crosshairPlugin: Plugin<'line'> = {
  id: 'crosshair',
  afterDraw(chart: Chart) {
    const opts = chart.options.plugins?.crosshair as CrosshairOptions | undefined;
    const x = chart.scales.x;
    if (!opts || opts.step === null || !x) return;
    const px = x.getPixelForValue(opts.step);
    const { left, right, top, bottom } = chart.chartArea;
    if (px < left || px > right) return;
    strokeVertical(chart.ctx, px, top, bottom, { color: opts.color, width: 1, dash: [2, 2] });
  },
};

/** The marker whose line is within `slack` pixels of x, nearest first. */
export function markerAt(chart: Chart, offsetX: number, slack = 5): DrawnMarker | undefined {
  const items = (chart.options.plugins?.markers as MarkerOptions | undefined)?.items ?? [];
  const x = chart.scales.x;
  if (!x) return undefined;
  let best: DrawnMarker | undefined;
  let bestD = slack + 1;
  for (const m of items) {
    const d = Math.abs(x.getPixelForValue(m.step) - offsetX);
    // Prefer a clickable marker (one with a checkpoint) when two share a step.
    if (d < bestD || (d === bestD && m.checkpoint && !best?.checkpoint)) {
      best = m;
      bestD = d;
    }
  }
  return bestD <= slack ? best : undefined;
}
