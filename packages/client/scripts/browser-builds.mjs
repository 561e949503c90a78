// The browser builds of the client SDK, from its sources:
//   dist/browser/tether.esm.js  ESM for bundlers (readable, with a source map; the app's bundler minifies)
//   dist/browser/tether.js      one minified file for a <script> tag, global `Tether`
// `ws` stays external: the SDK imports it only where no global WebSocket exists (Node 20),
// a branch a browser never takes.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export const packageDir = fileURLToPath(new URL('..', import.meta.url));
const src = (name) => fileURLToPath(new URL(`../../${name}/src/index.ts`, import.meta.url));
const outdir = `${packageDir}dist/browser`;

const common = {
  entryPoints: [src('client')],
  bundle: true,
  platform: 'browser',
  // Browsers of the last few years: WebRTC's unified plan and ES2020 are what the SDK needs.
  target: ['es2020', 'chrome90', 'firefox90', 'safari15'],
  external: ['ws'],
  // Sibling packages from their sources, so this build does not depend on their dist/ being fresh.
  alias: { '@tether/protocol': src('protocol'), '@tether/webrtc': src('webrtc') },
  legalComments: 'none',
  logLevel: 'warning',
};

const outputs = [
  { ...common, format: 'esm', outfile: `${outdir}/tether.esm.js`, sourcemap: true },
  {
    ...common,
    format: 'iife',
    globalName: 'Tether',
    outfile: `${outdir}/tether.js`,
    minify: true,
    sourcemap: 'external',
  },
];

/**
 * Builds both files in memory, writes them (and their source maps) when `write`, and measures them.
 * @param {{ write: boolean }} options
 * @returns {Promise<Array<{ file: string, size: number, gzip: number }>>} `file` relative to the package
 */
export async function buildBrowser({ write }) {
  const rows = [];
  for (const options of outputs) {
    const { outputFiles } = await build({ ...options, write: false });
    if (write) {
      mkdirSync(outdir, { recursive: true });
      for (const f of outputFiles) writeFileSync(f.path, f.contents);
    }
    const bytes = outputFiles.find((f) => f.path === options.outfile).contents;
    rows.push({
      file: options.outfile.slice(packageDir.length),
      size: bytes.length,
      gzip: gzipSync(bytes, { level: 9 }).length,
    });
  }
  return rows;
}
