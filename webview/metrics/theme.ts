// Chart colours follow the active VS Code theme through the CSS variables VS Code sets on the webview.
export interface ChartColors {
  loss: string;
  evalLoss: string;
  learningRate: string;
  foreground: string;
  grid: string;
  font: string;
}

function cssVar(name: string, fallback: string): string {
  const value = getComputedStyle(document.documentElement).getPropertyValue(name).trim();
  return value || fallback;
}

export function readThemeColors(): ChartColors {
  return {
    loss: cssVar('--vscode-charts-blue', '#3794ff'),
    evalLoss: cssVar('--vscode-charts-orange', '#d18616'),
    learningRate: cssVar('--vscode-charts-green', '#89d185'),
    foreground: cssVar('--vscode-foreground', '#cccccc'),
    grid: cssVar('--vscode-editorWidget-border', 'rgba(128,128,128,0.35)'),
    font: cssVar('--vscode-font-family', 'sans-serif'),
  };
}

/** Calls back when VS Code switches theme (it rewrites the variables on <html> and the class on <body>). */
export function onThemeChange(callback: () => void): void {
  const observer = new MutationObserver(() => callback());
  observer.observe(document.documentElement, { attributes: true, attributeFilter: ['style', 'class'] });
  observer.observe(document.body, { attributes: true, attributeFilter: ['class'] });
}
