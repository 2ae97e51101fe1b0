// The one-line summary above the chart: name, state, step/max_steps, last loss, throughput.
import type { RunRecord } from './protocol';

const fmt = {
  loss: (v: number | null) => (v === null ? '–' : v.toFixed(4)),
  rate: (v: number | null) => (v === null ? '–' : `${Math.round(v).toLocaleString('en-US')}`),
  eta: (s: number | null) => {
    if (s === null) return '–';
    const m = Math.floor(s / 60);
    return m >= 60 ? `${Math.floor(m / 60)}h ${m % 60}m` : m > 0 ? `${m}m ${Math.round(s % 60)}s` : `${Math.round(s)}s`;
  },
};

function setText(id: string, text: string): void {
  const el = document.getElementById(id);
  if (el) el.textContent = text;
}

export function renderHeader(run: RunRecord): void {
  setText('run-name', run.name);
  setText('run-state', run.state);
  document.getElementById('run-state')?.setAttribute('data-state', run.state);
  setText('run-step', run.maxSteps === null ? String(run.step) : `${run.step} / ${run.maxSteps}`);
  setText('run-loss', fmt.loss(run.loss));
  setText('run-speed', fmt.rate(run.tokensPerSec));
  setText('run-eta', run.state === 'running' ? fmt.eta(run.etaS) : '–');
  const error = document.getElementById('run-error');
  if (error) {
    error.textContent = run.error ?? '';
    error.hidden = !run.error;
  }
  document.title = `${run.name} – ${run.state}`;
}
