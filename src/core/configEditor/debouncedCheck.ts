// A slow check (the agent's preflight) of a document that keeps changing: asked once typing pauses, one
// request per document at a time, and an answer about a version that is no longer current is thrown away.
// The newest version is asked when the request out returns. Pure (timers only), so it is unit-tested.

export interface DebouncedCheckOptions<R> {
  delayMs: number;
  /** The document's version now, or undefined once it is gone. */
  version: (key: string) => number | undefined;
  /** Asks; undefined means "no answer" (skipped, failed): nothing is shown or replaced. */
  ask: (key: string) => Promise<R | undefined>;
  /** An answer about the version that is still current. */
  answered: (key: string, version: number, result: R) => void;
}

interface State {
  timer?: ReturnType<typeof setTimeout>;
  asking: boolean;
  again: boolean;
}

export class DebouncedCheck<R> {
  private readonly states = new Map<string, State>();

  constructor(private readonly o: DebouncedCheckOptions<R>) {}

  /** The document changed (and is worth asking about): ask once it has been quiet for delayMs. */
  schedule(key: string): void {
    const s = this.states.get(key) ?? { asking: false, again: false };
    this.states.set(key, s);
    clearTimeout(s.timer);
    s.timer = setTimeout(() => { s.timer = undefined; void this.run(key, s); }, this.o.delayMs);
  }

  /** Nothing to ask for now (the text no longer passes); an answer still out will be stale anyway. */
  cancel(key: string): void {
    const s = this.states.get(key);
    if (!s) return;
    clearTimeout(s.timer);
    s.timer = undefined;
    s.again = false;
  }

  forget(key: string): void {
    this.cancel(key);
    this.states.delete(key);
  }

  /** True while a request is out or waiting for the pause. */
  busy(key: string): boolean {
    const s = this.states.get(key);
    return !!s && (s.asking || s.timer !== undefined);
  }

  dispose(): void {
    for (const key of [...this.states.keys()]) this.forget(key);
  }

  private async run(key: string, s: State): Promise<void> {
    if (s.asking) { s.again = true; return; }
    const version = this.o.version(key);
    if (version === undefined) return;
    s.asking = true;
    let result: R | undefined;
    try {
      result = await this.o.ask(key);
    } catch {
      result = undefined;
    } finally {
      s.asking = false;
    }
    if (this.states.get(key) !== s) return;
    if (result !== undefined && this.o.version(key) === version) this.o.answered(key, version, result);
    if (s.again) { s.again = false; this.schedule(key); }
  }
}
