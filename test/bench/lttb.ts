// Largest-Triangle-Three-Buckets, for the benches only: it stands in for the agent's downsampling of
// run_history (issue 11, agent side), so the chart bench can draw what a 1 M-point run's history looks
// like when it arrives. Keeps the first and last point; picks, per bucket, the point that spans the
// largest triangle with the previous pick and the next bucket's average.

/** Indexes of the points to keep, in order. */
export function lttb(xs: ArrayLike<number>, ys: ArrayLike<number>, maxPoints: number): number[] {
  const n = xs.length;
  if (maxPoints >= n || maxPoints < 3) return Array.from({ length: n }, (_, i) => i);
  const keep = [0];
  const width = (n - 2) / (maxPoints - 2);
  let prev = 0;
  for (let b = 0; b < maxPoints - 2; b++) {
    const from = Math.floor(b * width) + 1;
    const to = Math.floor((b + 1) * width) + 1;
    // The next bucket's average (the last point for the last bucket).
    const nextFrom = to;
    const nextTo = Math.min(Math.floor((b + 2) * width) + 1, n);
    let ax = 0;
    let ay = 0;
    for (let i = nextFrom; i < nextTo; i++) {
      ax += xs[i];
      ay += ys[i];
    }
    const count = Math.max(1, nextTo - nextFrom);
    ax /= count;
    ay /= count;
    let best = from;
    let bestArea = -1;
    for (let i = from; i < to; i++) {
      const area = Math.abs((xs[prev] - ax) * (ys[i] - ys[prev]) - (xs[prev] - xs[i]) * (ay - ys[prev]));
      if (area > bestArea) {
        bestArea = area;
        best = i;
      }
    }
    keep.push(best);
    prev = best;
  }
  keep.push(n - 1);
  return keep;
}
