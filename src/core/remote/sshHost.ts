// A RemoteHost (what bootstrapping needs) over one ssh2 connection: commands through exec channels,
// files through SFTP.
import type { Client, SFTPWrapper } from 'ssh2';
import type { ExecResult, RemoteHost } from './bootstrap';
import { channelExit, execChannel } from './remoteExec';

export class SshRemoteHost implements RemoteHost {
  private sftpSession?: Promise<SFTPWrapper>;

  constructor(private readonly client: Client, readonly label: string) {}

  async exec(argv: string[], onOutput?: (line: string) => void): Promise<ExecResult> {
    const channel = await execChannel(this.client, argv);
    const stdout: Buffer[] = [];
    const stderr: Buffer[] = [];
    const lines = onOutput ? lineSplitter(onOutput) : undefined;
    channel.on('data', (d: Buffer) => {
      stdout.push(d);
      lines?.push(d);
    });
    channel.stderr.on('data', (d: Buffer) => {
      stderr.push(d);
      lines?.push(d);
    });
    const exited = channelExit(channel);
    channel.end();
    const { code, signal } = await exited;
    lines?.flush();
    return {
      code: code ?? (signal ? 128 : -1),
      stdout: Buffer.concat(stdout).toString('utf8'),
      stderr: Buffer.concat(stderr).toString('utf8') || (signal ? `killed by ${signal}` : ''),
    };
  }

  async readFile(path: string): Promise<Buffer> {
    const sftp = await this.sftp();
    return new Promise((resolve, reject) => sftp.readFile(path, (err, data) => (err ? reject(sftpError(err, 'read', path)) : resolve(data))));
  }

  async writeFile(path: string, data: Buffer, mode = 0o644): Promise<void> {
    const sftp = await this.sftp();
    await new Promise<void>((resolve, reject) =>
      sftp.writeFile(path, data, { mode }, (err) => (err ? reject(sftpError(err, 'write', path)) : resolve())));
  }

  private sftp(): Promise<SFTPWrapper> {
    this.sftpSession ??= new Promise((resolve, reject) => this.client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp))));
    return this.sftpSession;
  }
}

function sftpError(err: Error, verb: string, path: string): Error {
  return new Error(`cannot ${verb} ${path} on the host: ${err.message}`);
}

function lineSplitter(emit: (line: string) => void) {
  let rest = '';
  return {
    push(chunk: Buffer) {
      const parts = (rest + chunk.toString('utf8')).split(/\r?\n|\r/);
      rest = parts.pop() ?? '';
      for (const p of parts) emit(p);
    },
    flush() {
      if (rest) emit(rest);
      rest = '';
    },
  };
}
