// What a newcomer sees before the first run: context keys for the Runs view's welcome text (the agent is
// starting, down, or ready with no runs) and for the walkthrough's steps, each pulsed when the real thing happens
// (the agent ready, a run config in the editor, a run active, a metrics or chat panel open) and again when a
// walkthrough opens (see WalkthroughMilestones for why a pulse and not a lasting key).
import * as vscode from 'vscode';
import type { RunStore } from '../core/runs/runStore';
import { isActive } from '../core/runs/types';
import {
  AGENT_VIEW_STATE_KEY, WALKTHROUGH_KEYS, WalkthroughMilestones, isLiveAgentState, replayKey, type AgentViewState, type WalkthroughKey,
} from '../core/onboarding/onboardingState';
import type { AgentConnection, LinkState } from './agentConnection';
import { CONFIG_PATTERN } from './configFiles';

const METRICS_VIEW_TYPE = 'tunelab.metrics';
const CHAT_VIEW_TYPE = 'tunelab.chat';
const MILESTONES_STATE = 'tunelab.walkthroughMilestones';
/** Long enough for the context change to reach the walkthrough service, short enough to be false when it registers. */
const PULSE_MS = 1500;
/** After a walkthrough tab opens: its service registers the walkthrough first; a second try covers a slow machine. */
const REPLAY_AFTER_MS = [1500, 6000];
/** The walkthrough editor's tab (its input type is not in the API); English labels only. */
const WALKTHROUGH_TAB = /^(Walkthrough|Welcome)\b/;

export function registerOnboarding(context: vscode.ExtensionContext, connection: AgentConnection, store: RunStore, log?: vscode.LogOutputChannel): void {
  // Only changes are sent: the run store changes at every event of a replay.
  const last = new Map<string, unknown>();
  const set = (key: string, value: unknown) => {
    if (last.get(key) === value) return;
    last.set(key, value);
    void vscode.commands.executeCommand('setContext', key, value);
  };
  const milestones = new WalkthroughMilestones(context.globalState.get<string[]>(MILESTONES_STATE, []));
  const timers = new Set<NodeJS.Timeout>();
  const later = (ms: number, f: () => void) => {
    const t = setTimeout(() => { timers.delete(t); f(); }, ms);
    timers.add(t);
  };
  const pulse = (key: string) => {
    set(key, true);
    later(PULSE_MS, () => set(key, false));
  };
  const observe = (key: WalkthroughKey, now: boolean) => {
    if (!milestones.observe(key, now)) return;
    void context.globalState.update(MILESTONES_STATE, milestones.all);
    pulse(key);
  };

  let listed = false;
  const viewState = (s: LinkState): AgentViewState => isLiveAgentState(s.kind, listed);
  const onState = (s: LinkState) => {
    // A new link lists runs afresh: until it has, the view must not claim there are none.
    if (s.kind !== 'connected') listed = false;
    const state = viewState(s);
    set(AGENT_VIEW_STATE_KEY, state);
    observe(WALKTHROUGH_KEYS.agentReady, state === 'ready');
  };
  onState(connection.current);

  const checkConfig = (editor: vscode.TextEditor | undefined) =>
    observe(WALKTHROUGH_KEYS.configOpened, !!editor && CONFIG_PATTERN.test(editor.document.fileName));
  checkConfig(vscode.window.activeTextEditor);
  let replayedAt = 0;
  const checkTabs = (e?: vscode.TabChangeEvent) => {
    const tabs = vscode.window.tabGroups.all.flatMap((g) => g.tabs);
    const shows = (viewType: string) => tabs.some((t) => t.input instanceof vscode.TabInputWebview && t.input.viewType.endsWith(viewType));
    observe(WALKTHROUGH_KEYS.metricsShown, shows(METRICS_VIEW_TYPE));
    observe(WALKTHROUGH_KEYS.chatOpened, shows(CHAT_VIEW_TYPE));
    const walkthrough = [...(e?.opened ?? []), ...(e?.changed ?? [])].find((t) => WALKTHROUGH_TAB.test(t.label));
    if (walkthrough && Date.now() - replayedAt > 10_000) {
      replayedAt = Date.now();
      log?.info(`walkthrough tab "${walkthrough.label}": replaying its steps reached so far (${milestones.all.join(', ') || 'none'})`);
      for (const ms of REPLAY_AFTER_MS) later(ms, () => milestones.all.forEach((key) => pulse(replayKey(key))));
    }
  };
  checkTabs();
  const checkRuns = () => observe(WALKTHROUGH_KEYS.runStarted, store.list().some(isActive));
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
    { dispose: () => timers.forEach(clearTimeout) },
  );
}
