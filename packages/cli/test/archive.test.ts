import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import type { Archive } from '@tether/protocol';
import { afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  RtpSource,
  TEST_PROJECT,
  startTestServer,
  waitFor,
  weriftRtc,
  type TestServer,
} from '@tether/testkit';

/** The built binary, as `npx tether` runs it: `npm test` builds first. */
const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));

describe('tether archive', () => {
  let t: TestServer;
  let source: RtpSource;
  let dir: string;
  beforeAll(() => {
    if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first`);
  });
  beforeEach(async () => {
    t = await startTestServer();
    source = new RtpSource();
    source.start();
    dir = mkdtempSync(join(tmpdir(), 'tether-cli-'));
  });
  afterEach(async () => {
    source.stop();
    await t.close();
    rmSync(dir, { recursive: true, force: true });
  });

  async function tether(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    const env = {
      TETHER_URL: t.url,
      TETHER_API_KEY: TEST_PROJECT.apiKey,
      TETHER_API_SECRET: TEST_PROJECT.apiSecret,
    };
    try {
      const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, 'archive', ...args], {
        env,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const { code, stdout, stderr } = err as { code: number; stdout: string; stderr: string };
      return { code, stdout, stderr };
    }
  }

  it('start, list, get, stop, download, delete; a refusal exits non-zero with its code', async () => {
    const relayed = await t.createSession({ mediaMode: 'relayed' });
    const refused = await tether('start', '--session', relayed);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain('ARCHIVE_RELAYED_SESSION');

    const sessionId = await t.createSession({ mediaMode: 'routed' });
    const pub = await t.join(sessionId, { rtc: weriftRtc });
    await pub.publish(pub.initPublisher({ tracks: source.tracks }));
    const started = await tether(
      'start',
      '--session',
      sessionId,
      '--name',
      'cli',
      '--output-mode',
      'individual',
    );
    expect(started).toMatchObject({ code: 0, stderr: '' });
    const archive = JSON.parse(started.stdout) as Archive;
    expect(archive).toMatchObject({ status: 'started', name: 'cli', outputMode: 'individual', sessionId });

    const listed = JSON.parse((await tether('list', '--session', sessionId)).stdout) as { count: number };
    expect(listed.count).toBe(1);
    await waitFor(async () => (await t.api.getArchive(archive.id)).streams.length === 1, 'a stream in it');
    const stopped = JSON.parse((await tether('stop', archive.id)).stdout) as Archive;
    expect(stopped.status).toBe('stopped');
    await waitFor(async () => (await t.api.getArchive(archive.id)).status === 'available', 'available');
    const got = JSON.parse((await tether('get', archive.id)).stdout) as Archive;
    const file = got.streams[0]?.file as string;

    const out = join(dir, 'stream.webm');
    expect((await tether('download', archive.id, '--file', file, '--out', out)).code).toBe(0);
    expect(readFileSync(out).length).toBe(got.streams[0]?.size);

    expect((await tether('delete', archive.id)).code).toBe(0);
    const gone = await tether('get', archive.id);
    expect(gone.code).not.toBe(0);
    expect(gone.stderr).toContain('ARCHIVE_NOT_FOUND');
  }, 60_000);
});
