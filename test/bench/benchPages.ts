// What the UI benches share: Chromium's flags, a median, and a loopback server for their pages and the files those
// pages load (the webview bundles, their stylesheets, the benches' own page scripts), nothing else.
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { extname, join, normalize } from 'node:path';
import { repoRoot } from '../support/repoRoot';

export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];

export const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const TYPES: Record<string, string> = { '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json' };

/** Serves `pages(origin)` by path (made for the origin the server got: their CSPs name it) and the files they load. */
export function servePages(pages: (origin: string) => Record<string, string>): Promise<{ server: Server; origin: string }> {
  const root = repoRoot();
  let origin = '';
  const server = createServer((req, res) => {
    const path = normalize(decodeURIComponent((req.url ?? '/').split('?')[0]));
    const page = pages(origin)[path];
    if (page !== undefined) return void res.writeHead(200, { 'content-type': 'text/html' }).end(page);
    if (!/^\/(dist\/webview|media|out\/bench)\/[\w.-]+$/.test(path)) return void res.writeHead(404).end();
    try {
      res.writeHead(200, { 'content-type': TYPES[extname(path)] ?? 'application/octet-stream' }).end(readFileSync(join(root, path)));
    } catch {
      res.writeHead(404).end();
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => {
    origin = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    resolve({ server, origin });
  }));
}
