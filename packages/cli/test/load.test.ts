import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TEST_PROJECT, startTestServer, type TestServer } from '@tether/testkit';
import { runLoad } from '../src/load/run.js';
import type { LoadOptions } from '../src/load/options.js';

/** `tether load` against a real server: what it reports is what happened. */
describe('tether load', () => {
  let t: TestServer;
  beforeEach(async () => {
    t = await startTestServer();
  });
  afterEach(async () => {
    await t.close();
  });

  const base: LoadOptions = {
    url: '',
    clients: 12,
    sessions: 3,
    rate: 5,
    size: 64,
    durationMs: 3000,
    publishers: 0,
    subscribers: 0,
    cutEveryMs: 0,
    drainMs: 6000,
    json: false,
  };

  it('every signal reaches every other member of its session once, through a cut of every path, with progress', async () => {
    const lines: string[] = [];
    const r = await runLoad({ ...base, url: t.url, cutEveryMs: 1500 }, TEST_PROJECT, (l) => lines.push(l));
    expect(r.signalsSent).toBeGreaterThan(0);
    // 4 members a session: each signal is delivered to 3 others.
    expect(r.deliveries).toBe(r.signalsSent * 3);
    expect(r).toMatchObject({ lost: 0, duplicates: 0, reordered: 0, refused: 0, unsettled: 0, ended: 0 });
    expect(r.cuts).toBeGreaterThanOrEqual(1);
    expect(r.reconnects.count).toBeGreaterThanOrEqual(12);
    expect(r.recoveryMs.max).toBeGreaterThan(0);
    expect(lines.some((l) => /^t=\ds .*deliveries/.test(l))).toBe(true);
  }, 30_000);

  it('publishers of synthetic media reach their subscribers', async () => {
    const r = await runLoad(
      { ...base, url: t.url, rate: 1, durationMs: 2000, publishers: 1, subscribers: 2 },
      TEST_PROJECT,
      () => undefined,
    );
    expect(r.media).toMatchObject({ publishers: 3, subscribers: 6, playing: 6 });
    expect(r.media.packetsReceived).toBeGreaterThan(100);
  }, 30_000);
});
