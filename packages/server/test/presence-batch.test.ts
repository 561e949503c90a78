import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { startTestServer, waitFor, type TestServer } from '@tether/testkit';

/**
 * Presence changes made together go out as one `presence` frame per member (PROTOCOL.md,
 * Presence batches): fewer frames than joins, one order for everyone, each change once, also
 * across a resume in the middle of a batch. Raw sockets, to see the frames themselves.
 */

type Frame = Record<string, any>;

async function raw(url: string) {
  const ws = new WebSocket(`${url.replace('http', 'ws')}/v1/ws`);
  const frames: Frame[] = [];
  ws.on('message', (d) => frames.push(JSON.parse(d.toString())));
  ws.on('error', () => undefined);
  await new Promise((r, j) => ws.once('open', r).once('error', j));
  return {
    ws,
    frames,
    send: (f: object) => ws.send(JSON.stringify(f)),
    of: (t: string) => frames.filter((f) => f.t === t),
  };
}

/** The connections a member was told joined, in the order told, each change of a batch apart. */
function joinsSeen(frames: Frame[], self: string): string[] {
  const ids: string[] = [];
  for (const f of frames)
    if (f.t === 'connectionCreated') ids.push(f.connection.connectionId);
    else if (f.t === 'presence')
      for (const c of f.changes)
        if (c.t === 'connectionCreated' && c.connection.connectionId !== self)
          ids.push(c.connection.connectionId);
  return ids;
}

/** A frame numbered in the outbox (`hb` and `resumed` carry the last seq, not their own). */
const reliable = (f: Frame) => f.seq !== undefined && f.t !== 'hb' && f.t !== 'resumed';

/** Reliable frames once each, by seq (what a client applies), in order. */
function applied(frames: Frame[]): Frame[] {
  const out: Frame[] = [];
  for (const f of frames) if (reliable(f) && f.seq === out.length + 1) out.push(f);
  return out;
}

describe('presence batches', () => {
  let t: TestServer;
  let sessionId: string;

  beforeEach(async () => {
    t = await startTestServer();
    sessionId = await t.createSession();
  });
  afterEach(async () => t.close());

  /** Welcomed, not confirmed yet (nobody is told of it until its first frame). */
  async function welcomed(data: string) {
    const c = await raw(t.url);
    c.send({ t: 'connect', v: 1, sessionId, token: await t.token(sessionId, 'publisher', data) });
    await waitFor(() => c.of('welcome').length === 1, `${data}'s welcome`);
    const welcome = c.of('welcome')[0] as Frame;
    return { ...c, welcome, id: welcome.connection.connectionId as string };
  }

  async function confirmed(data: string) {
    const c = await welcomed(data);
    c.send({ t: 'ack', ack: 0 });
    return c;
  }

  /** `n` clients welcomed, then all confirmed in one go: a join storm. */
  async function storm(n: number) {
    const members = await Promise.all(Array.from({ length: n }, (_, i) => welcomed(`m${i}`)));
    for (const m of members) m.send({ t: 'ack', ack: 0 });
    return members;
  }

  it('a join storm reaches each member in fewer frames than joins, in one order for all, each join once', async () => {
    const a = await confirmed('a');
    const b = await confirmed('b');
    await waitFor(() => joinsSeen(a.frames, a.id).length === 1, 'a told of b');
    const members = await storm(30);
    const ids = members.map((m) => m.id);
    await waitFor(
      () => joinsSeen(a.frames, a.id).length === 31 && joinsSeen(b.frames, b.id).length === 30,
      'a and b told of every join',
    );
    const seenByA = joinsSeen(a.frames, a.id).slice(1);
    expect([...seenByA].sort()).toEqual([...ids].sort());
    // One order, the session's, for everyone: b and every member of the storm agree with a.
    expect(joinsSeen(b.frames, b.id)).toEqual(seenByA);
    for (const m of members) {
      // Its welcome had the two confirmed before the storm; the storm itself came after.
      await waitFor(() => joinsSeen(m.frames, m.id).length === 29, `${m.id} told of the rest of the storm`);
      const known = [
        ...m.welcome.connections.map((p: Frame) => p.connectionId),
        ...joinsSeen(m.frames, m.id),
      ];
      expect(known).toEqual([a.id, b.id, ...seenByA].filter((id) => id !== m.id));
    }
    // Batched: fewer frames than joins, at least one of them carrying several.
    expect(a.of('presence').some((f) => f.changes.length > 1)).toBe(true);
    expect(a.frames.filter((f) => f.t === 'presence' || f.t === 'connectionCreated').length).toBeLessThan(31);
    // Numbered like every reliable frame: 1, 2, 3…
    const seqs = a.frames.filter(reliable).map((f) => f.seq);
    expect(seqs).toEqual(seqs.map((_, i) => i + 1));
  });

  it('what a member does right after joining comes after its join, for everyone', async () => {
    const a = await confirmed('a');
    const members = await Promise.all(Array.from({ length: 10 }, (_, i) => welcomed(`m${i}`)));
    for (const m of members) {
      m.send({ t: 'ack', ack: 0 });
      m.send({ t: 'signal', seq: 1, type: 'hello', data: m.id });
    }
    await waitFor(() => a.of('signal').length === 10, 'a gets every hello');
    const order = applied(a.frames).flatMap((f): string[] =>
      f.t === 'signal' ? [`signal:${f.from}`] : joinsSeen([f], a.id).map((id) => `joined:${id}`),
    );
    for (const m of members)
      expect(order.indexOf(`joined:${m.id}`), m.id).toBeLessThan(order.indexOf(`signal:${m.id}`));
  });

  it('a member whose transport dies in the middle of a batch gets each of its changes exactly once', async () => {
    const a = await confirmed('a');
    const members = await storm(12);
    await waitFor(() => a.of('presence').length > 0, 'a batch reaches a');
    const batch = a.of('presence')[0] as Frame;
    // It never acknowledged the batch: its transport dies with the batch read but not confirmed.
    a.ws.terminate();
    await waitFor(() => t.server.hub.sizes().interrupted === 1, 'a is interrupted');
    const back = await raw(t.url);
    back.send({
      t: 'resume',
      v: 1,
      sessionId,
      connectionId: a.id,
      secret: a.welcome.secret,
      ack: batch.seq - 1,
    });
    await waitFor(() => back.of('resumed').length === 1, 'a resumed');
    await waitFor(() => joinsSeen(applied([...a.frames, ...back.frames]), a.id).length === 12, 'every join');
    // The batch comes again under its own seq, whole, and a client applying by seq sees it once.
    const again = back.frames.find((f) => reliable(f) && f.seq === batch.seq);
    expect(again).toEqual(batch);
    const seen = joinsSeen(applied([...a.frames, ...back.frames]), a.id);
    expect([...seen].sort()).toEqual(members.map((m) => m.id).sort());
    expect(new Set(seen).size).toBe(seen.length);
  });
});
