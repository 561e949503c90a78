// The browser build of the OpenTok facade, from its sources:
//   dist/browser/opentok.js  one minified file for a <script> tag, global `OT` (served at /sdk/opentok.js)
// It carries its own copy of the client SDK (a page loads this file instead of OpenTok's, and
// nothing else). `ws` stays external, as in the client's build: browsers never take that branch.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

export const packageDir = fileURLToPath(new URL('..', import.meta.url));
const src = (name) => fileURLToPath(new URL(`../../${name}/src/index.ts`, import.meta.url));
const outdir = `${packageDir}dist/browser`;

const options = {
  entryPoints: [`${packageDir}src/browser.ts`],
  bundle: true,
  platform: 'browser',
  target: ['es2020', 'chrome90', 'firefox90', 'safari15'],
  external: ['ws'],
  alias: {
    '@tether/client': src('client'),
    '@tether/protocol': src('protocol'),
    '@tether/webrtc': src('webrtc'),
  },
  format: 'iife',
  outfile: `${outdir}/opentok.js`,
  minify: true,
  sourcemap: 'external',
  legalComments: 'none',
  logLevel: 'warning',
};

/**
 * Builds the file in memory, writes it (and its source map) when `write`, and measures it.
 * @param {{ write: boolean }} opts
 * @returns {Promise<Array<{ file: string, size: number, gzip: number }>>} `file` relative to the package
 */
export async function buildBrowser({ write }) {
  const { outputFiles } = await build({ ...options, write: false });
  if (write) {
    mkdirSync(outdir, { recursive: true });
    for (const f of outputFiles) writeFileSync(f.path, f.contents);
  }
  const bytes = outputFiles.find((f) => f.path === options.outfile).contents;
  return [
    {
      file: options.outfile.slice(packageDir.length),
      size: bytes.length,
      gzip: gzipSync(bytes, { level: 9 }).length,
    },
  ];
}
