// Messages between the run-config form's host (a custom text editor) and its webview, and their validators.
// Flow: webview -> `ready`; host -> `state` (the values as written or where the YAML is broken, the problems by
// key, the estimate), again after every change of the text, the checks or the agent's answer.
// Webview -> `edit` (a field's raw input: the host parses it and writes the smallest text edit), `reveal` (show a
// key or a line in the text editor), `run` (Estimate, Launch, Open as Text). Each side drops what does not validate.
import type { EstimateLine } from '../../src/core/configEditor/estimateLine';
import { FORM_FIELDS, type FormState } from '../../src/core/configEditor/formModel';
import { hasKeys, isObj, readyOrError } from '../../src/core/protocol/shapes';

export type { EstimateLine } from '../../src/core/configEditor/estimateLine';
export type { FormState, FormField, FormGroup } from '../../src/core/configEditor/formModel';

export interface FieldProblem {
  /** Dotted key, or null for the file as a whole. */
  key: string | null;
  severity: 'error' | 'warning' | 'info';
  message: string;
  /** Who found it: the editor's own checks or the agent's preflight. */
  source: 'schema' | 'agent';
}

export type HostMessage =
  | { type: 'state'; fileName: string; form: FormState; problems: FieldProblem[]; estimate: EstimateLine; editable: boolean }
  /** A field's input that was not written, and why (not a number, a required key left empty...). */
  | { type: 'refused'; key: string; message: string };

export type FormAction = 'estimate' | 'launch' | 'text';
export type EditInput = string | boolean | string[];

export type WebviewMessage =
  | { type: 'ready' }
  | { type: 'error'; message: string }
  | { type: 'edit'; key: string; input: EditInput }
  | { type: 'reveal'; key: string | null; line: number | null }
  | { type: 'run'; action: FormAction };

// A dotted key as problems name them (an item of a list by its index: "lora.target_modules.0").
const KEY = /^[A-Za-z_]\w*(\.\w+){0,7}$/;
const MAX_INPUT = 10_000;
const isKey = (v: unknown): v is string => typeof v === 'string' && v.length <= 200 && KEY.test(v)
  && !v.split('.').some((part) => part === '__proto__' || part === 'constructor' || part === 'prototype');
/** An edit names a field of the form, never any key. */
const isFieldKey = (v: unknown): v is string => typeof v === 'string' && FORM_FIELDS.has(v);
const isLine = (v: unknown): v is number | null => v === null || (typeof v === 'number' && Number.isInteger(v) && v >= 1 && v <= 1_000_000);
const isInput = (v: unknown): v is EditInput =>
  typeof v === 'boolean' || (typeof v === 'string' && v.length <= MAX_INPUT)
  || (Array.isArray(v) && v.length <= 100 && v.every((x) => typeof x === 'string' && x.length <= 200));

export function parseWebviewMessage(v: unknown): WebviewMessage | undefined {
  if (!isObj(v)) return undefined;
  switch (v.type) {
    case 'ready':
    case 'error':
      return readyOrError(v);
    case 'edit':
      return hasKeys(v, 'type', 'key', 'input') && isFieldKey(v.key) && isInput(v.input) ? { type: 'edit', key: v.key, input: v.input } : undefined;
    case 'reveal':
      return hasKeys(v, 'type', 'key', 'line') && (v.key === null || isKey(v.key)) && isLine(v.line) ? { type: 'reveal', key: v.key, line: v.line } : undefined;
    case 'run':
      return hasKeys(v, 'type', 'action') && (v.action === 'estimate' || v.action === 'launch' || v.action === 'text') ? { type: 'run', action: v.action } : undefined;
    default:
      return undefined;
  }
}

const isStr = (v: unknown, max = 20_000): v is string => typeof v === 'string' && v.length <= max;
const isStrings = (v: unknown): v is string[] => Array.isArray(v) && v.length <= 200 && v.every((s) => isStr(s));

function isFormState(v: unknown): v is FormState {
  if (!isObj(v)) return false;
  if (v.ok === false) return hasKeys(v, 'ok', 'line', 'message') && typeof v.line === 'number' && isStr(v.message);
  return v.ok === true && hasKeys(v, 'ok', 'values', 'written', 'odd') && isObj(v.values) && isObj(v.written)
    && Object.values(v.written).every((w) => isStr(w, 200)) && isStrings(v.odd);
}

const isProblem = (v: unknown): v is FieldProblem => isObj(v) && hasKeys(v, 'key', 'severity', 'message', 'source')
  && (v.key === null || isStr(v.key, 200)) && (v.severity === 'error' || v.severity === 'warning' || v.severity === 'info')
  && isStr(v.message) && (v.source === 'schema' || v.source === 'agent');

const isEstimate = (v: unknown): v is EstimateLine => isObj(v) && hasKeys(v, 'state', 'icon', 'text', 'short', 'tooltip', 'facts')
  && isStr(v.state, 20) && isStr(v.icon, 40) && isStr(v.text) && isStr(v.short) && isStr(v.tooltip) && isStrings(v.facts);

export function parseHostMessage(v: unknown): HostMessage | undefined {
  if (!isObj(v)) return undefined;
  switch (v.type) {
    case 'state':
      return hasKeys(v, 'type', 'fileName', 'form', 'problems', 'estimate', 'editable') && isStr(v.fileName, 1000) && isFormState(v.form)
        && Array.isArray(v.problems) && v.problems.length <= 1000 && v.problems.every(isProblem) && isEstimate(v.estimate) && typeof v.editable === 'boolean'
        ? { type: 'state', fileName: v.fileName, form: v.form, problems: v.problems, estimate: v.estimate, editable: v.editable } : undefined;
    case 'refused':
      return hasKeys(v, 'type', 'key', 'message') && isKey(v.key) && isStr(v.message) ? { type: 'refused', key: v.key, message: v.message } : undefined;
    default:
      return undefined;
  }
}
