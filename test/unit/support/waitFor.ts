// Promise helpers that wait for what the client reports (states, events) instead of sleeping.
import type { AgentClient, ConnectionState } from '../../../src/core/agent/client';
import type { AgentEvent } from '../../../src/core/protocol/messages';

export function stateMatching(client: AgentClient, pred: (s: ConnectionState) => boolean): Promise<ConnectionState> {
  if (pred(client.state)) return Promise.resolve(client.state);
  return new Promise((resolve) => {
    const sub = client.onState((s) => {
      if (!pred(s)) return;
      sub.dispose();
      resolve(s);
    });
  });
}

export const stateKind = <K extends ConnectionState['kind']>(client: AgentClient, kind: K) =>
  stateMatching(client, (s) => s.kind === kind) as Promise<Extract<ConnectionState, { kind: K }>>;

export function eventMatching(client: AgentClient, pred: (e: AgentEvent) => boolean): Promise<AgentEvent> {
  return new Promise((resolve) => {
    const sub = client.onEvent((e) => {
      if (!pred(e)) return;
      sub.dispose();
      resolve(e);
    });
  });
}

export const untilSeq = (client: AgentClient, seq: number) =>
  client.lastSeq >= seq ? Promise.resolve() : eventMatching(client, (e) => e.seq >= seq).then(() => undefined);

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
