// Promote and Prefer when the agent runs on another host: the dataset file is in this workspace, which that
// agent cannot read. The agent still decides what the row is (format_dataset_row: the file's format, detected
// by the trainer's reader from the file's first lines, and the new row read back through that reader), and
// this side writes it, the way the agent's own append does: read the file, append the row, write the result
// under a temporary name, and rename it over the file only if the file did not change meanwhile (an editor
// saved it); otherwise read it again and redo the append.
import { readFile, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { writeFileAtomic } from '../files/atomicWrite';

/** How much of the file the agent sees to detect its format: whole lines, at most this many bytes. */
export const HEAD_BYTES = 256 * 1024;
const ATTEMPTS = 5;

export interface FormattedRow {
  /** The new row as one JSON line, without its newline. */
  row: string;
  format: string;
}

export interface AppendedRow {
  path: string;
  format: string;
  /** 1-based line the new row is on. */
  line: number;
}

export class FileKeptChanging extends Error {}

type Signature = string | null;

async function signature(path: string): Promise<Signature> {
  try {
    const s = await stat(path, { bigint: true });
    return `${s.size}/${s.mtimeNs}/${s.ino}`;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
}

/** The file's first whole lines, up to HEAD_BYTES (all of a small file, even without a final newline). */
export function headOf(data: Buffer): string {
  if (data.length <= HEAD_BYTES) return data.toString('utf8');
  const cut = data.lastIndexOf(0x0a, HEAD_BYTES - 1);
  return data.subarray(0, cut + 1).toString('utf8');
}

/**
 * Appends the row `format` returns for the file's head to the file at `path` (created if missing).
 * `beforeRename` runs after the temporary file is written (tests change the file there).
 */
export async function appendRowLocally(
  path: string,
  format: (head: string) => Promise<FormattedRow>,
  beforeRename?: () => Promise<void>,
): Promise<AppendedRow> {
  for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
    const seen = await signature(path);
    let data = seen === null ? Buffer.alloc(0) : await readFile(path);
    if ((await signature(path)) !== seen) continue;
    const { row, format: detected } = await format(headOf(data));
    if (row.includes('\n')) throw new Error(`the agent's row for ${basename(path)} spans several lines`);
    if (data.length && data[data.length - 1] !== 0x0a) data = Buffer.concat([data, Buffer.from('\n')]);
    const line = countNewlines(data) + 1;
    const next = Buffer.concat([data, Buffer.from(`${row}\n`, 'utf8')]);
    const mode = seen === null ? undefined : (await stat(path)).mode & 0o7777;
    const replaced = await writeFileAtomic(path, next, {
      mode,
      commit: async () => {
        await beforeRename?.();
        return (await signature(path)) === seen;
      },
    });
    if (replaced) return { path, format: detected, line };
  }
  throw new FileKeptChanging(`${basename(path)}: the file kept changing on disk while the row was appended; try again`);
}

function countNewlines(data: Buffer): number {
  let n = 0;
  for (let i = data.indexOf(0x0a); i !== -1; i = data.indexOf(0x0a, i + 1)) n++;
  return n;
}
