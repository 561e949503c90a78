import { createApiToken } from '@tether/auth';
import type { Archive } from '@tether/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  RtpSource,
  TEST_PROJECT,
  startTestServer,
  waitFor,
  weriftRtc,
  type TestServer,
} from '@tether/testkit';

/**
 * The archive API's contract: every refusal has its documented code and status, a project
 * sees only its own archives, lists page, downloads are authenticated and honour ranges, and
 * clients hear `archiveStarted` / `archiveStopped` (a joiner from its welcome). The media is
 * generated RTP (no codec): what is checked here is the API, not the files (archive.test.ts).
 */

const OTHER = { apiKey: 'other-project', apiSecret: 'other-secret-also-please-change-9876543210' };

describe('archive API', () => {
  let t: TestServer;
  let source: RtpSource;
  beforeEach(async () => {
    t = await startTestServer({ projects: [TEST_PROJECT, OTHER] });
    source = new RtpSource();
    source.start();
  });
  afterEach(async () => {
    source.stop();
    await t.close();
  });

  const call = async (method: string, path: string, body?: unknown, project = TEST_PROJECT) => {
    const headers: Record<string, string> = { authorization: `Bearer ${await createApiToken(project)}` };
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(`${t.url}${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: text ? (JSON.parse(text) as Record<string, unknown>) : {} };
  };

  async function publishing(sessionId: string) {
    const pub = await t.join(sessionId, { data: 'pub', rtc: weriftRtc });
    await pub.publish(pub.initPublisher({ name: 'gen', tracks: source.tracks }));
    return pub;
  }

  async function finished(id: string): Promise<Archive> {
    let archive: Archive | undefined;
    await waitFor(
      async () => ['available', 'failed'].includes((archive = await t.api.getArchive(id)).status),
      'archive finished',
    );
    return archive as Archive;
  }

  it('refuses what cannot be recorded, each with its code', async () => {
    const relayed = await t.createSession({ mediaMode: 'relayed' });
    expect(await call('POST', '/v1/archives', { sessionId: relayed })).toMatchObject({
      status: 409,
      json: { code: 'ARCHIVE_RELAYED_SESSION' },
    });
    const routed = await t.createSession({ mediaMode: 'routed' });
    expect(await call('POST', '/v1/archives', { sessionId: routed })).toMatchObject({
      status: 409,
      json: { code: 'ARCHIVE_NO_STREAMS' },
    });
    await t.join(routed); // a client, but nothing published
    expect((await call('POST', '/v1/archives', { sessionId: routed })).json.code).toBe('ARCHIVE_NO_STREAMS');
    expect(await call('POST', '/v1/archives', { sessionId: routed }, OTHER)).toMatchObject({
      status: 404,
      json: { code: 'SESSION_INVALID' },
    });
    expect(await call('POST', '/v1/archives', { sessionId: routed, outputMode: 'mosaic' })).toMatchObject({
      status: 400,
      json: { code: 'API_BODY_INVALID' },
    });
    expect(await call('POST', '/v1/archives', { sessionId: routed, extra: 1 })).toMatchObject({
      status: 400,
    });
    const noAuth = await fetch(`${t.url}/v1/archives`, { method: 'POST', body: '{}' });
    expect(noAuth.status).toBe(401);
    for (const [method, path] of [
      ['GET', '/v1/archives/nope'],
      ['POST', '/v1/archives/nope/stop'],
      ['DELETE', '/v1/archives/nope'],
      ['GET', '/v1/archives/nope/download'],
    ] as const)
      expect(await call(method, path)).toMatchObject({ status: 404, json: { code: 'ARCHIVE_NOT_FOUND' } });
    expect((await call('GET', '/v1/archives?count=0')).json.code).toBe('API_BODY_INVALID');
  });

  it('started → stopped → available; one at a time; clients told, a joiner by its welcome; ranges; delete', async () => {
    const sessionId = await t.createSession({ mediaMode: 'routed' });
    const pub = await publishing(sessionId);
    const heard: string[] = [];
    pub.on('archiveStarted', (e) => heard.push(`started ${e.id} ${e.name}`));
    pub.on('archiveStopped', (e) => heard.push(`stopped ${e.id}`));
    const started = await t.api.startArchive({ sessionId, name: 'lesson', outputMode: 'individual' });
    expect(started).toMatchObject({ status: 'started', sessionId, name: 'lesson', outputMode: 'individual' });
    expect((await call('POST', '/v1/archives', { sessionId })).json.code).toBe('ARCHIVE_ALREADY_RECORDING');
    await waitFor(() => heard.length === 1, 'archiveStarted');
    expect(pub.archive).toEqual({ id: started.id, name: 'lesson' });

    const late = await t.join(sessionId, { data: 'late' });
    expect(late.archive).toEqual({ id: started.id, name: 'lesson' });

    // Another project sees nothing of it; nothing is downloaded or deleted while it records.
    expect((await call('GET', `/v1/archives/${started.id}`, undefined, OTHER)).status).toBe(404);
    expect((await call('GET', `/v1/archives/${started.id}/download`)).json.code).toBe('ARCHIVE_IN_PROGRESS');
    expect((await call('DELETE', `/v1/archives/${started.id}`)).json.code).toBe('ARCHIVE_IN_PROGRESS');

    await waitFor(async () => (await t.api.getArchive(started.id)).streams.length === 1, 'the stream in it');
    const stopped = await t.api.stopArchive(started.id);
    expect(stopped.status).toBe('stopped');
    expect(stopped.duration).toBeGreaterThan(0);
    expect((await call('POST', `/v1/archives/${started.id}/stop`)).json.code).toBe('ARCHIVE_NOT_RECORDING');
    await waitFor(() => heard.length === 2 && late.archive === undefined, 'archiveStopped');
    expect(heard).toEqual([`started ${started.id} lesson`, `stopped ${started.id}`]);
    expect(pub.archive).toBeUndefined();

    const archive = await finished(started.id);
    expect(archive.status).toBe('available');
    const [stream] = archive.streams;
    if (!stream) throw new Error('no stream');
    expect(stream.size).toBeGreaterThan(100);
    expect(archive.size).toBe(stream.size);

    // Individual: each file by name; ranges answered 206, bytes outside 416.
    expect((await call('GET', `/v1/archives/${archive.id}/download`)).json.code).toBe(
      'ARCHIVE_FILE_NOT_FOUND',
    );
    const whole = Buffer.from(
      await (await t.api.downloadArchive(archive.id, { file: stream.file })).arrayBuffer(),
    );
    expect(whole.length).toBe(stream.size);
    expect(whole.subarray(0, 4)).toEqual(Buffer.from([0x1a, 0x45, 0xdf, 0xa3])); // EBML
    const part = await t.api.downloadArchive(archive.id, {
      file: stream.file,
      range: { start: 10, end: 99 },
    });
    expect(part.status).toBe(206);
    expect(part.headers.get('content-range')).toBe(`bytes 10-99/${stream.size}`);
    expect(Buffer.from(await part.arrayBuffer())).toEqual(whole.subarray(10, 100));
    const tail = await t.api.downloadArchive(archive.id, {
      file: stream.file,
      range: { start: stream.size - 5 },
    });
    expect(Buffer.from(await tail.arrayBuffer())).toEqual(whole.subarray(stream.size - 5));
    const beyond = await fetch(`${t.url}/v1/archives/${archive.id}/download?file=${stream.file}`, {
      headers: {
        authorization: `Bearer ${await createApiToken(TEST_PROJECT)}`,
        range: `bytes=${stream.size}-`,
      },
    });
    expect(beyond.status).toBe(416);
    expect(beyond.headers.get('content-range')).toBe(`bytes */${stream.size}`);
    expect(((await beyond.json()) as { code: string }).code).toBe('ARCHIVE_RANGE_INVALID');
    expect((await call('GET', `/v1/archives/${archive.id}/download?file=..%2Fx.webm`)).status).toBe(404);
    const noAuth = await fetch(`${t.url}/v1/archives/${archive.id}/download?file=${stream.file}`);
    expect(noAuth.status).toBe(401);

    // A second archive of the session is allowed now; lists page, newest first.
    const second = await t.api.startArchive({ sessionId, outputMode: 'individual' });
    await t.api.stopArchive(second.id);
    await finished(second.id);
    const page1 = await t.api.listArchives({ sessionId, count: 1 });
    const page2 = await t.api.listArchives({ sessionId, count: 1, offset: 1 });
    expect(page1.count).toBe(2);
    expect(page1.items.map((a) => a.id)).toEqual([second.id]);
    expect(page2.items.map((a) => a.id)).toEqual([archive.id]);
    expect((await t.api.listArchives()).count).toBe(2);
    expect((await call('GET', '/v1/archives', undefined, OTHER)).json).toEqual({ count: 0, items: [] });

    await t.api.deleteArchive(archive.id);
    expect((await call('GET', `/v1/archives/${archive.id}`)).status).toBe(404);
    expect((await t.api.listArchives({ sessionId })).count).toBe(1);
  }, 60_000);

  it('stops by itself at its maxDuration', async () => {
    const sessionId = await t.createSession({ mediaMode: 'routed' });
    const pub = await publishing(sessionId);
    const stopped = pub.next('archiveStopped');
    const started = await t.api.startArchive({ sessionId, outputMode: 'individual', maxDuration: 1 });
    expect((await stopped).id).toBe(started.id);
    const archive = await t.api.getArchive(started.id);
    expect(archive).toMatchObject({ reason: 'maxDuration' });
    expect(archive.duration).toBeGreaterThanOrEqual(1);
    expect(archive.duration).toBeLessThan(2);
    expect((await call('POST', '/v1/archives', { sessionId, maxDuration: 14_401 })).json.code).toBe(
      'API_BODY_INVALID',
    );
  });

  it('archive mode always: recording starts with the first stream and stops when the session ends', async () => {
    const sessionId = await t.createSession({ mediaMode: 'routed', archiveMode: 'always' });
    const watcher = await t.join(sessionId, { data: 'watcher' });
    const started = watcher.next('archiveStarted');
    const pub = await publishing(sessionId);
    const { id } = await started;
    expect(await t.api.getArchive(id)).toMatchObject({
      status: 'started',
      outputMode: 'composed',
      sessionId,
    });
    pub.disconnect();
    watcher.disconnect();
    await waitFor(async () => (await t.api.getArchive(id)).status !== 'started', 'stopped with the session');
    expect((await t.api.getArchive(id)).reason).toBe('sessionEnded');
  }, 60_000);
});
