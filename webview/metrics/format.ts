// Numbers as the charts show them: enough digits to tell values apart, and scientific notation where a
// fixed one would round a learning rate of 0.00082 to "0.001".
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a < 1e-3 || a >= 1e6) return v.toExponential(3).replace(/\.?0+e/, 'e');
  // Four significant digits, without trailing zeros.
  return String(Number(v.toPrecision(4)));
}

/** Learning rates always read in scientific notation: 8.2e-4, 1e-5. */
export function formatRate(v: number): string {
  if (!Number.isFinite(v) || v === 0) return String(v);
  return v.toExponential(3).replace(/\.?0+e/, 'e');
}

export const isRateKey = (key: string): boolean => key === 'learningRate' || key.startsWith('lr_groups.');

/** A CSV field: quoted when it holds a comma, quote or line break; formulas are defused for spreadsheets. */
export function csvField(s: string): string {
  const safe = /^[=+\-@\t\r]/.test(s) && !/^-?\d/.test(s) ? `'${s}` : s;
  return /[",\n\r]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
