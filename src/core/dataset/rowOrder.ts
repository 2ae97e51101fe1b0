// Orders of a dataset's rows for the editor's Sort: longest first (from the line index's byte lengths, no read),
// or grouped by label (rows without one last). Both are stable, so rows of one length or label keep file order.
import { labelOf } from './rowView';

/** Row numbers, longest row first. */
export function orderByLength(lengths: ArrayLike<number>): number[] {
  const order = Array.from({ length: lengths.length }, (_, i) => i);
  return order.sort((a, b) => lengths[b] - lengths[a] || a - b);
}

/** Row numbers grouped by label in the labels' alphabetical order, then the rows without a label. */
export function orderByLabel(labels: ReadonlyArray<string | undefined>): number[] {
  const order = Array.from({ length: labels.length }, (_, i) => i);
  return order.sort((a, b) => {
    const la = labels[a];
    const lb = labels[b];
    if (la === lb) return a - b;
    if (la === undefined) return 1;
    if (lb === undefined) return -1;
    return la < lb ? -1 : 1;
  });
}

/** A row's label, parsing only rows that mention one: most rows of a big file have none to find. */
export function quickLabel(text: string): string | undefined {
  return text.includes('"label"') ? labelOf(text) : undefined;
}
