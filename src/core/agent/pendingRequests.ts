// Requests sent and not yet answered: each settles exactly once, by its response, its timeout,
// or the link going away.
import type { Method, StreamMessage } from '../protocol/messages';
import { AgentRequestError } from './errors';

interface Pending {
  method: Method;
  resolve: (result: unknown) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
  onStream?: (m: StreamMessage) => void;
}

export class PendingRequests {
  private readonly byId = new Map<number, Pending>();

  get size(): number {
    return this.byId.size;
  }

  /** Registers request `id`; the promise rejects with a timeout error naming the method after `timeoutMs`. */
  add(id: number, method: Method, timeoutMs: number, onStream?: (m: StreamMessage) => void): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.byId.delete(id);
        reject(new AgentRequestError(`the agent did not answer ${method} within ${formatMs(timeoutMs)} (request ${id})`, 'timeout'));
      }, timeoutMs);
      this.byId.set(id, { method, resolve, reject, timer, onStream });
    });
  }

  /** Hands a stream frame to the request it belongs to; false when that request is no longer waiting. */
  stream(m: StreamMessage): boolean {
    const p = this.byId.get(m.re);
    if (!p) return false;
    p.onStream?.(m);
    return true;
  }

  methodOf(id: number): Method | undefined {
    return this.byId.get(id)?.method;
  }

  /** Takes request `id` out of the table; undefined when it already settled (late or duplicate response). */
  take(id: number): Omit<Pending, 'timer'> | undefined {
    const p = this.byId.get(id);
    if (!p) return undefined;
    clearTimeout(p.timer);
    this.byId.delete(id);
    return p;
  }

  /** Rejects every outstanding request; `describe` builds each error from the request's method and id. */
  rejectAll(describe: (method: Method, id: number) => Error): void {
    const all = [...this.byId.entries()];
    this.byId.clear();
    for (const [id, p] of all) {
      clearTimeout(p.timer);
      p.reject(describe(p.method, id));
    }
  }
}

function formatMs(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`;
}
