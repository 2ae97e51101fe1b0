// The identity of the agent's Python sources, computed the same way here and on a host, so an agent
// installed or running there is reused only when it runs exactly the code this extension ships.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

const PACKAGE = 'tunelab_agent';
const SHIPPED = /\.(py|json)$/;

/** Files of the agent package, as paths relative to the package folder with forward slashes, sorted. */
export function agentPackageFiles(agentSource: string): string[] {
  const top = join(agentSource, PACKAGE);
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.name === '__pycache__' || entry.name.startsWith('.')) continue;
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (SHIPPED.test(entry.name)) out.push(relative(top, path).split(sep).join('/'));
    }
  };
  walk(top);
  return out.sort();
}

/** sha256 over "<relative path>\0<sha256 of the file>\n" for each package file, in sorted order. */
export function agentSourceHash(agentSource: string): string {
  const whole = createHash('sha256');
  for (const rel of agentPackageFiles(agentSource)) {
    const file = createHash('sha256').update(readFileSync(join(agentSource, PACKAGE, ...rel.split('/')))).digest('hex');
    whole.update(`${rel}\0${file}\n`);
  }
  return whole.digest('hex');
}

/**
 * Python run on the host with the interpreter being checked: prints {"version", "hash"} of the
 * tunelab_agent it imports (same hash as agentSourceHash), or {"error"} when it has none.
 */
export const INSTALLED_AGENT_PROBE = [
  'import hashlib, json, os',
  'try:',
  '    import tunelab_agent',
  'except Exception as exc:',
  '    print(json.dumps({"error": "%s: %s" % (type(exc).__name__, exc)})); raise SystemExit(0)',
  'top = os.path.dirname(tunelab_agent.__file__)',
  'files = []',
  'for d, subdirs, names in os.walk(top):',
  '    subdirs[:] = [s for s in subdirs if s != "__pycache__" and not s.startswith(".")]',
  '    files += [os.path.relpath(os.path.join(d, n), top).replace(os.sep, "/") for n in names',
  '              if not n.startswith(".") and n.endswith((".py", ".json"))]',
  'whole = hashlib.sha256()',
  'for rel in sorted(files):',
  '    with open(os.path.join(top, rel), "rb") as f:',
  '        whole.update(("%s\\0%s\\n" % (rel, hashlib.sha256(f.read()).hexdigest())).encode())',
  'print(json.dumps({"version": tunelab_agent.__version__, "hash": whole.hexdigest()}))',
].join('\n');
