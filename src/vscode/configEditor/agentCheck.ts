// The agent's semantic checks of a config being edited (preflight: paths, data, the host's GPUs, the
// training method's rules), asked once the text is schema-valid and typing has paused. The timing (one
// request at a time, stale answers dropped) is core/configEditor/debouncedCheck.ts.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { AgentError } from '../../core/agent/errors';
import { type AgentProblem, PATH_KEYS, badConfigProblems, preflightProblems } from '../../core/configEditor/agentProblems';
import { DebouncedCheck } from '../../core/configEditor/debouncedCheck';
import { message, type AgentConnection } from '../agentConnection';

const DEBOUNCE_MS = 600;
const TIMEOUT_MS = 120_000;

export class AgentCheck implements vscode.Disposable {
  /** The last answer per config (placed again by key on the current text until the next one). */
  private readonly answers = new Map<string, AgentProblem[]>();
  private readonly check: DebouncedCheck<AgentProblem[]>;

  constructor(
    private readonly connection: AgentConnection,
    private readonly log: vscode.LogOutputChannel,
    /** Called when a config's answer arrived, to show it. */
    changed: (uri: vscode.Uri) => void,
  ) {
    this.check = new DebouncedCheck<AgentProblem[]>({
      delayMs: DEBOUNCE_MS,
      version: (key) => { const doc = this.document(key); return doc && !doc.isClosed ? doc.version : undefined; },
      ask: (key) => this.ask(key),
      answered: (key, _version, problems) => {
        this.answers.set(key, problems);
        const doc = this.document(key);
        if (doc) changed(doc.uri);
      },
    });
  }

  problems(doc: vscode.TextDocument): AgentProblem[] {
    return this.answers.get(doc.uri.toString()) ?? [];
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

  private async ask(key: string): Promise<AgentProblem[] | undefined> {
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
    try {
      const client = await this.connection.connected();
      problems = preflightProblems(await client.request('preflight', params, TIMEOUT_MS));
    } catch (e) {
      if (!(e instanceof AgentError && e.code === 'bad_config')) {
        this.log.debug(`config check of ${doc.uri.fsPath} skipped: ${message(e)}`);
        return undefined;
      }
      problems = badConfigProblems(e.message, basename(doc.uri.fsPath));
    }
    return remote ? problems.filter((q) => !q.key || !PATH_KEYS.has(q.key)) : problems;
  }

  dispose(): void {
    this.check.dispose();
    this.answers.clear();
  }
}
