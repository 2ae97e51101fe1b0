// OpenSSH known_hosts: look up a server's host key, record a newly accepted one, and explain a changed one.
// Follows OpenSSH (sshd(8) "SSH_KNOWN_HOSTS FILE FORMAT", hostfile.c) closely enough that a file written or read
// by `ssh` means the same thing here. Synchronous on purpose: ssh2's hostVerifier may answer synchronously and the
// files are small; `await` on these functions works as well.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, fstatSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export type HostKeyCheck =
  | { status: 'known'; warnings: string[] }
  | { status: 'unknown'; fingerprint: string; otherKnownKeys: OtherKnownKey[]; warnings: string[] }
  | { status: 'changed'; fingerprint: string; knownFingerprint: string; file: string; line: number; warnings: string[] }
  | { status: 'revoked'; fingerprint: string; file: string; line: number; warnings: string[] };

/** A key of a different type already trusted for the host (OpenSSH shows these beside the unknown-key prompt). */
export interface OtherKnownKey {
  keyType: string;
  fingerprint: string;
  file: string;
  line: number;
}

interface HostLine {
  file: string;
  line: number;
  marker: 'cert-authority' | 'revoked' | undefined;
  hostField: string;
  keyType: string;
  keyBlob: Buffer;
}

const DEFAULT_SSH_PORT = 22;

/** SHA256 fingerprint exactly as `ssh-keygen -lf` prints it: unpadded base64 of SHA-256 over the wire-format blob. */
export function fingerprint(keyBlob: Buffer): string {
  return 'SHA256:' + createHash('sha256').update(keyBlob).digest('base64').replace(/=+$/, '');
}

/**
 * The name OpenSSH files a host under: `host` on port 22, `[host]:port` otherwise. Lower-cased, because ssh
 * lower-cases the host name before any lookup (and hashed entries hash the lower-cased form).
 */
export function knownHostsName(host: string, port: number = DEFAULT_SSH_PORT): string {
  const h = host.toLowerCase();
  return port === DEFAULT_SSH_PORT ? h : `[${h}]:${port}`;
}

/** The key type named inside a wire-format blob (its first SSH string), or undefined when the blob is not one. */
export function blobKeyType(keyBlob: Buffer): string | undefined {
  if (keyBlob.length < 4) return undefined;
  const len = keyBlob.readUInt32BE(0);
  if (len === 0 || len > 64 || 4 + len > keyBlob.length) return undefined;
  const type = keyBlob.subarray(4, 4 + len).toString('latin1');
  return /^[\x21-\x7e]+$/.test(type) ? type : undefined;
}

/**
 * Signature algorithms name RSA keys rsa-sha2-256/512, but the key itself (and known_hosts) says ssh-rsa; callers
 * may pass either, so both collapse to the key's own type before comparing.
 */
function keyTypeOfAlgorithm(keyType: string): string {
  return keyType === 'rsa-sha2-256' || keyType === 'rsa-sha2-512' ? 'ssh-rsa' : keyType;
}

function resolveKeyType(keyType: string, keyBlob: Buffer): string {
  const inBlob = blobKeyType(keyBlob);
  if (!inBlob) throw new Error('host key is not an SSH public key blob (no key type at its start)');
  if (keyType && keyTypeOfAlgorithm(keyType) !== inBlob) {
    throw new Error(`host key type mismatch: the key says ${inBlob} but ${keyType} was given`);
  }
  return inBlob;
}

/** Reads every host-key line of a file; a missing file is simply empty (as it is for ssh). */
function readHostLines(file: string, warnings: string[]): HostLine[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'ENOENT' && code !== 'ENOTDIR') warnings.push(`${file}: cannot read (${(err as Error).message})`);
    return [];
  }
  const out: HostLine[] = [];
  text.split(/\r?\n/).forEach((raw, index) => {
    const parsed = parseHostLine(raw, file, index + 1);
    if (parsed === undefined) return;
    if (typeof parsed === 'string') warnings.push(`${file}:${index + 1}: ${parsed}; line ignored`);
    else out.push(parsed);
  });
  return out;
}

/** undefined for blank lines and comments, a string saying what is wrong for a malformed line. */
function parseHostLine(raw: string, file: string, line: number): HostLine | string | undefined {
  const trimmed = raw.trim();
  if (trimmed === '' || trimmed.startsWith('#')) return undefined;
  const fields = trimmed.split(/[ \t]+/);
  let marker: HostLine['marker'];
  if (fields[0].startsWith('@')) {
    const name = fields.shift()!.slice(1);
    if (name !== 'cert-authority' && name !== 'revoked') return `unknown marker @${name}`;
    marker = name;
  }
  if (fields.length < 3) return 'expected "hostnames keytype base64-key"';
  const [hostField, keyType, keyBase64] = fields;
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(keyBase64)) return 'key is not base64';
  const keyBlob = Buffer.from(keyBase64, 'base64');
  const inBlob = blobKeyType(keyBlob);
  if (!inBlob) return 'key is not an SSH public key';
  if (inBlob !== keyType) return `key type ${keyType} does not match the key (${inBlob})`;
  if (hostField.startsWith('|') && !parseHashedHost(hostField)) return 'malformed hashed host name';
  return { file, line, marker, hostField, keyType, keyBlob };
}

function parseHashedHost(field: string): { salt: Buffer; hash: Buffer } | undefined {
  // |1|base64(salt)|base64(HMAC-SHA1(salt, name)) — version 1 is the only one OpenSSH has ever written.
  const parts = field.split('|');
  if (parts.length !== 4 || parts[0] !== '' || parts[1] !== '1') return undefined;
  const salt = Buffer.from(parts[2], 'base64');
  const hash = Buffer.from(parts[3], 'base64');
  if (salt.length !== 20 || hash.length !== 20) return undefined;
  return { salt, hash };
}

function hashHostName(name: string, salt: Buffer): Buffer {
  return createHmac('sha1', salt).update(name).digest();
}

/** OpenSSH glob: `*` any run, `?` one character, case-insensitive (host names are). */
function globMatches(pattern: string, name: string): boolean {
  const re = pattern.toLowerCase().replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${re}$`).test(name);
}

/**
 * A comma list of patterns matches when some plain pattern matches and no `!negated` one does (a negated match
 * vetoes the line, as in OpenSSH's match_hostname). A hashed field is one exact name.
 */
function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|')) {
    const hashed = parseHashedHost(field);
    return !!hashed && hashHostName(name, hashed.salt).equals(hashed.hash);
  }
  let matched = false;
  for (const pattern of field.split(',')) {
    if (pattern.startsWith('!')) {
      if (globMatches(pattern.slice(1), name)) return false;
    } else if (globMatches(pattern, name)) {
      matched = true;
    }
  }
  return matched;
}

/**
 * Checks a server's host key against known_hosts files (user files first, as ssh lists them). Decisions, as ssh:
 * - a matching `@revoked` line wins over everything ('revoked');
 * - any plain line for the host with this exact key makes it 'known', whatever other lines say;
 * - a line for the host with the same key type but another key makes it 'changed' (the first such line is reported);
 * - keys of other types known for the host do not make it 'changed' — the server may simply be offering a type we
 *   never saw from it; it is 'unknown' and the other keys are listed so the prompt can say so;
 * - `@cert-authority` lines vouch only for host certificates, which this check does not accept, so they are ignored.
 * Lines that cannot be parsed are skipped and reported in `warnings` as file:line.
 */
export function checkHostKey(files: string[], host: string, port: number, keyType: string, keyBlob: Buffer): HostKeyCheck {
  const type = resolveKeyType(keyType, keyBlob);
  const name = knownHostsName(host, port);
  const warnings: string[] = [];
  const lines = files.flatMap((file) => readHostLines(file, warnings)).filter((l) => hostFieldMatches(l.hostField, name));
  const newFingerprint = fingerprint(keyBlob);

  const revoked = lines.find((l) => l.marker === 'revoked' && l.keyBlob.equals(keyBlob));
  if (revoked) return { status: 'revoked', fingerprint: newFingerprint, file: revoked.file, line: revoked.line, warnings };

  const plain = lines.filter((l) => l.marker === undefined);
  if (plain.some((l) => l.keyBlob.equals(keyBlob))) return { status: 'known', warnings };

  const sameType = plain.find((l) => l.keyType === type);
  if (sameType) {
    return {
      status: 'changed',
      fingerprint: newFingerprint,
      knownFingerprint: fingerprint(sameType.keyBlob),
      file: sameType.file,
      line: sameType.line,
      warnings,
    };
  }
  const otherKnownKeys = plain.map((l) => ({ keyType: l.keyType, fingerprint: fingerprint(l.keyBlob), file: l.file, line: l.line }));
  return { status: 'unknown', fingerprint: newFingerprint, otherKnownKeys, warnings };
}

/** The known_hosts line ssh would write for this host and key (hashed like `HashKnownHosts yes` when asked). */
export function hostKeyLine(host: string, port: number, keyType: string, keyBlob: Buffer, opts: { hash?: boolean } = {}): string {
  const type = resolveKeyType(keyType, keyBlob);
  const name = knownHostsName(host, port);
  let hostField = name;
  if (opts.hash) {
    const salt = randomBytes(20);
    hostField = `|1|${salt.toString('base64')}|${hashHostName(name, salt).toString('base64')}`;
  }
  return `${hostField} ${type} ${keyBlob.toString('base64')}`;
}

/**
 * Appends one entry. One write of one whole line in append mode, so a concurrent `ssh` appending too cannot
 * interleave inside it; a file whose last line lacks its newline gets one first so the entries stay separate.
 * Creates the folder 0700 and the file 0600 when missing (what ssh expects of ~/.ssh).
 */
export function addHostKey(file: string, host: string, port: number, keyType: string, keyBlob: Buffer, opts: { hash?: boolean } = {}): void {
  const line = hostKeyLine(host, port, keyType, keyBlob, opts);
  const folder = dirname(file);
  if (!existsSync(folder)) mkdirSync(folder, { recursive: true, mode: 0o700 });
  const fd = openSync(file, 'a+', 0o600);
  try {
    const size = fstatSync(fd).size;
    let prefix = '';
    if (size > 0) {
      const last = Buffer.alloc(1);
      readSync(fd, last, 0, 1, size - 1);
      if (last[0] !== 0x0a) prefix = '\n';
    }
    writeSync(fd, `${prefix}${line}\n`);
  } finally {
    closeSync(fd);
  }
}

/** Single-quotes for a POSIX shell, so the advised command can be pasted as is. */
function shellQuote(s: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

function keyTypeLabel(keyType: string): string {
  if (keyType === 'ssh-ed25519') return 'ED25519';
  if (keyType === 'ssh-rsa') return 'RSA';
  if (keyType.startsWith('ecdsa-')) return 'ECDSA';
  return keyType;
}

/** The refusal for a 'changed' result, as plain as OpenSSH's and with the command that removes the old key. */
export function changedKeyMessage(host: string, port: number, keyType: string, check: Extract<HostKeyCheck, { status: 'changed' }>): string {
  const name = knownHostsName(host, port);
  const label = keyTypeLabel(keyTypeOfAlgorithm(keyType));
  return [
    `WARNING: REMOTE HOST IDENTIFICATION HAS CHANGED for ${name}!`,
    'Someone could be eavesdropping on you right now (man-in-the-middle attack),',
    'or the host key has just been changed (for example the machine was reinstalled).',
    `The ${label} key sent by the remote host has fingerprint ${check.fingerprint};`,
    `the key known for it has fingerprint ${check.knownFingerprint}.`,
    `Offending ${label} key in ${check.file}:${check.line}`,
    'If you have confirmed the new key with the host\'s administrator, remove the old one with:',
    `  ssh-keygen -f ${shellQuote(check.file)} -R ${shellQuote(name)}`,
    `Host key verification failed; the connection to ${name} was refused.`,
  ].join('\n');
}

/** The refusal for a 'revoked' result: there is no "accept anyway" for a key marked @revoked. */
export function revokedKeyMessage(host: string, port: number, keyType: string, check: Extract<HostKeyCheck, { status: 'revoked' }>): string {
  const name = knownHostsName(host, port);
  return [
    `The ${keyTypeLabel(keyTypeOfAlgorithm(keyType))} host key of ${name} (${check.fingerprint}) is marked as revoked`,
    `in ${check.file}:${check.line}. The connection was refused; it will not be accepted.`,
  ].join('\n');
}
