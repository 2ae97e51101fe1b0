// The hosts a person can train on: every concrete Host in their ssh config, plus hosts defined in the
// extension's settings (tunelab.remoteHosts). A settings entry with the same name as an ssh config host adds
// to it (its Python, agent root, pip index) and overrides whatever connection fields it sets.
import { expandHome } from '../homePath';
import { loadSshHosts, parseJumpHop, resolveHost, type ResolvedHost, type SshConfigOptions } from './sshConfig';

/** One entry of tunelab.remoteHosts, as the user wrote it (validated by hostSettingsProblems). */
export interface HostSettings {
  hostName?: string;
  user?: string;
  port?: number;
  identityFile?: string | string[];
  proxyJump?: string;
  /** The interpreter for the agent on this host: a python executable, or a venv/conda env folder. */
  python?: string;
  /** Where the agent keeps its runs on this host; default ~/.tunelab there. */
  agentRoot?: string;
  /** The host's own package index for installing the agent (PIP_INDEX_URL). */
  pipIndexUrl?: string;
}

export type HostSettingsMap = Record<string, HostSettings>;

export interface HostChoice {
  name: string;
  /** Where the host comes from, for the picker: "~/.ssh/config", "settings", or both. */
  source: 'ssh-config' | 'settings' | 'ssh-config + settings';
  /** user@host:port as it will be reached. */
  detail: string;
}

const STRING_KEYS = ['hostName', 'user', 'proxyJump', 'python', 'agentRoot', 'pipIndexUrl'] as const;

/** Problems in tunelab.remoteHosts, each naming the entry and key; an entry with problems is left out. */
export function hostSettingsProblems(name: string, entry: unknown): string[] {
  const where = `tunelab.remoteHosts["${name}"]`;
  if (!name || /\s/.test(name)) return [`${where}: a host name cannot be empty or contain spaces`];
  if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) return [`${where}: expected an object such as { "hostName": "10.0.0.5", "user": "me" }`];
  const e = entry as Record<string, unknown>;
  const problems: string[] = [];
  for (const key of STRING_KEYS) {
    if (e[key] !== undefined && (typeof e[key] !== 'string' || !(e[key] as string).trim())) problems.push(`${where}.${key}: expected a non-empty string`);
  }
  if (e.port !== undefined && !(Number.isInteger(e.port) && (e.port as number) > 0 && (e.port as number) < 65536)) problems.push(`${where}.port: expected a port number 1-65535`);
  const id = e.identityFile;
  if (id !== undefined && typeof id !== 'string' && !(Array.isArray(id) && id.every((x) => typeof x === 'string'))) problems.push(`${where}.identityFile: expected a path or a list of paths`);
  const known = new Set<string>([...STRING_KEYS, 'port', 'identityFile']);
  for (const key of Object.keys(e)) if (!known.has(key)) problems.push(`${where}: unknown key "${key}" (known: ${[...known].join(', ')})`);
  return problems;
}

/** The valid entries of tunelab.remoteHosts, and a message for each problem found. */
export function readHostSettings(raw: unknown): { hosts: HostSettingsMap; problems: string[] } {
  const hosts: HostSettingsMap = {};
  const problems: string[] = [];
  if (raw === undefined || raw === null) return { hosts, problems };
  if (typeof raw !== 'object' || Array.isArray(raw)) return { hosts, problems: ['tunelab.remoteHosts: expected an object of host name → settings'] };
  for (const [name, entry] of Object.entries(raw)) {
    const found = hostSettingsProblems(name, entry);
    if (found.length) problems.push(...found);
    else hosts[name] = entry as HostSettings;
  }
  return { hosts, problems };
}

/** Every host to offer, ssh config hosts first (in file order), then settings-only hosts. */
export function listHosts(configPath: string | undefined, settings: HostSettingsMap, opts: SshConfigOptions = {}): HostChoice[] {
  const fromConfig = loadSshHosts(configPath, opts);
  const names = [...fromConfig, ...Object.keys(settings).filter((n) => !fromConfig.includes(n) && settings[n].hostName)];
  return names.map((name) => {
    const target = resolveTarget(name, configPath, settings, opts);
    const inConfig = fromConfig.includes(name);
    return {
      name,
      source: inConfig && settings[name] ? 'ssh-config + settings' : inConfig ? 'ssh-config' : 'settings',
      detail: `${target.user}@${target.hostName}:${target.port}${target.jumpHosts.length ? ` via ${target.jumpHosts.map((h) => h.alias).join(' → ')}` : ''}`,
    };
  });
}

/**
 * How to reach `name`: resolved through the ssh config as `ssh name` would, then with the connection fields of its
 * settings entry on top. Jump hops named in settings are resolved through the ssh config too.
 */
export function resolveTarget(name: string, configPath: string | undefined, settings: HostSettingsMap, opts: SshConfigOptions = {}): ResolvedHost {
  const base = resolveHost(name, configPath, opts);
  const s = settings[name];
  if (!s) return base;
  const identityFiles = s.identityFile === undefined ? base.identityFiles : (Array.isArray(s.identityFile) ? s.identityFile : [s.identityFile]).map((p) => expandHome(p, opts.homeDir));
  const target: ResolvedHost = {
    ...base,
    hostName: s.hostName ?? base.hostName,
    user: s.user ?? base.user,
    port: s.port ?? base.port,
    identityFiles,
    // A key named in settings is the one meant: do not offer every key in the agent first.
    identitiesOnly: s.identityFile !== undefined || base.identitiesOnly,
  };
  if (s.proxyJump !== undefined) {
    const hops = s.proxyJump.split(',').map((h) => h.trim()).filter(Boolean);
    target.proxyJump = hops;
    target.proxyCommand = undefined;
    // As in resolveHost: a hop's own jumps come before it, so the list is in connection order.
    target.jumpHosts = hops.flatMap((hop) => {
      const p = parseJumpHop(hop);
      const resolved = resolveHost(p.host, configPath, opts);
      return [...resolved.jumpHosts, { ...resolved, user: p.user ?? resolved.user, port: p.port ? Number(p.port) : resolved.port }];
    });
  }
  return target;
}
