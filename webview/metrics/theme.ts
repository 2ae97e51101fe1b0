// Chart colours follow the active VS Code theme through the CSS variables VS Code sets on the webview.
export interface ChartColors {
  /** Series colours, in order: the first series (or run) blue, the second orange, and so on. */
  palette: string[];
  foreground: string;
  grid: string;
  font: string;
  background: string;
  /** Marker colours by meaning. */
  checkpoint: string;
  control: string;
  warning: string;
  error: string;
  band: string;
}

function cssVar(name: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

export function readThemeColors(): ChartColors {
  return {
    palette: [
      cssVar('--vscode-charts-blue', '#3794ff'),
      cssVar('--vscode-charts-orange', '#d18616'),
      cssVar('--vscode-charts-green', '#89d185'),
      cssVar('--vscode-charts-purple', '#b180d7'),
      cssVar('--vscode-charts-red', '#f14c4c'),
      cssVar('--vscode-charts-yellow', '#cca700'),
    ],
    foreground: cssVar('--vscode-foreground', '#cccccc'),
    grid: cssVar('--vscode-editorWidget-border', 'rgba(128,128,128,0.35)'),
    font: cssVar('--vscode-font-family', 'sans-serif'),
    background: cssVar('--vscode-editor-background', '#1e1e1e'),
    checkpoint: cssVar('--vscode-charts-green', '#89d185'),
    control: cssVar('--vscode-charts-purple', '#b180d7'),
    warning: cssVar('--vscode-charts-yellow', '#cca700'),
    error: cssVar('--vscode-charts-red', '#f14c4c'),
    band: cssVar('--vscode-charts-green', '#89d185'),
  };
}

/** The colour with an alpha, for bands and faint lines; works for #rgb, #rrggbb and rgb() values. */
export function withAlpha(color: string, alpha: number): string {
  const hex = /^#([0-9a-f]{3}|[0-9a-f]{6})$/i.exec(color);
  if (hex) {
    const h = hex[1].length === 3 ? [...hex[1]].map((c) => c + c).join('') : hex[1];
    const [r, g, b] = [0, 2, 4].map((i) => parseInt(h.slice(i, i + 2), 16));
    return `rgba(${r}, ${g}, ${b}, ${alpha})`;
  }
  const rgb = /^rgba?\(([^,]+),([^,]+),([^,)]+)/.exec(color);
  return rgb ? `rgba(${rgb[1]},${rgb[2]},${rgb[3]}, ${alpha})` : color;
}

/** Calls back when VS Code switches theme (it rewrites the variables on <html> and the class on <body>). */
export function onThemeChange(callback: () => void): void {
  const observer = new MutationObserver(() => callback());
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  observer.observe(document.body, { attributes: true, attributeFilter: ['class'] });
}
