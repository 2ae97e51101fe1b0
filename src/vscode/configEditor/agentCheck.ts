// The agent's semantic checks of a config being edited (preflight: paths, data, the host's GPUs, the
// training method's rules), asked once the text is schema-valid and typing has paused. One request per
// config at a time; an answer about text that changed since is dropped, and the newest text is asked next.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { AgentError } from '../../core/agent/errors';
import { type AgentProblem, PATH_KEYS, badConfigProblems, preflightProblems } from '../../core/configEditor/agentProblems';
import { message, type AgentConnection } from '../agentConnection';

const DEBOUNCE_MS = 600;
const TIMEOUT_MS = 120_000;

interface Pending {
  timer?: NodeJS.Timeout;
  /** The document version a request is out for. */
  asking?: number;
  /** Another check was wanted while one was out. */
  again?: boolean;
}

export class AgentCheck implements vscode.Disposable {
  private readonly pending = new Map<string, Pending>();
  /** The last answer per config, with the version it was about. */
  private readonly answers = new Map<string, { version: number; problems: AgentProblem[] }>();

  constructor(
    private readonly connection: AgentConnection,
    private readonly log: vscode.LogOutputChannel,
    /** Called when a config's answer changed, to show it. */
    private readonly changed: (uri: vscode.Uri) => void,
  ) {}

  /** The agent's problems for `doc`, from the last answer (placed again by key on the current text). */
  problems(doc: vscode.TextDocument): AgentProblem[] {
    return this.answers.get(doc.uri.toString())?.problems ?? [];
  }

  /** The text is schema-valid: ask the agent once typing pauses. */
  schedule(doc: vscode.TextDocument): void {
    const key = doc.uri.toString();
    const p = this.pending.get(key) ?? {};
    clearTimeout(p.timer);
    p.timer = setTimeout(() => { p.timer = undefined; void this.ask(doc); }, DEBOUNCE_MS);
    this.pending.set(key, p);
  }

  /** The text no longer parses or passes the schema: the agent would only repeat that, and old answers mislead. */
  cancel(uri: vscode.Uri): void {
    const key = uri.toString();
    const p = this.pending.get(key);
    if (p) { clearTimeout(p.timer); p.timer = undefined; p.again = false; }
    this.answers.delete(key);
  }

  forget(uri: vscode.Uri): void {
    this.cancel(uri);
    this.pending.delete(uri.toString());
  }

  private async ask(doc: vscode.TextDocument): Promise<void> {
    const key = doc.uri.toString();
    const p = this.pending.get(key);
    if (!p) return;
    if (p.asking !== undefined) { p.again = true; return; }
    // Quietly nothing: the agent is not started in an untrusted workspace, and typing never starts it.
    if (!vscode.workspace.isTrusted || this.connection.current.kind !== 'connected' || doc.isClosed) return;
    const version = doc.version;
    const remote = !!this.connection.host;
    p.asking = version;
    let problems: AgentProblem[] | undefined;
    try {
      const client = await this.connection.connected();
      // A remote host gets the config's files only at Start Run; its paths are checked there.
      const params = remote || doc.isUntitled ? { config: doc.getText() } : { config: doc.getText(), config_path: doc.uri.fsPath };
      problems = preflightProblems(await client.request('preflight', params, TIMEOUT_MS));
    } catch (e) {
      if (e instanceof AgentError && e.code === 'bad_config') problems = badConfigProblems(e.message, basename(doc.uri.fsPath));
      else this.log.debug(`config check of ${doc.uri.fsPath} skipped: ${message(e)}`);
    } finally {
      p.asking = undefined;
    }
    if (problems && remote) problems = problems.filter((q) => !q.key || !PATH_KEYS.has(q.key));
    if (problems && !doc.isClosed && doc.version === version && this.pending.has(key)) {
      this.answers.set(key, { version, problems });
      this.changed(doc.uri);
    }
    if (p.again && !doc.isClosed && this.pending.has(key)) {
      p.again = false;
      this.schedule(doc);
    }
  }

  dispose(): void {
    for (const p of this.pending.values()) clearTimeout(p.timer);
    this.pending.clear();
    this.answers.clear();
  }
}
