// What a newcomer sees before the first run: context keys for the Runs view's welcome text (the agent is
// starting, down, or ready with no runs) and for the walkthrough's steps, each set when the real thing happens.
import * as vscode from 'vscode';
import type { AgentEvent } from '../core/protocol/messages';
import { AGENT_VIEW_STATE_KEY, WALKTHROUGH_KEYS, isLiveAgentState, walkthroughStepOf, type AgentViewState } from '../core/onboarding/onboardingState';
import type { AgentConnection, LinkState } from './agentConnection';
import { CONFIG_PATTERN } from './configFiles';

const METRICS_VIEW_TYPE = 'tunelab.metrics';

export function registerOnboarding(context: vscode.ExtensionContext, connection: AgentConnection): void {
  const set = (key: string, value: unknown) => void vscode.commands.executeCommand('setContext', key, value);
  let listed = false;
  const viewState = (s: LinkState): AgentViewState => isLiveAgentState(s.kind, listed);
  const onState = (s: LinkState) => {
    // A new link lists runs afresh: until it has, the view must not claim there are none.
    if (s.kind !== 'connected') listed = false;
    const state = viewState(s);
    set(AGENT_VIEW_STATE_KEY, state);
    if (state === 'ready') set(WALKTHROUGH_KEYS.agentReady, true);
  };
  onState(connection.current);

  const checkConfig = (editor: vscode.TextEditor | undefined) => {
    if (editor && CONFIG_PATTERN.test(editor.document.fileName)) set(WALKTHROUGH_KEYS.configOpened, true);
  };
  checkConfig(vscode.window.activeTextEditor);
  const checkTabs = () => {
    const shown = vscode.window.tabGroups.all.some((g) => g.tabs.some((t) =>
      t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith(METRICS_VIEW_TYPE)));
    if (shown) set(WALKTHROUGH_KEYS.metricsShown, true);
  };
  checkTabs();

  context.subscriptions.push(
    connection.onDidChangeState(onState),
    connection.onDidListRuns(() => {
      listed = true;
      onState(connection.current);
    }),
    connection.onDidReceiveEvent((e: AgentEvent) => {
      const step = walkthroughStepOf(e);
      if (step) set(WALKTHROUGH_KEYS[step], true);
    }),
    vscode.window.onDidChangeActiveTextEditor(checkConfig),
    vscode.window.tabGroups.onDidChangeTabs(checkTabs),
  );
}
