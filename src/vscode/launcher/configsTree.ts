// The Configs view: the workspace's *.tunelab.yaml run configs, each with an inline ▶ Launch.
import * as vscode from 'vscode';

export const CONFIG_GLOB = '**/*.tunelab.{yaml,yml}';
export const LAUNCH_COMMAND = 'tunelab.launchConfig';

export interface ConfigNode {
  uri: vscode.Uri;
}

export class ConfigsTreeProvider implements vscode.TreeDataProvider<ConfigNode>, vscode.Disposable {
  private readonly changed = new vscode.EventEmitter<void>();
  readonly onDidChangeTreeData = this.changed.event;
  private readonly watcher = vscode.workspace.createFileSystemWatcher(CONFIG_GLOB);
  private readonly subscriptions: vscode.Disposable[];

  constructor() {
    const refresh = () => this.changed.fire();
    // Created and deleted files change the list; an edit does not.
    this.subscriptions = [this.watcher.onDidCreate(refresh), this.watcher.onDidDelete(refresh), vscode.workspace.onDidChangeWorkspaceFolders(refresh)];
  }

  async getChildren(element?: ConfigNode): Promise<ConfigNode[]> {
    if (element) return [];
    const files = await vscode.workspace.findFiles(CONFIG_GLOB, '**/node_modules/**', 500);
    return files
      .sort((a, b) => vscode.workspace.asRelativePath(a).localeCompare(vscode.workspace.asRelativePath(b)))
      .map((uri) => ({ uri }));
  }

  getTreeItem(node: ConfigNode): vscode.TreeItem {
    const rel = vscode.workspace.asRelativePath(node.uri);
    const slash = rel.lastIndexOf('/');
    const item = new vscode.TreeItem(node.uri, vscode.TreeItemCollapsibleState.None);
    item.id = node.uri.toString();
    item.label = slash < 0 ? rel : rel.slice(slash + 1);
    item.description = slash < 0 ? '' : rel.slice(0, slash);
    item.tooltip = `${rel}\nClick to open; ▶ to launch (preflight first).`;
    item.contextValue = 'config';
    item.command = { command: 'vscode.open', title: 'Open Config', arguments: [node.uri] };
    return item;
  }

  dispose(): void {
    for (const s of this.subscriptions) s.dispose();
    this.watcher.dispose();
    this.changed.dispose();
  }
}
