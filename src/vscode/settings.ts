// Reads the Tunelab settings the local agent needs, filling in the documented defaults.
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import * as vscode from 'vscode';
import { existsSync } from 'node:fs';
import { dataFolders } from '../core/host/dataFolders';
import { expandHome } from '../core/homePath';
import { venvPython } from '../core/host/agentEnvironment';
import { defaultPython } from '../core/host/localAgent';

export interface AgentSettings {
  python: string;
  /** setting: tunelab.pythonPath; bundled: the extension folder's python-agent/.venv (a source checkout); managed: made by Set Up Agent. */
  pythonSource: 'setting' | 'bundled' | 'managed';
  root: string;
  dataDirs: string[];
}

export function readAgentSettings(extensionRoot: string, managedVenvDir: string): AgentSettings {
  const config = vscode.workspace.getConfiguration('tunelab');
  const python = config.get<string>('pythonPath', '').trim();
  const root = config.get<string>('agentRoot', '').trim();
  const bundled = defaultPython(extensionRoot);
  return {
    ...(python ? { python: expandHome(python), pythonSource: 'setting' as const }
      : existsSync(bundled) ? { python: bundled, pythonSource: 'bundled' as const }
        : { python: venvPython(managedVenvDir), pythonSource: 'managed' as const }),
    root: root ? resolve(expandHome(root)) : join(homedir(), '.tunelab'),
    // The agent only reads configs and datasets inside folders it was told about: the open workspace, and
    // tunelab.dataFolders for models and data kept elsewhere (~/models).
    dataDirs: [
      ...(vscode.workspace.workspaceFolders ?? []).filter((f) => f.uri.scheme === 'file' && isAbsolute(f.uri.fsPath)).map((f) => f.uri.fsPath),
      ...dataFolders(config.get<unknown>('dataFolders')),
    ],
  };
}

/** Adds a folder to tunelab.dataFolders (user settings); the change restarts the agent so it serves the folder. */
export async function addDataFolder(folder: string): Promise<void> {
  const config = vscode.workspace.getConfiguration('tunelab');
  const current = config.inspect<unknown>('dataFolders')?.globalValue;
  const list = Array.isArray(current) ? current.filter((v): v is string => typeof v === 'string') : [];
  if (!list.includes(folder)) await config.update('dataFolders', [...list, folder], vscode.ConfigurationTarget.Global);
}

export const affectsAgentSettings = (e: vscode.ConfigurationChangeEvent) =>
  e.affectsConfiguration('tunelab.pythonPath') || e.affectsConfiguration('tunelab.agentRoot') || e.affectsConfiguration('tunelab.dataFolders');
