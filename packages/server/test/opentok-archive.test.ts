import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import OpenTok from 'opentok';
import { Session } from '@tether/client';
import {
  RtpSource,
  TEST_PROJECT,
  startTestServer,
  waitFor,
  weriftRtc,
  type TestServer,
} from '@tether/testkit';

/**
 * The official `opentok` package's archive calls against Tether: startArchive, getArchive,
 * listArchives, stopArchive and deleteArchive, unchanged, on the same archives as `/v1/archives`.
 */
type Callback<T> = (err: Error | null, value?: T) => void;
const call = <T>(fn: (cb: Callback<T>) => void) =>
  new Promise<T>((resolve, reject) => fn((err, value) => (err ? reject(err) : resolve(value as T))));

describe('the opentok server SDK: archives', () => {
  let t: TestServer;
  let ot: OpenTok;
  const source = new RtpSource();
  const sessions: Session[] = [];
  beforeEach(async () => {
    t = await startTestServer();
    ot = new OpenTok(TEST_PROJECT.apiKey, TEST_PROJECT.apiSecret, t.url);
    source.start();
  });
  afterEach(async () => {
    for (const s of sessions.splice(0)) s.disconnect();
    source.stop();
    await t.close();
  });

  it('start, get, list, stop and delete an archive as an OpenTok back end does', async () => {
    const sessionId = await call<OpenTok.Session>((cb) =>
      ot.createSession({ mediaMode: 'routed' }, cb as never),
    ).then((s) => s.sessionId);
    // Not while nothing is published: the SDK's ArchiveError (OpenTok answers 404).
    await expect(call((cb) => ot.startArchive(sessionId, { name: 'x' }, cb as never))).rejects.toThrow();
    const pub = new Session({ url: t.url, sessionId, rtc: weriftRtc });
    sessions.push(pub);
    await pub.connect(ot.generateToken(sessionId, { role: 'publisher' }));
    await pub.publish(pub.initPublisher({ tracks: source.tracks }));

    const archive = await call<OpenTok.Archive>((cb) =>
      ot.startArchive(sessionId, { name: 'ported', outputMode: 'individual' }, cb as never),
    );
    expect(archive).toMatchObject({ status: 'started', name: 'ported', sessionId, outputMode: 'individual' });
    await waitFor(() => pub.archive?.id === archive.id, 'archiveStarted at the publisher');
    await expect(call((cb) => ot.startArchive(sessionId, {}, cb as never))).rejects.toThrow(
      /ARCHIVE_ALREADY_RECORDING/,
    );
    const got = await call<OpenTok.Archive>((cb) => ot.getArchive(archive.id, cb as never));
    expect(got.id).toBe(archive.id);
    const listed = await new Promise<{ items: OpenTok.Archive[]; count: number }>((resolve, reject) =>
      ot.listArchives({ sessionId }, (err, items, count) =>
        err ? reject(err) : resolve({ items: items ?? [], count: count ?? 0 }),
      ),
    );
    expect([listed.count, listed.items.map((a) => a.id)]).toEqual([1, [archive.id]]);

    await waitFor(async () => (await t.api.getArchive(archive.id)).streams.length === 1, 'the stream in it');
    const stopped = await call<OpenTok.Archive>((cb) => ot.stopArchive(archive.id, cb as never));
    expect(stopped.status).toBe('stopped');
    await waitFor(async () => (await t.api.getArchive(archive.id)).status === 'available', 'available');
    await call((cb) => ot.deleteArchive(archive.id, cb as never));
    await expect(call((cb) => ot.getArchive(archive.id, cb as never))).rejects.toThrow();
  }, 30_000);
});
