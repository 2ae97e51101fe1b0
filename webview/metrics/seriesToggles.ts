// The toolbar's series checkboxes: each shows or hides its series in every chart (a chart left with
// nothing to show folds away).
import { TOGGLES, type ToggleKey } from './chartSpecs';
import type { Checkbox } from './toolkit';

export const isToggleKey = (v: unknown): v is ToggleKey => TOGGLES.includes(v as ToggleKey);

/** Checks each box unless its series is in `hidden`, then reports every change to `onChange`. */
export function bindSeriesToggles(root: ParentNode, hidden: readonly ToggleKey[], onChange: (key: ToggleKey, visible: boolean) => void): void {
  root.querySelectorAll<Checkbox>('vscode-checkbox[data-series]').forEach((box) => {
    const key = box.dataset.series;
    if (!isToggleKey(key)) return;
    box.checked = !hidden.includes(key);
    box.addEventListener('change', () => onChange(key, box.checked));
  });
}
