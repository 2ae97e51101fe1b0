// The chat panel's HTML shell. Plain string building (no vscode import) so the CSP can be unit-tested.
// Everything inside the panes is built by the webview script from validated messages, as text or as the
// Markdown renderer's own output (raw HTML off); the shell carries no data but the escaped title.
import { contentSecurityPolicy, escapeHtml, type MetricsHtmlInput } from '../metricsHtml';

/** The same shell inputs as the metrics panel's: URIs, the two nonces and the title. */
export type ChatHtmlInput = MetricsHtmlInput;

export function chatHtml(input: ChatHtmlInput): string {
  const { cspSource, scriptUri, styleUri, scriptNonce, styleNonce } = input;
  const title = escapeHtml(input.title);
  return `<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta http-equiv="Content-Security-Policy" content="${contentSecurityPolicy(cspSource, scriptNonce, styleNonce)}">
  <meta property="csp-nonce" content="${styleNonce}">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <link rel="stylesheet" href="${escapeHtml(styleUri)}" nonce="${styleNonce}">
  <title>${title}</title>
</head>
<body>
  <div class="link-banner" id="link-banner" role="alert" hidden></div>
  <header class="toolbar" role="toolbar" aria-label="Panes">
    <span class="label">Panes</span>
    <span class="pane-chips" id="pane-chips"></span>
    <select id="add-pane" aria-label="Add a pane"><option value="">Add pane…</option></select>
    <span class="spacer"></span>
    <vscode-button id="new-chat" appearance="secondary">New chat</vscode-button>
  </header>
  <section class="settings" aria-label="System prompt and sampling">
    <label class="system">System prompt
      <textarea id="system" rows="2" placeholder="Optional: shared by every pane"></textarea>
    </label>
    <label>temperature <input id="temperature" type="number" step="0.1"></label>
    <label>top_p <input id="top-p" type="number" step="0.05"></label>
    <label>max new tokens <input id="max-new-tokens" type="number" step="1"></label>
    <label>seed <input id="seed" type="number" step="1"></label>
  </section>
  <div class="pane-heads" id="pane-heads"></div>
  <main id="turns" aria-live="polite">
    <div class="empty" id="empty">Ask something: every pane answers the same conversation.</div>
  </main>
  <div class="notice" id="notice" role="status" hidden></div>
  <footer class="composer">
    <textarea id="prompt" rows="3" placeholder="Message every pane (Ctrl+Enter to send)"></textarea>
    <div class="composer-actions">
      <vscode-button id="send">Send</vscode-button>
      <vscode-button id="stop" appearance="secondary" disabled>Stop</vscode-button>
    </div>
  </footer>
  <script nonce="${scriptNonce}" src="${escapeHtml(scriptUri)}"></script>
</body>
</html>`;
}
