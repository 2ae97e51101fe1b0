// What the estimate of a config being edited says, in one place for the status bar beside the text editor and
// the form's header: the memory preflight expects and the fit on the selected host, or why there is none yet.
import { sizeText, type PreflightReport } from '../launch/preflightReport';

export interface EstimateInputs {
  /** The config fails its own checks (schema, YAML): the agent is not asked about it. */
  ownErrors: boolean;
  /** The agent is connected and the workspace trusted. */
  agentReady: boolean;
  /** The agent's last answer about this config: undefined before one, null when it refused the config. */
  report: PreflightReport | null | undefined;
  /** The text changed after that answer: a newer one is on its way. */
  updating: boolean;
}

export type EstimateState = 'fix' | 'no-agent' | 'waiting' | 'refused' | 'ready';

export interface EstimateLine {
  state: EstimateState;
  /** A codicon name. */
  icon: string;
  /** The status bar's words. */
  text: string;
  /** The form header's words (it says "Estimate" itself). */
  short: string;
  tooltip: string;
  /** The report's lines (memory parts, fit per GPU, disk, data), when there is one. */
  facts: string[];
}

export function estimateLine({ ownErrors, agentReady, report, updating }: EstimateInputs): EstimateLine {
  const line = (state: EstimateState, icon: string, text: string, short: string, tooltip: string, facts: string[] = []): EstimateLine =>
    ({ state, icon, text, short, tooltip, facts });
  if (ownErrors) {
    return line('fix', 'warning', 'Tunelab estimate: fix the config first', 'fix the config first',
      'The estimate needs a config that passes the schema: see the Problems panel.');
  }
  if (!agentReady) {
    return line('no-agent', 'dashboard', 'Tunelab estimate: no agent', 'no agent',
      'The agent makes the estimate; it is not connected (or the workspace is not trusted).');
  }
  if (report === undefined) return line('waiting', 'sync~spin', 'Tunelab: estimating…', 'estimating…', 'Waiting for the agent\'s preflight of this config.');
  if (report === null) return line('refused', 'error', 'Tunelab estimate: config refused', 'config refused', 'The agent refused this config; see the Problems panel.');
  const memory = report.estimateMb === null ? 'unknown model size' : `≈ ${sizeText(report.estimateMb)}`;
  const short = `${memory}${report.fit ? ` · ${report.fit}` : ''}${updating ? ' (updating…)' : ''}`;
  return line('ready', 'dashboard', short, short, `${report.headline} (estimate)\n\n${report.facts.join('\n')}\n\nClick for the whole report.`, report.facts);
}
