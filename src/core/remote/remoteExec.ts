// Runs commands on an SSH host from an argv array. sshd hands the command line to the user's login shell,
// so every argument is single-quoted here: a file name can never become shell syntax on the host.
import type { Client, ClientChannel } from 'ssh2';

export interface ExecResult {
  /** Exit status; null when the command died from a signal or the channel closed without one. */
  code: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  /** Written to the command's stdin, which is then closed. Without it stdin is closed at once. */
  stdin?: string | Buffer;
  signal?: AbortSignal;
}

/**
 * One argument for a POSIX shell (sh, bash, dash, zsh): single quotes keep everything literal, including
 * spaces, newlines, $(), backquotes and globs; an embedded ' is closed, escaped and reopened.
 */
export function shellQuote(arg: string): string {
  // A NUL cannot cross a command line at all; truncating it silently would run a different command.
  if (arg.includes('\0')) throw new Error(`argument contains a NUL byte and cannot be passed to a remote command: ${JSON.stringify(arg)}`);
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command line sshd runs for argv, each element quoted. */
export function commandLine(argv: readonly string[]): string {
  if (argv.length === 0) throw new Error('remote command is empty');
  return argv.map(shellQuote).join(' ');
}

/** Starts argv on the host and returns its channel, for callers that stream stdin/stdout themselves. */
export function execChannel(client: Client, argv: readonly string[]): Promise<ClientChannel> {
  const line = commandLine(argv);
  return new Promise((resolve, reject) => {
    client.exec(line, (err, channel) => (err ? reject(new Error(`cannot start \`${argv[0]}\` on the host: ${err.message}`)) : resolve(channel)));
  });
}

/** Exit status and signal of a channel, once it has closed. */
export function channelExit(channel: ClientChannel): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve) => {
    let code: number | null = null;
    let signal: string | null = null;
    // ssh2 reports the status in 'exit' (exit-status / exit-signal requests) before 'close'.
    channel.on('exit', (c: number | null, s?: string) => {
      code = typeof c === 'number' ? c : null;
      signal = s ?? null;
    });
    channel.on('close', () => resolve({ code, signal }));
  });
}

/** Runs argv on the host and collects its output (meant for short outputs; stream large ones with execChannel). */
export async function exec(client: Client, argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  if (opts.signal?.aborted) throw new Error(`\`${argv[0]}\` on the host was cancelled`);
  const channel = await execChannel(client, argv);
  const stdout: Buffer[] = [];
  const stderr: Buffer[] = [];
  channel.on('data', (d: Buffer) => stdout.push(d));
  channel.stderr.on('data', (d: Buffer) => stderr.push(d));
  const onAbort = () => channel.close();
  opts.signal?.addEventListener('abort', onAbort, { once: true });
  const exited = channelExit(channel);
  channel.end(opts.stdin ?? undefined);
  const { code, signal } = await exited;
  opts.signal?.removeEventListener('abort', onAbort);
  if (opts.signal?.aborted) throw new Error(`\`${argv[0]}\` on the host was cancelled`);
  return { code, signal, stdout: Buffer.concat(stdout).toString('utf8'), stderr: Buffer.concat(stderr).toString('utf8') };
}

/** Like exec, but a non-zero exit is an error carrying the command's stderr. */
export async function execOk(client: Client, argv: readonly string[], opts: ExecOptions = {}): Promise<string> {
  const r = await exec(client, argv, opts);
  if (r.code !== 0) {
    const why = r.stderr.trim() || (r.signal ? `killed by ${r.signal}` : `exit ${r.code}`);
    throw new Error(`\`${argv[0]}\` failed on the host: ${why}`);
  }
  return r.stdout;
}
