// The agent on an SSH host as an AgentClient endpoint, with VS Code around it: login questions, a progress
// notification for the first connection (install steps can take minutes), a status bar spinner for
// reconnects, and pip's output in its own output channel.
import { join } from 'node:path';
import * as vscode from 'vscode';
import type { AgentEndpoint } from '../core/agent/socket';
import { connectHost } from '../core/remote/connection';
import { resolveTarget } from '../core/remote/hostList';
import { RemoteAgentLink } from '../core/remote/remoteAgentLink';
import { VscodeConnectUi } from './connectUi';
import type { HostSelection } from './hostSettings';

export class RemoteEndpoint implements vscode.Disposable {
  readonly link: RemoteAgentLink;
  private reached = false;
  private report: ((step: string) => void) | undefined;

  constructor(
    readonly host: string,
    selection: HostSelection,
    extensionRoot: string,
    secrets: vscode.SecretStorage,
    private readonly log: vscode.LogOutputChannel,
    private readonly installOutput: vscode.OutputChannel,
  ) {
    const settings = selection.hosts[host] ?? {};
    const ui = new VscodeConnectUi(host, secrets, log);
    this.link = new RemoteAgentLink({
      label: host,
      // Resolved on every (re)connect, so an edited ssh config applies without reloading.
      connect: () => connectHost(resolveTarget(host, selection.sshConfigPath, selection.hosts), ui, { onStep: (l) => log.info(`ssh ${host}: ${l}`) }),
      agentSource: join(extensionRoot, 'python-agent'),
      root: settings.agentRoot,
      python: settings.python,
      pipEnv: settings.pipIndexUrl ? { PIP_INDEX_URL: settings.pipIndexUrl } : undefined,
      onStep: (step) => this.onStep(step),
      onOutput: (line) => installOutput.appendLine(line),
      log: (line) => log.info(line),
    });
  }

  /** For AgentClient's `endpoint` option. */
  endpoint = (): Promise<AgentEndpoint> => {
    const location = this.reached ? vscode.ProgressLocation.Window : vscode.ProgressLocation.Notification;
    return Promise.resolve(vscode.window.withProgress({ location, title: `Tunelab: ${this.host}` }, async (progress) => {
      this.report = (step) => progress.report({ message: step });
      this.report('connecting over SSH');
      try {
        const ep = await this.link.endpoint();
        this.reached = true;
        return ep;
      } finally {
        this.report = undefined;
      }
    }));
  };

  private onStep(step: string): void {
    this.log.info(`${this.host}: ${step}`);
    this.report?.(step);
    if (step.startsWith('installing') || step.startsWith('creating')) {
      this.installOutput.appendLine(`--- ${this.host}: ${step}`);
      this.installOutput.show(true);
    }
  }

  dispose(): void {
    this.link.dispose();
  }
}
