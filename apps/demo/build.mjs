// Bundles the demo page's script (src/main.ts → dist/app.js). The page loads the SDK from
// /sdk/tether.js (global `Tether`), so only the page's own code is in this file.
import { statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = fileURLToPath(new URL('.', import.meta.url));
const outfile = `${here}dist/app.js`;
await build({
  entryPoints: [`${here}src/main.ts`],
  outfile,
  bundle: true,
  format: 'iife',
  platform: 'browser',
  target: ['es2020', 'chrome90', 'firefox90', 'safari15'],
  minify: true,
  sourcemap: true,
  legalComments: 'none',
  logLevel: 'warning',
});
console.log(`apps/demo/dist/app.js  ${(statSync(outfile).size / 1024).toFixed(1)} KiB`);
