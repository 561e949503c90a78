import { fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Session } from '@tether/client';
import { createApiToken, createToken } from '@tether/auth';
import type { Archive } from '@tether/protocol';
import { afterEach, describe, expect, it } from 'vitest';
import {
  EncodedSource,
  TEST_PROJECT,
  hold,
  startTestServer,
  waitFor,
  weriftRtc,
  type TestServer,
} from '@tether/testkit';
import { bytesOf, codecs, decodeErrors, probe } from './archive-media.js';

/**
 * A server SIGKILLed while it records: the one started after it on the same data directory
 * marks the archive `failed` (serverRestarted), and what was written is repaired, downloadable
 * and plays — every frame decodes.
 */
const CHILD = fileURLToPath(new URL('./fixtures/server-child.mjs', import.meta.url));

describe('an archive whose server dies', () => {
  const cleanups: Array<() => unknown> = [];
  afterEach(async () => {
    for (const clean of cleanups.splice(0).reverse()) await clean();
  });

  it('is failed on restart, its partial file kept and playable', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'tether-crash-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const child = fork(CHILD, [JSON.stringify({ projects: [TEST_PROJECT], dataDir })], {
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    cleanups.push(() => child.kill('SIGKILL'));
    const url = await new Promise<string>((resolve, reject) => {
      child.once('message', (msg: { url: string }) => resolve(msg.url));
      child.once('exit', (code) => reject(new Error(`server child exited (${code}) before it was ready`)));
    });
    const api = async <T>(method: string, path: string, body?: unknown): Promise<T> => {
      const res = await fetch(`${url}/v1/${path}`, {
        method,
        headers: {
          authorization: `Bearer ${await createApiToken(TEST_PROJECT)}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      return (await res.json()) as T;
    };
    const { sessionId } = await api<{ sessionId: string }>('POST', 'sessions', { mediaMode: 'routed' });
    const source = new EncodedSource();
    await source.start();
    cleanups.push(() => source.stop());
    const pub = new Session({ url, sessionId, rtc: weriftRtc });
    cleanups.push(() => pub.disconnect());
    await pub.connect(await createToken({ ...TEST_PROJECT, sessionId }));
    const stream = await pub.publish(pub.initPublisher({ name: 'cam', tracks: source.tracks }));

    const started = await api<Archive>('POST', 'archives', {
      sessionId,
      name: 'doomed',
      outputMode: 'individual',
    });
    await waitFor(
      async () => (await api<Archive>('GET', `archives/${started.id}`)).streams.length === 1,
      'the stream recording',
    );
    await hold(4000);
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGKILL');
    await exited;
    const killedAfter = (Date.now() - started.createdAt) / 1000;
    pub.disconnect();

    const t: TestServer = await startTestServer({ dataDir });
    cleanups.push(() => t.close());
    const archive = await t.api.getArchive(started.id);
    expect(archive).toMatchObject({ status: 'failed', reason: 'serverRestarted', name: 'doomed' });
    const [s] = archive.streams;
    if (!s) throw new Error('no stream in the record');
    expect(s.streamId).toBe(stream.streamId);
    expect(s.size).toBeGreaterThan(0);
    expect(archive.size).toBe(s.size);
    const path = join(dataDir, 'downloaded.webm');
    await writeFile(path, await bytesOf(await t.api.downloadArchive(archive.id, { file: s.file })));
    const p = await probe(path);
    expect(codecs(p)).toEqual(['audio:opus', 'video:vp8']);
    // What was written up to the kill: all of it but what was still on its way to the file.
    const recorded = killedAfter - s.startOffset / 1000;
    expect(p.duration).toBeGreaterThan(recorded - 1.5);
    expect(p.duration).toBeLessThanOrEqual(recorded + 0.2);
    expect(archive.duration).toBeCloseTo(s.startOffset / 1000 + p.duration, 1);
    expect(await decodeErrors(path)).toBe('');
  }, 60_000);
});
