// Writes a file so that it is either the old one or the whole new one, never half of it: the bytes go to
// a temporary name beside the target (same folder, so the rename stays on one file system), are flushed,
// and the temporary file is renamed over the target. A failure removes the temporary file.
import { randomBytes } from 'node:crypto';
import { chmod, open, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface AtomicWriteOptions {
  /** The new file's permission bits (default 0644). */
  mode?: number;
  /** Asked once the bytes are on disk, just before the rename: false leaves the target as it is. */
  commit?: () => Promise<boolean>;
}

/** True when the file was replaced (always, unless `commit` said no). */
export async function writeFileAtomic(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): Promise<boolean> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  try {
    const handle = await open(tmp, 'wx', 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    if (opts.mode !== undefined) await chmod(tmp, opts.mode);
    if (opts.commit && !(await opts.commit())) return false;
    await rename(tmp, path);
    return true;
  } finally {
    await rm(tmp, { force: true });
  }
}
