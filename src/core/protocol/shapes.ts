// Shape checks every webview protocol uses on messages from the other side, which it treats as untrusted (the
// webviews' protocol.ts files and the chat's validators share them).
export type Obj = Record<string, unknown>;

export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Exactly these keys: nothing extra rides along unnoticed on a message that makes the host act. */
export const hasKeys = (v: Obj, ...keys: string[]): boolean => Object.keys(v).length === keys.length && keys.every((k) => k in v);

/** The two messages every page sends: `ready` after each load, and `error` with what went wrong in the page. */
export function readyOrError(v: Obj): { type: 'ready' } | { type: 'error'; message: string } | undefined {
  if (v.type === 'ready') return hasKeys(v, 'type') ? { type: 'ready' } : undefined;
  if (v.type === 'error') return typeof v.message === 'string' ? { type: 'error', message: v.message.slice(0, 2000) } : undefined;
  return undefined;
}
