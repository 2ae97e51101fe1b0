// Everything one shown run has drawn: a SeriesView per series key, its markers and its record.
import { isSmoothable } from './chartSpecs';
import type { MetricPoint, RunMarker, RunRecord } from './protocol';
import { SeriesView } from './seriesView';

export class RunData {
  readonly series = new Map<string, SeriesView>();
  markers: RunMarker[] = [];

  constructor(public run: RunRecord) {}

  get runId(): string {
    return this.run.runId;
  }

  reset(): void {
    for (const s of this.series.values()) s.clear();
    this.markers = [];
  }

  add(points: readonly MetricPoint[]): void {
    for (const p of points) {
      if (p.kind === 'eval') {
        if (p.evalLoss !== null) this.view('evalLoss').add(p.step, p.evalLoss, p.segment);
        continue;
      }
      if (p.loss !== null) this.view('loss').add(p.step, p.loss, p.segment);
      if (p.learningRate !== null) this.view('learningRate').add(p.step, p.learningRate, p.segment);
      if (p.tokensPerSec !== null) this.view('tokensPerSec').add(p.step, p.tokensPerSec, p.segment);
      if (p.gradNorm !== undefined && p.gradNorm !== null) this.view('gradNorm').add(p.step, p.gradNorm, p.segment);
      if (p.extra) for (const key in p.extra) this.view(key).add(p.step, p.extra[key], p.segment);
    }
  }

  addMarkers(markers: readonly RunMarker[]): void {
    const seen = new Set(this.markers.map((m) => m.seq));
    for (const m of markers) if (!seen.has(m.seq)) this.markers.push(m);
    this.markers.sort((a, b) => a.seq - b.seq);
  }

  /** Series keys that hold at least one point. */
  keys(): Set<string> {
    const keys = new Set<string>();
    for (const [key, s] of this.series) if (s.size) keys.add(key);
    return keys;
  }

  private view(key: string): SeriesView {
    let v = this.series.get(key);
    if (!v) this.series.set(key, (v = new SeriesView(isSmoothable(key))));
    return v;
  }
}
