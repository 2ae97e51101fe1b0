// The data tools' randomness. Every tool takes a seed so that running it twice on the same rows gives the same
// rows, which keeps a preview and the edit it applies identical and lets a user reproduce a dataset.

export interface Seeded {
  /** A number in [0, 1). */
  next(): number;
  /** An integer in [0, n); n must be a positive integer. */
  int(n: number): number;
}

/** The splitmix32 finaliser: a bijection on 32-bit words that spreads every input bit over the output. */
function mix32(x: number): number {
  x = Math.imul(x ^ (x >>> 16), 0x21f0aaad);
  x = Math.imul(x ^ (x >>> 15), 0x735a2d97);
  return (x ^ (x >>> 15)) >>> 0;
}

const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

/**
 * Folds any number into 32 bits through its float64 bits, so 1 and 2, 0.5 and 0.25, or seeds above 2^32 stay
 * distinct instead of being truncated into the same state.
 */
function fold(x: number): number {
  f64[0] = Number.isNaN(x) || x === 0 ? 0 : x;
  return mix32(u32[0] ^ mix32(u32[1] ^ 0x9e3779b9));
}

/**
 * A splitmix32 stream from `seed`, optionally narrowed by `salt` (a row index, say): the tools draw a stream per
 * source row so that a row's result does not depend on which other rows were selected with it.
 */
export function seeded(seed: number, ...salt: number[]): Seeded {
  let state = fold(seed);
  for (const s of salt) state = mix32(state ^ fold(s));
  const next = (): number => {
    state = (state + 0x9e3779b9) | 0;
    return mix32(state) / 4294967296;
  };
  return {
    next,
    int(n: number): number {
      if (!Number.isInteger(n) || n <= 0) throw new RangeError(`int(n) needs a positive integer, got ${n}`);
      return Math.floor(next() * n);
    },
  };
}
