// What a chart draws of a long series when it shows the whole run: per bucket of consecutive points, the
// lowest and the highest, in step order, so every spike survives. Buckets double in size as the series
// grows, keeping at most 2 × MAX_BUCKETS points, and a live point only updates the last bucket: drawing
// a 1 M-point series after an append costs the same as drawing a 1,200-point one.
// A zoomed chart does not use this: it hands Chart.js the full series and lets its LTTB decimation thin
// just the visible range.
import type { Point } from './series';

// 600 buckets: at most 1,200 points, about one per pixel of a wide chart, enough for an envelope that loses no spike.
export const MAX_BUCKETS = 600;

export class MinMaxSummary {
  private size = 1;
  private mins: Point[] = [];
  private maxs: Point[] = [];
  /** How many points of the source have been folded in. */
  private consumed = 0;
  private last: Point | undefined;
  private cache: Point[] | undefined;

  constructor(private readonly maxBuckets = MAX_BUCKETS) {}

  reset(): void {
    this.size = 1;
    this.mins = [];
    this.maxs = [];
    this.consumed = 0;
    this.last = undefined;
    this.cache = undefined;
  }

  /** Folds in source[consumed..]: the caller guarantees the source only grew at its end since the last call. */
  extend(source: readonly Point[]): void {
    if (source.length < this.consumed) this.reset();
    for (let i = this.consumed; i < source.length; i++) this.add(source[i], i);
    if (source.length !== this.consumed) this.cache = undefined;
    this.consumed = source.length;
  }

  get points(): Point[] {
    if (this.cache) return this.cache;
    const out: Point[] = [];
    for (let b = 0; b < this.mins.length; b++) {
      const lo = this.mins[b];
      const hi = this.maxs[b];
      if (lo === hi) out.push(lo);
      else if (lo.x < hi.x) out.push(lo, hi);
      else out.push(hi, lo);
    }
    // The newest point always ends the line, so a live chart reaches the step it reports.
    if (this.last && out[out.length - 1] !== this.last) out.push(this.last);
    this.cache = out;
    return out;
  }

  private add(p: Point, index: number): void {
    this.last = p;
    if (index % this.size === 0) {
      if (this.mins.length >= this.maxBuckets) this.coarsen();
      if (index % this.size === 0) {
        this.mins.push(p);
        this.maxs.push(p);
        return;
      }
    }
    const b = this.mins.length - 1;
    if (p.y < this.mins[b].y) this.mins[b] = p;
    if (p.y > this.maxs[b].y) this.maxs[b] = p;
  }

  /** Merges neighbouring buckets pairwise: bucket size doubles, bucket count halves. */
  private coarsen(): void {
    const mins: Point[] = [];
    const maxs: Point[] = [];
    for (let b = 0; b < this.mins.length; b += 2) {
      const [l0, l1, h0, h1] = [this.mins[b], this.mins[b + 1] ?? this.mins[b], this.maxs[b], this.maxs[b + 1] ?? this.maxs[b]];
      mins.push(l1.y < l0.y ? l1 : l0);
      maxs.push(h1.y > h0.y ? h1 : h0);
    }
    this.mins = mins;
    this.maxs = maxs;
    this.size *= 2;
  }
}
