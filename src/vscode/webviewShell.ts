// The HTML page every Tunelab webview starts from: a strict CSP with fresh nonces, the stylesheet, the title, and
// one script. Each panel supplies only its body. Plain string building (no vscode import) so it is unit-tested.
import { randomBytes } from 'node:crypto';

export interface WebviewShellInput {
  /** webview.cspSource */
  cspSource: string;
  /** webview.asWebviewUri(...) of the panel's script and stylesheet, as strings. */
  scriptUri: string;
  styleUri: string;
  /** Separate nonces: the style one is also published in a csp-nonce meta for the toolkit; the script one never leaves its tag. */
  scriptNonce: string;
  styleNonce: string;
  title: string;
}

/** A fresh nonce per render: a nonce that repeats across renders stops protecting anything. */
export function makeNonce(): string {
  return randomBytes(18).toString('base64url');
}

export function contentSecurityPolicy(cspSource: string, scriptNonce: string, styleNonce: string): string {
  return [
    "default-src 'none'",
    `script-src 'nonce-${scriptNonce}'`,
    `style-src ${cspSource} 'nonce-${styleNonce}'`,
    `img-src ${cspSource} data:`,
    `font-src ${cspSource}`,
  ].join('; ');
}

export const escapeHtml = (s: string): string =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);

/** The whole page. `body` is the panel's static markup; `bodyAttributes` goes inside <body ...>. */
export function webviewShell(input: WebviewShellInput, body: string, bodyAttributes = ''): string {
  const { cspSource, scriptUri, styleUri, scriptNonce, styleNonce } = input;
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(cspSource, scriptNonce, styleNonce)}">
  <!-- FAST (under the webview toolkit) probes :focus-visible support with a <style> element and nonces it from here. -->
  <meta property="csp-nonce" content="${styleNonce}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link rel="stylesheet" href="${escapeHtml(styleUri)}" nonce="${styleNonce}">
  <title>${escapeHtml(input.title)}</title>
</head>
<body${bodyAttributes ? ` ${bodyAttributes}` : ''}>
${body}
  <script nonce="${scriptNonce}" src="${escapeHtml(scriptUri)}"></script>
</body>
</html>`;
}
