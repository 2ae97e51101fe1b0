// Errors the agent client raises, so callers can tell the agent's own refusals from link trouble.
import type { ErrorCode, Method } from '../protocol/messages';

/** The agent answered a request with `error {code, message}`. */
export class AgentError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly method?: Method,
  ) {
    super(message);
    this.name = 'AgentError';
  }
}

/** The request got no answer: it timed out, the link dropped, or the client was disposed. */
export class AgentRequestError extends Error {
  constructor(
    message: string,
    readonly reason: 'timeout' | 'disconnected' | 'not_connected' | 'disposed' | 'bad_response',
  ) {
    super(message);
    this.name = 'AgentRequestError';
  }
}

/** Connecting failed in a way that retrying cannot fix (wrong token, other protocol version). */
export class AgentRefusedError extends Error {
  constructor(
    message: string,
    readonly code: 'unauthorized' | 'unsupported_protocol',
  ) {
    super(message);
    this.name = 'AgentRefusedError';
  }
}
