// Waits for the one JSON line `tunelab-agent serve` prints on stdout once it accepts connections.
import type { ChildProcess } from 'node:child_process';

export interface ListeningLine {
  listening: true;
  port: number;
  pid: number;
  root?: string;
  token_file?: string;
  version?: string;
}

export function readListeningLine(child: ChildProcess, timeoutMs: number): Promise<ListeningLine> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const other: string[] = [];
    const finish = (err: Error | null, line?: ListeningLine) => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
      child.off('error', onError);
      if (err) reject(err);
      else resolve(line!);
    };
    const onData = (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const text = buffered.slice(0, nl).trim();
        buffered = buffered.slice(nl + 1);
        const parsed = parseListening(text);
        if (parsed) return finish(null, parsed);
        if (text) other.push(text);
      }
    };
    const stdoutNote = () => (other.length ? `; its stdout said: ${other.slice(-5).join(' | ')}` : '');
    const onExit = (code: number | null, signal: NodeJS.Signals | null) =>
      finish(new Error(`the agent server exited (${signal ? `signal ${signal}` : `code ${code}`}) before it was listening${stdoutNote()}`));
    const onError = (e: Error) => finish(new Error(`cannot start the agent server: ${e.message}`));
    const timer = setTimeout(
      () => finish(new Error(`the agent server did not report that it was listening within ${Math.round(timeoutMs / 1000)} s${stdoutNote()}`)),
      timeoutMs,
    );
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
    child.once('error', onError);
  });
}

function parseListening(text: string): ListeningLine | undefined {
  if (!text.startsWith('{')) return undefined;
  try {
    const v = JSON.parse(text) as Partial<ListeningLine>;
    return v.listening === true && Number.isInteger(v.port) ? (v as ListeningLine) : undefined;
  } catch {
    return undefined;
  }
}
