// The agent's reading of one dataset file (inspect_dataset), for the dataset editor's stats pane and the rows'
// problems: run when the file opens and again whenever its content on disk changes (a save, a reload). The file
// is read as the run config it belongs to would read it (its model's tokenizer and template, max_length); without
// a config, token counts are the agent's approximation and say so. The diagnostics go to the Problems panel.
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { readingOptions, type DatasetContext } from '../../core/dataset/configContext';
import type { DatasetInspection, Diagnostic } from '../../core/protocol/messages';
import type { InspectionState, RowProblem } from '../../../webview/dataset/protocol';
import { message, type AgentConnection } from '../agentConnection';
import type { DatasetDocument } from './datasetDocument';
import type { DatasetProblems } from './datasetProblems';

const TIMEOUT_MS = 3_600_000;
/**
 * Files up to this size are read by the agent as they open and after each save. A bigger one costs a core for
 * tens of seconds (a 1 GB file about 35 s), so the agent reads it when asked, and again after a save once asked.
 */
export const AUTO_INSPECT_BYTES = 256 * 1024 * 1024;

export class DatasetInspector implements vscode.Disposable {
  state: InspectionState = 'idle';
  message: string | null = 'Waiting for the agent…';
  progress: { done: number; total: number } | null = null;
  result: DatasetInspection | null = null;
  private run = 0;
  /** The person asked for a reading (a big file): later changes are read again unasked. */
  private asked = false;
  private cancel: (() => void) | undefined;
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChange = this.changed.event;
  private readonly subscription: vscode.Disposable;

  constructor(
    private readonly doc: DatasetDocument,
    readonly context: DatasetContext | undefined,
    private readonly connection: AgentConnection,
    private readonly problems: DatasetProblems,
    private readonly log: vscode.LogOutputChannel,
  ) {
    this.subscription = doc.onDidChangeOnDisk(() => { this.toolProblems = []; if (this.asked || this.small()) void this.inspect(); });
  }

  /** Problems a data tool found (the IOB check), by row; they stand until the tool runs again or the file changes. */
  private toolProblems: Array<Omit<RowProblem, 'line'>> = [];

  setToolProblems(problems: Array<Omit<RowProblem, 'line'>>): void {
    this.toolProblems = problems;
    this.changed.fire();
  }

  /** The agent's diagnostics on the rows they are shown at now (edits move rows; an edited row has none), and the tools'. */
  rowProblems(): RowProblem[] {
    const out: RowProblem[] = this.toolProblems.map((p) => ({ ...p, line: this.doc.lineOfRow(p.row) ?? 0 }));
    for (const d of this.result?.diagnostics ?? []) {
      const [row] = this.doc.rowsOfLines([d.line], true);
      // A deleted line has no row; an edited one is no longer what the agent read (it is read again on save).
      if (row !== undefined && this.doc.lineOfRow(row) === d.line) out.push({ row, line: d.line, severity: d.severity, code: d.code, message: d.message });
    }
    return out;
  }

  private small(): boolean {
    try {
      return statSync(this.doc.uri.fsPath).size <= AUTO_INSPECT_BYTES;
    } catch {
      return true; // gone or unreadable: the agent's own message says so
    }
  }

  /** Reads the file now if it is small enough to read unasked; else says what reading it would take. */
  start(): void {
    if (this.small()) { void this.inspect(); return; }
    const size = (statSync(this.doc.uri.fsPath).size / 1024 ** 3).toFixed(2);
    this.state = 'idle';
    this.message = `${basename(this.doc.uri.fsPath)} is ${size} GB: the agent reads it when asked (about 35 s a GB, one core), for the stats and each row's problems.`;
    this.changed.fire();
  }

  async inspect(asked = false): Promise<void> {
    this.asked ||= asked;
    const run = ++this.run;
    this.cancel?.();
    const path = this.doc.uri.fsPath;
    const set = (state: InspectionState, text: string | null, progress: { done: number; total: number } | null = null) => {
      if (run !== this.run) return;
      Object.assign(this, { state, message: text, progress });
      this.changed.fire();
    };
    if (!vscode.workspace.isTrusted) return set('unavailable', 'The agent reads datasets only in a trusted workspace: trust this folder to see stats and problems.');
    if (this.connection.host) {
      return set('unavailable', `The selected host (${this.connection.host}) cannot read this workspace's files: select "This machine" as the host to see stats and problems.`);
    }
    set('running', `Reading ${basename(path)} with the agent${this.context?.modelName ? ` and ${this.context.modelName}'s tokenizer` : ''}…`);
    const found: Diagnostic[] = [];
    try {
      const client = await this.connection.connected();
      const result = await client.request('inspect_dataset', { path, ...readingOptions(this.context), ...(this.context?.model ? { model: this.context.model } : {}) }, TIMEOUT_MS, {
        onStream: (m) => {
          if (m.kind === 'progress') set('running', this.message, { done: m.data.done, total: m.data.total });
          else if (m.kind === 'diagnostic') found.push(m.data);
        },
        onSent: (id) => { this.cancel = () => void client.request('cancel', { request_id: id }).catch(() => undefined); },
      });
      if (run !== this.run) return;
      this.result = result;
      this.problems.set(this.doc.uri, result.diagnostics);
      this.log.info(`dataset editor: ${basename(path)}: ${result.rows} rows, ${result.bad_rows} bad, ${result.diagnostics.length} diagnostics in ${result.seconds.toFixed(1)} s`);
      set('done', null);
    } catch (e) {
      if (run !== this.run) return;
      this.log.warn(`dataset editor: inspect_dataset ${path}: ${message(e)}`);
      set('error', `The agent could not read ${basename(path)}: ${message(e)}`);
    } finally {
      if (run === this.run) this.cancel = undefined;
    }
  }

  dispose(): void {
    this.run++;
    this.cancel?.();
    this.subscription.dispose();
    this.changed.dispose();
    this.problems.clear(this.doc.uri);
  }
}
