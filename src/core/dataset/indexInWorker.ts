// The main-thread side of the dataset workers (indexWorker.ts, searchWorker.ts): start one, forward what it
// reports, stop it on abort, and settle once. The worker bundles' paths are passed in because only the bundler
// knows where it put them.
import { Worker } from 'node:worker_threads';
import { abortError, LineIndex } from './lineIndex';
import { INDEX_WORKER_KIND, type IndexWorkerData, type IndexWorkerMessage } from './indexWorker';
import { SEARCH_WORKER_KIND, type SearchWorkerData, type SearchWorkerMessage } from './searchWorker';

export interface IndexInWorkerOptions {
  onProgress?(bytesDone: number, total: number): void;
  signal?: AbortSignal;
  chunkBytes?: number;
  progressBytes?: number;
}

export function indexInWorker(path: string, workerFile: string, opts: IndexInWorkerOptions = {}): Promise<LineIndex> {
  const data: IndexWorkerData = { kind: INDEX_WORKER_KIND, path, chunkBytes: opts.chunkBytes, progressBytes: opts.progressBytes };
  return runWorker<IndexWorkerMessage, LineIndex>(workerFile, data, opts.signal, `Indexing ${path}`, (m, settle) => {
    if (m.type === 'progress') opts.onProgress?.(m.done, m.total);
    else if (m.type === 'done') settle.resolve(LineIndex.fromTransfer(m.index));
    else settle.reject(new Error(m.message));
  });
}

export interface SearchInWorkerOptions {
  pattern: string;
  regex: boolean;
  caseSensitive: boolean;
  onHits(lines: number[]): void;
  signal?: AbortSignal;
  chunkBytes?: number;
}

/** searchFile (search.ts) in a worker; resolves with the number of matching lines. */
export function searchInWorker(path: string, workerFile: string, opts: SearchInWorkerOptions): Promise<number> {
  const data: SearchWorkerData = {
    kind: SEARCH_WORKER_KIND, path, pattern: opts.pattern, regex: opts.regex, caseSensitive: opts.caseSensitive, chunkBytes: opts.chunkBytes,
  };
  return runWorker<SearchWorkerMessage, number>(workerFile, data, opts.signal, `Searching ${path}`, (m, settle) => {
    if (m.type === 'hits') opts.onHits(m.lines);
    else if (m.type === 'done') settle.resolve(m.total);
    else settle.reject(new Error(m.message));
  });
}

interface Settle<R> {
  resolve(value: R): void;
  reject(error: Error): void;
}

function runWorker<M, R>(
  workerFile: string, workerData: unknown, signal: AbortSignal | undefined, what: string,
  onMessage: (message: M, settle: Settle<R>) => void,
): Promise<R> {
  return new Promise<R>((resolve, reject) => {
    if (signal?.aborted) return reject(abortError(what));
    let worker: Worker;
    try {
      worker = new Worker(workerFile, { workerData });
    } catch (e) {
      return reject(new Error(`${what}: cannot start the worker ${workerFile}: ${(e as Error).message}`, { cause: e }));
    }
    let settled = false;
    const onAbort = () => finish(() => reject(abortError(what)));
    // Whatever the outcome, the worker is stopped: a finished one exits at once, an aborted one mid-read.
    const finish = (then: () => void) => {
      if (settled) return;
      settled = true;
      signal?.removeEventListener('abort', onAbort);
      void worker.terminate();
      then();
    };
    signal?.addEventListener('abort', onAbort, { once: true });
    const settle: Settle<R> = { resolve: (v) => finish(() => resolve(v)), reject: (e) => finish(() => reject(e)) };
    worker.on('message', (m: M) => {
      if (!settled) onMessage(m, settle);
    });
    worker.on('error', (e) => settle.reject(new Error(`${what}: the worker failed: ${e.message}`, { cause: e })));
    worker.on('exit', (code) => settle.reject(new Error(`${what}: the worker stopped (exit code ${code}) before it answered`)));
  });
}
