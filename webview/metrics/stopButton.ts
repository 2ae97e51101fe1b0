// The toolbar's Stop button: usable while the run can be stopped, and not again while a stop is in flight.
import { isActive } from '../../src/core/runs/types';
import type { RunRecord } from './protocol';
import type { Button } from './toolkit';

export class StopButton {
  private run: RunRecord | undefined;
  private pending = false;
  private connected = true;

  constructor(private readonly button: Button, onStop: (runId: string) => void) {
    button.addEventListener('click', () => {
      if (button.disabled || !this.run) return;
      this.pending = true;
      this.render();
      onStop(this.run.runId);
    });
    this.render();
  }

  /** undefined: the panel compares runs, and stops none of them. */
  showRun(run: RunRecord | undefined): void {
    this.run = run;
    if (!run || !isActive(run)) this.pending = false;
    this.render();
  }

  /** A dropped agent link greys the button out; the request could not reach the agent. */
  setConnected(connected: boolean): void {
    this.connected = connected;
    this.render();
  }

  /** The host's answer. An accepted stop stays pending until the run's state leaves running; a refused one frees the button. */
  stopDone(ok: boolean): void {
    if (!ok) this.pending = false;
    this.render();
  }

  private render(): void {
    this.button.disabled = this.pending || !this.connected || !this.run || !isActive(this.run);
    this.button.textContent = this.pending ? 'Stopping…' : 'Stop run';
    this.button.dataset.pending = String(this.pending);
  }
}
