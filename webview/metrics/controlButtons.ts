// Save now and Eval now: usable while the run trains and the agent link is up; each waits for the host's
// answer (the agent took the request, or refused it) before it can be pressed again. What the agent then
// did shows on the chart as a marker, when the training loop gets to it.
import { isActive } from '../../src/core/runs/types';
import type { ControlAction, RunRecord } from './protocol';
import type { Button } from './toolkit';

const LABELS: Record<ControlAction, { idle: string; pending: string }> = {
  save: { idle: 'Save now', pending: 'Saving…' },
  eval: { idle: 'Eval now', pending: 'Evaluating…' },
};

export class ControlButtons {
  private run: RunRecord | undefined;
  private connected = true;
  private readonly pending = new Set<ControlAction>();

  constructor(private readonly buttons: Record<ControlAction, Button>, private readonly status: HTMLElement, send: (runId: string, action: ControlAction) => void) {
    for (const action of ['save', 'eval'] as const) {
      buttons[action].addEventListener('click', () => {
        if (buttons[action].disabled || !this.run) return;
        this.pending.add(action);
        this.render();
        send(this.run.runId, action);
      });
    }
    this.render();
  }

  showRun(run: RunRecord | undefined): void {
    this.run = run;
    this.render();
  }

  setConnected(connected: boolean): void {
    this.connected = connected;
    this.render();
  }

  done(action: ControlAction, ok: boolean): void {
    this.pending.delete(action);
    this.status.textContent = ok
      ? `${LABELS[action].idle} requested: it is marked on the chart when the run gets to it.`
      : `${LABELS[action].idle} was refused; see the Tunelab log.`;
    this.status.dataset.ok = String(ok);
    this.render();
  }

  private render(): void {
    for (const action of ['save', 'eval'] as const) {
      const b = this.buttons[action];
      const pending = this.pending.has(action);
      b.disabled = pending || !this.connected || !this.run || this.run.state !== 'running' || !isActive(this.run);
      b.textContent = pending ? LABELS[action].pending : LABELS[action].idle;
      b.dataset.pending = String(pending);
    }
  }
}
