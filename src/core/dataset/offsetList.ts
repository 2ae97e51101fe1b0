// Byte offsets in a Float64Array (exact to 2^53) that grows by doubling: 1.6 M rows cost 13 MB and ~21 copies of
// at most the final size, where an array of numbers or objects would cost several times that and load the garbage
// collector. The line index and the JSON/CSV tables both collect their offsets in one.
export class OffsetList {
  private data: Float64Array;
  /** Offsets kept; lowering it drops the last ones. */
  length = 0;

  constructor(initialCapacity = 1 << 12) {
    this.data = new Float64Array(Math.max(1, initialCapacity));
  }

  get capacity(): number {
    return this.data.length;
  }

  push(offset: number): void {
    if (this.length === this.data.length) {
      const grown = new Float64Array(this.data.length * 2);
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = offset;
  }

  at(i: number): number {
    return this.data[i];
  }

  /** The offsets kept, sharing this list's buffer (no copy). */
  view(): Float64Array {
    return this.data.subarray(0, this.length);
  }

  /** The offsets in an array of their own size, so a table kept open holds no spare room. */
  done(): Float64Array {
    return this.data.slice(0, this.length);
  }
}
