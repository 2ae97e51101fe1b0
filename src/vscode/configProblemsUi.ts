// Shows why the agent refused a run config: each problem in the Problems panel at its line, and one toast that
// lists them with a separator and offers what fixes the common ones (allow a folder outside the workspace,
// build the tiny model a sample config names). core/config/configProblems.ts reads the agent's words.
import { spawn } from 'node:child_process';
import { dirname, basename } from 'node:path';
import * as vscode from 'vscode';
import { missingModelFolder, parseConfigProblems, problemsSummary, refusedFolder, tinyModelRecipe, type ConfigProblem } from '../core/config/configProblems';
import { addDataFolder } from './settings';

const SHOW_ALL = 'Show All';
const ALLOW_FOLDER = 'Allow This Folder';
const BUILD_MODEL = 'Build Tiny Model';

export class ConfigProblemsUi implements vscode.Disposable {
  private readonly diagnostics = vscode.languages.createDiagnosticCollection('tunelab');
  /** What the live checks of the config editor already show (set once they are registered). */
  liveDiagnostics: (uri: vscode.Uri) => readonly vscode.Diagnostic[] = () => [];

  constructor(
    /** The local agent's Python, which can build a tiny model. */
    private readonly python: () => string,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** The config started: whatever was wrong with it is gone. */
  clear(uri: vscode.Uri): void {
    this.diagnostics.delete(uri);
  }

  /** Shows the agent's bad_config `message` about `doc`; `retry` starts the run again after a fix. */
  async report(doc: vscode.TextDocument, message: string, retry: () => Thenable<unknown>): Promise<void> {
    const text = doc.getText();
    const problems = parseConfigProblems(message, basename(doc.uri.fsPath), text);
    // The editor checks as the person types: a problem it already shows on that line is not listed twice.
    const live = new Set(this.liveDiagnostics(doc.uri).filter((d) => d.severity === vscode.DiagnosticSeverity.Error).map((d) => d.range.start.line));
    this.diagnostics.set(doc.uri, problems.map((p) => this.diagnostic(doc, p)).filter((d) => !live.has(d.range.start.line)));
    const configDir = dirname(doc.uri.fsPath);
    const refused = problems.map((p) => refusedFolder(p, configDir)).find((r) => r !== undefined);
    const missing = problems.map(missingModelFolder).find((m) => m !== undefined);
    const recipe = missing ? tinyModelRecipe(text, configDir, missing) : undefined;

    const many = problems.length > 1;
    const head = `Tunelab: invalid run config${many ? ` (${problems.length} problems)` : ''}: `;
    const actions = [...(refused ? [ALLOW_FOLDER] : []), ...(recipe ? [BUILD_MODEL] : []), SHOW_ALL];
    const choice = await vscode.window.showErrorMessage(head + problemsSummary(problems), ...actions);
    if (choice === SHOW_ALL) {
      await vscode.commands.executeCommand('workbench.actions.view.problems');
    } else if (choice === ALLOW_FOLDER && refused) {
      await addDataFolder(refused.folder);
      this.log.info(`tunelab.dataFolders: added ${refused.folder} (${refused.key} of ${doc.uri.fsPath})`);
      await retry();
    } else if (choice === BUILD_MODEL && recipe) {
      if (await this.buildTinyModel(recipe, configDir)) await retry();
    }
  }

  private diagnostic(doc: vscode.TextDocument, p: ConfigProblem): vscode.Diagnostic {
    // A problem with no line is about the file as a whole: its first line.
    const line = Math.min(Math.max((p.line ?? 1) - 1, 0), Math.max(doc.lineCount - 1, 0));
    const range = doc.lineAt(line).range;
    const d = new vscode.Diagnostic(range, p.text, vscode.DiagnosticSeverity.Error);
    d.source = 'tunelab';
    return d;
  }

  private async buildTinyModel(args: string[], cwd: string): Promise<boolean> {
    const python = this.python();
    this.log.info(`building a tiny model: ${python} -m tunelab_agent ${args.join(' ')}`);
    try {
      await vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title: `Tunelab: building the tiny model ${basename(args[1])} (local, no download)…` },
        () => runPython(python, ['-m', 'tunelab_agent', ...args], cwd, (line) => this.log.info(`make-tiny-model: ${line}`)));
      return true;
    } catch (e) {
      void vscode.window.showErrorMessage(`Tunelab could not build the tiny model: ${e instanceof Error ? e.message : String(e)}`);
      return false;
    }
  }

  dispose(): void {
    this.diagnostics.dispose();
  }
}

function runPython(python: string, args: string[], cwd: string, onLine: (line: string) => void): Promise<void> {
  return new Promise((ok, fail) => {
    const child = spawn(python, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let tail = '';
    const take = (d: Buffer) => {
      const s = d.toString();
      tail = (tail + s).slice(-2000);
      for (const line of s.split('\n')) if (line.trim()) onLine(line);
    };
    child.stdout.on('data', take);
    child.stderr.on('data', take);
    child.on('error', fail);
    child.on('close', (code) => (code === 0 ? ok() : fail(new Error(`exit ${code}: ${tail.trim().split('\n').pop() ?? ''}`))));
  });
}
