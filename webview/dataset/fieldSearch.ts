// The dataset editor's filters by field: label is X, role is X (or ShareGPT's `from`), or the row has a key X.
// Each is a regex over a row's raw text, so the search worker finds them as it finds text: streaming, at the
// speed of a byte scan, never parsing a row. A value is matched as JSON writes it (quotes and escapes included).
export type SearchMode = 'text' | 'label' | 'role' | 'field';

const escapeRe = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

export function fieldSearch(mode: Exclude<SearchMode, 'text'>, text: string): { pattern: string; regex: true; caseSensitive: true } {
  const value = text.trim();
  const quoted = escapeRe(JSON.stringify(value));
  switch (mode) {
    case 'label': {
      // A number label is written bare: 3, not "3".
      const bare = /^-?\d+(\.\d+)?$/.test(value) ? `|${escapeRe(value)}(?![\\d.])` : '';
      return { pattern: `"label"\\s*:\\s*(?:${quoted}${bare})`, regex: true, caseSensitive: true };
    }
    case 'role':
      return { pattern: `"(?:role|from)"\\s*:\\s*${quoted}`, regex: true, caseSensitive: true };
    case 'field':
      return { pattern: `${quoted}\\s*:`, regex: true, caseSensitive: true };
  }
}
