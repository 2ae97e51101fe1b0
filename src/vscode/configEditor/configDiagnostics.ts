// The Problems panel for *.tunelab.yaml as you type: the editor's own checks (YAML, schema, missing data
// files) ~150 ms after a keystroke, and the agent's checks once those pass (agentCheck.ts).
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import * as vscode from 'vscode';
import { agentDiagnostics } from '../../core/configEditor/agentProblems';
import { type ConfigDiagnostic, diagnosticsOf } from '../../core/configEditor/diagnostics';
import { missingFileDiagnostics } from '../../core/configEditor/files';
import { parseConfig } from '../../core/configEditor/parse';
import type { AgentCheck } from './agentCheck';
import { isRunConfig, toDiagnostic } from './convert';

const DEBOUNCE_MS = 150;

const isFile = (path: string): boolean => {
  try {
    return statSync(path).isFile();
  } catch {
    return false;
  }
};

export class ConfigDiagnostics implements vscode.Disposable {
  private readonly collection = vscode.languages.createDiagnosticCollection('tunelab-config');
  private readonly timers = new Map<string, NodeJS.Timeout>();
  /** What is shown per config, for the code actions to find the data of the diagnostic they are asked about. */
  private readonly shown = new Map<string, ConfigDiagnostic[]>();
  private readonly subscriptions: vscode.Disposable[];
  private agent: AgentCheck | undefined;
  /** Told after each config's diagnostics are shown (the status bar's estimate follows them). */
  onShown: (doc: vscode.TextDocument) => void = () => undefined;

  constructor() {
    this.subscriptions = [
      vscode.workspace.onDidOpenTextDocument((doc) => this.update(doc)),
      vscode.workspace.onDidChangeTextDocument((e) => { if (e.contentChanges.length) this.schedule(e.document); }),
      vscode.workspace.onDidCloseTextDocument((doc) => this.forget(doc.uri)),
    ];
  }

  /** Starts the agent's checks; they need the connection, which is made after this. */
  attach(agent: AgentCheck): void {
    this.agent = agent;
    for (const doc of vscode.workspace.textDocuments) this.update(doc);
  }

  /** What the Problems panel shows for `uri` from these checks. */
  shownFor(uri: vscode.Uri): readonly vscode.Diagnostic[] {
    return this.collection.get(uri) ?? [];
  }

  /** The diagnostics now shown for `doc` (core's, with their quick-fix data). */
  current(doc: vscode.TextDocument): ConfigDiagnostic[] {
    return this.shown.get(doc.uri.toString()) ?? [];
  }

  private schedule(doc: vscode.TextDocument): void {
    if (!isRunConfig(doc)) return;
    const key = doc.uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.set(key, setTimeout(() => { this.timers.delete(key); this.update(doc); }, DEBOUNCE_MS));
  }

  /** Checks `doc` now and shows the result; the agent is asked again when the text passes. */
  update(doc: vscode.TextDocument, askAgent = true): void {
    if (!isRunConfig(doc) || doc.isClosed) return;
    const parsed = parseConfig(doc.getText());
    const own = diagnosticsOf(parsed);
    const files = doc.uri.scheme === 'file' ? missingFileDiagnostics(parsed, dirname(doc.uri.fsPath), isFile) : [];
    const valid = !own.some((d) => d.severity === 'error');
    if (askAgent) {
      if (valid) this.agent?.schedule(doc);
      else this.agent?.cancel(doc.uri);
    }
    // The agent says "not on this host yet" about a data file this editor already marks as missing.
    const missing = new Set(files.map((d) => d.key));
    const agent = valid && this.agent ? agentDiagnostics(parsed, this.agent.problems(doc).filter((p) => !p.key || !missing.has(p.key))) : [];
    const all = [...own, ...files, ...agent];
    this.shown.set(doc.uri.toString(), all);
    this.collection.set(doc.uri, all.map((d) => toDiagnostic(doc, d)));
    this.onShown(doc);
  }

  /** The agent answered: show its problems with the current text's own. */
  agentAnswered(uri: vscode.Uri): void {
    const doc = vscode.workspace.textDocuments.find((d) => d.uri.toString() === uri.toString());
    if (doc) this.update(doc, false);
  }

  private forget(uri: vscode.Uri): void {
    const key = uri.toString();
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    this.shown.delete(key);
    this.collection.delete(uri);
    this.agent?.forget(uri);
  }

  dispose(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.subscriptions.forEach((s) => s.dispose());
    this.collection.dispose();
  }
}
