// Writes the browser build (see browser-builds.mjs) and prints its size;
// test/bundle-size.test.ts holds it to a budget.
import { buildBrowser } from './browser-builds.mjs';

for (const r of await buildBrowser({ write: true }))
  console.log(
    `packages/opentok/${r.file}  ${(r.size / 1024).toFixed(1)} KiB  ${(r.gzip / 1024).toFixed(1)} KiB gzip`,
  );
