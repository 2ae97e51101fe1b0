// One metric's points, ordered by step, aware of resume segments.
// A step that arrives again from the same segment is a replay (after a reconnect) and replaces the
// old value. A step that arrives again from a later segment was trained again after a resume: it
// becomes the current value, and the value it supersedes moves to `earlier`, so the chart can show
// the run before and after the resume instead of silently dropping one of them.

export type Point = { x: number; y: number };

export class SegmentedSeries {
  readonly current: Point[] = [];
  readonly earlier: Point[] = [];
  private readonly segments: number[] = []; // parallel to `current`

  add(step: number, value: number, segment: number): void {
    const last = this.current.length - 1;
    if (last < 0 || this.current[last].x < step) {
      this.current.push({ x: step, y: value });
      this.segments.push(segment);
      return;
    }
    const i = this.current.findIndex((p) => p.x >= step);
    if (this.current[i].x !== step) {
      this.current.splice(i, 0, { x: step, y: value });
      this.segments.splice(i, 0, segment);
      return;
    }
    if (segment < this.segments[i]) {
      insertByStep(this.earlier, { x: step, y: value }); // an older segment arriving late is history, not the present
      return;
    }
    if (segment > this.segments[i]) insertByStep(this.earlier, this.current[i]);
    this.current[i] = { x: step, y: value };
    this.segments[i] = segment;
  }

  clear(): void {
    this.current.length = 0;
    this.earlier.length = 0;
    this.segments.length = 0;
  }

  get size(): number {
    return this.current.length + this.earlier.length;
  }
}

function insertByStep(series: Point[], point: Point): void {
  const i = series.findIndex((p) => p.x >= point.x);
  if (i < 0) series.push(point);
  else if (series[i].x === point.x) series[i] = point;
  else series.splice(i, 0, point);
}
