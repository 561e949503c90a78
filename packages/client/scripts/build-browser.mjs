// Writes the browser builds (see browser-builds.mjs) and prints their sizes;
// test/bundle-size.test.ts holds them to a budget.
import { buildBrowser } from './browser-builds.mjs';

const rows = await buildBrowser({ write: true });
const kib = (n) => `${(n / 1024).toFixed(1)} KiB`;
const width = Math.max(...rows.map((r) => r.file.length));
for (const r of rows)
  console.log(`${r.file.padEnd(width)}  ${kib(r.size).padStart(10)}  ${kib(r.gzip).padStart(10)} gzip`);
