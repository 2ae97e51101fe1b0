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
  | 'internal'
  | 'cancelled'
  | 'unavailable';

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
  eval_loss: number | null;
  is_best: boolean;
}

export type CheckpointReason = 'scheduled' | 'requested' | 'stop' | 'early_stop' | 'last_good' | 'final';

/** What the checkpoint event says at the moment it was written (best is decided later, by listing). */
export interface CheckpointSaved {
  name: string;
  step: number;
  path: string;
  files: ManifestFile[];
  eval_loss?: number | null;
  reason?: CheckpointReason;
  segment?: number;
}

export type ControlAction = 'stop' | 'save' | 'eval' | 'set_logging_steps';

export interface ChatMessage {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface Sampling {
  max_new_tokens?: number;
  /** 0 decodes greedily. */
  temperature?: number;
  top_p?: number;
  top_k?: number;
  seed?: number;
}

export interface Targets {
  precision?: number;
  recall?: number;
  ttft_ms?: number;
}

export interface TargetCheck {
  target: number;
  value: number | null;
  /** null when the metric does not apply (e.g. precision on rows without labels). */
  met: boolean | null;
}

export interface LabelScore {
  precision: number;
  recall: number;
  f1: number;
  support: number;
}

export interface Generation {
  adapter: string;
  text: string;
  new_tokens: number;
  ttft_ms: number | null;
  tokens_per_sec: number | null;
  finish_reason: 'eos' | 'length' | 'cancelled';
}

export interface EvaluationResult {
  checkpoint: string | null;
  rows: number;
  loss: number | null;
  perplexity: number | null;
  exact_match: number | null;
  labels: Record<string, LabelScore>;
  macro: { precision: number; recall: number; f1: number } | null;
  ttft_ms_median: number | null;
  targets: Record<string, TargetCheck>;
  seconds: number;
  /** Preference-pair files only (null otherwise): does the checkpoint rank the chosen answer above the rejected one? */
  preference?: PairwiseScore | null;
}

/**
 * `accuracy`: share of pairs whose implicit reward (log p_checkpoint - log p_base) is higher for the chosen
 * answer (training's rewards/accuracies); `likelihood_accuracy`: share where the chosen answer is more likely;
 * `margin`: mean reward difference, in nats.
 */
export interface PairwiseScore {
  pairs: number;
  accuracy: number;
  likelihood_accuracy: number;
  margin: number;
}

export interface Gpu {
  index: number;
  name: string;
  memory_total_mb: number;
  memory_free_mb: number;
  utilization: number | null;
  bf16: boolean;
}

export interface HostInfo {
  gpus: Gpu[];
  cpu_count: number;
  ram_total_mb: number;
  ram_available_mb: number;
  disk_free_mb: number;
  versions: Record<string, string | null>;
}

export interface GpuMemory {
  allocated_mb: number;
  reserved_mb: number;
  peak_mb: number;
  utilization: number | null;
}

/** The host's RAM at one training step (what explains an out-of-memory kill later). */
export interface HostMemory {
  available_mb: number;
  total_mb: number;
  process_rss_mb: number;
}

/**
 * DPO/KTO figures of a logging window. Rewards are beta * (log p_model - log p_reference) of the chosen
 * (desirable) and rejected (undesirable) answers; `accuracy` is null for KTO (no pairs), `kl` null for DPO.
 */
export interface PreferenceFigures {
  chosen_reward: number | null;
  rejected_reward: number | null;
  margin: number | null;
  accuracy: number | null;
  kl: number | null;
}

export interface ParamGroup {
  name: string;
  pattern: string | null;
  learning_rate: number;
  tensors: number;
  parameters: number;
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
  /** Set when part of the run's files cannot be read (e.g. a torn line of events.jsonl, skipped); says what and where. */
  damaged?: string;
  /** Checkpoints the run announced. */
  checkpoints?: number;
}

export type HistorySeriesName = 'loss' | 'eval_loss' | 'learning_rate' | 'grad_norm' | 'tokens_per_sec';

/** One metric of one run, in logged order; step[i], value[i] and segment[i] are one point. */
export interface HistorySeries {
  step: number[];
  value: number[];
  segment: number[];
  /** Points in range before downsampling. */
  total: number;
}

/** One event of run_history's `events`; its data is the event's own and is validated by whoever reads it. */
export interface HistoryMarkerEvent {
  seq: number;
  kind: 'checkpoint' | 'control_done' | 'early_stop' | 'log' | 'run_state';
  data: Record<string, unknown>;
}

// ---- datasets -------------------------------------------------------------

export type TrainOn = 'assistant' | 'all';

/** One finding about a row; `code` is invalid_json, bad_row, template, no_loss, too_long, duplicate, conflicting_label, ... */
export interface Diagnostic {
  line: number;
  severity: 'error' | 'warning' | 'info';
  code: string;
  message: string;
}

/** Token lengths per row: the model's tokenizer through the chat template, or characters / 4 (`approximate`). */
export interface TokenStats {
  method: 'tokenizer' | 'approximate';
  note: string;
  count: number;
  total: number;
  min: number | null;
  median: number | null;
  p95: number | null;
  max: number | null;
  mean: number | null;
  histogram: Array<{ start: number; end: number; count: number }>;
}

export interface DatasetInspection {
  file: string;
  format: string;
  bytes: number;
  lines: number;
  rows: number;
  /** Rows the trainer drops as broken (unreadable, invalid, refused by the template, no token carrying loss). */
  bad_rows: number;
  over_length: number;
  /** Rows over max_length that dataset.truncation cuts to fit (kept). */
  truncated: number;
  kept: number;
  max_length: number | null;
  /** Only the first rows were read. */
  sampled: boolean;
  tokens: TokenStats;
  roles: Record<string, number>;
  /** The most frequent labels (a row's label field, else a short answer). */
  labels: Record<string, number>;
  distinct_labels: number;
  duplicates: { rows: number; groups: Array<{ lines: number[] }> };
  conflicts: { inputs: number; groups: Array<{ lines: number[]; labels: string[] }> };
  /** The first diagnostics, in file order; `diagnostic_counts` covers the whole file. */
  diagnostics: Diagnostic[];
  diagnostic_counts: Record<string, number>;
  cached: boolean;
  seconds: number;
}

export interface RenderedToken {
  id: number;
  /** The characters of `text` this token covers (start..end), or the token's name when it covers none (EOS). */
  text: string;
  start: number;
  end: number;
  /** The collator's label for this token is the token itself: it carries loss. */
  trained: boolean;
}

/** One sequence the trainer builds from a row ("sample", or "chosen" / "rejected" for a preference pair). */
export interface RenderedSequence {
  name: string;
  text: string;
  tokens: RenderedToken[];
  length: number;
  trained_tokens: number;
}

/** Preflight's data check of one split: (bad_rows + over_length) / rows = share, against max_bad_rows. */
export interface DataCheck {
  file: string;
  format: string;
  rows: number;
  bad_rows: number;
  over_length: number;
  truncated: number;
  share: number;
  max_bad_rows: number;
  sampled: boolean;
  approximate: boolean;
  max_tokens: number | null;
  /** Tokens in the rows read; lines (rows of a Parquet file) in the whole file, more than rows when sampled. */
  tokens: number;
  lines: number;
}

// ---- requests -------------------------------------------------------------

export interface ParamsMap {
  /** Newest first; without `limit`, every run. */
  list_runs: { offset?: number; limit?: number };
  start_run: { config: string; config_path?: string; name?: string };
  stop_run: { run_id: RunId };
  resume_run: { run_id: RunId; checkpoint: string };
  control_run: { run_id: RunId; action: ControlAction; value?: number };
  /**
   * `batch`: the agent may send several events in one `events` frame (EventBatch); only for an agent whose hello
   * lists the capability `event_batches` (an older one rejects the field).
   */
  subscribe: { since: number; batch?: boolean };
  list_checkpoints: { run_id: RunId };
  /**
   * `adapters` names checkpoints of the run and/or "base"; tokens arrive as stream frames. `conversations`: one
   * per adapter in place of `messages` (each pane of a side-by-side chat with its own earlier answers), one batch.
   */
  generate: { run_id: RunId; adapters: string[]; messages: ChatMessage[]; sampling?: Sampling; stream?: boolean; conversations?: ChatMessage[][] };
  cancel: { request_id: number };
  evaluate: { run_id: RunId; checkpoint: string | null; file: string; max_new_tokens?: number; targets?: Targets };
  export_checkpoint: { run_id: RunId; checkpoint: string; dest: string };
  host_info: Record<string, never>;
  preflight: { config: string; config_path?: string };
  /** Streams `progress` and `diagnostic` frames; cancellable. Without `model`, token counts are approximate. */
  inspect_dataset: { path: string; format?: string; model?: string; max_length?: number; train_on?: TrainOn };
  /** Either `path` and `line`, or `row` (a row object as it would stand in a JSONL file). */
  render_sample: {
    model: string; path?: string; line?: number; row?: Record<string, unknown>; format?: string; train_on?: TrainOn; max_length?: number;
  };
  /** One run's metrics; with `max_points` each series is downsampled (LTTB, first/last/min/max kept). */
  run_history: { run_id: RunId; series?: HistorySeriesName[]; from_step?: number; to_step?: number; max_points?: number; details?: boolean };
  delete_run: { run_id: RunId };
  /** The chat panel's Promote (answer) and Prefer (answer chosen, `rejected` rejected): one JSONL row in the file's own format. */
  append_dataset_row: { path: string; messages: ChatMessage[]; answer: string; rejected?: string };
  /** append_dataset_row for a file the agent cannot read: `head` is the file's first whole lines. */
  format_dataset_row: { file_name: string; head: string; messages: ChatMessage[]; answer: string; rejected?: string };
}

export interface ResultMap {
  /** `head`: the last seq the summaries include; subscribe from it to miss and double nothing. */
  list_runs: { runs: RunSummary[]; total: number; head: number };
  start_run: { run_id: RunId };
  stop_run: { run_id: RunId; state: RunState };
  resume_run: { run_id: RunId; segment: number };
  control_run: { run_id: RunId; action: ControlAction; id: string };
  subscribe: { head: number };
  /** `model`: the run's base model as the agent resolved it (runs on the same model can be compared side by side). */
  list_checkpoints: { checkpoints: Checkpoint[]; model?: string };
  generate: { results: Generation[] };
  cancel: { request_id: number; cancelled: boolean };
  evaluate: EvaluationResult;
  export_checkpoint: { path: string; files: ManifestFile[] };
  host_info: HostInfo;
  /** `estimate`: memory per training process (sizes in MB, parameter counts); null when the model's size is unknown. */
  preflight: { errors: string[]; warnings: string[]; estimate: Record<string, unknown> | null; data?: Record<string, DataCheck> };
  inspect_dataset: DatasetInspection;
  render_sample: { format: string; line: number | null; sequences: RenderedSequence[]; max_length: number | null; over_length: boolean };
  /** `head`: the history holds the run's events up to this seq; later ones arrive on the subscription. */
  run_history: {
    run_id: RunId; head: number; series: Partial<Record<HistorySeriesName, HistorySeries>>;
    /** With `details`: nested metrics figures named "<group>.<key>" (loss_terms, lr_groups, gpu, preference). */
    extra_series?: Record<string, HistorySeries>;
    /** With `details`: the events a chart marks on its step axis, by seq (data as in the event; checked when read). */
    events?: HistoryMarkerEvent[];
    /** With `details`: the run's config YAML as started, or null. */
    config?: string | null;
  };
  delete_run: { run_id: RunId };
  /** `line`: where the new row starts, read back through the trainer's reader as `format`. */
  append_dataset_row: { path: string; format: string; line: number };
  format_dataset_row: { row: string; format: string };
}

export type Method = keyof ParamsMap & keyof ResultMap;
export type ParamsOf<M extends Method> = ParamsMap[M];
export type ResultOf<M extends Method> = ResultMap[M];

// ---- events ---------------------------------------------------------------

export interface EventDataMap {
  run_created: { name: string; config: string };
  run_state: { state: RunState; error?: string; max_steps?: number; segment?: number; resumed_from?: string };
  metrics: {
    step: number;
    max_steps: number;
    epoch: number;
    loss: number | null;
    learning_rate: number | null;
    grad_norm: number | null;
    tokens_per_sec: number | null;
    eta_s: number | null;
    /** 0 for the first launch, +1 per resume: a step logged again after a resume is a new point, not a duplicate. */
    segment?: number;
    samples_per_sec?: number | null;
    loss_terms?: Record<string, number | null>;
    lr_groups?: Record<string, number | null>;
    gpu?: GpuMemory | null;
    host_memory?: HostMemory;
    /** DPO and KTO runs only. */
    preference?: PreferenceFigures;
  };
  eval: { step: number; eval_loss: number | null; segment?: number; metrics?: Record<string, number | null>; best?: boolean };
  checkpoint: CheckpointSaved;
  checkpoint_removed: { name: string; reason?: string };
  /** `code` names warnings a UI reacts to: grad_norm_band, non_finite_loss, eval_loss_rising, warmup_capped, ... */
  log: { level: 'info' | 'warning' | 'error'; message: string; code?: string; step?: number };
  param_groups: { groups: ParamGroup[] };
  /** `truncated` counts rows kept after dataset.truncation cut them (each also gets a truncated_row event). */
  data_report: { split: 'train' | 'eval'; file: string; format: string; rows: number; kept: number; bad: number; cached?: boolean; tokens?: number; truncated?: number };
  bad_row: { split: 'train' | 'eval'; file: string; line: number; reason: string };
  /** A row over max_length that was cut and kept; `line` is the 1-based row number for Parquet files. */
  truncated_row: { split: 'train' | 'eval'; file: string; line: number; reason: string };
  early_stop: { step: number; reason: string; metric: string; best_value: number | null; best_step: number | null };
  control_done: { id: string; action: ControlAction; step: number; value?: number; checkpoint?: string; error?: string };
  /**
   * The host's disk is nearly full: free space under twice the next checkpoint's size (sent once until it recovers).
   * `path` is the mount point on the host; `message` is a whole sentence for people.
   */
  disk_low: { step: number; free_mb: number; checkpoint_mb: number; path: string; message: string };
}

export type EventKind = keyof EventDataMap;
export type EventDataOf<K extends EventKind> = EventDataMap[K];

/** One event frame; narrowing on `kind` types `data`. */
export type AgentEvent = {
  [K in EventKind]: { type: 'event'; seq: number; time: number; run_id: RunId; kind: K; data: EventDataMap[K] };
}[EventKind];

export type EventOf<K extends EventKind> = Extract<AgentEvent, { kind: K }>;

/**
 * Several events in one frame, in seq order (subscribe with `batch: true`): a long replay then costs a few
 * frames instead of one per event. The socket unpacks it; listeners see each event as if it came alone.
 */
export interface EventBatch {
  type: 'events';
  events: AgentEvent[];
}

/** The hello capability of an agent that accepts subscribe {batch: true}. */
export const EVENT_BATCHES_CAPABILITY = 'event_batches';

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

export interface StreamDataMap {
  token: { adapter: string; text: string };
  progress: { done: number; total: number; message?: string };
  diagnostic: Diagnostic;
}

/** Partial output of a long request (generate tokens, evaluate/export progress), sent before its response. */
export type StreamMessage = {
  [K in keyof StreamDataMap]: { type: 'stream'; re: number; kind: K; data: StreamDataMap[K] };
}[keyof StreamDataMap];

export type ClientMessage = ClientHello | RequestMessage;
export type ServerMessage = ServerHello | ResponseMessage | AgentEvent | StreamMessage;

// ---- runtime lists, checked against the unions above ----------------------

// `Exact` is true only when the two unions hold the same members, so a list that misses
// a member or names an unknown one fails to type-check.
type Exact<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;

export const METHODS = [
  'list_runs', 'start_run', 'stop_run', 'resume_run', 'control_run', 'subscribe', 'list_checkpoints',
  'generate', 'cancel', 'evaluate', 'export_checkpoint', 'host_info', 'preflight', 'inspect_dataset', 'render_sample',
  'run_history', 'delete_run', 'append_dataset_row', 'format_dataset_row',
] as const satisfies readonly Method[];
const methodsComplete: Exact<(typeof METHODS)[number], Method> = true;

export const EVENT_KINDS = [
  'run_created', 'run_state', 'metrics', 'eval', 'checkpoint', 'checkpoint_removed', 'log',
  'param_groups', 'data_report', 'bad_row', 'truncated_row', 'early_stop', 'control_done', 'disk_low',
] as const satisfies readonly EventKind[];
const eventKindsComplete: Exact<(typeof EVENT_KINDS)[number], EventKind> = true;

export const RUN_STATES = ['starting', 'running', 'completed', 'failed', 'stopped'] as const satisfies readonly RunState[];
const runStatesComplete: Exact<(typeof RUN_STATES)[number], RunState> = true;

export const ERROR_CODES = [
  'bad_message', 'unauthorized', 'unsupported_protocol', 'unknown_method', 'bad_params',
  'bad_config', 'not_found', 'conflict', 'internal', 'cancelled', 'unavailable',
] as const satisfies readonly ErrorCode[];
const errorCodesComplete: Exact<(typeof ERROR_CODES)[number], ErrorCode> = true;

// Referenced so the compile-time checks above are not flagged as unused.
void [methodsComplete, eventKindsComplete, runStatesComplete, errorCodesComplete];

/** States after which a run produces no more training events. */
export const FINAL_RUN_STATES: readonly RunState[] = ['completed', 'failed', 'stopped'];
