import { PROTOCOL_VERSION } from '@tether/protocol';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { RawClient, Recorder } from './raw-client.js';
import { startTestServer, type TestServer, waitFor } from '@tether/testkit';

/**
 * Issue 10.3: every byte the server holds for a connection is bounded, including what its
 * socket has not sent yet. A client that acknowledges frames it never read cannot empty its
 * outbox by lying (acks count only up to what has left the process), so it ends with
 * bufferOverflow; an honest slow reader is not touched. Real sockets over loopback.
 */

const OUTBOX = { maxFrames: 4096, maxBytes: 1024 * 1024 };
const DATA = 'x'.repeat(8000);

describe('the socket send buffer is bounded', () => {
  let t: TestServer;
  let sessionId: string;
  const raws: RawClient[] = [];
  beforeEach(async () => {
    t = await startTestServer({ outbox: OUTBOX });
    sessionId = await t.createSession();
  });
  afterEach(async () => {
    for (const r of raws.splice(0)) r.close();
    await t.close();
  });

  const connection = (id: string) => t.server.hub.rooms.get(sessionId)?.connections.get(id);
  async function rawJoin(data: string) {
    const joined = await RawClient.join(t.url, sessionId, await t.token(sessionId, 'publisher', data));
    raws.push(joined.client);
    const id = joined.welcome.connection.connectionId as string;
    await waitFor(() => connection(id) !== undefined, 'its confirmation');
    return { ...joined, id };
  }

  it('a client that acknowledges every frame sent to it but never reads ends with bufferOverflow, the server holding at most its outbox bound twice over', async () => {
    const observer = await t.join(sessionId, { data: 'observer' });
    const log = new Recorder(observer);
    const liar = await rawJoin('liar');
    liar.client.pauseReading();
    const conn = connection(liar.id);
    expect(conn).toBeDefined();
    let maxHeld = 0;
    let sent = 0;
    const rss0 = process.memoryUsage().rss;
    // 3,000 × 8 KB = 24 MB, several times what the kernel's socket buffers and the outbox can take.
    for (; sent < 3000 && conn!.state !== 'closed'; sent++) {
      await t.api.signal(sessionId, { type: 'load', data: DATA });
      // It acknowledges everything the server says it sent, as if it had read it.
      liar.client.send({ t: 'ack', ack: conn!.outbox.seq });
      maxHeld = Math.max(maxHeld, conn!.heldBytes);
    }
    const ended = await log.next('connectionDestroyed', (e) => e.connection.connectionId === liar.id);
    expect(ended.reason).toBe('bufferOverflow');
    // The outbox (1 MiB) and Node's copy of what is in it (ASCII: the same size) and no more.
    expect(maxHeld).toBeLessThanOrEqual(2 * OUTBOX.maxBytes + 64 * 1024);
    console.info(
      `ack-without-reading: ended after ${sent} signals of 8 KB; max held ${(maxHeld / 2 ** 20).toFixed(2)} MiB; RSS +${((process.memoryUsage().rss - rss0) / 2 ** 20).toFixed(1)} MiB`,
    );
    // Its socket was dropped (it would never read a bye); a resume hears why it ended.
    liar.client.resumeReading();
    await liar.client.waitClosed(10_000);
    const back = await RawClient.open(t.url);
    raws.push(back);
    back.send({
      t: 'resume',
      v: PROTOCOL_VERSION,
      sessionId,
      connectionId: liar.id,
      secret: liar.welcome.secret,
      ack: 0,
    });
    expect(await back.error(0)).toMatchObject({ code: 'BUFFER_OVERFLOW' });
    expect(observer.state).toBe('connected');
  });

  it('a slow reader that acknowledges only what it read is not ended, and gets every frame in order', async () => {
    const reader = await rawJoin('slow');
    reader.client.pauseReading();
    // 100 × 8 KB while it reads nothing: within its outbox bound, past what loopback buffers take at once.
    for (let i = 0; i < 100; i++) await t.api.signal(sessionId, { type: 'load', data: `${i}:${DATA}` });
    const conn = connection(reader.id)!;
    const last = conn.outbox.seq;
    // Acknowledging what it has read so far (nothing) changes nothing.
    reader.client.send({ t: 'ack', ack: 0 });
    reader.client.resumeReading();
    await reader.client.until((fs) => fs.some((f) => f.seq === last), `frame ${last}`, 10_000);
    reader.client.send({ t: 'ack', ack: last });
    reader.client.send({ t: 'signal', seq: 1, type: 'ping', data: '', to: reader.id });
    await reader.client.reply(1);
    const signals = reader.client.ofType('signal').filter((f) => f.type === 'load');
    expect(signals.map((f) => Number(f.data.split(':')[0]))).toEqual(
      Array.from({ length: 100 }, (_, i) => i),
    );
    expect(conn.state).toBe('connected');
    expect(conn.outbox.ackedSeq).toBe(last);
    expect(reader.client.ofType('bye')).toEqual([]);
  });

  it('past the send-buffer limit (here 256 KiB) a client that does not read ends with SEND_BUFFER_OVERFLOW, whatever its outbox could still take', async () => {
    await t.close();
    // An outbox far larger than what the kernel buffers take, so the send buffer is the bound reached.
    t = await startTestServer({ sendBufferMaxBytes: 256 * 1024, outbox: { maxBytes: 32 * 1024 * 1024 } });
    sessionId = await t.createSession();
    const observer = await t.join(sessionId, { data: 'observer' });
    const log = new Recorder(observer);
    const stuck = await rawJoin('stuck');
    stuck.client.pauseReading();
    const conn = connection(stuck.id)!;
    let maxBuffered = 0;
    for (let i = 0; i < 2000 && conn.state !== 'closed'; i++) {
      await t.api.signal(sessionId, { type: 'load', data: DATA });
      // Alive but not reading: its beats keep the transport up while the kernel's buffers fill
      // (several MiB on loopback), so the bound is what ends it, not the heartbeat timeout.
      stuck.client.send({ t: 'hb', ack: 0 });
      maxBuffered = Math.max(maxBuffered, conn.heldBytes - conn.outbox.pendingBytes);
    }
    const ended = await log.next('connectionDestroyed', (e) => e.connection.connectionId === stuck.id);
    expect(ended.reason).toBe('bufferOverflow');
    expect(maxBuffered).toBeLessThanOrEqual(256 * 1024 + 8100);
    const back = await RawClient.open(t.url);
    raws.push(back);
    back.send({
      t: 'resume',
      v: PROTOCOL_VERSION,
      sessionId,
      connectionId: stuck.id,
      secret: stuck.welcome.secret,
      ack: 0,
    });
    expect(await back.error(0)).toMatchObject({ code: 'SEND_BUFFER_OVERFLOW' });
  });
});
