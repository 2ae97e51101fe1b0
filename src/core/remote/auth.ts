// Logging in, in the order OpenSSH uses: the ssh-agent, then each IdentityFile, then keyboard-interactive and
// password. Every step is recorded so that a failed login can say exactly what was tried and why each failed.
// Secrets come from the ConnectUi (the VS Code side asks and may keep them in SecretStorage); nothing here
// stores them.
import { readFileSync } from 'node:fs';
import { OpenSSHAgent, utils, type AuthenticationType, type AuthHandlerMiddleware, type IdentityCallback, type NextAuthHandler, type ParsedKey, type Prompt } from 'ssh2';
import type { OtherKnownKey } from './knownHosts';
import type { ResolvedHost } from './sshConfig';

/** The questions a connection may need answered by a person. Every answer may be undefined: cancelled. */
export interface ConnectUi {
  /** The passphrase of an encrypted private key. attempt 2 follows a wrong one (a stored secret should be dropped). */
  passphrase(keyPath: string, info: { attempt: number; previousWasWrong: boolean }): Promise<string | undefined>;
  /** A password or a keyboard-interactive answer (echo: the server says the answer may be shown, e.g. a user name). */
  password(prompt: string, info: { user: string; host: string; attempt: number; echo: boolean }): Promise<string | undefined>;
  /** A host key that no known_hosts file lists; true to trust it (it is then added to the user's known_hosts). */
  confirmUnknownHost(host: string, fingerprint: string, info: { keyType: string; otherKnownKeys: OtherKnownKey[]; addTo?: string }): Promise<boolean>;
  /** Called when an answer proved right, so the UI may keep it (if the user agreed). */
  secretWorked?(secret: { kind: 'passphrase'; keyPath: string } | { kind: 'password'; user: string; host: string }): void;
}

/** Thrown out of the login when the person cancelled a question: no further method is tried. */
export class LoginCancelled extends Error {
  constructor(what: string) {
    super(`${what} was cancelled`);
    this.name = 'LoginCancelled';
  }
}

/** OpenSSH's NumberOfPasswordPrompts. */
const PASSWORD_ATTEMPTS = 3;
/** A wrong passphrase is asked again once. */
const PASSPHRASE_ATTEMPTS = 2;

type Step =
  | { kind: 'none' }
  | { kind: 'agent'; socket: string }
  | { kind: 'key'; path: string }
  | { kind: 'keyboard-interactive' }
  | { kind: 'password' };

export interface LoginHooks {
  /** Wraps every wait for the person, so the caller's timeout does not run while they type. */
  waitForUser<T>(question: Promise<T>): Promise<T>;
  /** One line per step tried, for an output channel ("trying key ~/.ssh/id_ed25519"). */
  onStep?(line: string): void;
}

export interface Login {
  authHandler: AuthHandlerMiddleware;
  /** True once every method has been tried (ssh2 then reports "All configured authentication methods failed"). */
  readonly exhausted: boolean;
  /** Set when the person cancelled a question. */
  readonly cancelled?: LoginCancelled;
  /** The method that was in flight when the server said yes. */
  succeeded(): void;
  /** Notes an ssh2 error that does not end the login (agent unreachable, a key that cannot sign). */
  noteError(err: Error & { level?: string }): void;
  /** What was tried and how each failed, for the final error. */
  triedSummary(): string;
  /** The methods the server said it accepts (after the first refusal). */
  serverMethods(): string[] | undefined;
}

/** The agent socket OpenSSH would use for this host: IdentityAgent, else SSH_AUTH_SOCK; none when disabled. */
export function agentSocketFor(target: ResolvedHost, env: NodeJS.ProcessEnv): string | undefined {
  const setting = target.identityAgent;
  if (setting && setting.toLowerCase() === 'none') return undefined;
  if (setting && setting !== 'SSH_AUTH_SOCK') return setting;
  return env.SSH_AUTH_SOCK || undefined;
}

/**
 * An agent that offers only some of its keys (IdentitiesOnly yes: the ones whose public half matches an
 * IdentityFile) and counts what it offered, for the failure message.
 */
class CountingAgent extends OpenSSHAgent {
  offered = 0;
  total = 0;
  constructor(socket: string, private readonly allowed: Buffer[] | undefined) {
    super(socket);
  }
  override getIdentities(cb: IdentityCallback<ParsedKey>): void {
    super.getIdentities((err, keys) => {
      if (err || !keys) return cb(err ?? new Error('the agent listed no keys'));
      this.total = keys.length;
      const usable = this.allowed ? keys.filter((k) => this.allowed!.some((blob) => blob.equals(identityBlob(k)))) : keys;
      this.offered = usable.length;
      cb(undefined, usable);
    });
  }
}

/** The wire-format public key of one agent identity (ssh2 hands out parsed keys, its types allow entries). */
function identityBlob(identity: Parameters<IdentityCallback<ParsedKey>>[1] extends (infer T)[] | undefined ? T : never): Buffer {
  if ('getPublicSSH' in identity) return identity.getPublicSSH();
  const inner = 'getPublicSSH' in identity.pubKey ? identity.pubKey : identity.pubKey.pubKey;
  if (Buffer.isBuffer(inner)) return inner;
  if (typeof inner === 'string') return Buffer.alloc(0);
  return inner.getPublicSSH();
}

/** ssh2 takes false for "no more methods"; its types leave that out. */
function giveUp(next: NextAuthHandler): void {
  (next as unknown as (auth: false) => void)(false);
}

/** The public key blob of an IdentityFile, from its .pub (as ssh does) or an unencrypted private key. */
function publicBlobOf(keyPath: string): Buffer | undefined {
  for (const [file, passphrase] of [[`${keyPath}.pub`, undefined], [keyPath, undefined]] as const) {
    try {
      const parsed = utils.parseKey(readFileSync(file), passphrase);
      const key = Array.isArray(parsed) ? parsed[0] : parsed;
      if (!(key instanceof Error)) return key.getPublicSSH();
    } catch {
      // missing or unreadable: try the next source
    }
  }
  return undefined;
}

function isWrongPassphrase(err: Error): boolean {
  return /bad passphrase|integrity check failed|bad decrypt/i.test(err.message);
}

function needsPassphrase(err: Error): boolean {
  return /no passphrase given/i.test(err.message);
}

function firstKey(parsed: ParsedKey | ParsedKey[] | Error): ParsedKey | Error {
  return Array.isArray(parsed) ? parsed[0] ?? new Error('the file holds no key') : parsed;
}

/**
 * Builds the ssh2 authHandler for one host. ssh2 calls it again after each refusal; each call moves to the
 * next step, so the previous step is known to have failed. The first step is "none", as in OpenSSH: the
 * server's answer lists the methods it accepts, so no passphrase is asked for when keys are not accepted.
 */
export function createLogin(target: ResolvedHost, ui: ConnectUi, hooks: LoginHooks, env: NodeJS.ProcessEnv = process.env): Login {
  const where = `${target.user}@${target.hostName}${target.port === 22 ? '' : `:${target.port}`}`;
  const agentSocket = agentSocketFor(target, env);
  const steps: Step[] = [{ kind: 'none' }];
  if (agentSocket) steps.push({ kind: 'agent', socket: agentSocket });
  for (const path of target.identityFiles) steps.push({ kind: 'key', path });
  steps.push({ kind: 'keyboard-interactive' }, { kind: 'password' });

  const tried: string[] = [];
  let index = -1;
  let current: { step: Step; describe: string; agent?: CountingAgent; passwordAsked?: boolean } | undefined;
  let methods: string[] | undefined;
  let exhausted = false;
  let cancelled: LoginCancelled | undefined;
  let passwordAttempts = 0;
  let keyboardAttempts = 0;
  const stepNotes = new Map<number, string>();

  const finishCurrent = () => {
    if (!current) return;
    const note = stepNotes.get(index);
    const kind = current.step.kind;
    // Password-style attempts are counted and summed up in triedSummary().
    if (kind === 'none' || kind === 'password' || kind === 'keyboard-interactive') {
      current = undefined;
      return;
    }
    if (current.agent) {
      const { offered, total } = current.agent;
      tried.push(note ?? (total === 0 ? 'ssh-agent (it holds no keys)'
        : offered === 0 ? `ssh-agent (none of its ${total} keys matches an IdentityFile, and IdentitiesOnly is set)`
          : `ssh-agent (${offered} key${offered === 1 ? '' : 's'} offered, refused by the server)`));
    } else {
      tried.push(`${current.describe} (${note ?? 'refused by the server'})`);
    }
    current = undefined;
  };

  const allows = (method: AuthenticationType) => !methods || methods.includes(method);

  const ask = async <T>(question: () => Promise<T>): Promise<T> => hooks.waitForUser(question());

  /** Reads and, when needed, decrypts an IdentityFile; undefined (with the reason noted) when it cannot be used. */
  const loadKey = async (path: string): Promise<ParsedKey | undefined> => {
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch (err) {
      tried.push(`key ${path} (cannot read it: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
      return undefined;
    }
    let key = firstKey(utils.parseKey(data));
    if (key instanceof Error && needsPassphrase(key)) {
      for (let attempt = 1; attempt <= PASSPHRASE_ATTEMPTS; attempt++) {
        const passphrase = await ask(() => ui.passphrase(path, { attempt, previousWasWrong: attempt > 1 }));
        if (passphrase === undefined) throw new LoginCancelled(`The passphrase question for ${path}`);
        key = firstKey(utils.parseKey(data, passphrase));
        if (!(key instanceof Error)) {
          ui.secretWorked?.({ kind: 'passphrase', keyPath: path });
          break;
        }
        if (!isWrongPassphrase(key)) break;
        if (attempt === PASSPHRASE_ATTEMPTS) {
          tried.push(`key ${path} (wrong passphrase, asked ${PASSPHRASE_ATTEMPTS} times)`);
          return undefined;
        }
      }
    }
    if (key instanceof Error) {
      tried.push(`key ${path} (not a private key that can be used: ${key.message})`);
      return undefined;
    }
    if (!key.isPrivateKey()) {
      tried.push(`key ${path} (holds no private key)`);
      return undefined;
    }
    return key;
  };

  const promptAll = (prompts: Prompt[], attempt: number, finish: (answers: string[]) => void) => {
    (async () => {
      const answers: string[] = [];
      for (const p of prompts) {
        const answer = await ask(() => ui.password(p.prompt.trim() || `Password for ${where}`, { user: target.user, host: target.hostName, attempt, echo: !!p.echo }));
        if (answer === undefined) throw new LoginCancelled(`The login question "${p.prompt.trim()}" for ${where}`);
        answers.push(answer);
      }
      finish(answers);
    })().catch((err) => {
      cancelled = err instanceof LoginCancelled ? err : new LoginCancelled(`The login of ${where}`);
      // An empty answer set ends this round; the handler then stops on `cancelled`.
      finish([]);
    });
  };

  /** Picks the next step that applies and hands it to ssh2 (false: nothing left). */
  const advance = async (next: NextAuthHandler) => {
    for (;;) {
      if (cancelled) {
        exhausted = true;
        return giveUp(next);
      }
      const step = current?.step;
      // Password-style methods may be retried before moving on.
      const retry = step && ((step.kind === 'password' && passwordAttempts < PASSWORD_ATTEMPTS && allows('password'))
        || (step.kind === 'keyboard-interactive' && keyboardAttempts < PASSWORD_ATTEMPTS && allows('keyboard-interactive')));
      if (!retry) {
        finishCurrent();
        index += 1;
      }
      if (index >= steps.length) {
        exhausted = true;
        return giveUp(next);
      }
      const s = steps[index];
      const username = target.user;
      if (s.kind === 'none') {
        current = { step: s, describe: 'none' };
        return next({ type: 'none', username });
      }
      if (s.kind === 'agent') {
        if (!allows('publickey')) { stepNotes.set(index, 'ssh-agent (the server does not accept keys)'); current = { step: s, describe: 'ssh-agent' }; finishCurrent(); continue; }
        const allowed = target.identitiesOnly ? target.identityFiles.map(publicBlobOf).filter((b): b is Buffer => !!b) : undefined;
        const agent = new CountingAgent(s.socket, allowed);
        current = { step: s, describe: 'ssh-agent', agent };
        hooks.onStep?.(`trying the keys in ssh-agent (${s.socket})`);
        return next({ type: 'agent', username, agent });
      }
      if (s.kind === 'key') {
        current = undefined;
        if (!allows('publickey')) { tried.push(`key ${s.path} (the server does not accept keys)`); continue; }
        const key = await loadKey(s.path);
        if (!key) continue;
        current = { step: s, describe: `key ${s.path}` };
        hooks.onStep?.(`trying key ${s.path}`);
        return next({ type: 'publickey', username, key });
      }
      if (s.kind === 'keyboard-interactive') {
        if (!allows('keyboard-interactive') || methods === undefined) {
          current = undefined;
          continue;
        }
        keyboardAttempts += 1;
        const attempt = keyboardAttempts;
        current = { step: s, describe: 'keyboard-interactive' };
        hooks.onStep?.('trying keyboard-interactive');
        return next({ type: 'keyboard-interactive', username, prompt: (_name, _instructions, _lang, prompts, finish) => promptAll(prompts, attempt, finish) });
      }
      if (!allows('password') || methods === undefined) {
        current = undefined;
        continue;
      }
      passwordAttempts += 1;
      const password = await ask(() => ui.password(`Password for ${where}`, { user: target.user, host: target.hostName, attempt: passwordAttempts, echo: false }));
      if (password === undefined) {
        cancelled = new LoginCancelled(`The password question for ${where}`);
        continue;
      }
      current = { step: s, describe: 'password', passwordAsked: true };
      hooks.onStep?.('trying a password');
      return next({ type: 'password', username, password });
    }
  };

  const authHandler: AuthHandlerMiddleware = (methodsLeft, _partialSuccess, next) => {
    if (Array.isArray(methodsLeft)) methods = methodsLeft;
    advance(next).catch((err) => {
      cancelled = err instanceof LoginCancelled ? err : new LoginCancelled(`The login of ${where} (${(err as Error).message})`);
      exhausted = true;
      giveUp(next);
    });
  };

  return {
    authHandler,
    get exhausted() { return exhausted; },
    get cancelled() { return cancelled; },
    succeeded() {
      if (current?.passwordAsked) ui.secretWorked?.({ kind: 'password', user: target.user, host: target.hostName });
    },
    noteError(err) {
      if (current) stepNotes.set(index, current.agent ? `ssh-agent (${err.message})` : err.message);
    },
    triedSummary() {
      finishCurrent();
      const passwordNotes: string[] = [];
      if (passwordAttempts) passwordNotes.push(`password (${passwordAttempts} attempt${passwordAttempts === 1 ? '' : 's'}, refused)`);
      if (keyboardAttempts) passwordNotes.push(`keyboard-interactive (${keyboardAttempts} attempt${keyboardAttempts === 1 ? '' : 's'}, refused)`);
      const all = [...tried, ...passwordNotes];
      return all.length ? all.join('; ') : 'nothing (no agent, no IdentityFile, and the server accepts neither password nor keyboard-interactive)';
    },
    serverMethods: () => methods,
  };
}
