// One dataset file open in the dataset editor: its line index (built in a worker), the person's edits as a log
// over the unchanged file (src/core/dataset/editLog.ts), and the rows read a page at a time. VS Code holds the
// undo/redo stack: each edit is reported with its exact inverse. Saving writes the edits into the file atomically,
// untouched lines byte for byte; a backup (hot exit) stores only the edits, never a copy of the file.
import { copyFile, open, stat, type FileHandle } from 'node:fs/promises';
import * as vscode from 'vscode';
import { EditLog, type EditOp } from '../../core/dataset/editLog';
import { indexInWorker } from '../../core/dataset/indexInWorker';
import type { LineIndex } from '../../core/dataset/lineIndex';
import { readFirstLines, readLines } from '../../core/dataset/pages';
import { writeEdited } from '../../core/dataset/writeEdited';

/** Enough of the head of the file for a first screen, read before any index exists. */
const FIRST_BYTES = 256 * 1024;
const FIRST_LINES = 200;

export interface IndexState {
  /** Rows once indexed (with the edits), else null. */
  rowCount: number | null;
  done: number;
  total: number;
  error: string | null;
}

interface Backup { version: 1; size: number; mtimeMs: number; edits: unknown }

export class DatasetDocument implements vscode.CustomDocument {
  private index: LineIndex | undefined;
  private log: EditLog | undefined;
  private handle: FileHandle | undefined;
  private indexing: AbortController | undefined;
  private progress = { done: 0, total: 0 };
  private indexError: string | null = null;
  private readonly edited = new vscode.EventEmitter<vscode.CustomDocumentEditEvent<DatasetDocument>>();
  /** A VS Code edit event per change: the editor's undo stack, dirty state and hot exit follow it. */
  readonly onDidEdit = this.edited.event;
  private readonly changed = new vscode.EventEmitter<void>();
  /** The rows or the index changed (an edit, undo, save, revert, progress): the panels redraw. */
  readonly onDidChange = this.changed.event;
  firstRows: string[] = [];
  /** Undo/redo steps taken while a saved file was being indexed, by row and content, for the new log. */
  private replay: EditOp[] = [];

  private constructor(readonly uri: vscode.Uri, private readonly workerFile: string, private readonly log_: vscode.LogOutputChannel) {}

  static async open(uri: vscode.Uri, backupId: string | undefined, workerFile: string, log: vscode.LogOutputChannel): Promise<DatasetDocument> {
    const doc = new DatasetDocument(uri, workerFile, log);
    doc.firstRows = await readFirstLines(uri.fsPath, FIRST_BYTES, FIRST_LINES);
    void doc.reindex(backupId);
    return doc;
  }

  get state(): IndexState {
    return { rowCount: this.log ? this.log.rowCount : null, ...this.progress, error: this.indexError };
  }

  get isDirty(): boolean {
    return !!this.log && !this.log.isClean;
  }

  /** Builds the index (again, after a save or a change on disk) and starts a clean log, or the backup's edits. */
  private async reindex(backupId?: string): Promise<void> {
    this.indexing?.abort();
    const controller = (this.indexing = new AbortController());
    // Whatever was replayable is in the file just saved (or dropped by a revert): only what changes from now on is.
    this.replay = [];
    // After a save the old index, log and handle stay in use until the new index is ready: the handle still reads
    // the old file, which with the log's edits is exactly the new one. What changes meanwhile is replayed on the new log.
    this.indexError = null;
    try {
      const index = await indexInWorker(this.uri.fsPath, this.workerFile, {
        signal: controller.signal,
        onProgress: (done, total) => { this.progress = { done, total }; if (!this.log) this.changed.fire(); },
      });
      if (controller.signal.aborted) return;
      const handle = await open(this.uri.fsPath, 'r');
      await this.handle?.close();
      this.handle = handle;
      this.index = index;
      this.progress = { done: index.fileSize, total: index.fileSize };
      const fresh = backupId ? await this.restore(backupId, index) : new EditLog(index.lineCount);
      for (const op of this.replay.splice(0)) fresh.apply(op);
      this.log = fresh;
      if (backupId && !this.log.isClean) this.edited.fire({ document: this, label: 'Restore unsaved edits', undo: () => undefined, redo: () => undefined });
    } catch (e) {
      if (controller.signal.aborted) return;
      this.index = undefined;
      this.log = undefined;
      this.indexError = e instanceof Error ? e.message : String(e);
      this.log_.error(`dataset editor: could not index ${this.uri.fsPath}: ${this.indexError}`);
    }
    if (this.indexing === controller) this.indexing = undefined;
    this.changed.fire();
  }

  private async restore(backupId: string, index: LineIndex): Promise<EditLog> {
    try {
      const backup = JSON.parse(Buffer.from(await vscode.workspace.fs.readFile(vscode.Uri.parse(backupId))).toString('utf8')) as Backup;
      const now = await stat(this.uri.fsPath);
      // The edits name line numbers of the file as it was: on a file changed since, they would land on other rows.
      if (backup.version !== 1 || backup.size !== now.size || Math.abs(backup.mtimeMs - now.mtimeMs) > 1) {
        void vscode.window.showWarningMessage(`Tunelab: ${vscode.workspace.asRelativePath(this.uri)} changed on disk since its unsaved edits were kept; they were not restored.`);
        return new EditLog(index.lineCount);
      }
      return EditLog.fromJSON(backup.edits, index.lineCount);
    } catch (e) {
      this.log_.warn(`dataset editor: backup ${backupId} not restored: ${e instanceof Error ? e.message : String(e)}`);
      return new EditLog(index.lineCount);
    }
  }

  /** Rows [start, start + count) as text: originals read in one positioned read per run, edits from the log. */
  async rows(start: number, count: number): Promise<string[]> {
    const log = this.log;
    const index = this.index;
    const handle = this.handle;
    if (!log || !index || !handle) return this.firstRows.slice(start, start + count);
    const end = Math.min(log.rowCount, start + count);
    const out: string[] = [];
    let row = start;
    while (row < end) {
      const ref = log.rowAt(row);
      if (ref.kind === 'inserted' || ref.text !== undefined) {
        out.push(ref.text!);
        row++;
        continue;
      }
      // A run of untouched original lines: one read.
      let run = 1;
      while (row + run < end) {
        const next = log.rowAt(row + run);
        if (next.kind !== 'original' || next.text !== undefined || next.line !== ref.line + run) break;
        run++;
      }
      out.push(...(await readLines(handle, index, ref.line, run)));
      row += run;
    }
    return out;
  }

  /** The rows shown for lines of the file as saved (a search's hits); deleted lines have none. */
  rowsOfLines(lines: number[]): number[] {
    const log = this.log;
    if (!log) return lines;
    return lines.map((l) => (l < log.lineCount ? log.rowOf(l) : -1)).filter((r) => r >= 0);
  }

  /**
   * Applies a person's edit (replace, delete or insert, by row); VS Code gets it with its inverse for undo. Within
   * one log the inverse is the log's own, exact to the structure. After a save the file holds the edit and a new,
   * clean log describes it, so undo and redo then apply the same change by row and by content instead.
   */
  async edit(op: Extract<EditOp, { op: 'replace' | 'delete' | 'insert' }>, label: string): Promise<void> {
    const log = this.log;
    if (!log) throw new Error('the file is being read; try again once its row count shows');
    const before = op.op === 'insert' ? [] : await this.rows(op.row, op.op === 'delete' ? op.count : 1);
    if (this.log !== log) throw new Error('the file was saved or reloaded meanwhile; try again');
    const byContent: EditOp = op.op === 'replace' ? { op: 'replace', row: op.row, text: before[0] }
      : op.op === 'delete' ? { op: 'insert', row: op.row, texts: before } : { op: 'delete', row: op.row, count: op.texts.length };
    let inverse = log.apply(op);
    // Made while the saved file is being indexed: the new log gets it too.
    if (this.indexing) this.replay.push(op);
    let redo: EditOp = op;
    const step = (exact: () => void, other: EditOp) => {
      this.log_.debug(`dataset editor: ${other === op ? 'redo' : 'undo'} ${label}${this.log === log ? '' : ' (after a save)'}${this.indexing ? ' while indexing' : ''}`);
      if (this.log === log) {
        exact();
        // Undone or redone while the saved file is being indexed: the new log will not have it, so it is replayed there.
        if (this.indexing) this.replay.push(other);
      } else this.log?.apply(other);
      this.changed.fire();
    };
    this.edited.fire({
      document: this,
      label,
      undo: () => step(() => { redo = log.apply(inverse); }, byContent),
      redo: () => step(() => { inverse = log.apply(redo); }, op),
    });
    this.changed.fire();
  }

  /** The save is done once the file is written; the new index builds after it, so the save of a big file is not held up. */
  async save(cancellation?: vscode.CancellationToken): Promise<void> {
    await this.saveTo(this.uri, cancellation);
    this.log_.info(`dataset editor: saved ${this.uri.fsPath}`);
    void this.reindex();
  }

  async saveAs(target: vscode.Uri, cancellation?: vscode.CancellationToken): Promise<void> {
    await copyFile(this.uri.fsPath, target.fsPath);
    await this.saveTo(target, cancellation);
  }

  private async saveTo(target: vscode.Uri, cancellation?: vscode.CancellationToken): Promise<void> {
    const { index, log } = this;
    if (!index || !log) throw new Error(`${vscode.workspace.asRelativePath(this.uri)} is still being indexed; save again once it is`);
    const controller = new AbortController();
    cancellation?.onCancellationRequested(() => controller.abort());
    await writeEdited(target.fsPath, index, log, { signal: controller.signal });
  }

  async revert(): Promise<void> {
    await this.reindex();
  }

  async backup(destination: vscode.Uri): Promise<vscode.CustomDocumentBackup> {
    const now = await stat(this.uri.fsPath);
    const backup: Backup = { version: 1, size: now.size, mtimeMs: now.mtimeMs, edits: this.log?.toJSON() ?? null };
    await vscode.workspace.fs.writeFile(destination, Buffer.from(JSON.stringify(backup)));
    return { id: destination.toString(), delete: () => void vscode.workspace.fs.delete(destination).then(undefined, () => undefined) };
  }

  dispose(): void {
    this.indexing?.abort();
    void this.handle?.close();
    this.edited.dispose();
    this.changed.dispose();
  }
}
