// EMA smoothing as TensorBoard does it: s_i = w * s_(i-1) + (1 - w) * y_i, divided by (1 - w^(i+1)) so the
// first values are not pulled towards zero. Extended point by point while the source only grows.
import type { Point } from './series';

export class Smoothed {
  private out: Point[] = [];
  private acc = 0;
  private debias = 1;

  constructor(private weight = 0) {}

  /** A new weight starts the smoothed copy over (0: no copy at all, the source is drawn as it is). */
  setWeight(weight: number): void {
    if (weight === this.weight) return;
    this.weight = weight;
    this.reset();
  }

  reset(): void {
    this.out = [];
    this.acc = 0;
    this.debias = 1;
  }

  /** The smoothed series of `source`, which must only have grown at its end since the last call (else reset first). */
  of(source: readonly Point[]): readonly Point[] {
    if (this.weight <= 0) return source;
    if (source.length < this.out.length) this.reset();
    const w = this.weight;
    for (let i = this.out.length; i < source.length; i++) {
      const p = source[i];
      this.acc = w * this.acc + (1 - w) * p.y;
      this.debias *= w;
      this.out.push({ x: p.x, y: this.acc / (1 - this.debias) });
    }
    return this.out;
  }
}
