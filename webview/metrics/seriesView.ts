// One drawn series of one run: its points (resume-aware), and what the chart is handed of them: smoothed
// (EMA) when asked, and summarised (min/max per bucket) when the whole run is shown. Both derived copies
// are extended point by point while the series only grows, and rebuilt when it changed in place.
import { SegmentedSeries, type Point } from './series';
import { Smoothed } from './smoothing';
import { MinMaxSummary } from './summary';

export class SeriesView {
  readonly series = new SegmentedSeries();
  private readonly smoothed = new Smoothed();
  private readonly summary = new MinMaxSummary();
  /** The summary of the unsmoothed values, for what marks single points (the grad-norm band's outliers). */
  private readonly rawSummary = new MinMaxSummary();
  private seenRevision = -1;
  private rawRevision = -1;
  private weight = 0;

  /** `smoothable`: EMA applies (noisy training figures; not the learning rate's schedule or sparse evaluations). */
  constructor(readonly smoothable: boolean) {}

  add(step: number, value: number, segment: number): void {
    this.series.add(step, value, segment);
  }

  clear(): void {
    this.series.clear();
  }

  get size(): number {
    return this.series.size;
  }

  /** The points to draw: `zoomed` hands the full series (Chart.js thins the visible range), else the summary. */
  data(weight: number, zoomed: boolean): readonly Point[] {
    const w = this.smoothable ? weight : 0;
    const current = this.series.current;
    if (this.series.revision !== this.seenRevision || w !== this.weight) {
      this.seenRevision = this.series.revision;
      this.weight = w;
      this.smoothed.setWeight(w);
      this.smoothed.reset();
      this.summary.reset();
    }
    const source = this.smoothed.of(current);
    if (zoomed) return source;
    this.summary.extend(source);
    return this.summary.points;
  }

  /** Like data() without smoothing; kept apart so asking for both does not start either over. */
  unsmoothed(zoomed: boolean): readonly Point[] {
    const current = this.series.current;
    if (zoomed) return current;
    if (this.series.revision !== this.rawRevision) {
      this.rawRevision = this.series.revision;
      this.rawSummary.reset();
    }
    this.rawSummary.extend(current);
    return this.rawSummary.points;
  }

  /** The raw curve (no smoothing, no summary), for export and for the faint line behind a smoothed one. */
  get raw(): readonly Point[] {
    return this.series.current;
  }

  /** Values a resume superseded. */
  get earlier(): readonly Point[] {
    return this.series.earlier;
  }
}
