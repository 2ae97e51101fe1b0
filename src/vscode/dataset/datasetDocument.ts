// One dataset file open in the dataset editor. A JSONL or text file has its line index (built in a worker), the
// person's edits as a log over the unchanged file (src/core/dataset/editLog.ts) and rows read a page at a time;
// VS Code holds the undo/redo stack, whose steps come from src/core/dataset/editStack.ts. Saving writes the edits
// into the file atomically, untouched lines byte for byte; a backup (hot exit) stores only the edits. A JSON
// array, CSV, TSV or Parquet file is read through its own streaming reader (src/core/dataset/tables/) and shown
// read-only: writing a row back would rewrite the whole file in a shape the person did not choose.
import { copyFile, open, stat, type FileHandle } from 'node:fs/promises';
import { basename } from 'node:path';
import * as vscode from 'vscode';
import { EditLog } from '../../core/dataset/editLog';
import { EditStack, rowsBefore, type RowOp } from '../../core/dataset/editStack';
import { indexInWorker } from '../../core/dataset/indexInWorker';
import type { LineIndex } from '../../core/dataset/lineIndex';
import { readFirstLines, readLines } from '../../core/dataset/pages';
import { openTable, tableFormatOf } from '../../core/dataset/tables/table';
import type { TableSource } from '../../core/dataset/tables/table';
import { writeEdited } from '../../core/dataset/writeEdited';

export type { RowOp };

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
interface Signature { size: number; mtimeMs: number }

export class DatasetDocument implements vscode.CustomDocument {
  private index: LineIndex | undefined;
  private table: TableSource | undefined;
  private readonly stack: EditStack;
  private handle: FileHandle | undefined;
  private indexing: AbortController | undefined;
  private progress = { done: 0, total: 0 };
  private indexError: string | null = null;
  /** The file as last read or written here: a change on disk that differs from it is someone else's. */
  private known: Signature | undefined;
  private warned: Signature | undefined;
  private readonly edited = new vscode.EventEmitter<vscode.CustomDocumentEditEvent<DatasetDocument>>();
  /** A VS Code edit event per change: the editor's undo stack, dirty state and hot exit follow it. */
  readonly onDidEdit = this.edited.event;
  private readonly changed = new vscode.EventEmitter<void>();
  private generation = 0;
  /** The rows or the index changed (an edit, undo, save, revert, progress): the panels redraw. */
  readonly onDidChange = this.changed.event;
  private readonly saved = new vscode.EventEmitter<void>();
  /** The file on disk has new content (a save here, or a reload): what the agent said of it is stale. */
  readonly onDidChangeOnDisk = this.saved.event;
  private readonly watcher: vscode.FileSystemWatcher;
  firstRows: string[] = [];
  /** A JSON array, CSV, TSV or Parquet file: shown, not edited. */
  readonly readOnlyReason: string | null;

  private constructor(readonly uri: vscode.Uri, private readonly workerFile: string, private readonly log_: vscode.LogOutputChannel) {
    this.stack = new EditStack(() => this.bump());
    const format = tableFormatOf(uri.fsPath);
    this.readOnlyReason = format
      ? `${basename(uri.fsPath)} is ${format === 'json' ? 'a JSON array' : format.toUpperCase()}: rows are shown, not edited here (a row written back would rewrite the whole file). Edit a JSONL copy.`
      : null;
    this.watcher = vscode.workspace.createFileSystemWatcher(new vscode.RelativePattern(vscode.Uri.joinPath(uri, '..'), basename(uri.fsPath)));
    const onDisk = () => void this.changedOnDisk();
    this.watcher.onDidChange(onDisk);
    this.watcher.onDidCreate(onDisk);
  }

  static async open(uri: vscode.Uri, backupId: string | undefined, workerFile: string, log: vscode.LogOutputChannel): Promise<DatasetDocument> {
    const doc = new DatasetDocument(uri, workerFile, log);
    if (!doc.readOnlyReason) doc.firstRows = await readFirstLines(uri.fsPath, FIRST_BYTES, FIRST_LINES);
    void doc.reindex(backupId);
    return doc;
  }

  /**
   * Goes up with every change of the rows or the index. A page read at one version is stale once it moved: the
   * page drops it (an answer can arrive after the change that made it wrong).
   */
  get version(): number {
    return this.generation;
  }

  private bump(): void {
    this.generation++;
    this.changed.fire();
  }

  get state(): IndexState {
    const rowCount = this.table ? this.table.rowCount : this.stack.log ? this.stack.log.rowCount : null;
    return { rowCount, ...this.progress, error: this.indexError };
  }

  get isDirty(): boolean {
    return !!this.stack.log && !this.stack.log.isClean;
  }

  get editable(): boolean {
    return !this.readOnlyReason;
  }

  /** The file's line of a row (1-based), for the agent's diagnostics and render_sample; null for a row not saved yet. */
  lineOfRow(row: number): number | null {
    const log = this.stack.log;
    if (this.table) return row + 1;
    if (!log || row < 0 || row >= log.rowCount) return null;
    const ref = log.rowAt(row);
    return ref.kind === 'original' && ref.text === undefined ? ref.line + 1 : null;
  }

  /** Builds the index (again, after a save or a change on disk) and starts a clean log, or the backup's edits. */
  private async reindex(backupId?: string): Promise<void> {
    this.indexing?.abort();
    const controller = (this.indexing = new AbortController());
    // After a save the old index, log and handle stay in use until the new index is ready: the handle still reads
    // the old file, which with the log's edits is exactly the new one. What changes meanwhile is replayed on the new log.
    this.stack.beginSwap();
    this.indexError = null;
    const onProgress = (done: number, total: number) => { this.progress = { done, total }; if (!this.stack.log && !this.table) this.bump(); };
    try {
      const signature = await this.signature();
      if (this.readOnlyReason) {
        const table = await openTable(this.uri.fsPath, { signal: controller.signal, onProgress });
        if (controller.signal.aborted) { await table.close(); return; }
        await this.table?.close();
        this.table = table;
        this.known = signature;
        this.progress = { done: 1, total: 1 };
        this.firstRows = await table.rows(0, FIRST_LINES);
      } else {
        const index = await indexInWorker(this.uri.fsPath, this.workerFile, { signal: controller.signal, onProgress });
        if (controller.signal.aborted) return;
        const handle = await open(this.uri.fsPath, 'r');
        await this.handle?.close();
        this.handle = handle;
        this.index = index;
        this.known = signature;
        this.progress = { done: index.fileSize, total: index.fileSize };
        const fresh = backupId ? await this.restore(backupId, index) : new EditLog(index.lineCount);
        this.stack.endSwap(fresh);
        if (backupId && !fresh.isClean) this.edited.fire({ document: this, label: 'Restore unsaved edits', undo: () => undefined, redo: () => undefined });
      }
    } catch (e) {
      if (controller.signal.aborted) return;
      this.index = undefined;
      this.stack.endSwap(undefined);
      this.indexError = e instanceof Error ? e.message : String(e);
      this.log_.error(`dataset editor: could not read ${this.uri.fsPath}: ${this.indexError}`);
    }
    if (this.indexing === controller) this.indexing = undefined;
    this.bump();
  }

  private async signature(): Promise<Signature> {
    const s = await stat(this.uri.fsPath);
    return { size: s.size, mtimeMs: s.mtimeMs };
  }

  /**
   * The file changed on disk. Unchanged against what was read or written here: nothing to do (a save of ours).
   * Clean: read again. Dirty: the person chooses, since the edits name rows of the file as it was.
   */
  private async changedOnDisk(): Promise<void> {
    let now: Signature;
    try {
      now = await this.signature();
    } catch {
      return; // gone: VS Code marks the tab itself
    }
    const same = (a: Signature | undefined) => !!a && now.size === a.size && now.mtimeMs === a.mtimeMs;
    // `known` stays what the index describes (a save checks it); `warned` keeps one change from asking twice.
    if (!this.known || same(this.known) || same(this.warned)) return;
    const name = vscode.workspace.asRelativePath(this.uri);
    this.log_.info(`dataset editor: ${name} changed on disk (${this.known.size} → ${now.size} bytes)`);
    this.warned = now;
    if (!this.isDirty) {
      await this.reindex();
      this.saved.fire();
      return;
    }
    const reload = 'Reload (drop my edits)';
    const choice = await vscode.window.showWarningMessage(
      `Tunelab: ${name} changed on disk while you have unsaved edits in the dataset editor. Your edits name rows of the file as it was, so they cannot be saved over the new one.`,
      { modal: false }, reload, 'Keep my edits for now');
    if (choice === reload) {
      // Revert through VS Code, so that its undo stack and dirty state are dropped with the edits: on this editor.
      await vscode.commands.executeCommand('vscode.openWith', this.uri, 'tunelab.datasetEditor');
      await vscode.commands.executeCommand('workbench.action.files.revert');
    }
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
    if (this.table) return this.table.rows(start, Math.max(0, Math.min(count, this.table.rowCount - start)));
    const log = this.stack.log;
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

  /**
   * Each row's length in bytes, for Sort by length: originals from the line index (no read), edited rows from
   * their text. Null before the index exists.
   */
  rowLengths(): Float64Array | null {
    const log = this.stack.log;
    const index = this.index;
    if (!log || !index) return null;
    const out = new Float64Array(log.rowCount);
    for (let row = 0; row < log.rowCount; row++) {
      if (log.isClean) { out[row] = index.end(row) - index.start(row); continue; }
      const ref = log.rowAt(row);
      out[row] = ref.kind === 'inserted' || ref.text !== undefined ? Buffer.byteLength(ref.text ?? '') : index.end(ref.line) - index.start(ref.line);
    }
    return out;
  }

  /** The rows shown for lines of the file as saved (1-based lines of a search or of the agent); deleted lines have none. */
  rowsOfLines(lines: number[], oneBased = false): number[] {
    const log = this.stack.log;
    const zero = oneBased ? lines.map((l) => l - 1) : lines;
    if (!log) return zero;
    return zero.map((l) => (l >= 0 && l < log.lineCount ? log.rowOf(l) : -1)).filter((r) => r >= 0);
  }

  /**
   * Applies a person's edit: replaces, deletes and inserts by row, in order, as one step of VS Code's undo stack
   * (labelling many rows at once is one step). What each op changes is read first, at the stack's version.
   */
  async edit(ops: RowOp[], label: string): Promise<void> {
    if (this.readOnlyReason) throw new Error(this.readOnlyReason);
    if (!ops.length) return;
    const version = this.stack.version;
    const before = await rowsBefore(ops, (row, count) => this.rows(row, count));
    const step = this.stack.apply(ops, before, version);
    this.edited.fire({ document: this, label, undo: step.undo, redo: step.redo });
  }

  /** The save is done once the file is written; the new index builds after it, so the save of a big file is not held up. */
  async save(cancellation?: vscode.CancellationToken): Promise<void> {
    await this.saveTo(this.uri, cancellation);
    this.known = await this.signature();
    this.log_.info(`dataset editor: saved ${this.uri.fsPath}`);
    this.saved.fire();
    void this.reindex();
  }

  async saveAs(target: vscode.Uri, cancellation?: vscode.CancellationToken): Promise<void> {
    await copyFile(this.uri.fsPath, target.fsPath);
    await this.saveTo(target, cancellation);
  }

  private async saveTo(target: vscode.Uri, cancellation?: vscode.CancellationToken): Promise<void> {
    const { index } = this;
    const log = this.stack.log;
    if (this.readOnlyReason) throw new Error(this.readOnlyReason);
    if (!index || !log) throw new Error(`${vscode.workspace.asRelativePath(this.uri)} is still being indexed; save again once it is`);
    const now = await this.signature();
    if (this.known && (now.size !== this.known.size || now.mtimeMs !== this.known.mtimeMs)) {
      throw new Error(`${vscode.workspace.asRelativePath(this.uri)} changed on disk since it was read, and the edits name rows of the old file. Revert File reloads it (dropping the edits).`);
    }
    const controller = new AbortController();
    cancellation?.onCancellationRequested(() => controller.abort());
    await writeEdited(target.fsPath, index, log, { signal: controller.signal });
  }

  async revert(): Promise<void> {
    await this.reindex();
    this.saved.fire();
  }

  async backup(destination: vscode.Uri): Promise<vscode.CustomDocumentBackup> {
    const now = await stat(this.uri.fsPath);
    const backup: Backup = { version: 1, size: now.size, mtimeMs: now.mtimeMs, edits: this.stack.log?.toJSON() ?? null };
    await vscode.workspace.fs.writeFile(destination, Buffer.from(JSON.stringify(backup)));
    return { id: destination.toString(), delete: () => void vscode.workspace.fs.delete(destination).then(undefined, () => undefined) };
  }

  /** Disposed with the document (what the provider keeps per document). */
  readonly owned: vscode.Disposable[] = [];

  dispose(): void {
    this.owned.forEach((d) => d.dispose());
    this.indexing?.abort();
    this.watcher.dispose();
    void this.handle?.close();
    void this.table?.close();
    this.edited.dispose();
    this.changed.dispose();
    this.saved.dispose();
  }
}
