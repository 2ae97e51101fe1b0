// Small lookups between runs and the things around them: the runs of a multi-selection, and the config
// file a run was started from.

/** Run ids of a multi-selection in the Runs view: the selection (VS Code passes it second) or the clicked item, runs only, once each. */
export function selectedRunIds(clicked: unknown, selection: unknown): string[] {
  const all = Array.isArray(selection) && selection.length ? selection : [clicked];
  const ids = all
    .map((n) => n as { runId?: unknown; kind?: unknown } | undefined)
    .filter((n): n is { runId: string; kind?: unknown } => typeof n?.runId === 'string' && (n.kind === undefined || n.kind === 'run'))
    .map((n) => n.runId);
  return [...new Set(ids)];
}

/** The stem a run takes its default name from: "e2e.tunelab.yaml" → "e2e" (the agent names runs so). */
export function configStem(path: string): string {
  const base = path.split(/[\\/]/).pop() ?? path;
  return base.split('.')[0];
}

/**
 * Which config file a run came from, when this window did not record it: the one whose `name:` is the run's
 * name, else the one whose file stem is (a config without a name gives the run its stem). Undefined when
 * none or several match, rather than a guess.
 */
export function configForRun(runName: string, configs: Array<{ path: string; name: string | null }>): string | undefined {
  const byName = configs.filter((c) => c.name === runName);
  if (byName.length === 1) return byName[0].path;
  if (byName.length > 1) return undefined;
  const byStem = configs.filter((c) => c.name === null && configStem(c.path) === runName);
  return byStem.length === 1 ? byStem[0].path : undefined;
}
