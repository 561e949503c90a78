import { Redis } from 'ioredis';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ClusterNode,
  RtpSink,
  RtpSource,
  clusterPrefix,
  startTestServer,
  waitFor,
  weriftRtc,
  type TestServer,
} from '@tether/testkit';
import type { Publisher, Session, Subscriber } from '../src/index.js';

/**
 * Media in a cluster: three real `tether serve --cluster` processes on the real Redis, real
 * WebRTC (werift) between the clients in this process and whichever node runs the session's
 * SFU. The node that runs it is killed (SIGKILL) or drained (SIGTERM) while media flows; the
 * session's media must come back on a live node inside the media window (20 s) with nothing
 * but publisher and subscriber state events — no `streamDestroyed` anywhere.
 */
const REDIS = process.env.TETHER_TEST_REDIS ?? 'redis://127.0.0.1:6379';

interface Watched {
  sub: Subscriber;
  sink: RtpSink;
  events: string[];
}

describe('routed media across a cluster of three nodes', () => {
  let nodes: ClusterNode[];
  let t: TestServer;
  let prefix: string;
  const sources: RtpSource[] = [];

  beforeEach(async () => {
    prefix = clusterPrefix();
    const args = process.env.DBG ? ['--log-level', 'debug'] : [];
    nodes = await Promise.all([0, 1, 2].map(() => ClusterNode.start({ redisUrl: REDIS, prefix, args })));
    t = await startTestServer();
  });

  afterEach(async (ctx) => {
    if (ctx.task.result?.state === 'fail')
      for (const [i, n] of nodes.entries()) console.log(`--- node ${i}\n${n.log}`);
    for (const s of sources.splice(0)) s.stop();
    await t.close();
    await Promise.all(nodes.map((n) => n.kill('SIGKILL')));
  });

  const join = (sessionId: string, url: string | string[], data: string) =>
    t.join(sessionId, { url, data, rtc: weriftRtc, rejoinOnResumeFailure: false });

  async function publish(s: Session, name: string): Promise<{ publisher: Publisher; states: string[] }> {
    const source = new RtpSource();
    sources.push(source);
    source.start();
    const publisher = s.initPublisher({ name, tracks: source.tracks });
    const states: string[] = [];
    publisher.on('stateChanged', (e) => states.push(e.state));
    await s.publish(publisher);
    return { publisher, states };
  }

  async function play(s: Session, name: string): Promise<Watched> {
    await waitFor(() => s.streams.some((x) => x.name === name), `${name} seen`);
    const sub = await s.subscribe(s.streams.find((x) => x.name === name)!);
    const sink = new RtpSink();
    for (const track of sub.tracks) sink.attach(track);
    sub.on('track', ({ track }) => sink.attach(track));
    const events: string[] = [];
    sub.on('disconnected', (e) => events.push(`disconnected:${e.cause}`));
    sub.on('connected', () => events.push('connected'));
    sub.on('destroyed', (e) => events.push(`destroyed:${e.reason}`));
    return { sub, sink, events };
  }

  /** Resolves when the sink's video count passes what it is now by `more`. */
  const flowing = (w: Watched, what: string, more = 30, timeoutMs = 20_000) => {
    const from = w.sink.received.video;
    return waitFor(() => w.sink.received.video >= from + more, what, timeoutMs);
  };

  function noStreamEnds(sessions: Session[]): string[] {
    const ends: string[] = [];
    for (const s of sessions)
      s.on('streamDestroyed', (e) => ends.push(`${s.connection?.data}: ${e.stream.name} ${e.reason}`));
    return ends;
  }

  for (const signal of ['SIGKILL', 'SIGTERM'] as const)
    it(`the node running the SFU goes (${signal}): publishers and subscribers on every node get media back from a live node inside the media window, no stream destroyed`, async () => {
      const [n0, n1, n2] = nodes as [ClusterNode, ClusterNode, ClusterNode];
      const sessionId = await t.createSession({ mediaMode: 'routed' });
      // p publishes first from node 0, so node 0 runs the session's SFU; when node 0 goes, p's
      // signalling moves to node 1 as well.
      const p = await join(sessionId, [n0.url, n1.url], 'p');
      const pub = await publish(p, 'p-cam');
      // q publishes from node 1 and s plays both from node 2: media of clients on other nodes than the SFU's.
      const q = await join(sessionId, n1.url, 'q');
      const qub = await publish(q, 'q-cam');
      const s = await join(sessionId, n2.url, 's');
      const ends = noStreamEnds([p, q, s]);
      const fromP = await play(s, 'p-cam');
      const fromQ = await play(s, 'q-cam');
      await Promise.all([flowing(fromP, 'p → s via node 0'), flowing(fromQ, 'q → s via node 0')]);
      const pId = p.connection!.connectionId;

      const goneAt = Date.now();
      await n0.kill(signal);
      await Promise.all([
        waitFor(() => fromP.events.includes('connected'), 'p → s told connected again', 25_000),
        waitFor(() => fromQ.events.includes('connected'), 'q → s told connected again', 25_000),
      ]);
      await Promise.all([flowing(fromP, 'p → s again', 30, 5000), flowing(fromQ, 'q → s again', 30, 5000)]);
      const backMs = Date.now() - goneAt;
      console.log(`media back at the subscriber ${backMs} ms after ${signal} of the SFU's node`);
      expect(backMs).toBeLessThan(20_000);

      expect(ends).toEqual([]);
      for (const w of [fromP, fromQ]) {
        expect(w.events[0]).toMatch(/^disconnected:/);
        expect(w.events.at(-1)).toBe('connected');
        expect(w.events.filter((e) => e.startsWith('destroyed'))).toEqual([]);
        expect(w.sub.state).toBe('playing');
      }
      // The publishers went back to requesting while their media moved, and are publishing again.
      for (const x of [pub, qub]) {
        expect(x.states.slice(0, 2)).toEqual(['publishRequesting', 'publishing']);
        expect(x.states.slice(2)).toContain('publishRequesting');
        expect(x.states.at(-1)).toBe('publishing');
        expect(x.states).not.toContain('noPublish');
        expect(x.publisher.state).toBe('publishing');
      }
      // Same connection, same streams, for everyone.
      expect(p.connection!.connectionId).toBe(pId);
      for (const x of [p, q, s]) expect(x.streams.map((st) => st.name).sort()).toEqual(['p-cam', 'q-cam']);

      // Once the streams end, the new home lets the session's media go: nothing is left in Redis.
      const redis = new Redis(REDIS);
      try {
        const key = `${prefix}{${sessionId}}:media`;
        expect(await redis.get(key)).toMatch(/./);
        await Promise.all([p.unpublish(pub.publisher), q.unpublish(qub.publisher)]);
        await waitFor(async () => (await redis.exists(key)) === 0, 'the media home released');
      } finally {
        redis.disconnect();
      }
    }, 90_000);

  it('relayed: a publisher on one node and a subscriber on another negotiate through the cluster', async () => {
    const [, n1, n2] = nodes as [ClusterNode, ClusterNode, ClusterNode];
    const sessionId = await t.createSession({ mediaMode: 'relayed' });
    const p = await join(sessionId, n1.url, 'p');
    const s = await join(sessionId, n2.url, 's');
    await publish(p, 'p-cam');
    const w = await play(s, 'p-cam');
    await flowing(w, 'p → s peer to peer', 50);
    expect(w.sink.continuous('video')).toBe(true);
  }, 60_000);
});
