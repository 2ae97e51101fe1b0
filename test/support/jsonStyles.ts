// Row serialisations as the tools datasets come from write them, for randomised tests of minimal row edits.
/** Serialises like the writers datasets come from: compact, Python's default spacing, or escaped to ASCII. */
export function dumps(value: unknown, style: { colon: string; comma: string; ascii: boolean }): string {
  const str = (s: string) => {
    const j = JSON.stringify(s);
    return style.ascii ? j.replace(/[\u0080-\uffff]/g, (c) => '\\u' + c.charCodeAt(0).toString(16).padStart(4, '0')) : j;
  };
  const go = (v: unknown): string => {
    if (typeof v === 'string') return str(v);
    if (Array.isArray(v)) return '[' + v.map(go).join(style.comma) + ']';
    if (v && typeof v === 'object') return '{' + Object.entries(v).map(([k, x]) => str(k) + style.colon + go(x)).join(style.comma) + '}';
    return JSON.stringify(v);
  };
  return go(value);
}
