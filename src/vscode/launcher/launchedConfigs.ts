// Which config file each run was launched from in this workspace (for Reveal Config), kept in workspace state.
import type * as vscode from 'vscode';

const KEY = 'tunelab.launchedConfigs';
/** Enough for any person's run list; the oldest entries go first. */
const LIMIT = 500;

export class LaunchedConfigs {
  constructor(private readonly state: vscode.Memento) {}

  get(runId: string): string | undefined {
    return this.all()[runId];
  }

  async record(runId: string, configPath: string): Promise<void> {
    const entries = Object.entries({ ...this.all(), [runId]: configPath }).slice(-LIMIT);
    await this.state.update(KEY, Object.fromEntries(entries));
  }

  private all(): Record<string, string> {
    const raw = this.state.get<unknown>(KEY);
    if (!raw || typeof raw !== 'object') return {};
    return Object.fromEntries(Object.entries(raw).filter((e): e is [string, string] => typeof e[1] === 'string'));
  }
}
