// Validators compiled from the agent's protocol schema, so the extension checks every frame
// against the same file the agent does.
import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import protocolSchema from '../../../python-agent/tunelab_agent/schema/protocol.schema.json';
import { METHODS, type ClientMessage, type Method, type ResultOf, type ServerMessage } from './messages';

export type Validation<T> = { ok: true; value: T } | { ok: false; error: string };
export type FrameValidation = { ok: true; msg: ServerMessage } | { ok: false; error: string; parsed?: unknown };

const SCHEMA_ID = (protocolSchema as { $id: string }).$id;

// strictTypes is off because the schema's if/then branches name properties without
// repeating `type: object`, which is valid draft-07 that ajv's strict mode would only warn about.
const ajv = new Ajv({ allErrors: true, strictTypes: false });
ajv.addSchema(protocolSchema);

/** The compiled validator of one definition, e.g. `results/list_runs`. */
export function definitionValidator(pointer: string): ValidateFunction {
  const v = ajv.getSchema(`${SCHEMA_ID}#/definitions/${pointer}`);
  if (!v) throw new Error(`protocol schema has no definition "${pointer}"`);
  return v;
}

const serverFrames = {
  hello: definitionValidator('serverHello'),
  response: definitionValidator('response'),
  event: definitionValidator('event'),
  stream: definitionValidator('stream'),
};
const clientFrames = { hello: definitionValidator('clientHello'), request: definitionValidator('request') };
const results = Object.fromEntries(METHODS.map((m) => [m, definitionValidator(`results/${m}`)])) as Record<Method, ValidateFunction>;

/** Ajv errors as one readable line, e.g. `/data/step: must be integer; /data: unknown property "foo"`. */
export function formatErrors(errors: ErrorObject[] | null | undefined): string {
  if (!errors?.length) return 'does not match the protocol schema';
  // if/then and oneOf report a summary error next to the specific ones; the specific ones say more.
  const specific = errors.filter((e) => e.keyword !== 'if' && e.keyword !== 'oneOf');
  const shown = (specific.length ? specific : errors).map((e) => {
    const where = e.instancePath || '(top level)';
    if (e.keyword === 'additionalProperties') return `${where}: unknown property "${(e.params as { additionalProperty: string }).additionalProperty}"`;
    if (e.keyword === 'enum') return `${where}: must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
    if (e.keyword === 'const') return `${where}: must be ${JSON.stringify((e.params as { allowedValue: unknown }).allowedValue)}`;
    return `${where}: ${e.message ?? e.keyword}`;
  });
  return [...new Set(shown)].join('; ');
}

/** Parses and checks one text frame from the agent that holds one message (not an `events` batch). Never throws. */
export function validateServerMessage(raw: string): FrameValidation {
  const parsed = parseObject(raw);
  return 'error' in parsed ? parsed : checkServerMessage(parsed.value);
}

/**
 * Parses and checks one text frame from the agent, with one entry per message it carries: an `events` frame
 * (subscribe with `batch: true`) gives one per event, in order, each checked on its own, so a malformed event
 * is reported and dropped alone, as it would have been in its own frame. Never throws.
 */
export function validateServerFrame(raw: string): FrameValidation[] {
  const parsed = parseObject(raw);
  if ('error' in parsed) return [parsed];
  const frame = parsed.value as { type?: unknown; events?: unknown };
  if (frame.type !== 'events') return [checkServerMessage(frame)];
  const extra = Object.keys(frame).filter((k) => k !== 'type' && k !== 'events');
  if (!Array.isArray(frame.events) || frame.events.length === 0 || extra.length) {
    const error = extra.length ? `unknown property "${extra[0]}"` : '/events: must be a non-empty array of events';
    return [{ ok: false, error: `events frame: ${error}`, parsed: frame }];
  }
  return frame.events.map((e: unknown) => {
    if (typeof e !== 'object' || e === null || Array.isArray(e)) return { ok: false, error: `events frame: expected event objects, got ${preview(JSON.stringify(e))}`, parsed: e };
    if ((e as { type?: unknown }).type !== 'event') return { ok: false, error: `events frame: /type: must be "event", got ${JSON.stringify((e as { type?: unknown }).type)}`, parsed: e };
    return checkServerMessage(e as object);
  });
}

function parseObject(raw: string): { value: object } | { ok: false; error: string; parsed?: unknown } {
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch (e) {
    return { ok: false, error: `not valid JSON (${(e as Error).message}): ${preview(raw)}` };
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return { ok: false, error: `expected a JSON object, got ${preview(raw)}`, parsed };
  }
  return { value: parsed };
}

function checkServerMessage(parsed: object): FrameValidation {
  const type = (parsed as { type?: unknown }).type;
  // Dispatching on `type` first gives errors about the intended message instead of a oneOf over all five.
  const validator = typeof type === 'string' ? serverFrames[type as keyof typeof serverFrames] : undefined;
  if (!validator) {
    return { ok: false, error: `/type: expected "hello", "response", "event" or "stream", got ${JSON.stringify(type)}`, parsed };
  }
  if (!validator(parsed)) return { ok: false, error: `${type} frame: ${formatErrors(validator.errors)}`, parsed };
  return { ok: true, msg: parsed as ServerMessage };
}

/** Checks a frame the client is about to send, so a client bug shows up here rather than as the agent's bad_message. */
export function validateClientMessage(msg: unknown): Validation<ClientMessage> {
  const type = (msg as { type?: unknown } | null)?.type;
  const v = type === 'hello' || type === 'request' ? clientFrames[type] : undefined;
  if (!v) return { ok: false, error: `/type: expected "hello" or "request", got ${JSON.stringify(type)}` };
  if (!v(msg)) return { ok: false, error: formatErrors(v.errors) };
  return { ok: true, value: msg as ClientMessage };
}

/** Checks the `result` of a response to `method`. */
export function validateResult<M extends Method>(method: M, result: unknown): Validation<ResultOf<M>> {
  const v = results[method];
  if (!v(result)) return { ok: false, error: formatErrors(v.errors) };
  return { ok: true, value: result as ResultOf<M> };
}

function preview(raw: string): string {
  return raw.length > 120 ? `${JSON.stringify(raw.slice(0, 120))}…` : JSON.stringify(raw);
}
