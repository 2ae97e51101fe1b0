// The agent's semantic checks of a config being edited (preflight: paths, data, the host's GPUs, the
// training method's rules), asked once the text is schema-valid and typing has paused. The timing (one
// request at a time, stale answers dropped) is core/configEditor/debouncedCheck.ts.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { AgentError } from '../../core/agent/errors';
import { type AgentProblem, PATH_KEYS, badConfigProblems, preflightProblems } from '../../core/configEditor/agentProblems';
import { DebouncedCheck } from '../../core/configEditor/debouncedCheck';
import { preflightReport, type PreflightReport } from '../../core/launch/preflightReport';
import type { HostInfo } from '../../core/protocol/messages';
import { message, type AgentConnection } from '../agentConnection';

// Under the 500 ms in which the estimate must follow the text (issue 13), with the agent's answer on top.
const DEBOUNCE_MS = 350;

/** What the agent said about one version of a config: its problems, and the launcher's report of the estimate. */
export interface AgentAnswer {
  problems: AgentProblem[];
  /** null when the config was refused (bad_config): there is no estimate of it. */
  report: PreflightReport | null;
}
const TIMEOUT_MS = 120_000;

export class AgentCheck implements vscode.Disposable {
  /** The last answer per config (placed again by key on the current text until the next one). */
  private readonly answers = new Map<string, AgentAnswer>();
  private readonly check: DebouncedCheck<AgentAnswer>;
  /** The host's GPUs and RAM, asked once per connection: the estimate is judged against them. */
  private host: Promise<HostInfo | null> | undefined;
  private readonly hostReset: vscode.Disposable;

  constructor(
    private readonly connection: AgentConnection,
    private readonly log: vscode.LogOutputChannel,
    /** Called when a config's answer arrived, to show it. */
    changed: (uri: vscode.Uri) => void,
  ) {
    this.hostReset = connection.onDidChangeState(() => { this.host = undefined; });
    this.check = new DebouncedCheck<AgentAnswer>({
      delayMs: DEBOUNCE_MS,
      version: (key) => { const doc = this.document(key); return doc && !doc.isClosed ? doc.version : undefined; },
      ask: (key) => this.ask(key),
      answered: (key, _version, answer) => {
        this.answers.set(key, answer);
        const doc = this.document(key);
        if (doc) changed(doc.uri);
      },
    });
  }

  problems(doc: vscode.TextDocument): AgentProblem[] {
    return this.answers.get(doc.uri.toString())?.problems ?? [];
  }

  /** The estimate of the config's current text, once the agent has answered about it. */
  report(doc: vscode.TextDocument): PreflightReport | null | undefined {
    return this.answers.get(doc.uri.toString())?.report;
  }

  /** The text is schema-valid: ask the agent once typing pauses. */
  schedule(doc: vscode.TextDocument): void {
    this.check.schedule(doc.uri.toString());
  }

  /** The text no longer passes: the agent would only repeat the editor's errors, and its old answer misleads. */
  cancel(uri: vscode.Uri): void {
    this.check.cancel(uri.toString());
    this.answers.delete(uri.toString());
  }

  forget(uri: vscode.Uri): void {
    this.check.forget(uri.toString());
    this.answers.delete(uri.toString());
  }

  private document(key: string): vscode.TextDocument | undefined {
    return vscode.workspace.textDocuments.find((d) => d.uri.toString() === key);
  }

  private async ask(key: string): Promise<AgentAnswer | undefined> {
    const doc = this.document(key);
    // Quietly nothing: the agent is not started in an untrusted workspace, and typing never starts it.
    if (!doc || !vscode.workspace.isTrusted || this.connection.current.kind !== 'connected') return undefined;
    // The agent reads files; a config on another file system (vscode-vfs, ...) has none it could read.
    if (doc.uri.scheme !== 'file' && !doc.isUntitled) return undefined;
    const remote = !!this.connection.host;
    // Read before any await: the answer is about the version DebouncedCheck noted just now.
    const config = doc.getText();
    // A remote host gets the config's files only at Start Run; its paths are checked there.
    const params = remote || doc.isUntitled ? { config } : { config, config_path: doc.uri.fsPath };
    let problems: AgentProblem[];
    let report: PreflightReport | null = null;
    try {
      const client = await this.connection.connected();
      this.host ??= client.request('host_info', {}, TIMEOUT_MS).catch(() => null);
      const [result, host] = await Promise.all([client.request('preflight', params, TIMEOUT_MS), this.host]);
      problems = preflightProblems(result);
      report = preflightReport(result, host, this.connection.host ?? 'this machine');
    } catch (e) {
      if (!(e instanceof AgentError && e.code === 'bad_config')) {
        this.log.debug(`config check of ${doc.uri.fsPath} skipped: ${message(e)}`);
        return undefined;
      }
      problems = badConfigProblems(e.message, basename(doc.uri.fsPath));
    }
    return { problems: remote ? problems.filter((q) => !q.key || !PATH_KEYS.has(q.key)) : problems, report };
  }

  dispose(): void {
    this.hostReset.dispose();
    this.check.dispose();
    this.answers.clear();
  }
}
