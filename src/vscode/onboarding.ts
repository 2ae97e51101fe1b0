// What a newcomer sees before the first run: context keys for the Runs view's welcome text (the agent is
// starting, down, or ready with no runs) and for the walkthrough's steps, each set when the real thing happens.
// The walkthrough keys mirror the state now (agent ready, a run config in the editor, a run active, a metrics
// panel open) and go back to false: VS Code checks a step off when its key turns true while the walkthrough
// service watches, and a key that is already true when the service starts (it starts lazily) checks off nothing.
import * as vscode from 'vscode';
import type { RunStore } from '../core/runs/runStore';
import { isActive } from '../core/runs/types';
import { AGENT_VIEW_STATE_KEY, WALKTHROUGH_KEYS, isLiveAgentState, type AgentViewState } from '../core/onboarding/onboardingState';
import type { AgentConnection, LinkState } from './agentConnection';
import { CONFIG_PATTERN } from './configFiles';

const METRICS_VIEW_TYPE = 'tunelab.metrics';

export function registerOnboarding(context: vscode.ExtensionContext, connection: AgentConnection, store: RunStore): void {
  // Only changes are sent: the run store changes at every event of a replay.
  const last = new Map<string, unknown>();
  const set = (key: string, value: unknown) => {
    if (last.get(key) === value) return;
    last.set(key, value);
    void vscode.commands.executeCommand('setContext', key, value);
  };
  let listed = false;
  const viewState = (s: LinkState): AgentViewState => isLiveAgentState(s.kind, listed);
  const onState = (s: LinkState) => {
    // A new link lists runs afresh: until it has, the view must not claim there are none.
    if (s.kind !== 'connected') listed = false;
    const state = viewState(s);
    set(AGENT_VIEW_STATE_KEY, state);
    set(WALKTHROUGH_KEYS.agentReady, state === 'ready');
  };
  onState(connection.current);

  const checkConfig = (editor: vscode.TextEditor | undefined) =>
    set(WALKTHROUGH_KEYS.configOpened, !!editor && CONFIG_PATTERN.test(editor.document.fileName));
  checkConfig(vscode.window.activeTextEditor);
  const checkTabs = () => {
    const shown = vscode.window.tabGroups.all.some((g) => g.tabs.some((t) =>
      t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith(METRICS_VIEW_TYPE)));
    set(WALKTHROUGH_KEYS.metricsShown, shown);
  };
  checkTabs();
  const checkRuns = () => set(WALKTHROUGH_KEYS.runStarted, store.list().some(isActive));
  checkRuns();

  context.subscriptions.push(
    connection.onDidChangeState(onState),
    connection.onDidListRuns(() => {
      listed = true;
      onState(connection.current);
    }),
    store.onChange(checkRuns),
    vscode.window.onDidChangeActiveTextEditor(checkConfig),
    vscode.window.tabGroups.onDidChangeTabs(checkTabs),
  );
}
