// Worker entry: indexes a file off the extension host's thread, so a 1 GB index never stalls the UI. Bundle this
// file on its own (its own esbuild entry point) and pass the bundle's path to indexInWorker.
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { buildLineIndex, type LineIndexTransfer } from './lineIndex';

/** The workerData tag; a bundle that happens to include this module in another worker does not start indexing. */
export const INDEX_WORKER_KIND = 'tunelab.datasetIndex';

export interface IndexWorkerData {
  kind: typeof INDEX_WORKER_KIND;
  path: string;
  chunkBytes?: number;
  progressBytes?: number;
}

export type IndexWorkerMessage =
  | { type: 'progress'; done: number; total: number }
  | { type: 'done'; index: LineIndexTransfer }
  | { type: 'error'; message: string };

const data = workerData as IndexWorkerData | undefined;
if (!isMainThread && parentPort && data?.kind === INDEX_WORKER_KIND) {
  const port = parentPort;
  const post = (m: IndexWorkerMessage, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);
  buildLineIndex(data.path, {
    chunkBytes: data.chunkBytes,
    progressBytes: data.progressBytes,
    onProgress: (done, total) => post({ type: 'progress', done, total }),
  }).then(
    (index) => {
      const t = index.toTransfer();
      post({ type: 'done', index: t }, [t.offsets.buffer as ArrayBuffer, t.crlf.buffer as ArrayBuffer]);
    },
    (e: unknown) => post({ type: 'error', message: e instanceof Error ? e.message : String(e) }),
  );
}
