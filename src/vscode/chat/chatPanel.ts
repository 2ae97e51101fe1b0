// One chat panel: up to four panes answering one conversation, streamed from the agent. The host holds the
// conversation (and keeps it per run in workspace storage); the webview mirrors it. The page asks with `ready`
// after every load and gets `init` with everything, then `token`/`done` deltas, so hiding or reloading the
// panel loses nothing. Promote and Prefer go through the agent, which decides the row in the file's own format
// and reads it back through the trainer's reader; the append is atomic (see appendRow for a remote agent).
import { basename } from 'node:path';
import * as vscode from 'vscode';
import type { ChatHistory } from '../../core/chat/chatHistory';
import { emptyAnswer, messagesFor, paneKey, paneLabel, type Answer, type Conversation, type PaneTarget } from '../../core/chat/conversation';
import { listTargets } from '../../core/chat/targets';
import { TurnRequest, type PaneResult } from '../../core/chat/turnRequest';
import type { ChatMessage } from '../../core/protocol/messages';
import type { RunStore } from '../../core/runs/runStore';
import { parseWebviewMessage, type HostMessage, type LinkStatus, type WebviewMessage } from '../../../webview/chat/protocol';
import { message, type AgentConnection, type LinkState } from '../agentConnection';
import { makeNonce } from '../webviewShell';
import { chatHtml } from './chatHtml';
import { pickDatasetFile } from '../datasetFilePicker';
import type { AppendedRow } from '../../core/chat/appendRowLocally';
import { appendDatasetRow } from '../appendDatasetRow';

export interface ChatDeps {
  connection: AgentConnection;
  store: RunStore;
  history: ChatHistory;
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
}

export class ChatPanel implements vscode.Disposable {
  static readonly viewType = 'tunelab.chat';
  private readonly panel: vscode.WebviewPanel;
  private readonly disposables: vscode.Disposable[] = [];
  private targets: PaneTarget[] = [];
  private turn: TurnRequest | undefined;
  private ready = false;
  private disposed = false;
  private readonly closed = new vscode.EventEmitter<void>();
  readonly onDidClose = this.closed.event;

  constructor(readonly runId: string, private conversation: Conversation, private readonly deps: ChatDeps) {
    const panel = (this.panel = vscode.window.createWebviewPanel(ChatPanel.viewType, this.title(), vscode.ViewColumn.Active, {
      enableScripts: true,
      localResourceRoots: [vscode.Uri.joinPath(deps.extensionUri, 'dist'), vscode.Uri.joinPath(deps.extensionUri, 'media')],
    }));
    panel.webview.html = this.html();
    this.disposables.push(
      panel.webview.onDidReceiveMessage((m: unknown) => void this.onMessage(m)),
      // Hidden webviews are torn down; the reloaded page sends `ready` again and gets a fresh `init`.
      panel.onDidChangeViewState(() => { if (!panel.visible) this.ready = false; }),
      deps.connection.onDidChangeState((s) => {
        if (s.kind === 'connected') void this.refreshTargets();
        this.post({ type: 'link', link: linkStatus(s) });
      }),
      panel.onDidDispose(() => this.dispose()),
    );
    void this.refreshTargets();
  }

  get panes(): readonly PaneTarget[] {
    return this.conversation.panes;
  }

  reveal(): void {
    this.panel.reveal();
  }

  /** Shows `panes` (a new conversation unless they are the ones shown); refused while a turn streams. */
  showPanes(panes: PaneTarget[], fresh: Conversation): void {
    if (this.turn || samePanes(panes, this.conversation.panes)) return this.reveal();
    this.conversation = fresh;
    this.changed();
    this.reveal();
  }

  private title(): string {
    return `Chat: ${this.deps.store.get(this.runId)?.name ?? this.runId}`;
  }

  private html(): string {
    const webview = this.panel.webview;
    return chatHtml({
      cspSource: webview.cspSource,
      scriptUri: webview.asWebviewUri(vscode.Uri.joinPath(this.deps.extensionUri, 'dist', 'webview', 'chat.js')).toString(),
      styleUri: webview.asWebviewUri(vscode.Uri.joinPath(this.deps.extensionUri, 'media', 'chat.css')).toString(),
      scriptNonce: makeNonce(),
      styleNonce: makeNonce(),
      title: this.title(),
    });
  }

  private async refreshTargets(): Promise<void> {
    const run = this.deps.store.get(this.runId);
    if (!run || this.deps.connection.current.kind !== 'connected') return;
    try {
      const client = await this.deps.connection.connected();
      this.targets = await listTargets(client, run, this.deps.store.list());
      if (this.ready) this.postInit();
    } catch (e) {
      this.deps.log.warn(`chat (${this.runId}): could not list checkpoints: ${message(e)}`);
    }
  }

  private async onMessage(raw: unknown): Promise<void> {
    const m = parseWebviewMessage(raw);
    if (!m) {
      this.deps.log.warn(`chat panel: ignored an invalid message from the webview: ${JSON.stringify(raw)?.slice(0, 200)}`);
      return;
    }
    try {
      await this.handle(m);
    } catch (e) {
      this.deps.log.error(`chat panel (${this.runId}): ${m.type}: ${message(e)}`);
      this.notice('error', message(e));
    }
  }

  private async handle(m: WebviewMessage): Promise<void> {
    const c = this.conversation;
    switch (m.type) {
      case 'ready':
        this.ready = true;
        return this.postInit();
      case 'error':
        return this.deps.log.error(`chat panel (${this.runId}): ${m.message}`);
      case 'send':
        return this.send(m.text);
      case 'stop':
        return this.turn?.stop();
      case 'settings':
        c.system = m.system;
        c.sampling = m.sampling;
        return this.save();
      case 'setPanes':
        if (this.turn) return this.postInit(); // the page was out of date; show it the truth
        // Only panes this panel offered: a page cannot make the host ask for an arbitrary run.
        if (!m.panes.every((p) => this.targets.some((t) => paneKey(t) === paneKey(p)) || c.panes.some((q) => paneKey(q) === paneKey(p)))) {
          this.deps.log.warn(`chat panel (${this.runId}): refused panes it did not offer`);
          return this.postInit();
        }
        this.conversation = { ...c, panes: m.panes, turns: c.turns.map((t) => ({ ...t, answers: m.panes.map((p) => answerOf(c, t.answers, p)) })) };
        return this.changed();
      case 'clear':
        if (this.turn) return this.postInit();
        this.conversation = { ...c, turns: [] };
        return this.changed();
      case 'edit': {
        const answer = this.answerAt(m.turn, m.pane);
        if (!answer || answer.finish === null) return;
        answer.text = m.text;
        answer.edited = true;
        return this.save();
      }
      case 'copy': {
        const answer = this.answerAt(m.turn, m.pane);
        if (!answer) return;
        await vscode.env.clipboard.writeText(answer.text);
        return this.notice('info', 'Answer copied to the clipboard.');
      }
      case 'promote':
        return this.promote(m.turn, m.pane);
      case 'prefer':
        return this.prefer(m.turn, m.pane);
    }
  }

  private answerAt(turn: number, pane: number): Answer | undefined {
    return this.conversation.turns[turn]?.answers[pane];
  }

  private async send(text: string): Promise<void> {
    if (this.turn) return;
    const c = this.conversation;
    c.turns.push({ user: text, answers: c.panes.map(() => emptyAnswer()) });
    const index = c.turns.length - 1;
    const answers = c.turns[index].answers;
    const request = new TurnRequest({ request: async (method, params, timeout, hooks) => (await this.deps.connection.connected()).request(method, params, timeout, hooks) }, {
      token: (pane, piece) => {
        if (answers[pane].finish !== null) return;
        answers[pane].text += piece;
        this.post({ type: 'token', turn: index, pane, text: piece });
      },
      done: (pane, r) => {
        answers[pane] = finished(answers[pane], r);
        this.post({ type: 'done', turn: index, pane, answer: answers[pane] });
      },
    });
    this.turn = request;
    this.changed();
    try {
      await request.run(c);
    } finally {
      this.turn = undefined;
      void this.save();
      if (this.ready) this.postInit();
    }
  }

  private async promote(turn: number, pane: number): Promise<void> {
    const answer = this.answerAt(turn, pane);
    if (!usable(answer)) return this.notice('error', 'Only a finished answer with text can be promoted.');
    const path = await pickDatasetFile('Promote to dataset: append this conversation to', 'promoted.jsonl');
    if (!path) return;
    const r = await this.appendRow(path, messagesFor(this.conversation, pane, turn), answer.text);
    this.deps.log.info(`chat: promoted ${this.label(pane)}'s answer to ${r.path} line ${r.line} (${r.format})`);
    this.notice('info', `Appended to ${basename(r.path)} at line ${r.line} (${r.format} format); the trainer's reader reads it back.`);
  }

  private async prefer(turn: number, pane: number): Promise<void> {
    const t = this.conversation.turns[turn];
    const chosen = t?.answers[pane];
    if (!t || !usable(chosen)) return this.notice('error', 'Only a finished answer with text can be preferred.');
    const others = this.conversation.panes.map((_, i) => i).filter((i) => i !== pane && usable(t.answers[i]));
    if (!others.length) return this.notice('error', 'Prefer needs another pane with a finished answer to reject.');
    let rejected = others[0];
    if (others.length > 1) {
      const picked = await vscode.window.showQuickPick(
        others.map((i) => ({ label: this.label(i), detail: t.answers[i].text.slice(0, 200).replace(/\s+/g, ' '), pane: i })),
        { title: `Prefer ${this.label(pane)}: which answer is rejected?`, placeHolder: 'The answer the pair marks as worse' });
      if (!picked) return;
      rejected = picked.pane;
    }
    const path = await pickDatasetFile('Prefer: append the preference pair to', 'preferences.jsonl');
    if (!path) return;
    const r = await this.appendRow(path, messagesFor(this.conversation, pane, turn), chosen.text, t.answers[rejected].text);
    this.deps.log.info(`chat: preference pair ${this.label(pane)} over ${this.label(rejected)} written to ${r.path} line ${r.line}`);
    this.notice('info', `Pair written to ${basename(r.path)} at line ${r.line}: ${this.label(pane)} chosen, ${this.label(rejected)} rejected.`);
  }

  private appendRow(path: string, messages: ChatMessage[], answer: string, rejected?: string): Promise<AppendedRow> {
    return appendDatasetRow(this.deps.connection, path, messages, answer, rejected);
  }

  private label(pane: number): string {
    return paneLabel(this.conversation.panes[pane], this.conversation.panes);
  }

  private changed(): void {
    this.panel.title = this.title();
    void this.save();
    if (this.ready) this.postInit();
  }

  private async save(): Promise<void> {
    try {
      await this.deps.history.save(this.runId, this.conversation);
    } catch (e) {
      this.deps.log.warn(`chat (${this.runId}): could not keep the conversation: ${message(e)}`);
    }
  }

  private postInit(): void {
    this.post({ type: 'init', conversation: this.conversation, targets: this.targets, link: linkStatus(this.deps.connection.current) });
  }

  private notice(level: 'info' | 'error', text: string): void {
    if (level === 'error') void vscode.window.showErrorMessage(`Tunelab chat: ${text}`);
    this.post({ type: 'notice', level, text });
  }

  private post(m: HostMessage): void {
    if (this.ready && !this.disposed) void this.panel.webview.postMessage(m);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    void this.turn?.stop();
    void this.save();
    while (this.disposables.length) this.disposables.pop()?.dispose();
    this.panel.dispose();
    this.closed.fire();
    this.closed.dispose();
  }
}

function finished(before: Answer, r: PaneResult): Answer {
  // A cancelled request that failed outright has no text of its own: keep what streamed.
  const text = r.text || (r.finish === 'cancelled' ? before.text : '');
  return { text, finish: r.finish, ttftMs: r.ttftMs, tokensPerSec: r.tokensPerSec, newTokens: r.newTokens, error: r.error, edited: false };
}

function usable(a: Answer | undefined): a is Answer {
  return a !== undefined && a.finish !== null && a.finish !== 'error' && a.text.trim() !== '';
}

/** A pane's answers when the panes change: kept for a pane that stays, empty (not asked) for a new one. */
function answerOf(c: Conversation, answers: Answer[], p: PaneTarget): Answer {
  const i = c.panes.findIndex((q) => paneKey(q) === paneKey(p));
  return i >= 0 ? answers[i] : { ...emptyAnswer(), finish: 'error', error: 'This pane was added later and was not asked.' };
}

export function samePanes(a: readonly PaneTarget[], b: readonly PaneTarget[]): boolean {
  return a.length === b.length && a.every((p, i) => paneKey(p) === paneKey(b[i]));
}

export function linkStatus(s: LinkState): LinkStatus {
  switch (s.kind) {
    case 'connected': return { connected: true, reason: '' };
    case 'reconnecting': return { connected: false, reason: `link lost, reconnecting (attempt ${s.attempt}): ${s.reason}` };
    case 'failed': return { connected: false, reason: `could not reach the agent: ${s.reason}` };
    case 'restricted': return { connected: false, reason: 'the workspace is not trusted' };
    case 'connecting': return { connected: false, reason: 'connecting to the agent…' };
    default: return { connected: false, reason: 'not connected to the agent' };
  }
}
