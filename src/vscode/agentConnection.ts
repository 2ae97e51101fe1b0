// Owns the AgentClient for the agent of the selected host (this machine, or an SSH host): starts or
// bootstraps the agent when needed, feeds its events into the RunStore (core/runs/runSync.ts decides
// where the stream starts), lets the history loader ask for charts once the stream is up, and tells the
// rest of the extension how the link is doing.
import { existsSync } from 'node:fs';
import * as vscode from 'vscode';
import { AgentClient, type ConnectionState } from '../core/agent/client';
import type { AgentEndpoint } from '../core/agent/socket';
import type { AgentEvent } from '../core/protocol/messages';
import { ensureLocalAgent } from '../core/host/localAgent';
import type { HistoryLoader } from '../core/runs/historyLoader';
import type { RunStore } from '../core/runs/runStore';
import { RunSync } from '../core/runs/runSync';
import { readHostSelection } from './hostSettings';
import { RemoteEndpoint } from './remoteEndpoint';
import { readAgentSettings } from './settings';

/** ConnectionState plus the two states that exist before there is a client at all. */
export type LinkState = ConnectionState | { kind: 'idle' } | { kind: 'restricted' };

export class AgentConnection implements vscode.Disposable {
  private client: AgentClient | undefined;
  private remoteEndpoint: RemoteEndpoint | undefined;
  /** Which agent the store's runs and seqs belong to: "local:<root>" or "ssh:<host>". */
  private identity: string | undefined;
  /** Counts start() calls: a start that a later one superseded (host or settings changed) stays quiet. */
  private starts = 0;
  private state: LinkState = { kind: 'idle' };
  private readonly stateChanged = new vscode.EventEmitter<LinkState>();
  readonly onDidChangeState = this.stateChanged.event;
  private readonly eventReceived = new vscode.EventEmitter<AgentEvent>();
  /** Every agent event (replayed or live), after the RunStore has applied it. */
  readonly onDidReceiveEvent = this.eventReceived.event;
  private readonly runsListed = new vscode.EventEmitter<void>();
  /** The run list arrived after a (re)connect: an empty Runs view now really means no runs. */
  readonly onDidListRuns = this.runsListed.event;

  constructor(
    private readonly extensionRoot: string,
    /** Where Set Up Agent puts the agent's environment when the extension folder has none. */
    readonly managedVenvDir: string,
    private readonly clientName: string,
    private readonly store: RunStore,
    private readonly history: HistoryLoader,
    private readonly log: vscode.LogOutputChannel,
    private readonly secrets: vscode.SecretStorage,
    private readonly installOutput: vscode.OutputChannel,
  ) {}

  /** The SSH host runs go to, or undefined for this machine (as the settings say now). */
  get host(): string | undefined {
    return readHostSelection().host;
  }

  /** The link to the remote host while one is selected and connected at least once. */
  get remote(): RemoteEndpoint | undefined {
    return this.remoteEndpoint;
  }

  get current(): LinkState {
    return this.state;
  }

  /** Connects (starting the local agent if none runs). Failures are shown in the status bar and log, not thrown. */
  async start(): Promise<void> {
    if (!vscode.workspace.isTrusted) {
      this.setState({ kind: 'restricted' });
      this.log.info('workspace is not trusted: the agent is not started');
      return;
    }
    const attempt = ++this.starts;
    try {
      await this.connected();
    } catch (e) {
      if (attempt !== this.starts) {
        // restart() dropped this client for a new one; its failure ("disposed") is not the person's problem.
        this.log.info(`an earlier connection attempt ended: ${message(e)}`);
        return;
      }
      this.log.error(`could not connect to the Tunelab agent: ${message(e)}`);
      const host = this.host;
      if (host) {
        // Host keys, logins and a missing Python need the person; the message says what to do.
        const choice = await vscode.window.showErrorMessage(`Tunelab could not reach the agent on ${host}: ${message(e)}`, RETRY, PICK_HOST);
        if (choice === RETRY) await this.restart();
        else if (choice === PICK_HOST) await vscode.commands.executeCommand('tunelab.selectHost');
      } else if (e instanceof AgentEnvironmentMissing) {
        const choice = await vscode.window.showInformationMessage(e.message, SETUP_AGENT_TITLE, OPEN_SETTINGS);
        if (choice === SETUP_AGENT_TITLE) await vscode.commands.executeCommand(SETUP_AGENT_COMMAND);
        else if (choice === OPEN_SETTINGS) await vscode.commands.executeCommand('workbench.action.openSettings', 'tunelab.pythonPath');
      }
    }
  }

  /** Drops the current client and connects afresh, e.g. after the python, root or host setting changed. */
  async restart(): Promise<void> {
    const old = this.identity;
    this.dropClient();
    // Seqs belong to one agent; runs of the old one would otherwise linger.
    if (old !== undefined && old !== this.currentIdentity()) this.store.clear();
    await this.start();
  }

  private currentIdentity(): string {
    const host = readHostSelection().host;
    return host ? `ssh:${host}` : `local:${readAgentSettings(this.extensionRoot, this.managedVenvDir).root}`;
  }

  /** The connected client, connecting first if needed; throws an Error a person can act on. */
  async connected(): Promise<AgentClient> {
    if (!vscode.workspace.isTrusted) {
      this.setState({ kind: 'restricted' });
      throw new Error('Tunelab does not start its agent in an untrusted workspace. Trust this workspace to start runs.');
    }
    const settings = readAgentSettings(this.extensionRoot, this.managedVenvDir);
    if (!this.client && !this.host && settings.pythonSource === 'managed' && !existsSync(settings.python)) {
      const e = new AgentEnvironmentMissing();
      this.setState({ kind: 'failed', reason: e.message });
      throw e;
    }
    const client = this.client ?? this.createClient();
    await client.connect();
    return client;
  }

  /** Re-reads the run list (the event stream keeps it current; this repairs anything missed). */
  async refresh(): Promise<void> {
    const client = await this.connected();
    const { runs, head } = await client.request('list_runs', {});
    this.store.seed(runs, head);
  }

  private createClient(): AgentClient {
    this.identity = this.currentIdentity();
    const client = new AgentClient({ clientName: this.clientName, endpoint: this.createEndpoint() });
    client.onLog((line) => this.log.warn(line));
    client.onEvent((e) => {
      this.store.apply(e);
      if (e.kind === 'run_state') this.log.info(`run ${e.run_id}: ${e.data.state}${e.data.error ? ` (${e.data.error})` : ''}`);
      else if (e.kind === 'disk_low') this.log.warn(`run ${e.run_id}: ${e.data.message}`);
      this.eventReceived.fire(e);
    });
    const sync = new RunSync(client, this.store, this.history);
    client.onState((s) => this.onClientState(client, sync, s));
    this.client = client;
    return client;
  }

  private onClientState(client: AgentClient, sync: RunSync, s: ConnectionState): void {
    if (client !== this.client) return;
    this.setState(s);
    if (s.kind === 'connected') {
      this.log.info(`connected to tunelab-agent ${s.agentVersion}`);
      // Lists runs and subscribes (first connection) or lists again (reconnect); then charts may load their history.
      void sync.connected().then(() => { if (client === this.client) this.runsListed.fire(); },
        (e) => { if (client === this.client) this.log.error(`list_runs failed: ${message(e)}`); });
    } else if (s.kind === 'reconnecting') {
      this.log.warn(`agent link lost (${s.reason}); retry ${s.attempt} in ${Math.round(s.delayMs / 1000)} s`);
    } else if (s.kind === 'failed') {
      this.log.error(`agent connection failed: ${s.reason}`);
    }
  }

  private setState(s: LinkState): void {
    this.state = s;
    this.stateChanged.fire(s);
  }

  private createEndpoint(): () => Promise<AgentEndpoint> {
    const selection = readHostSelection();
    for (const problem of selection.problems) this.log.warn(`settings: ${problem}`);
    void vscode.commands.executeCommand('setContext', 'tunelab.remoteHost', !!selection.host);
    if (selection.host) {
      this.log.info(`agent: on SSH host ${selection.host}`);
      this.remoteEndpoint = new RemoteEndpoint(selection.host, selection, this.extensionRoot, this.secrets, this.log, this.installOutput);
      return this.remoteEndpoint.endpoint;
    }
    const settings = readAgentSettings(this.extensionRoot, this.managedVenvDir);
    this.log.info(`agent: python ${settings.python}, root ${settings.root}, data folders ${settings.dataDirs.join(', ') || '(none)'}`);
    return () => ensureLocalAgent({ ...settings, onLog: (line: string) => this.log.info(`agent: ${line}`) });
  }

  private dropClient(): void {
    const client = this.client;
    this.client = undefined;
    this.history.streamLost();
    client?.dispose();
    this.remoteEndpoint?.dispose();
    this.remoteEndpoint = undefined;
    this.setState({ kind: 'idle' });
  }

  dispose(): void {
    this.dropClient();
    this.stateChanged.dispose();
    this.eventReceived.dispose();
    this.runsListed.dispose();
  }
}

export const SETUP_AGENT_COMMAND = 'tunelab.setupAgent';
export const SETUP_AGENT_TITLE = 'Set Up Agent';
const RETRY = 'Retry';
const OPEN_SETTINGS = 'Open Settings';
const PICK_HOST = 'Select Host';

/** An installed extension whose agent has no Python environment yet (and no tunelab.pythonPath). */
export class AgentEnvironmentMissing extends Error {
  constructor() {
    super('Tunelab needs a Python environment for its training agent (torch, transformers, peft). Set it up now, or set tunelab.pythonPath to a Python that has tunelab-agent installed.');
  }
}

export function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
