// Tunelab: Chat with Checkpoint ({runId, checkpoint} from the Runs view or dashboard, or pickers) and
// Chat with Checkpoints… (several panes from the palette). One chat panel per run; its conversation is kept
// in workspace storage and comes back when the panel opens again with the same panes.
import * as vscode from 'vscode';
import { ChatHistory } from '../../core/chat/chatHistory';
import { BASE, MAX_PANES, newConversation, paneKey, paneLabel, type Conversation, type PaneTarget } from '../../core/chat/conversation';
import { checkpointArg } from '../../core/chat/inputs';
import { defaultPanes, listTargets } from '../../core/chat/targets';
import type { RunStore } from '../../core/runs/runStore';
import type { RunRecord } from '../../core/runs/types';
import { message, type AgentConnection } from '../agentConnection';
import { resolveRun } from '../commands/runCommands';
import { ChatPanel, samePanes } from './chatPanel';

export interface ChatServices {
  connection: AgentConnection;
  store: RunStore;
  log: vscode.LogOutputChannel;
}

export function registerChat(context: vscode.ExtensionContext, services: ChatServices): void {
  const history = new ChatHistory(context.workspaceState, (line) => services.log.warn(line));
  const panels = new Map<string, ChatPanel>();
  const deps = { ...services, history, extensionUri: context.extensionUri };

  const open = (run: RunRecord, panes: PaneTarget[]) => {
    const kept = history.load(run.runId);
    // The kept conversation comes back when it was held with these panes; other panes start afresh with its settings.
    const conversation: Conversation = kept && samePanes(kept.panes, panes) ? kept : newConversation(panes, kept);
    const existing = panels.get(run.runId);
    if (existing) return existing.showPanes(panes, conversation);
    const panel = new ChatPanel(run.runId, conversation, deps);
    panels.set(run.runId, panel);
    panel.onDidClose(() => panels.delete(run.runId));
  };

  const withTargets = async (run: RunRecord): Promise<PaneTarget[] | undefined> => {
    try {
      const client = await services.connection.connected();
      return await listTargets(client, run, services.store.list());
    } catch (e) {
      void vscode.window.showErrorMessage(`Tunelab could not list the checkpoints of ${run.name}: ${message(e)}`);
      return undefined;
    }
  };

  const chatWithCheckpoint = async (arg?: unknown) => {
    const given = checkpointArg(arg);
    const run = await resolveRun(services.store, given?.runId, () => true, 'Run to chat with');
    if (!run) {
      if (given) void vscode.window.showErrorMessage(`Tunelab: no run ${given.runId}.`);
      return;
    }
    const targets = await withTargets(run);
    if (!targets) return;
    let adapter = given?.checkpoint;
    if (adapter === undefined) {
      const own = targets.filter((t) => t.runId === run.runId);
      const picked = await vscode.window.showQuickPick(own.map((t) => ({ label: t.adapter, t })), { title: `Chat with a checkpoint of ${run.name}`, ignoreFocusOut: true });
      if (!picked) return;
      adapter = picked.t.adapter;
    }
    const target = targets.find((t) => t.runId === run.runId && t.adapter === adapter);
    if (!target) {
      void vscode.window.showErrorMessage(`Tunelab: ${run.name} has no complete checkpoint ${adapter}.`);
      return;
    }
    const kept = history.load(run.runId);
    // Reopening a chat that already shows this checkpoint brings the conversation back as it was.
    if (kept?.panes.some((p) => paneKey(p) === paneKey(target))) return open(run, kept.panes);
    open(run, target.adapter === BASE ? [target] : [{ runId: run.runId, runName: run.name, adapter: BASE }, target]);
  };

  const chatWithCheckpoints = async () => {
    const run = await resolveRun(services.store, undefined, () => true, 'Run to chat with');
    if (!run) return;
    const targets = await withTargets(run);
    if (!targets) return;
    const kept = history.load(run.runId);
    const preselected = new Set((kept?.panes ?? defaultPanes(targets, run.runId)).map(paneKey));
    const items = targets.map((t) => ({ label: paneLabel(t, targets), picked: preselected.has(paneKey(t)), t }));
    for (;;) {
      const picked = await vscode.window.showQuickPick(items, { canPickMany: true, title: `Chat: panes for ${run.name} (up to ${MAX_PANES})`, ignoreFocusOut: true });
      if (!picked || !picked.length) return;
      if (picked.length <= MAX_PANES) return open(run, picked.map((p) => p.t));
      void vscode.window.showWarningMessage(`Tunelab: pick at most ${MAX_PANES} panes (${picked.length} were picked).`);
      for (const item of items) item.picked = picked.includes(item);
    }
  };

  context.subscriptions.push(
    vscode.commands.registerCommand('tunelab.chatWithCheckpoint', chatWithCheckpoint),
    vscode.commands.registerCommand('tunelab.chatWithCheckpoints', chatWithCheckpoints),
    { dispose: () => { for (const p of [...panels.values()]) p.dispose(); } },
  );
}
