// The small menu a marker opens: what it marks, and for a checkpoint, Chat / Evaluate / Resume. Text only;
// closes on Escape, a click elsewhere, or once an action is chosen.
import type { CheckpointAction } from './protocol';
import type { DrawnMarker } from './chartPlugins';

const ACTIONS: Array<{ action: CheckpointAction; label: string }> = [
  { action: 'chat', label: 'Chat with it' },
  { action: 'evaluate', label: 'Evaluate' },
  { action: 'resume', label: 'Resume from here' },
];

export class MarkerMenu {
  private readonly root: HTMLElement;

  constructor(private readonly onAction: (runId: string, checkpoint: string, action: CheckpointAction) => void) {
    this.root = document.createElement('div');
    this.root.className = 'marker-menu';
    this.root.id = 'marker-menu';
    this.root.setAttribute('role', 'menu');
    this.root.hidden = true;
    document.body.append(this.root);
    document.addEventListener('keydown', (e) => { if (e.key === 'Escape') this.close(); });
    document.addEventListener('mousedown', (e) => { if (!this.root.contains(e.target as Node)) this.close(); });
  }

  open(marker: DrawnMarker, clientX: number, clientY: number, canAct: boolean): void {
    this.root.replaceChildren();
    const title = document.createElement('div');
    title.className = 'marker-text';
    title.textContent = marker.text;
    this.root.append(title);
    if (marker.checkpoint) {
      for (const { action, label } of ACTIONS) {
        const b = document.createElement('vscode-button') as HTMLElement & { disabled: boolean };
        b.setAttribute('appearance', 'secondary');
        b.dataset.action = action;
        b.textContent = label;
        b.disabled = !canAct;
        b.addEventListener('click', () => {
          if (b.disabled) return;
          this.close();
          this.onAction(marker.runId, marker.checkpoint!, action);
        });
        this.root.append(b);
      }
    }
    this.root.dataset.checkpoint = marker.checkpoint ?? '';
    this.root.hidden = false;
    // Inside the window, whatever the click's position.
    const { innerWidth: w, innerHeight: h } = window;
    const rect = this.root.getBoundingClientRect();
    this.root.style.left = `${Math.max(4, Math.min(clientX, w - rect.width - 4))}px`;
    this.root.style.top = `${Math.max(4, Math.min(clientY + 8, h - rect.height - 4))}px`;
  }

  close(): void {
    this.root.hidden = true;
  }
}
