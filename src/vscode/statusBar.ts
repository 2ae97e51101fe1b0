// One status bar item that says whether the extension can reach its agent.
import * as vscode from 'vscode';
import type { AgentConnection, LinkState } from './agentConnection';

export const SHOW_LOG_COMMAND = 'tunelab.showLog';
const SELECT_HOST_COMMAND = 'tunelab.selectHost';
const RECONNECT_COMMAND = 'tunelab.reconnect';

export function present(s: LinkState, host: string | undefined): { text: string; tooltip: string; warn: boolean } {
  const p = presentState(s);
  // Where runs go is part of the text ("Tunelab: this machine", "Tunelab: gpu-box"): a run started now goes there.
  if (!host) return { ...p, text: `${p.text}: this machine` };
  return { ...p, text: `${p.text}: ${host}`, tooltip: p.tooltip.replace('Tunelab agent', `Tunelab agent on ${host}`) };
}

function presentState(s: LinkState): { text: string; tooltip: string; warn: boolean } {
  switch (s.kind) {
    case 'idle': return { text: '$(circle-outline) Tunelab', tooltip: 'Tunelab agent: not started', warn: false };
    case 'restricted': return { text: '$(shield) Tunelab', tooltip: 'Tunelab is restricted: this workspace is not trusted, so the agent is not started.', warn: false };
    case 'connecting': return { text: '$(sync~spin) Tunelab', tooltip: 'Tunelab agent: connecting…', warn: false };
    case 'connected': return { text: '$(beaker) Tunelab', tooltip: `Tunelab agent ${s.agentVersion}: connected`, warn: false };
    case 'reconnecting': return { text: '$(sync~spin) Tunelab', tooltip: `Tunelab agent: link lost (${s.reason}); retry ${s.attempt} in ${Math.round(s.delayMs / 1000)} s`, warn: true };
    case 'closed': return { text: '$(circle-slash) Tunelab', tooltip: 'Tunelab agent: disconnected', warn: false };
    case 'failed': return { text: '$(error) Tunelab', tooltip: `Tunelab agent failed: ${s.reason}\nClick to try again; the Tunelab output has the details.`, warn: true };
  }
}

export function createStatusBar(connection: AgentConnection): vscode.Disposable {
  const item = vscode.window.createStatusBarItem('tunelab.agent', vscode.StatusBarAlignment.Left, 10);
  item.name = 'Tunelab Agent';
  const render = (s: LinkState) => {
    const p = present(s, connection.host);
    // A failed link is fixed in place (after a settings change, or a host that is back); otherwise a click picks the host.
    item.command = s.kind === 'failed' ? RECONNECT_COMMAND : SELECT_HOST_COMMAND;
    item.text = p.text;
    item.tooltip = p.tooltip;
    item.accessibilityInformation = { label: p.tooltip.split('\n')[0] };
    item.backgroundColor = p.warn ? new vscode.ThemeColor('statusBarItem.warningBackground') : undefined;
  };
  render(connection.current);
  item.show();
  return vscode.Disposable.from(item, connection.onDidChangeState(render));
}
