// The last lines a log file gained since a given offset, for error messages.
import { closeSync, openSync, readSync, statSync } from 'node:fs';

export function readTail(path: string, fromOffset = 0, maxBytes = 4000, maxLines = 30): string {
  try {
    const size = statSync(path).size;
    const start = Math.max(fromOffset, size - maxBytes);
    if (size <= start) return '';
    const buf = Buffer.alloc(size - start);
    const fd = openSync(path, 'r');
    try {
      readSync(fd, buf, 0, buf.length, start);
    } finally {
      closeSync(fd);
    }
    return buf.toString('utf8').trimEnd().split('\n').slice(-maxLines).join('\n');
  } catch {
    return '';
  }
}
