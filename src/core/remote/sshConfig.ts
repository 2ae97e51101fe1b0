// Reads the user's OpenSSH client config (~/.ssh/config) the way `ssh` does, so a host that works in a
// terminal works here: first value wins, Host/Match blocks, Include (relative to ~/.ssh, globs), percent
// and ~ expansion, ProxyJump chains. The `ssh-config` package tokenizes each line; the evaluation is ours
// because its compute() does not follow Include, ignores keyword case, treats `?` as "zero or one" and
// has no line numbers for errors. `Match exec` is never run: a config file must not run commands here.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { homedir, hostname as localHostName, userInfo } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { parse as parseSshConfigText } from 'ssh-config';
import { expandHome } from '../homePath';

export interface SshConfigOptions {
  /** Stands in for ~ (tests point it at a temp folder). Default: the OS home folder. */
  homeDir?: string;
  /** The local user name (%u, Match localuser, default User). Default: the OS user. */
  localUser?: string;
}

export interface ResolvedHost {
  /** The name the user picked (the Host alias, or a plain host name). */
  alias: string;
  /** Where to connect (HostName, %h expanded; the alias when unset). */
  hostName: string;
  user: string;
  port: number;
  /** IdentityFile values, expanded; else the default keys that exist (~/.ssh/id_rsa, id_ecdsa, id_ed25519). */
  identityFiles: string[];
  /** IdentitiesOnly yes: offer only identityFiles, not every key in the agent. */
  identitiesOnly: boolean;
  /** IdentityAgent, expanded ("none" disables the agent); undefined: SSH_AUTH_SOCK. */
  identityAgent?: string;
  /** The ProxyJump hops as written ([user@]host[:port] or ssh://...), in order; [] when none. */
  proxyJump: string[];
  /**
   * Every host to pass through before this one, in connection order, each resolved through the same config
   * (a hop's own ProxyJump comes before it). Explicit user/port in a hop override the hop's config.
   */
  jumpHosts: ResolvedHost[];
  /** ProxyCommand when the config sets one (ssh2 cannot run it; callers say so). */
  proxyCommand?: string;
  /** UserKnownHostsFile values, expanded; default ~/.ssh/known_hosts, ~/.ssh/known_hosts2. */
  userKnownHostsFiles: string[];
  /** HostKeyAlias: the name to look up in known_hosts instead of hostName. */
  hostKeyAlias?: string;
  /** The first non-wildcard Host line naming the alias, for messages ("from ~/.ssh/config Host x"). */
  definedAt?: { file: string; line: number };
  /** Things in the config that were skipped on purpose (Match exec, unsupported Match criteria). */
  warnings: string[];
}

/** A config problem, named by file and line as OpenSSH does. */
export class SshConfigError extends Error {
  /** A reconnect loop cannot fix the file; the person has to. */
  readonly retryable = false;
  constructor(readonly file: string, readonly line: number, readonly problem: string) {
    super(`${file} line ${line}: ${problem}`);
    this.name = 'SshConfigError';
  }
}

/** OpenSSH's limit on nested Include (READCONF_MAX_DEPTH). */
const MAX_INCLUDE_DEPTH = 16;
const MAX_JUMP_DEPTH = 8;
/** Directives that add to a list instead of keeping the first value. */
const REPEATABLE = new Set(['identityfile', 'certificatefile', 'localforward', 'remoteforward', 'dynamicforward', 'sendenv', 'setenv']);
const IGNORED_MATCH_CRITERIA = new Set(['tagged', 'localnetwork', 'sessiontype', 'command', 'version']);

interface ConfigLine {
  file: string;
  line: number;
  /** Lower-case keyword. */
  keyword: string;
  /** The value as one string (quotes removed) and split into words (for Host, Include, Match, ...). */
  value: string;
  words: string[];
}

interface Setting {
  value: string;
  words: string[];
  file: string;
  line: number;
}

interface Environment {
  home: string;
  localUser: string;
}

function environmentOf(opts: SshConfigOptions): Environment {
  return { home: opts.homeDir ?? homedir(), localUser: opts.localUser ?? userInfo().username };
}

export function defaultSshConfigPath(opts: SshConfigOptions = {}): string {
  return join(environmentOf(opts).home, '.ssh', 'config');
}

/** Parses one file into its directive lines. A missing file is an empty config, as for ssh. */
function readConfigLines(file: string): ConfigLine[] {
  if (!existsSync(file)) return [];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new SshConfigError(file, 0, `cannot read it (${(err as Error).message})`);
  }
  const out: ConfigLine[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const line = index + 1;
    const trimmed = raw.trim();
    if (!trimmed || trimmed.startsWith('#')) return;
    const bare = /^([^\s=]+)\s*(=\s*)?$/.exec(trimmed);
    if (bare) throw new SshConfigError(file, line, `"${bare[1]}" has no value`);
    let parsed: ReturnType<typeof parseSshConfigText>;
    try {
      // One line at a time: ssh_config has no multi-line constructs, and this gives every error its line.
      parsed = parseSshConfigText(trimmed);
    } catch (err) {
      throw new SshConfigError(file, line, `cannot parse "${trimmed}": ${(err as Error).message}`);
    }
    const directive = parsed.find((l) => l.type === 1 /* DIRECTIVE */);
    if (!directive || !('param' in directive)) return;
    const words = typeof directive.value === 'string' ? [directive.value] : directive.value.map((v) => v.val);
    const value = typeof directive.value === 'string' ? directive.value : words.join(' ');
    if (!value) throw new SshConfigError(file, line, `"${directive.param}" has no value`);
    out.push({ file, line, keyword: directive.param.toLowerCase(), value, words });
  });
  return out;
}

/** One OpenSSH pattern: `*` is any run of characters, `?` exactly one. Host names compare case-insensitively. */
function matchesPattern(pattern: string, text: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 'i').test(text);
}

/** A pattern list: true when a positive pattern matches and no negated one (`!pattern`) does. */
function matchesPatternList(patterns: string[], text: string): boolean {
  let matched = false;
  for (const p of patterns) {
    if (p.startsWith('!')) {
      if (matchesPattern(p.slice(1), text)) return false;
    } else if (matchesPattern(p, text)) matched = true;
  }
  return matched;
}

function isConcreteAlias(pattern: string): boolean {
  return !/[*?!]/.test(pattern);
}

/** Expands Include arguments: ~, relative to ~/.ssh, and glob(3)-style wildcards in any path segment. */
function includedFiles(arg: string, env: Environment): string[] {
  let path = expandHome(arg, env.home);
  if (!isAbsolute(path)) path = join(env.home, '.ssh', path);
  const segments = path.split('/').filter(Boolean);
  let candidates = ['/'];
  for (const [i, segment] of segments.entries()) {
    const last = i === segments.length - 1;
    const next: string[] = [];
    for (const base of candidates) {
      if (!/[*?[]/.test(segment)) {
        next.push(join(base, segment));
        continue;
      }
      const re = new RegExp(`^${segment.replace(/[.+^${}()|\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
      let names: string[] = [];
      try {
        names = readdirSync(base).sort();
      } catch {
        // not a readable folder: no match, as glob(3)
      }
      // Like glob(3): a wildcard does not match a leading dot.
      for (const name of names) if (re.test(name) && (segment.startsWith('.') || !name.startsWith('.'))) next.push(join(base, name));
    }
    candidates = last ? next : next.filter((p) => isDirectory(p));
  }
  return candidates.filter((p) => existsSync(p) && !isDirectory(p));
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/**
 * Walks the config in OpenSSH's order, calling onLine for each directive with whether it applies. Include
 * is followed where it stands; an included file starts in the including block's state, which is restored
 * after it (readconf.c does the same).
 */
function walkConfig(file: string, env: Environment, onLine: (line: ConfigLine, active: boolean) => boolean, followInactiveIncludes: boolean): void {
  const walk = (path: string, depth: number, state: { active: boolean }, chain: string[]) => {
    for (const line of readConfigLines(path)) {
      if (line.keyword === 'host' || line.keyword === 'match') {
        state.active = onLine(line, true);
      } else if (line.keyword === 'include') {
        if (!state.active && !followInactiveIncludes) continue;
        if (depth >= MAX_INCLUDE_DEPTH) throw new SshConfigError(line.file, line.line, `too many nested Include (more than ${MAX_INCLUDE_DEPTH}; is there a loop through ${chain.join(' → ')}?)`);
        const outer = state.active;
        for (const arg of line.words) {
          for (const included of includedFiles(arg, env)) {
            walk(included, depth + 1, state, [...chain, included]);
          }
        }
        state.active = outer;
      } else {
        onLine(line, state.active);
      }
    }
  };
  walk(file, 0, { active: true }, [file]);
}

/** The concrete Host aliases (no wildcards or negations) in file order, Include followed, for a picker. */
export function loadSshHosts(configPath?: string, opts: SshConfigOptions = {}): string[] {
  const env = environmentOf(opts);
  const aliases: string[] = [];
  walkConfig(configPath ?? defaultSshConfigPath(opts), env, (line) => {
    if (line.keyword === 'host') for (const p of line.words) if (isConcreteAlias(p) && !aliases.includes(p)) aliases.push(p);
    return true;
  }, true);
  return aliases;
}

interface PercentContext {
  env: Environment;
  alias: string;
  hostName: string;
  remoteUser: string;
  port: number;
  hostKeyAlias?: string;
}

/** OpenSSH's ~ and %-token expansion for file paths (IdentityFile, UserKnownHostsFile, IdentityAgent). */
function expandPath(setting: Setting, value: string, ctx: PercentContext): string {
  const tokens: Record<string, () => string> = {
    '%': () => '%',
    d: () => ctx.env.home,
    u: () => ctx.env.localUser,
    h: () => ctx.hostName,
    n: () => ctx.alias,
    r: () => ctx.remoteUser,
    p: () => String(ctx.port),
    l: () => localHostName().split('.')[0],
    L: () => localHostName(),
    i: () => String(process.getuid?.() ?? ''),
    k: () => ctx.hostKeyAlias ?? ctx.hostName,
    C: () => createHash('sha1').update(`${localHostName()}${ctx.hostName}${ctx.port}${ctx.remoteUser}`).digest('hex'),
  };
  let out = value.replace(/%(.?)/g, (_, key: string) => {
    const expand = tokens[key];
    if (!expand) throw new SshConfigError(setting.file, setting.line, `unknown token %${key} in "${value}"`);
    return expand();
  });
  out = out.replace(/\$\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (_, name: string) => {
    const v = process.env[name];
    if (v === undefined) throw new SshConfigError(setting.file, setting.line, `environment variable ${name} (in "${value}") is not set`);
    return v;
  });
  return expandHome(out, ctx.env.home);
}

function parsePort(value: string, where: { file: string; line: number } | undefined, what: string): number {
  const port = Number(value);
  if (!/^\d+$/.test(value) || port < 1 || port > 65535) {
    const problem = `${what} "${value}" is not a port number (1-65535)`;
    if (where) throw new SshConfigError(where.file, where.line, problem);
    throw new Error(problem);
  }
  return port;
}

/** One ProxyJump hop: [user@]host[:port], [user@][ipv6]:port, or ssh://[user@]host[:port]. */
export function parseJumpHop(hop: string): { user?: string; host: string; port?: string } {
  const spec = hop.startsWith('ssh://') ? hop.slice('ssh://'.length).replace(/\/$/, '') : hop;
  const at = spec.lastIndexOf('@');
  const user = at >= 0 ? spec.slice(0, at) : undefined;
  const rest = at >= 0 ? spec.slice(at + 1) : spec;
  const bracketed = /^\[([^\]]+)\](?::(.*))?$/.exec(rest);
  const [host, port] = bracketed ? [bracketed[1], bracketed[2]] : rest.includes(':') ? [rest.slice(0, rest.lastIndexOf(':')), rest.slice(rest.lastIndexOf(':') + 1)] : [rest, undefined];
  if (!host || user === '' || port === '' || /[\s/]/.test(host)) throw new Error(`"${hop}" is not a jump host ([user@]host[:port])`);
  return { user, host, port };
}

/** Evaluates one Match line; exec is never run (a config file must not run commands in the editor). */
function matchApplies(line: ConfigLine, ctx: { alias: string; hostName: string | undefined; user: string | undefined; env: Environment; finalPass: boolean }, warnings: string[], wantFinal: { value: boolean }): boolean {
  const words = line.words;
  let result = true;
  for (let i = 0; i < words.length; ) {
    const raw = words[i];
    const negated = raw.startsWith('!');
    const keyword = (negated ? raw.slice(1) : raw).toLowerCase();
    let ok: boolean;
    if (keyword === 'all') {
      ok = true;
      i += 1;
    } else if (keyword === 'final' || keyword === 'canonical') {
      // Without canonicalization, the final pass is the only extra pass ssh would make.
      if (!ctx.finalPass) wantFinal.value = true;
      ok = ctx.finalPass;
      i += 1;
    } else {
      const arg = words[i + 1];
      if (arg === undefined) throw new SshConfigError(line.file, line.line, `Match ${raw} needs an argument`);
      i += 2;
      const list = arg.split(',');
      if (keyword === 'host') ok = matchesPatternList(list, ctx.hostName ?? ctx.alias);
      else if (keyword === 'originalhost') ok = matchesPatternList(list, ctx.alias);
      else if (keyword === 'user') ok = matchesPatternList(list, ctx.user ?? ctx.env.localUser);
      else if (keyword === 'localuser') ok = matchesPatternList(list, ctx.env.localUser);
      else if (keyword === 'exec') {
        warnings.push(`${line.file} line ${line.line}: Match exec was not run; the block is treated as not matching`);
        // Not run means not known: the block does not apply, negated or not.
        return false;
      } else if (IGNORED_MATCH_CRITERIA.has(keyword)) {
        warnings.push(`${line.file} line ${line.line}: Match ${keyword} is not supported; the block is treated as not matching`);
        return false;
      } else throw new SshConfigError(line.file, line.line, `unknown Match criterion "${raw}"`);
    }
    if (negated) ok = !ok;
    result &&= ok;
  }
  return result;
}

/** The settings that apply to alias, first value winning, over one or two passes (Match final). */
function collectSettings(alias: string, configPath: string, env: Environment, warnings: string[]): { settings: Map<string, Setting>; repeated: Map<string, Setting[]>; definedAt?: { file: string; line: number } } {
  const settings = new Map<string, Setting>();
  const repeated = new Map<string, Setting[]>();
  let definedAt: { file: string; line: number } | undefined;
  const wantFinal = { value: false };
  const pass = (finalPass: boolean) => {
    walkConfig(configPath, env, (line, active) => {
      if (line.keyword === 'host') {
        const hit = matchesPatternList(line.words, alias);
        if (hit && !definedAt && line.words.some((w) => isConcreteAlias(w) && w.toLowerCase() === alias.toLowerCase())) definedAt = { file: line.file, line: line.line };
        return hit;
      }
      if (line.keyword === 'match') {
        return matchApplies(line, { alias, hostName: settings.get('hostname')?.value.replace(/%h/g, alias), user: settings.get('user')?.value, env, finalPass }, finalPass ? [] : warnings, wantFinal);
      }
      if (!active) return active;
      const setting = { value: line.value, words: line.words, file: line.file, line: line.line };
      if (REPEATABLE.has(line.keyword)) {
        const list = repeated.get(line.keyword) ?? [];
        // The final pass reads the same lines again; keep each once.
        if (!list.some((s) => s.file === setting.file && s.line === setting.line)) list.push(setting);
        repeated.set(line.keyword, list);
      } else if (!settings.has(line.keyword)) settings.set(line.keyword, setting);
      return active;
    }, false);
  };
  pass(false);
  if (wantFinal.value) {
    pass(true);
  }
  return { settings, repeated, definedAt };
}

/**
 * Resolves alias as `ssh alias` would: HostName, User, Port, IdentityFile, ProxyJump (each hop resolved
 * through the same config), known_hosts files. A host that is in no Host block resolves to itself with
 * defaults. Errors name the config file and line.
 */
export function resolveHost(alias: string, configPath?: string, opts: SshConfigOptions = {}): ResolvedHost {
  return resolveWithChain(alias, configPath ?? defaultSshConfigPath(opts), environmentOf(opts), []);
}

function resolveWithChain(alias: string, configPath: string, env: Environment, chain: string[]): ResolvedHost {
  if (!alias || /\s/.test(alias)) throw new Error(`"${alias}" is not a host name or alias`);
  const warnings: string[] = [];
  const { settings, repeated, definedAt } = collectSettings(alias, configPath, env, warnings);
  const get = (k: string) => settings.get(k);

  const portSetting = get('port');
  const port = portSetting ? parsePort(portSetting.value, portSetting, 'Port') : 22;
  const user = get('user')?.value ?? env.localUser;
  const hostNameSetting = get('hostname');
  // %h in HostName is the alias (e.g. "HostName %h.example.com").
  const hostName = hostNameSetting ? hostNameSetting.value.replace(/%(.)/g, (_, k: string) => (k === 'h' ? alias : k === '%' ? '%' : `%${k}`)) : alias;
  const hostKeyAlias = get('hostkeyalias')?.value;
  const ctx: PercentContext = { env, alias, hostName, remoteUser: user, port, hostKeyAlias };

  const identitySettings = repeated.get('identityfile') ?? [];
  let identityFiles = identitySettings.filter((s) => s.value.toLowerCase() !== 'none').map((s) => expandPath(s, s.value, ctx));
  if (!identitySettings.length) {
    // OpenSSH's defaults, in its order, limited to key types ssh2 can use.
    identityFiles = ['id_rsa', 'id_ecdsa', 'id_ed25519'].map((name) => join(env.home, '.ssh', name)).filter((p) => existsSync(p));
  }
  identityFiles = [...new Set(identityFiles)];

  const knownHostsSetting = get('userknownhostsfile');
  const userKnownHostsFiles = knownHostsSetting
    ? knownHostsSetting.words.filter((w) => w.toLowerCase() !== 'none').map((w) => expandPath(knownHostsSetting, w, ctx))
    : [join(env.home, '.ssh', 'known_hosts'), join(env.home, '.ssh', 'known_hosts2')];

  const agentSetting = get('identityagent');
  const identityAgent = agentSetting
    ? agentSetting.value === 'SSH_AUTH_SOCK' || agentSetting.value.toLowerCase() === 'none' ? agentSetting.value : expandPath(agentSetting, agentSetting.value, ctx)
    : undefined;

  // ProxyJump and ProxyCommand exclude each other; whichever the config set first wins.
  const jumpSetting = get('proxyjump');
  const commandSetting = get('proxycommand');
  const jumpWins = jumpSetting && (!commandSetting || isEarlier(jumpSetting, commandSetting, configPath, env));
  const proxyJump = jumpWins && jumpSetting.value.toLowerCase() !== 'none' ? jumpSetting.value.split(',').map((h) => h.trim()).filter(Boolean) : [];
  const proxyCommand = !jumpWins && commandSetting && commandSetting.value.toLowerCase() !== 'none' ? commandSetting.value : undefined;

  const jumpHosts: ResolvedHost[] = [];
  for (const hop of proxyJump) {
    let parsed: ReturnType<typeof parseJumpHop>;
    try {
      parsed = parseJumpHop(hop);
    } catch (err) {
      throw new SshConfigError(jumpSetting!.file, jumpSetting!.line, `ProxyJump: ${(err as Error).message}`);
    }
    const nextChain = [...chain, alias];
    if (nextChain.map((a) => a.toLowerCase()).includes(parsed.host.toLowerCase()) || nextChain.length > MAX_JUMP_DEPTH) {
      throw new SshConfigError(jumpSetting!.file, jumpSetting!.line, `ProxyJump loops: ${[...nextChain, parsed.host].join(' → ')}`);
    }
    const resolvedHop = resolveWithChain(parsed.host, configPath, env, nextChain);
    if (parsed.user) resolvedHop.user = parsed.user;
    if (parsed.port) resolvedHop.port = parsePort(parsed.port, jumpSetting, `ProxyJump ${hop}: port`);
    // The hop's own jump hosts come first; the hop then connects through them.
    jumpHosts.push(...resolvedHop.jumpHosts, { ...resolvedHop, jumpHosts: [] });
    warnings.push(...resolvedHop.warnings);
  }

  return {
    alias, hostName, user, port, identityFiles,
    identitiesOnly: get('identitiesonly')?.value.toLowerCase() === 'yes',
    identityAgent, proxyJump, jumpHosts, proxyCommand, userKnownHostsFiles, hostKeyAlias, definedAt,
    warnings: [...new Set(warnings)],
  };
}

/** Whether setting a appears before setting b in the order the config is read. */
function isEarlier(a: Setting, b: Setting, configPath: string, env: Environment): boolean {
  if (a.file === b.file) return a.line < b.line;
  let order = 0;
  let aAt = -1;
  let bAt = -1;
  walkConfig(configPath, env, (line) => {
    order += 1;
    if (line.file === a.file && line.line === a.line && aAt < 0) aAt = order;
    if (line.file === b.file && line.line === b.line && bAt < 0) bAt = order;
    return true;
  }, true);
  return aAt >= 0 && (bAt < 0 || aAt < bAt);
}

