// Tunelab: Select Training Host — this machine, any Host of the ssh config, or a host from settings.
import * as vscode from 'vscode';
import { listHosts, type HostChoice } from '../../core/remote/hostList';
import { message } from '../agentConnection';
import { readHostSelection, selectHost } from '../hostSettings';
import { UNTRUSTED_MESSAGE } from '../trust';

export const LOCAL_HOST_LABEL = 'This machine';
const CONFIGURE = 'Add or configure hosts…';

type Item = vscode.QuickPickItem & { host?: string | null };

export function selectHostCommand() {
  /** `host`: a host name to select without asking (e.g. from a link); '' selects this machine. */
  return async (host?: unknown): Promise<void> => {
    if (!vscode.workspace.isTrusted) {
      void vscode.window.showErrorMessage(UNTRUSTED_MESSAGE);
      return;
    }
    if (typeof host === 'string') return selectHost(host || undefined);
    const selection = readHostSelection();
    let hosts: HostChoice[] = [];
    try {
      hosts = listHosts(selection.sshConfigPath, selection.hosts);
    } catch (e) {
      // The file and line are in the message (SshConfigError); settings hosts and this machine stay pickable.
      void vscode.window.showErrorMessage(`Tunelab: cannot read your ssh config: ${message(e)}`);
      hosts = Object.entries(selection.hosts).filter(([, s]) => s.hostName).map(([name, s]) => ({ name, source: 'settings', detail: `${s.user ? `${s.user}@` : ''}${s.hostName}${s.port ? `:${s.port}` : ''}` }));
    }
    for (const problem of selection.problems) void vscode.window.showWarningMessage(`Tunelab: ${problem}`);
    const current = selection.host;
    const items: Item[] = [
      { label: `$(vm) ${LOCAL_HOST_LABEL}`, description: current ? '' : 'current', detail: 'Train with the local agent', host: null },
      { label: 'SSH hosts', kind: vscode.QuickPickItemKind.Separator },
      ...hosts.map((h): Item => ({
        label: `$(remote) ${h.name}`,
        description: [h.name === current ? 'current' : '', h.source === 'settings' ? 'from settings' : h.source === 'ssh-config' ? 'from ssh config' : 'ssh config + settings'].filter(Boolean).join(' · '),
        detail: h.detail,
        host: h.name,
      })),
      { label: `$(gear) ${CONFIGURE}`, detail: 'tunelab.remoteHosts: hosts beyond your ssh config, and each host\'s Python and agent folder' },
    ];
    const picked = await vscode.window.showQuickPick(items, { title: 'Tunelab: where should runs train?', placeHolder: hosts.length ? 'Pick a host' : 'No SSH hosts found in your ssh config', matchOnDetail: true });
    if (!picked) return;
    if (picked.host === undefined) {
      await vscode.commands.executeCommand('workbench.action.openSettings', 'tunelab.remoteHosts');
      return;
    }
    await selectHost(picked.host ?? undefined);
  };
}
