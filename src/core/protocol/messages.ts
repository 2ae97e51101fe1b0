// TypeScript mirror of python-agent/tunelab_agent/schema/protocol.schema.json.
// The schema is authoritative; test/unit/protocol-drift.test.ts fails when the two drift apart.

export const PROTOCOL_VERSION = 1;

/** Matches the schema's runId pattern: ^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$ */
export type RunId = string;

export type RunState = 'starting' | 'running' | 'completed' | 'failed' | 'stopped';

export type ErrorCode =
  | 'bad_message'
  | 'unauthorized'
  | 'unsupported_protocol'
  | 'unknown_method'
  | 'bad_params'
  | 'bad_config'
  | 'not_found'
  | 'conflict'
  | 'internal';

export interface ErrorBody {
  code: ErrorCode;
  message: string;
}

export interface ManifestFile {
  name: string;
  size: number;
  /** 64 lowercase hex digits. */
  sha256: string;
}

export interface Checkpoint {
  name: string;
  step: number;
  path: string;
  files: ManifestFile[];
}

export interface RunSummary {
  run_id: RunId;
  name: string;
  state: RunState;
  /** Unix time in seconds. */
  created: number;
  step: number;
  max_steps: number | null;
  loss: number | null;
  error: string | null;
}

// ---- requests -------------------------------------------------------------

export interface ParamsMap {
  list_runs: Record<string, never>;
  start_run: { config: string; config_path?: string; name?: string };
  stop_run: { run_id: RunId };
  subscribe: { since: number };
  list_checkpoints: { run_id: RunId };
  generate: { run_id: RunId; checkpoint?: string | null; prompt: string; max_new_tokens?: number };
}

export interface ResultMap {
  list_runs: { runs: RunSummary[] };
  start_run: { run_id: RunId };
  stop_run: { run_id: RunId; state: RunState };
  subscribe: { head: number };
  list_checkpoints: { checkpoints: Checkpoint[] };
  generate: { text: string; checkpoint: string | null; new_tokens: number; seconds: number };
}

export type Method = keyof ParamsMap & keyof ResultMap;
export type ParamsOf<M extends Method> = ParamsMap[M];
export type ResultOf<M extends Method> = ResultMap[M];

// ---- events ---------------------------------------------------------------

export interface EventDataMap {
  run_created: { name: string; config: string };
  run_state: { state: RunState; error?: string; max_steps?: number };
  metrics: {
    step: number;
    max_steps: number;
    epoch: number;
    loss: number | null;
    learning_rate: number | null;
    grad_norm: number | null;
    tokens_per_sec: number | null;
    eta_s: number | null;
  };
  eval: { step: number; eval_loss: number | null };
  checkpoint: Checkpoint;
  log: { level: 'info' | 'warning' | 'error'; message: string };
}

export type EventKind = keyof EventDataMap;
export type EventDataOf<K extends EventKind> = EventDataMap[K];

/** One event frame; narrowing on `kind` types `data`. */
export type AgentEvent = {
  [K in EventKind]: { type: 'event'; seq: number; time: number; run_id: RunId; kind: K; data: EventDataMap[K] };
}[EventKind];

export type EventOf<K extends EventKind> = Extract<AgentEvent, { kind: K }>;

// ---- frames ---------------------------------------------------------------

export interface ClientHello {
  type: 'hello';
  protocol: number;
  token: string;
  client: string;
}

export interface ServerHello {
  type: 'hello';
  protocol: number;
  agent_version: string;
  capabilities: string[];
}

/** A request frame; the mapped form keeps `method` and `params` paired. */
export type RequestMessage = {
  [M in Method]: { type: 'request'; id: number; method: M; params: ParamsMap[M] };
}[Method];

export type ResponseMessage =
  | { type: 'response'; re: number | null; result: unknown }
  | { type: 'response'; re: number | null; error: ErrorBody };

export type ClientMessage = ClientHello | RequestMessage;
export type ServerMessage = ServerHello | ResponseMessage | AgentEvent;

// ---- runtime lists, checked against the unions above ----------------------

// `Exact` is true only when the two unions hold the same members, so a list that misses
// a member or names an unknown one fails to type-check.
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

export const METHODS = ['list_runs', 'start_run', 'stop_run', 'subscribe', 'list_checkpoints', 'generate'] as const satisfies readonly Method[];
const methodsComplete: Exact<(typeof METHODS)[number], Method> = true;

export const EVENT_KINDS = ['run_created', 'run_state', 'metrics', 'eval', 'checkpoint', 'log'] as const satisfies readonly EventKind[];
const eventKindsComplete: Exact<(typeof EVENT_KINDS)[number], EventKind> = true;

export const RUN_STATES = ['starting', 'running', 'completed', 'failed', 'stopped'] as const satisfies readonly RunState[];
const runStatesComplete: Exact<(typeof RUN_STATES)[number], RunState> = true;

export const ERROR_CODES = [
  'bad_message', 'unauthorized', 'unsupported_protocol', 'unknown_method', 'bad_params',
  'bad_config', 'not_found', 'conflict', 'internal',
] as const satisfies readonly ErrorCode[];
const errorCodesComplete: Exact<(typeof ERROR_CODES)[number], ErrorCode> = true;

// Referenced so the compile-time checks above are not flagged as unused.
void [methodsComplete, eventKindsComplete, runStatesComplete, errorCodesComplete];

/** States after which a run produces no more training events. */
export const FINAL_RUN_STATES: readonly RunState[] = ['completed', 'failed', 'stopped'];
