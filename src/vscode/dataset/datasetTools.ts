// The guide's data tools in the dataset editor: synonym augmentation and entity perturbation write new rows,
// each previewed as a diff before it applies, applied as one undoable step, seeded so that a run repeats; the IOB
// check lists token-tagging problems on their rows. The tools themselves are pure (src/core/dataset/tools/); this
// asks for their inputs, reads the rows, shows the preview and applies the result.
import { basename } from 'node:path';
import * as vscode from 'vscode';
import type { RowOp } from '../../core/dataset/editStack';
import { checkIob } from '../../core/dataset/tools/iob';
import { parseRules, perturbRows } from '../../core/dataset/tools/perturb';
import { toolDiff } from '../../core/dataset/tools/preview';
import { augmentRows, parseSynonyms, type AddedRow, type ToolRow } from '../../core/dataset/tools/synonyms';
import type { ToolName } from '../../../webview/dataset/protocol';
import { pickExistingFile } from '../datasetFilePicker';
import type { DatasetDocument } from './datasetDocument';
import type { DatasetInspector } from './datasetInspector';

export const TOOL_PREVIEW_SCHEME = 'tunelab-dataset-tool';
/** Rows one tool run reads: a tool's rows and its preview are held in memory. Select a range for more. */
const MAX_TOOL_ROWS = 200_000;
const PAGE = 1000;
const APPLY = 'Apply';

/** The two sides of each preview, by URI, for the diff editor. */
class ToolPreviews implements vscode.TextDocumentContentProvider {
  private readonly texts = new Map<string, string>();
  set(uri: vscode.Uri, text: string): void { this.texts.set(uri.toString(), text); }
  provideTextDocumentContent(uri: vscode.Uri): string {
    return this.texts.get(uri.toString()) ?? '# This preview is gone: run the tool again.';
  }
}

const previews = new ToolPreviews();
let previewRun = 0;

export function registerToolPreviews(): vscode.Disposable {
  return vscode.workspace.registerTextDocumentContentProvider(TOOL_PREVIEW_SCHEME, previews);
}

/** Runs a tool on rows from..to (or the whole file); returns what the page should say, if anything. */
export async function runDatasetTool(tool: ToolName, range: { from: number; to: number } | null, doc: DatasetDocument, inspector: DatasetInspector, log: vscode.LogOutputChannel): Promise<string | undefined> {
  const count = doc.state.rowCount;
  if (count === null) throw new Error('the file is still being indexed; run the tool once its row count shows');
  const from = range?.from ?? 0;
  const to = range?.to ?? count - 1;
  if (to - from + 1 > MAX_TOOL_ROWS) {
    throw new Error(`the tools read up to ${MAX_TOOL_ROWS.toLocaleString('en-US')} rows at a time and this is ${(to - from + 1).toLocaleString('en-US')}: select a range (Shift+click) first`);
  }
  if (tool === 'iob') {
    const rows = await readRows(doc, from, to);
    const result = checkIob(rows);
    inspector.setToolProblems(result.diagnostics.map((d) => ({ row: d.row, severity: d.severity, code: d.code, message: d.message })));
    log.info(`dataset editor: IOB check of ${basename(doc.uri.fsPath)}: ${result.diagnostics.length} problems in ${result.checked} tagged rows`);
    if (!result.checked) return `IOB check: no row in ${describe(range, count)} has "tokens" with "tags" (or "ner_tags", "labels").`;
    return `IOB check: ${result.diagnostics.length ? `${result.diagnostics.length.toLocaleString('en-US')} problems` : 'no problems'} in ${result.checked.toLocaleString('en-US')} tagged rows${result.skipped ? ` (${result.skipped.toLocaleString('en-US')} rows without tags)` : ''}; rows with problems are marked.`;
  }
  const inputs = tool === 'synonyms' ? await synonymInputs() : await perturbInputs();
  if (!inputs) return undefined;
  const rows = await readRows(doc, from, to);
  const result = inputs.run(rows);
  if (!result.added.length) return `${inputs.title}: no row of ${describe(range, count)} changed${result.skipped ? ` (${result.skipped} rows are not JSON objects)` : ''}.`;
  const title = `${inputs.title}: ${result.added.length.toLocaleString('en-US')} new rows (seed ${inputs.seed})`;
  if (!(await preview(doc, rows, result.added, title))) return undefined;
  await doc.edit(insertOps(result.added), title);
  log.info(`dataset editor: ${title} in ${basename(doc.uri.fsPath)}`);
  return `${title}, each below its source row. Undo takes them all back.`;
}

interface ToolInputs {
  title: string;
  seed: number;
  run(rows: ToolRow[]): { added: AddedRow[]; skipped: number };
}

async function synonymInputs(): Promise<ToolInputs | undefined> {
  const file = await pickExistingFile('Synonym augmentation: the synonyms file (a YAML or JSON map of word → synonyms)', 'Use these synonyms', ['yaml', 'yml', 'json'], 'Synonyms');
  if (!file) return undefined;
  const synonyms = parseSynonyms(await readText(file), basename(file.fsPath));
  const probability = await askNumber('Synonym augmentation: the chance that each word with synonyms is replaced', '0.7', 0, 1);
  if (probability === undefined) return undefined;
  const seed = await askNumber('Synonym augmentation: the seed (the same seed gives the same rows)', '42', 0, 2 ** 31 - 1, true);
  if (seed === undefined) return undefined;
  return { title: `Synonym augmentation (p=${probability})`, seed, run: (rows) => augmentRows(rows, synonyms, { probability, seed }) };
}

async function perturbInputs(): Promise<ToolInputs | undefined> {
  const file = await pickExistingFile('Entity perturbation: the rules file (from/to labels and the phrases to swap)', 'Use these rules', ['yaml', 'yml', 'json'], 'Rules');
  if (!file) return undefined;
  const rules = parseRules(await readText(file), basename(file.fsPath));
  const output = await vscode.window.showQuickPick([
    { label: 'New rows', description: 'the swapped text with its flipped label', value: 'rows' as const },
    { label: 'Preference pairs', description: 'the swapped text as prompt, the new label chosen, the old one rejected', value: 'pairs' as const },
  ], { title: 'Entity perturbation: write', ignoreFocusOut: true });
  if (!output) return undefined;
  const seed = await askNumber('Entity perturbation: the seed (the same seed gives the same rows)', '42', 0, 2 ** 31 - 1, true);
  if (seed === undefined) return undefined;
  return { title: `Entity perturbation (${output.label.toLowerCase()})`, seed, run: (rows) => perturbRows(rows, rules, { seed, output: output.value }) };
}

async function readText(uri: vscode.Uri): Promise<string> {
  return Buffer.from(await vscode.workspace.fs.readFile(uri)).toString('utf8');
}

async function askNumber(title: string, value: string, min: number, max: number, integer = false): Promise<number | undefined> {
  const text = await vscode.window.showInputBox({
    title, value, ignoreFocusOut: true,
    validateInput: (v) => {
      const n = Number(v);
      return v.trim() !== '' && Number.isFinite(n) && n >= min && n <= max && (!integer || Number.isInteger(n)) ? undefined : `${integer ? 'a whole number' : 'a number'} from ${min} to ${max}`;
    },
  });
  return text === undefined ? undefined : Number(text);
}

async function readRows(doc: DatasetDocument, from: number, to: number): Promise<ToolRow[]> {
  const out: ToolRow[] = [];
  for (let start = from; start <= to; start += PAGE) {
    const texts = await doc.rows(start, Math.min(PAGE, to - start + 1));
    texts.forEach((text, i) => out.push({ row: start + i, text }));
  }
  return out;
}

function describe(range: { from: number; to: number } | null, count: number): string {
  return range ? `rows ${range.from + 1}–${range.to + 1}` : `the file's ${count.toLocaleString('en-US')} rows`;
}

/** The diff of the rows that gain new rows, beside the editor; true when the person applies it. */
async function preview(doc: DatasetDocument, rows: ToolRow[], added: AddedRow[], title: string): Promise<boolean> {
  const sources = new Set(added.map((a) => a.after));
  const { left, right } = toolDiff(rows.filter((r) => sources.has(r.row)), added);
  const run = ++previewRun;
  const name = basename(doc.uri.fsPath);
  const leftUri = vscode.Uri.from({ scheme: TOOL_PREVIEW_SCHEME, path: `/${run}/${name} (now)` });
  const rightUri = vscode.Uri.from({ scheme: TOOL_PREVIEW_SCHEME, path: `/${run}/${name} (with the new rows)` });
  previews.set(leftUri, left);
  previews.set(rightUri, right);
  await vscode.commands.executeCommand('vscode.diff', leftUri, rightUri, `${title} — preview`, { preview: true, viewColumn: vscode.ViewColumn.Beside });
  const choice = await vscode.window.showInformationMessage(`Tunelab: ${title}. Apply them to ${name}? The diff beside shows them.`, APPLY, 'Discard');
  // The preview has served once answered: its tab closes, and the dataset editor is the one in front again.
  const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs).filter((t) => t.input instanceof vscode.TabInputTextDiff && t.input.modified.toString() === rightUri.toString());
  await vscode.window.tabGroups.close(tabs).then(undefined, () => undefined);
  await vscode.commands.executeCommand('vscode.openWith', doc.uri, 'tunelab.datasetEditor');
  return choice === APPLY;
}

/** Each new row right below its source row; bottom-up, so that earlier inserts do not move later source rows. */
function insertOps(added: AddedRow[]): RowOp[] {
  const byRow = new Map<number, string[]>();
  for (const a of added) byRow.set(a.after, [...(byRow.get(a.after) ?? []), a.text]);
  return [...byRow.entries()].sort((a, b) => b[0] - a[0]).map(([after, texts]) => ({ op: 'insert', row: after + 1, texts }));
}
