// One metric's points, ordered by step, aware of resume segments.
// A step that arrives again from the same segment is a replay (after a reconnect) and replaces the old
// value. A resumed segment trains again from the step it resumed at: from its first step on, it is the
// current curve, and the points of earlier segments there move to `earlier`, so the chart can show the
// run before and after the resume instead of silently dropping one of them.
// "From its first step on" rather than "the same step": a downsampled history keeps different steps of
// each segment, and matching step by step would leave old points woven into the new curve.

export type Point = { x: number; y: number };

export class SegmentedSeries {
  /** Per segment, its points sorted by step, one per step. */
  private readonly bySegment = new Map<number, Point[]>();
  private cache: { current: Point[]; earlier: Point[] } | undefined;
  /**
   * Bumps on every change that is not a new last point of the last segment: while it stays the same, the
   * `current` array only grew at its end, and a view can extend what it derived (smoothing, summaries)
   * instead of starting over. That keeps a live append cheap on a 1 M-point series.
   */
  revision = 0;

  add(step: number, value: number, segment: number): void {
    let points = this.bySegment.get(segment);
    if (!points) {
      this.bySegment.set(segment, (points = []));
      this.cache = undefined;
      this.revision++;
    }
    const point = { x: step, y: value };
    // Live points arrive in step order: the common case appends. With one segment, `current` is that
    // segment's own array, so the cache stays valid and the point is simply there.
    if (!points.length || points[points.length - 1].x < step) {
      points.push(point);
      if (this.bySegment.size > 1) {
        this.cache = undefined;
        this.revision++;
      }
      return;
    }
    this.cache = undefined;
    this.revision++;
    const i = firstAtOrAfter(points, step);
    if (points[i]?.x === step) points[i] = point;
    else points.splice(i, 0, point);
  }

  /** The curve as trained last: each segment up to the first step of any later one. */
  get current(): Point[] {
    return this.split().current;
  }

  /** What later segments trained again, one point per step (the most recent superseded value). */
  get earlier(): Point[] {
    return this.split().earlier;
  }

  clear(): void {
    this.bySegment.clear();
    this.cache = undefined;
    this.revision++;
  }

  get size(): number {
    let n = 0;
    for (const points of this.bySegment.values()) n += points.length;
    return n;
  }

  private split(): { current: Point[]; earlier: Point[] } {
    if (this.cache) return this.cache;
    if (this.bySegment.size <= 1) {
      const only = [...this.bySegment.values()][0] ?? [];
      this.cache = { current: only, earlier: [] };
      return this.cache;
    }
    const segments = [...this.bySegment.keys()].sort((a, b) => a - b);
    // cutoff[i]: the lowest first step of the segments after segment i; its points from there on are superseded.
    const cutoffs: number[] = new Array(segments.length);
    let cutoff = Infinity;
    for (let i = segments.length - 1; i >= 0; i--) {
      cutoffs[i] = cutoff;
      const first = this.bySegment.get(segments[i])![0];
      if (first) cutoff = Math.min(cutoff, first.x);
    }
    const current: Point[] = [];
    const earlier = new Map<number, Point>();
    segments.forEach((segment, i) => {
      for (const p of this.bySegment.get(segment)!) {
        if (p.x < cutoffs[i]) current.push(p);
        else earlier.set(p.x, p);
      }
    });
    // Segment by segment, each up to the next one's start: already in step order.
    this.cache = { current, earlier: [...earlier.values()].sort((a, b) => a.x - b.x) };
    return this.cache;
  }
}

function firstAtOrAfter(points: Point[], step: number): number {
  let lo = 0;
  let hi = points.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (points[mid].x < step) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
