// The chat panel's page inside the shared webview shell (webviewShell.ts). Everything inside the panes is built by
// the webview script from validated messages, as text or as DOM from the Markdown parser's tokens; the page
// itself carries no data but the escaped title.
import { webviewShell, type WebviewShellInput } from '../webviewShell';

export type ChatHtmlInput = WebviewShellInput;

export function chatHtml(input: ChatHtmlInput): string {
  return webviewShell(input, `  <div class="link-banner" id="link-banner" role="alert" hidden></div>
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
  </footer>`);
}
