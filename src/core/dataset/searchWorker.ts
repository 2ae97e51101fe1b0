// Worker entry: searches a file off the extension host's thread. Bundle this file on its own and pass the
// bundle's path to searchInWorker (indexInWorker.ts).
import { isMainThread, parentPort, workerData } from 'node:worker_threads';
import { searchFile } from './search';

export const SEARCH_WORKER_KIND = 'tunelab.datasetSearch';

export interface SearchWorkerData {
  kind: typeof SEARCH_WORKER_KIND;
  path: string;
  pattern: string;
  regex: boolean;
  caseSensitive: boolean;
  chunkBytes?: number;
}

export type SearchWorkerMessage =
  | { type: 'hits'; lines: number[] }
  | { type: 'done'; total: number }
  | { type: 'error'; message: string };

const data = workerData as SearchWorkerData | undefined;
if (!isMainThread && parentPort && data?.kind === SEARCH_WORKER_KIND) {
  const port = parentPort;
  const post = (m: SearchWorkerMessage) => port.postMessage(m);
  searchFile(data.path, {
    pattern: data.pattern, regex: data.regex, caseSensitive: data.caseSensitive, chunkBytes: data.chunkBytes,
    onHits: (lines) => post({ type: 'hits', lines }),
  }).then(
    (total) => post({ type: 'done', total }),
    (e: unknown) => post({ type: 'error', message: e instanceof Error ? e.message : String(e) }),
  );
}
