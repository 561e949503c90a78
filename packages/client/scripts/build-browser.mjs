// Browser builds of the client SDK, from its sources:
//   dist/browser/tether.esm.js  ESM for bundlers (readable, with a source map; the app's bundler minifies)
//   dist/browser/tether.js      one minified file for a <script> tag, global `Tether`
// `ws` stays external: the SDK imports it only where no global WebSocket exists (Node 20),
// a branch a browser never takes.
import { mkdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'esbuild';

const pkg = fileURLToPath(new URL('..', import.meta.url));
const src = (name) => fileURLToPath(new URL(`../../${name}/src/index.ts`, import.meta.url));
const outdir = `${pkg}dist/browser`;
mkdirSync(outdir, { recursive: true });

/**
 * zod's classic API re-exports every locale it ships as `z.locales` (more than half of the
 * bundle). The SDK never switches zod's locale, and the English one is imported by zod's
 * schemas directly, so the namespace is replaced by an empty module.
 */
const zodWithoutLocales = {
  name: 'zod-without-locales',
  setup(b) {
    b.onResolve({ filter: /\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]/.test(args.importer) ? { path: 'zod-locales', namespace: 'tether-empty' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'tether-empty' }, () => ({ contents: 'export {};', loader: 'js' }));
  },
};

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
  plugins: [zodWithoutLocales],
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

const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
const rows = [];
for (const options of outputs) {
  await build(options);
  const bytes = readFileSync(options.outfile);
  rows.push({
    file: options.outfile.slice(pkg.length),
    size: bytes.length,
    gzip: gzipSync(bytes, { level: 9 }).length,
  });
}
const width = Math.max(...rows.map((r) => r.file.length));
for (const r of rows)
  console.log(`${r.file.padEnd(width)}  ${kib(r.size).padStart(10)}  ${kib(r.gzip).padStart(10)} gzip`);
