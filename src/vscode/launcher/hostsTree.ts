// The Hosts view: This machine and the SSH hosts (ssh config + tunelab.remoteHosts). The selected host shows
// its link state and agent version, and under it its GPUs from host_info, refreshed while the view is visible.
// Only the selected host has an agent link (one connection at a time), so the others show where they are.
import * as vscode from 'vscode';
import { describeGpu, describeHost, hostInfoLines, type HostLink } from '../../core/host/hostLabels';
import type { HostInfo } from '../../core/protocol/messages';
import { listHosts, type HostChoice } from '../../core/remote/hostList';
import { message, type AgentConnection } from '../agentConnection';
import { readHostSelection } from '../hostSettings';

/** How often host_info is asked again while the view is visible (GPU memory and utilisation move). */
export const HOST_INFO_INTERVAL_MS = 5000;
const LOCAL_LABEL = 'This machine';

export type HostsNode =
  | { kind: 'host'; name: string; local: boolean; detail: string }
  | { kind: 'gpu'; index: number }
  | { kind: 'fact'; text: string; icon: string };

export class HostsTreeProvider implements vscode.TreeDataProvider<HostsNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private info: HostInfo | null = null;
  private infoError: string | null = null;
  private timer: NodeJS.Timeout | undefined;
  private visible = false;
  private asking = false;
  private readonly subscriptions: vscode.Disposable[];

  constructor(private readonly connection: AgentConnection, private readonly log: vscode.LogOutputChannel) {
    this.subscriptions = [
      connection.onDidChangeState((s) => {
        if (s.kind !== 'connected') this.info = null;
        this.changed.fire();
        if (s.kind === 'connected') void this.refreshInfo();
      }),
      vscode.workspace.onDidChangeConfiguration((e) => {
        if (e.affectsConfiguration('tunelab.remoteHosts') || e.affectsConfiguration('tunelab.ssh.configFile') || e.affectsConfiguration('tunelab.host')) {
          this.info = null;
          this.changed.fire();
        }
      }),
    ];
  }

  /** The view tells when it is shown or hidden: host_info is polled only while someone can see it. */
  setVisible(visible: boolean): void {
    this.visible = visible;
    clearInterval(this.timer);
    this.timer = undefined;
    if (!visible) return;
    void this.refreshInfo();
    this.timer = setInterval(() => void this.refreshInfo(), HOST_INFO_INTERVAL_MS);
  }

  getChildren(element?: HostsNode): HostsNode[] {
    if (!element) return this.hosts();
    if (element.kind !== 'host' || !this.isSelected(element)) return [];
    const link = this.connection.current;
    if (link.kind !== 'connected') return [{ kind: 'fact', text: `Agent ${describeLinkHint(link)}`, icon: 'info' }];
    if (!this.info) {
      return [{ kind: 'fact', text: this.infoError ? `host_info failed: ${this.infoError}` : 'Asking the host for its GPUs…', icon: this.infoError ? 'warning' : 'loading~spin' }];
    }
    const gpus: HostsNode[] = this.info.gpus.map((g) => ({ kind: 'gpu', index: g.index }));
    const facts: HostsNode[] = hostInfoLines(this.info).map((text) => ({ kind: 'fact', text, icon: text.startsWith('disk') ? 'database' : text.startsWith('libraries') ? 'library' : 'server' }));
    return [...(gpus.length ? gpus : [{ kind: 'fact' as const, text: 'No CUDA GPU: runs train on the CPU', icon: 'circle-slash' }]), ...facts];
  }

  getTreeItem(node: HostsNode): vscode.TreeItem {
    if (node.kind === 'gpu') {
      const gpu = this.info?.gpus.find((g) => g.index === node.index);
      const item = new vscode.TreeItem(gpu ? describeGpu(gpu).label : `GPU ${node.index}`, vscode.TreeItemCollapsibleState.None);
      item.id = `gpu:${node.index}`;
      if (gpu) {
        const l = describeGpu(gpu);
        item.description = l.description;
        item.tooltip = l.tooltip;
      }
      item.iconPath = new vscode.ThemeIcon('chip');
      item.contextValue = 'gpu';
      return item;
    }
    if (node.kind === 'fact') {
      const item = new vscode.TreeItem(node.text, vscode.TreeItemCollapsibleState.None);
      // One fact per icon under a host: a stable id keeps the row in place while its numbers change.
      item.id = `fact:${node.icon}`;
      item.iconPath = new vscode.ThemeIcon(node.icon);
      item.tooltip = node.text;
      return item;
    }
    const selected = this.isSelected(node);
    const l = describeHost({
      name: node.name, detail: node.detail, selected, link: selected ? (this.connection.current as HostLink) : null, info: selected ? this.info : null,
      infoError: selected ? this.infoError : null,
    });
    const item = new vscode.TreeItem(node.name, selected ? vscode.TreeItemCollapsibleState.Expanded : vscode.TreeItemCollapsibleState.None);
    item.id = `host:${node.local ? '' : node.name}`;
    item.description = l.description;
    item.tooltip = l.tooltip;
    const icon = selected ? l.icon : { id: node.local ? 'vm' : 'remote' };
    item.iconPath = new vscode.ThemeIcon(icon.id, icon.color ? new vscode.ThemeColor(icon.color) : undefined);
    item.contextValue = `${l.contextValue}${node.local ? '.local' : '.ssh'}`;
    return item;
  }

  /** host_info of the selected host, when its agent is connected; quiet on failure (shown in the tree). */
  async refreshInfo(): Promise<void> {
    if (this.asking || this.connection.current.kind !== 'connected') return;
    this.asking = true;
    try {
      const client = await this.connection.connected();
      this.info = await client.request('host_info', {}, 30_000);
      this.infoError = null;
    } catch (e) {
      this.infoError = message(e);
      this.log.warn(`host_info: ${this.infoError}`);
    } finally {
      this.asking = false;
    }
    if (this.visible || this.info) this.changed.fire();
  }

  private hosts(): HostsNode[] {
    const selection = readHostSelection();
    let hosts: HostChoice[] = [];
    try {
      hosts = listHosts(selection.sshConfigPath, selection.hosts);
    } catch (e) {
      // The message names the file and line (SshConfigError); this machine and settings hosts stay listed.
      this.log.warn(`Hosts view: cannot read the ssh config: ${message(e)}`);
      hosts = Object.entries(selection.hosts).filter(([, s]) => s.hostName).map(([name, s]) => ({ name, source: 'settings', detail: `${s.user ? `${s.user}@` : ''}${s.hostName}` }));
    }
    return [
      { kind: 'host', name: LOCAL_LABEL, local: true, detail: 'local agent' },
      ...hosts.map((h): HostsNode => ({ kind: 'host', name: h.name, local: false, detail: h.detail })),
    ];
  }

  private isSelected(node: Extract<HostsNode, { kind: 'host' }>): boolean {
    const host = this.connection.host;
    return node.local ? !host : node.name === host;
  }

  dispose(): void {
    clearInterval(this.timer);
    for (const s of this.subscriptions) s.dispose();
    this.changed.dispose();
  }
}

function describeLinkHint(link: { kind: string; reason?: string }): string {
  switch (link.kind) {
    case 'failed': return `failed: ${link.reason ?? ''} (Reconnect, or Set Up Agent)`;
    case 'restricted': return 'not started: the workspace is not trusted';
    case 'idle': case 'closed': return 'not connected (Connect)';
    default: return 'connecting…';
  }
}
