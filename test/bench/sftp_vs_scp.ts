// Download throughput: the extension's downloadFile (exec stream, and pipelined SFTP) against OpenSSH scp, on
// the same 200 MiB random file from the same loopback sshd, in one run (npm run bench:sftp).
// Usage: node out/bench/sftp_vs_scp.js [MB=200] [rounds=3]. Goal: downloadFile ≥ 0.9× scp.
import { spawnSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync, statSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from 'ssh2';
import { downloadFile, type DownloadMethod } from '../../src/core/remote/transfers';
import { startSshd, TEST_HOST_ALIAS, type Sshd } from '../support/sshd';

const megabytes = Number(process.argv[2] ?? 200);
const rounds = Number(process.argv[3] ?? 3);

function connect(s: Sshd): Promise<Client> {
  const trusted = Buffer.from(s.hostKeyPub.split(' ')[1], 'base64');
  return new Promise((resolve, reject) => {
    const c = new Client();
    c.once('ready', () => resolve(c)).once('error', reject).connect({
      host: s.host, port: s.port, username: s.user, privateKey: readFileSync(s.clientKeyPath),
      hostVerifier: (key: Buffer) => key.equals(trusted),
    });
  });
}

function makeRandomFile(path: string, bytes: number): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'w');
  for (let left = bytes; left > 0; ) {
    const chunk = randomBytes(Math.min(left, 8 << 20));
    hash.update(chunk);
    writeSync(fd, chunk);
    left -= chunk.length;
  }
  closeSync(fd);
  return hash.digest('hex');
}

async function timed(run: () => Promise<void> | void, bytes: number): Promise<number> {
  const start = process.hrtime.bigint();
  await run();
  const seconds = Number(process.hrtime.bigint() - start) / 1e9;
  return bytes / 1e6 / seconds;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function main(): Promise<void> {
  const sshd = await startSshd();
  const dir = mkdtempSync(join(tmpdir(), 'tunelab-bench-sftp-'));
  try {
    const bytes = megabytes * 1024 * 1024;
    const remote = join(dir, 'remote.bin');
    const sha256 = makeRandomFile(remote, bytes);
    const client = await connect(sshd);
    const local = join(dir, 'local.bin');
    const results: Record<string, number[]> = { 'downloadFile exec': [], 'downloadFile sftp': [], scp: [] };
    const fetchWith = (method: DownloadMethod) => async () => {
      const r = await downloadFile(client, remote, local, { method, expectedSize: bytes, expectedSha256: sha256 });
      if (r.skipped || r.resumedFrom) throw new Error('bench download was not a full transfer');
    };
    const scp = () => {
      const r = spawnSync('scp', ['-q', '-F', sshd.sshConfigPath, `${TEST_HOST_ALIAS}:${remote}`, local], { encoding: 'utf8' });
      if (r.status !== 0) throw new Error(`scp failed: ${r.stderr}`);
      if (statSync(local).size !== bytes) throw new Error('scp copied a wrong size');
    };
    // Warm the page cache so that every contender reads the source from memory.
    readFileSync(remote);
    for (let round = 1; round <= rounds; round++) {
      // Alternate the order so that none always runs on a cooler machine.
      const order: Array<[string, () => Promise<void> | void]> = [
        ['downloadFile exec', fetchWith('exec')], ['downloadFile sftp', fetchWith('sftp')], ['scp', scp],
      ];
      if (round % 2 === 0) order.reverse();
      for (const [name, run] of order) {
        rmSync(local, { force: true });
        const mbps = await timed(run, bytes);
        results[name].push(mbps);
        console.log(`round ${round}  ${name.padEnd(18)} ${mbps.toFixed(1)} MB/s`);
      }
    }
    client.end();
    const scpMbps = median(results.scp);
    console.log(`\n${megabytes} MiB random file, loopback sshd, median of ${rounds} rounds (downloadFile includes sha256 verification):`);
    for (const [name, xs] of Object.entries(results)) {
      const ratio = name === 'scp' ? '' : `  ratio ${(median(xs) / scpMbps).toFixed(2)}x scp`;
      console.log(`  ${name.padEnd(18)} ${median(xs).toFixed(1)} MB/s${ratio}`);
    }
    const goal = median(results['downloadFile exec']) / scpMbps >= 0.9;
    console.log(`goal downloadFile (default: exec) >= 0.9x scp: ${goal ? 'met' : 'NOT met'}`);
    process.exitCode = goal ? 0 : 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await sshd.stop();
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
