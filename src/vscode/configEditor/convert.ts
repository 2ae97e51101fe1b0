// Core's offsets and severities as VS Code's ranges and severities.
import * as vscode from 'vscode';
import type { ConfigDiagnostic, Severity } from '../../core/configEditor/diagnostics';
import type { TextRange } from '../../core/configEditor/yamlNodes';
import { CONFIG_PATTERN } from '../configFiles';

export const CONFIG_SELECTOR: vscode.DocumentSelector = [{ pattern: '**/*.tunelab.{yaml,yml}' }];

/** Schemes of older versions or views of a file (diff editors, timelines, Compare with…'s normalised sides): not being edited. */
const VERSION_SCHEMES = new Set(['git', 'gitfs', 'vscode-scm', 'vscode-local-history', 'tunelab-config']);

export function isRunConfig(doc: vscode.TextDocument): boolean {
  return CONFIG_PATTERN.test(doc.uri.path) && !VERSION_SCHEMES.has(doc.uri.scheme);
}

export function toRange(doc: vscode.TextDocument, r: TextRange): vscode.Range {
  return new vscode.Range(doc.positionAt(r.start), doc.positionAt(r.end));
}

const SEVERITY: Record<Severity, vscode.DiagnosticSeverity> = {
  error: vscode.DiagnosticSeverity.Error,
  warning: vscode.DiagnosticSeverity.Warning,
  info: vscode.DiagnosticSeverity.Information,
};

/** Diagnostics from the agent are told apart from the editor's own, which need no agent. */
export const SOURCE = 'tunelab';
export const AGENT_SOURCE = 'tunelab agent';

export function toDiagnostic(doc: vscode.TextDocument, d: ConfigDiagnostic): vscode.Diagnostic {
  const out = new vscode.Diagnostic(toRange(doc, d.range), d.message, SEVERITY[d.severity]);
  out.source = d.code === 'agent' ? AGENT_SOURCE : SOURCE;
  out.code = d.code;
  return out;
}
