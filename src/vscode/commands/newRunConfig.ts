// Tunelab: New Run Config… — a commented config from one of the guide's presets (presets/), written into the
// workspace with its example data beside it, then opened. Continued training asks for the checkpoint it starts from.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import * as vscode from 'vscode';
import { writeFileAtomic } from '../../core/files/atomicWrite';
import { PRESETS, configName, dataFiles, instantiate, type Preset } from '../../core/presets/presets';
import type { RunStore } from '../../core/runs/runStore';
import { message, type AgentConnection } from '../agentConnection';
import { resolveCheckpoint } from '../launcher/pickers';

export function newRunConfigCommand(extensionPath: string, store: RunStore, connection: AgentConnection, log: vscode.LogOutputChannel) {
  return async (arg?: unknown): Promise<void> => {
    const folder = arg instanceof vscode.Uri ? arg : vscode.workspace.workspaceFolders?.[0]?.uri;
    if (!folder || folder.scheme !== 'file') {
      void vscode.window.showErrorMessage('Tunelab: open a folder first; the new run config and its example data are written there.');
      return;
    }
    const picked = await vscode.window.showQuickPick(
      PRESETS.map((p) => ({ label: p.title, detail: p.detail, preset: p })),
      { title: 'Tunelab: New Run Config', placeHolder: 'A scenario from the fine-tuning guide, or a size from its compute table', matchOnDetail: true, ignoreFocusOut: true },
    );
    if (!picked) return;
    const preset: Preset = picked.preset;
    let resumeFrom: string | undefined;
    if (preset.needsCheckpoint) {
      if (!store.list().length) {
        void vscode.window.showInformationMessage('Tunelab: continued training starts from a checkpoint of an earlier run, and there is none yet. Train the first stage, then come back.');
        return;
      }
      const ref = await resolveCheckpoint(store, connection, undefined, 'continue from');
      if (!ref) return;
      resumeFrom = `${ref.run.runId}/${ref.checkpoint}`;
    }
    const presetPath = join(extensionPath, 'presets', `${preset.id}.tunelab.yaml`);
    let presetText: string;
    try {
      presetText = await readFile(presetPath, 'utf8');
    } catch (e) {
      log.error(`preset ${presetPath}: ${message(e)}`);
      void vscode.window.showErrorMessage(`Tunelab: the preset "${preset.title}" is missing from the extension (${presetPath}); reinstalling Tunelab brings it back.`);
      return;
    }
    const suggested = /^name:\s*(\S+)/m.exec(presetText)?.[1] ?? preset.id;
    const input = await vscode.window.showInputBox({
      title: `Tunelab: New Run Config (${preset.title})`, prompt: 'The run config\'s name, also its file name (<name>.tunelab.yaml)', value: suggested, ignoreFocusOut: true,
      validateInput: async (v) => {
        if (!configName(v)) return 'Letters, digits, ".", "-" and "_", starting with a letter or digit';
        return (await exists(vscode.Uri.joinPath(folder, `${v.trim()}.tunelab.yaml`))) ? `${v.trim()}.tunelab.yaml is already there; pick another name` : undefined;
      },
    });
    const name = input === undefined ? undefined : configName(input);
    if (!name) return;
    const target = vscode.Uri.joinPath(folder, `${name}.tunelab.yaml`);
    try {
      const text = instantiate(presetText, name, resumeFrom);
      const copied: string[] = [];
      for (const rel of dataFiles(text)) {
        const dest = vscode.Uri.joinPath(folder, rel);
        if (await exists(dest)) continue; // the person's own data under that name wins
        await vscode.workspace.fs.createDirectory(vscode.Uri.joinPath(dest, '..'));
        await vscode.workspace.fs.copy(vscode.Uri.file(join(extensionPath, 'presets', rel)), dest);
        copied.push(rel);
      }
      await writeFileAtomic(target.fsPath, text);
      log.info(`new run config ${target.fsPath} from the preset ${preset.id}${copied.length ? `, with example data ${copied.join(', ')}` : ''}`);
      await vscode.window.showTextDocument(target, { preview: false });
    } catch (e) {
      void vscode.window.showErrorMessage(`Tunelab could not write ${vscode.workspace.asRelativePath(target)}: ${message(e)}`);
    }
  };
}

async function exists(uri: vscode.Uri): Promise<boolean> {
  try {
    await vscode.workspace.fs.stat(uri);
    return true;
  } catch {
    return false;
  }
}
