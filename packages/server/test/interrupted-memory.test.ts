import { fork, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { WebSocket, type RawData } from 'ws';
import { createSessionId, createToken } from '@tether/auth';
import { Session, type SignalEvent } from '@tether/client';
import { PROTOCOL_VERSION, errorNumber } from '@tether/protocol';
import { DEFAULTS } from '@tether/server';
import { TEST_PROJECT, startTestServer, waitFor } from '@tether/testkit';

/**
 * Issue 10 (Proof): the bytes a server holds for interrupted connections are bounded per session
 * and per server (PROTOCOL.md, Limits). A thousand members of one session lose their path at
 * once while a live member keeps broadcasting: the server — alone in a child process, so its
 * heap is its own — grows by no more than the session budget, ends only as many as the budget
 * needs (the ones away longest), which hear the documented outcome, and live members and the
 * members it keeps lose nothing.
 */

const CHILD = fileURLToPath(new URL('./fixtures/server-child.mjs', import.meta.url));
const MEMBERS = 1000;
const SESSION_BUDGET = DEFAULTS.interrupted.sessionMaxBytes;
/** What each interrupted connection counts besides its outbox (PROTOCOL.md: "its outbox + 2 KiB"). */
const PER_CONNECTION_BYTES = 2048;
/** Broadcast while they are away: 1000 × 120 × 2 KB ≈ 250 MB if nothing were bounded. */
const SIGNALS = 120;
const SIGNAL_DATA = 2000;

interface Memory {
  heapUsed: number;
  rss: number;
  external: number;
  arrayBuffers: number;
}

/** The server in its own process (`--expose-gc`), from the built package. */
class ServerChild {
  private nextId = 0;
  private readonly waiting = new Map<number, (msg: any) => void>();

  private constructor(
    private readonly proc: ChildProcess,
    readonly url: string,
  ) {
    proc.on('message', (msg: any) => {
      this.waiting.get(msg.re)?.(msg);
      this.waiting.delete(msg.re);
    });
  }

  static async start(options: object): Promise<ServerChild> {
    const proc = fork(CHILD, [JSON.stringify(options)], {
      execArgv: ['--expose-gc'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const url = await new Promise<string>((resolve, reject) => {
      proc.once('message', (msg: any) => resolve(msg.url));
      proc.once('exit', (code) => reject(new Error(`server child exited (${code}) before it was ready`)));
    });
    return new ServerChild(proc, url);
  }

  /** Its memory after full collections. */
  memory(): Promise<Memory> {
    return this.call('memory');
  }

  /** A metric from /metrics, its labelled series summed. */
  async metric(name: string): Promise<number> {
    const text = await (await fetch(`${this.url}/metrics`)).text();
    let sum: number | undefined;
    for (const m of text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? (\\S+)$`, 'gm')))
      sum = (sum ?? 0) + Number(m[1]);
    // A labelled counter never incremented has no series yet, only its TYPE line.
    if (sum === undefined && !text.includes(`# TYPE ${name} `))
      throw new Error(`${name} missing from /metrics`);
    return sum ?? 0;
  }

  async close(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    await Promise.race([this.call('close'), new Promise((r) => setTimeout(r, 5000))]);
    this.proc.kill('SIGKILL');
  }

  private call(cmd: string): Promise<any> {
    const id = ++this.nextId;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      this.proc.send({ cmd, id });
    });
  }
}

/** How often a member acknowledges what it has, as a client's beat: under the 500 ms interval. */
const BEAT_MS = 400;

const wsUrl = (url: string) => `${url.replace(/^http/, 'ws')}/v1/ws`;
const SEQ = /^\{"seq":(\d+),/;

/**
 * A member on a bare socket, as cheap as a client can be: it keeps only the last seq it
 * received and acknowledges it at each of the server's beats, so a thousand of them cost the
 * test little. Cut, it goes silent and stops reading: a path that died without a close.
 */
class Member {
  lastSeq = 0;
  /** Beats since everything the server numbered for it arrived. */
  synced = 0;
  connectionId = '';
  secret = '';
  private ws!: WebSocket;
  private cut_ = false;
  private beat: NodeJS.Timeout | undefined;

  async join(url: string, sessionId: string, token: string): Promise<void> {
    this.ws = new WebSocket(wsUrl(url));
    this.ws.on('error', () => undefined);
    await new Promise<void>((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('error', reject);
    });
    const welcome = await new Promise<any>((resolve) => {
      this.ws.once('message', (data: RawData) => resolve(JSON.parse(data.toString())));
      this.ws.send(JSON.stringify({ t: 'connect', v: PROTOCOL_VERSION, sessionId, token }));
    });
    if (welcome.t !== 'welcome') throw new Error(`join refused: ${JSON.stringify(welcome)}`);
    this.connectionId = welcome.connection.connectionId;
    this.secret = welcome.secret;
    this.ws.on('message', (data: RawData) => {
      const head = data.toString('latin1', 0, 32);
      const m = SEQ.exec(head);
      if (m) {
        this.lastSeq = Number(m[1]);
        this.synced = 0;
      } else if (head.startsWith('{"t":"hb"') && !this.cut_) {
        // A beat numbered as far as what arrived means all of it did. Pings are answered at once, as the SDK does.
        const beat = JSON.parse(data.toString());
        if (beat.seq === this.lastSeq) this.synced++;
        this.ws.send(
          `{"t":"hb","ack":${this.lastSeq}${beat.ping !== undefined ? `,"pong":${beat.ping}` : ''}}`,
        );
      }
    });
    this.ws.send(`{"t":"ack","ack":0}`);
    // Like the SDK's own beat: never silent for an interval (an ack counts only up to what the
    // server saw leave, so it is repeated).
    this.beat = setInterval(() => this.ws.send(`{"t":"ack","ack":${this.lastSeq}}`), BEAT_MS);
  }

  /** The path dies: nothing more is sent or read, and nothing closes. */
  cut(): void {
    this.cut_ = true;
    clearInterval(this.beat);
    this.ws.pause();
  }

  /** RST: the server reads the close at once. */
  reset(): void {
    clearInterval(this.beat);
    this.ws.terminate();
  }

  /** A resume on a new socket: its answer, every frame after it until the server's first beat, the close code if it closed. */
  async resume(url: string, sessionId: string): Promise<{ answer: any; frames: any[]; closeCode?: number }> {
    const ws = new WebSocket(wsUrl(url));
    ws.on('error', () => undefined);
    const frames: any[] = [];
    let closeCode: number | undefined;
    const done = new Promise<void>((resolve) => {
      ws.on('message', (data: RawData) => {
        const frame = JSON.parse(data.toString());
        frames.push(frame);
        // The replay is written right behind the answer; the first beat comes after it.
        if (frame.t === 'hb') resolve();
      });
      ws.on('close', (code) => {
        closeCode = code;
        resolve();
      });
    });
    await new Promise<void>((resolve) => ws.once('open', () => resolve()));
    ws.send(
      JSON.stringify({
        t: 'resume',
        v: PROTOCOL_VERSION,
        sessionId,
        connectionId: this.connectionId,
        secret: this.secret,
        ack: this.lastSeq,
      }),
    );
    await waitForPromise(done, 10_000, `the answer to ${this.connectionId}'s resume`);
    ws.terminate();
    return { answer: frames[0], frames: frames.slice(1), ...(closeCode !== undefined ? { closeCode } : {}) };
  }

  close(): void {
    clearInterval(this.beat);
    this.ws?.terminate();
  }
}

async function waitForPromise(p: Promise<unknown>, ms: number, what: string): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    p,
    new Promise(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms)),
    ),
  ]).finally(() => clearTimeout(timer));
}

const MiB = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

describe('memory held for interrupted connections', () => {
  let server: ServerChild;
  const members: Member[] = [];
  const sessionId = createSessionId(TEST_PROJECT);
  const token = (data: string) => createToken({ ...TEST_PROJECT, sessionId, data });

  beforeAll(async () => {
    // Shipped defaults: heartbeat, reconnect window, the 32 MiB per-session budget.
    server = await ServerChild.start({ projects: [TEST_PROJECT] });
  });
  afterAll(async () => {
    for (const m of members) m.close();
    await server?.close();
  });

  it(
    'a thousand members whose path dies at once while one broadcasts: growth within the session budget, only the ones away longest ended (INTERRUPTED_BUDGET_EXCEEDED), nothing lost by the rest',
    { timeout: 90_000 },
    async () => {
      const broadcaster = new Session({ url: server.url, sessionId });
      const watcher = new Session({ url: server.url, sessionId });
      await broadcaster.connect(await token('broadcaster'));
      await watcher.connect(await token('watcher'));
      const empty = await server.memory();
      const watched: SignalEvent[] = [];
      watcher.on('signal', (e) => watched.push(e));
      const reconnecting: string[] = [];
      watcher.on('connectionReconnecting', (e) => reconnecting.push(e.connection.connectionId));
      const destroyed: Array<{ id: string; reason: string }> = [];
      watcher.on('connectionDestroyed', (e) =>
        destroyed.push({ id: e.connection.connectionId, reason: e.reason }),
      );

      for (let i = 0; i < MEMBERS; i += 50)
        await Promise.all(
          Array.from({ length: 50 }, async (_, j) => {
            const m = new Member();
            members.push(m);
            await m.join(server.url, sessionId, await token(`m${i + j}`));
          }),
        );
      await waitFor(
        () => watcher.connections.length === MEMBERS + 2,
        'the watcher sees every member',
        60_000,
      );
      // What the members were sent is acknowledged: from now on they hold only what they miss.
      await waitFor(
        () => members.every((m) => m.synced >= 2),
        'every member acknowledged everything',
        60_000,
      );
      const before = await server.memory();

      for (const m of members) m.cut();
      const cutAt = Date.now();
      await waitFor(() => reconnecting.length === MEMBERS, 'every member found dead', 15_000);
      const cut = {
        ms: Date.now() - cutAt,
        held: await server.metric('tether_interrupted_held_bytes'),
        evictions: await server.metric('tether_interrupted_evictions_total'),
        heap: (await server.memory()).heapUsed,
      };
      // Losing them costs their fixed share alone: none is told of the others one by one (N² notices).
      expect(cut.evictions).toBe(0);
      expect(destroyed).toEqual([]);
      expect(cut.held).toBe(MEMBERS * PER_CONNECTION_BYTES);

      let peakHeld = 0;
      const sampling = setInterval(() => {
        server.metric('tether_interrupted_held_bytes').then(
          (v) => (peakHeld = Math.max(peakHeld, v)),
          () => undefined,
        );
      }, 50);
      const pad = 'x'.repeat(SIGNAL_DATA);
      await Promise.all(
        Array.from({ length: SIGNALS }, (_, i) => broadcaster.signal({ type: 'chat', data: `${i}|${pad}` })),
      );
      await waitFor(() => watched.length === SIGNALS, 'the watcher gets every signal', 30_000);
      clearInterval(sampling);
      const held = await server.metric('tether_interrupted_held_bytes');
      const evictions = await server.metric('tether_interrupted_evictions_total');
      const after = await server.memory();
      const survivors = MEMBERS - destroyed.length;
      console.info(
        `${MEMBERS} members found dead in ${cut.ms} ms, holding ${MiB(cut.held)}; after ${SIGNALS} × ${SIGNAL_DATA} B ` +
          `broadcast: ${destroyed.length} ended, ${survivors} kept holding ${MiB(held)} (peak sampled ${MiB(peakHeld)}, ` +
          `budget ${MiB(SESSION_BUDGET)}). Server heap: ${MiB(empty.heapUsed)} with the two live members, ` +
          `${MiB(before.heapUsed)} with all ${MEMBERS} connected, ${MiB(cut.heap)} once they were away, ` +
          `${MiB(after.heapUsed)} after the broadcast (+${MiB(after.heapUsed - empty.heapUsed)}); rss ${MiB(after.rss)}`,
      );

      // Bounded: what is held, and what the process grew by.
      expect(held).toBeLessThanOrEqual(SESSION_BUDGET);
      expect(peakHeld).toBeLessThanOrEqual(SESSION_BUDGET);
      expect(after.heapUsed - empty.heapUsed).toBeLessThanOrEqual(SESSION_BUDGET);
      expect(cut.heap - empty.heapUsed).toBeLessThanOrEqual(SESSION_BUDGET);
      // The budget bound (unbounded, they would hold ~250 MB) — and ended no more than it had to:
      // what is left is within one member's share of the limit.
      expect(evictions).toBe(destroyed.length);
      expect(destroyed.length).toBeGreaterThan(0);
      expect(survivors).toBeGreaterThan(0);
      expect(held + held / survivors).toBeGreaterThan(SESSION_BUDGET);
      // The ones away longest went first, each with the documented reason.
      expect(destroyed.map((d) => d.id)).toEqual(reconnecting.slice(0, destroyed.length));
      expect(new Set(destroyed.map((d) => d.reason))).toEqual(new Set(['bufferOverflow']));

      // The live member lost nothing.
      expect(watched.map((s) => s.data.split('|')[0])).toEqual(
        Array.from({ length: SIGNALS }, (_, i) => String(i)),
      );

      const byId = new Map(members.map((m) => [m.connectionId, m]));
      // An ended one learns why when it comes back.
      for (const { id } of destroyed.slice(0, 5)) {
        const back = await byId.get(id)!.resume(server.url, sessionId);
        expect(back.answer).toMatchObject({ t: 'error', code: 'INTERRUPTED_BUDGET_EXCEEDED' });
        expect(back.closeCode).toBe(errorNumber('INTERRUPTED_BUDGET_EXCEEDED'));
      }
      // A kept one gets every signal once, in order, then who left while it was away.
      const kept = reconnecting.slice(destroyed.length);
      for (const id of [kept[0], kept.at(-1)] as string[]) {
        const m = byId.get(id)!;
        const back = await m.resume(server.url, sessionId);
        expect(back.answer).toMatchObject({ t: 'resumed' });
        const replay = back.frames.filter((f) => f.t !== 'hb'); // a beat carries the last seq too
        expect(replay.map((f) => f.seq)).toEqual(replay.map((_, i) => m.lastSeq + 1 + i));
        const signals = replay.filter((f) => f.t === 'signal').map((f) => f.data.split('|')[0]);
        expect(signals).toEqual(Array.from({ length: SIGNALS }, (_, i) => String(i)));
        const gone = replay.filter((f) => f.t === 'connectionDestroyed').map((f) => f.connectionId);
        expect(gone.sort()).toEqual(destroyed.map((d) => d.id).sort());
      }
      broadcaster.disconnect();
      watcher.disconnect();
    },
  );

  it('connections that close together are told nothing of each other: each holds its fixed share alone', async () => {
    const t = await startTestServer();
    try {
      const sid = await t.createSession();
      const watcher = await t.join(sid, { data: 'watcher' });
      let told = 0;
      watcher.on('connectionReconnecting', () => told++);
      const group = Array.from({ length: 100 }, () => new Member());
      for (const [i, m] of group.entries())
        await m.join(t.url, sid, await t.token(sid, 'publisher', `g${i}`));
      await waitFor(() => group.every((m) => m.synced >= 2), 'every member acknowledged everything');
      for (const m of group) m.reset();
      await waitFor(() => told === group.length, 'the watcher told of every loss');
      // Each is counted its 2 KiB and nothing else: 99 notices of the others would be ~8 KB more each.
      expect(t.server.hub.sizes().interruptedHeldBytes).toBe(group.length * PER_CONNECTION_BYTES);
    } finally {
      await t.close();
    }
  });
});
