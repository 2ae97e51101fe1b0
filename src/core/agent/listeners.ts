// A tiny listener list; a throwing listener is reported instead of breaking the client's loop.

export interface Disposable {
  dispose(): void;
}

export class Listeners<T> {
  private readonly fns = new Set<(value: T) => void>();

  constructor(private readonly onListenerError: (e: unknown) => void) {}

  add(fn: (value: T) => void): Disposable {
    // Wrapped so the same function can be added twice and removed independently.
    const entry = (value: T) => fn(value);
    this.fns.add(entry);
    return { dispose: () => this.fns.delete(entry) };
  }

  emit(value: T): void {
    for (const fn of [...this.fns]) {
      try {
        fn(value);
      } catch (e) {
        this.onListenerError(e);
      }
    }
  }

  clear(): void {
    this.fns.clear();
  }
}
