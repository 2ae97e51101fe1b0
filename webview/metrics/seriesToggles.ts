// The toolbar's series checkboxes, which double as the chart's legend (each carries its series' colour).
import { SERIES, type SeriesKey } from './chart';
import type { Checkbox } from './toolkit';

export const isSeriesKey = (v: unknown): v is SeriesKey => SERIES.includes(v as SeriesKey);

/** Checks each box unless its series is in `hidden`, then reports every change (and the initial state) to `onChange`. */
export function bindSeriesToggles(root: ParentNode, hidden: readonly SeriesKey[], onChange: (key: SeriesKey, visible: boolean) => void): void {
  root.querySelectorAll<Checkbox>('vscode-checkbox[data-series]').forEach((box) => {
    const key = box.dataset.series;
    if (!isSeriesKey(key)) return;
    box.checked = !hidden.includes(key);
    onChange(key, box.checked);
    box.addEventListener('change', () => onChange(key, box.checked));
  });
}
