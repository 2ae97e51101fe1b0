// Which host runs train on (tunelab.host) and the settings that describe remote hosts, read in one place.
import * as vscode from 'vscode';
import { expandHome } from '../core/homePath';
import { readHostSettings, type HostSettingsMap } from '../core/remote/hostList';

export interface HostSelection {
  /** The SSH host runs go to; undefined: this machine. */
  host: string | undefined;
  /** tunelab.ssh.configFile, ~ expanded; undefined: ~/.ssh/config. */
  sshConfigPath: string | undefined;
  hosts: HostSettingsMap;
  /** Problems in tunelab.remoteHosts, each naming the entry and key. */
  problems: string[];
}

export function readHostSelection(): HostSelection {
  const config = vscode.workspace.getConfiguration('tunelab');
  const host = config.get<string>('host', '').trim();
  const file = config.get<string>('ssh.configFile', '').trim();
  const { hosts, problems } = readHostSettings(config.get('remoteHosts'));
  return {
    host: host || undefined,
    sshConfigPath: file ? expandHome(file) : undefined,
    hosts,
    problems,
  };
}

/** Saved for the workspace when one is open (each project may train elsewhere), else for the user. */
export async function selectHost(host: string | undefined): Promise<void> {
  const target = vscode.workspace.workspaceFolders?.length ? vscode.ConfigurationTarget.Workspace : vscode.ConfigurationTarget.Global;
  await vscode.workspace.getConfiguration('tunelab').update('host', host ?? '', target);
}

export const affectsHostSettings = (e: vscode.ConfigurationChangeEvent) =>
  e.affectsConfiguration('tunelab.host') || e.affectsConfiguration('tunelab.ssh.configFile') || e.affectsConfiguration('tunelab.remoteHosts');
