// The data files a config names, checked for existence next to the config (the VS Code layer passes the
// file system in), and the path a file picker returns, written back relative to the config.
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { isScalar } from 'yaml';
import type { ConfigDiagnostic } from './diagnostics';
import type { ParsedConfig } from './parse';
import { locate, rangeOf } from './yamlNodes';

/** Keys whose value is a data file the run reads: a missing one fails Start Run. */
export const FILE_KEYS = [['dataset', 'train'], ['dataset', 'eval']] as const;

/** A diagnostic for each data file that is not there, on its value, in the agent's words. */
export function missingFileDiagnostics(parsed: ParsedConfig, configDir: string, isFile: (path: string) => boolean): ConfigDiagnostic[] {
  const out: ConfigDiagnostic[] = [];
  for (const path of FILE_KEYS) {
    const at = locate(parsed.doc, [...path]);
    if (at.depth !== path.length || !isScalar(at.node) || typeof at.node.value !== 'string' || !at.node.value) continue;
    const full = resolve(configDir, at.node.value);
    if (isFile(full)) continue;
    const key = path.join('.');
    out.push({
      range: rangeOf(at.node)!, severity: 'error', key, code: 'missing-file',
      message: `${key}: file not found: ${full}`, data: { kind: 'missing-file', path: full },
    });
  }
  return out;
}

/** How a picked file is written in the config: relative to it with forward slashes, quoted when YAML needs it. */
export function configRelativePath(configDir: string, file: string): string {
  const rel = relative(configDir, file);
  const path = (isAbsolute(rel) ? rel : rel.split(sep).join('/')) || '.';
  return /^[\w./-][\w ./+@=-]*$/.test(path) && !/ $/.test(path) ? path : JSON.stringify(path);
}
