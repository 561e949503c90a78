import { describe, expect, it } from 'vitest';
import { buildBrowser } from '../scripts/browser-builds.mjs';

/**
 * Gzip budget of /sdk/opentok.js: the whole client SDK (packages/client/test/bundle-size.test.ts
 * holds tether.js to 35 KiB) plus the facade. OpenTok's own opentok.min.js is far larger.
 * Raise the budget only with a reason.
 */
const GZIP_BUDGET_KIB: Record<string, number> = {
  'dist/browser/opentok.js': 45,
};

describe('OpenTok facade browser build', () => {
  it('stays within its gzip budget', async () => {
    // Built in memory from the sources, so a stale dist/ can neither pass nor fail this.
    const rows = await buildBrowser({ write: false });
    expect(rows.map((r) => r.file).sort()).toEqual(Object.keys(GZIP_BUDGET_KIB).sort());
    for (const { file, gzip } of rows) {
      const kib = gzip / 1024;
      expect(kib, `${file} is ${kib.toFixed(1)} KiB gzip`).toBeLessThanOrEqual(GZIP_BUDGET_KIB[file]!);
    }
  });
});
