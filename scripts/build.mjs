// Bundles the extension host, the demo CLI and every webview panel with esbuild.
import { build } from 'esbuild';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const production = process.argv.includes('--production');

const node = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  sourcemap: !production,
  minify: production,
  logLevel: 'warning',
  // ssh2 pulls optional native addons that esbuild cannot bundle; they are loaded lazily and guarded.
  external: ['vscode', 'cpu-features', './crypto/build/Release/sshcrypto.node'],
  // jsonc-parser's main entry is a UMD build whose require() calls esbuild cannot follow; its ESM build bundles.
  alias: { 'jsonc-parser': 'jsonc-parser/lib/esm/main.js' },
};

const jobs = [
  build({ ...node, entryPoints: [join(root, 'src/extension.ts')], outfile: join(root, 'dist/extension.js') }),
  build({ ...node, entryPoints: [join(root, 'src/demo.ts')], outfile: join(root, 'dist/demo.js') }),
];

// The dataset editor's workers (indexing and search off the extension host's thread), each its own bundle.
for (const [name, entry] of [['datasetIndex', 'indexWorker'], ['datasetSearch', 'searchWorker']]) {
  jobs.push(build({ ...node, entryPoints: [join(root, 'src/core/dataset', `${entry}.ts`)], outfile: join(root, 'dist/workers', `${name}.js`) }));
}

const webviewDir = join(root, 'webview');
for (const panel of existsSync(webviewDir) ? readdirSync(webviewDir) : []) {
  const entry = join(webviewDir, panel, 'main.ts');
  if (!existsSync(entry)) continue;
  jobs.push(build({
    bundle: true,
    platform: 'browser',
    target: 'es2022',
    format: 'iife',
    sourcemap: !production,
    minify: production,
    logLevel: 'warning',
    entryPoints: [entry],
    outfile: join(root, 'dist/webview', `${panel}.js`),
  }));
}

await Promise.all(jobs);
console.log(`build: ${jobs.length} bundles written to dist/`);
