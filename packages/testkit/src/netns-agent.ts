/**
 * The agent of netns-driver.ts: a Tether client (the built SDK, werift as WebRTC) in a process
 * of its own, usually inside a network namespace. Commands arrive as JSON lines on stdin
 * (`{id, cmd, args}`, netns-commands.ts types each), answers go out on stdout
 * (`{re, ok, value | error}`), and so does every event it sees (`{ev, at, data}`, `at` in epoch
 * ms). Nothing else is written to stdout.
 */
import dns from 'node:dns';
import net from 'node:net';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import {
  SESSION_EVENT_NAMES,
  Session,
  type Publisher,
  type StreamInfo,
  type Subscriber,
} from '@tether/client';
import { RTCPeerConnection } from 'werift';
import type {
  AgentCommand,
  AgentHandlers,
  AgentReply,
  AgentRequest,
  AgentResult,
  AgentSubStats,
} from './netns-commands.js';
import { testCodec } from './test-codec.js';
import { udpSocketCount } from './udp-sockets.js';
import { EncodedSource } from './encoded-source.js';
import { RtpSink, RtpSource } from './rtp-source.js';

const now = () => performance.timeOrigin + performance.now();

function send(msg: AgentReply | { ev: string; at: number; data: object }): void {
  process.stdout.write(JSON.stringify(msg) + '\n');
}
function emit(ev: string, data: object = {}): void {
  send({ ev, at: now(), data });
}

// werift asks a STUN server for a reflexive candidate on every gathering, by default a public
// one found by name. Tests send nothing off this machine: no name is ever resolved here.
const realLookup = dns.promises.lookup.bind(dns.promises);
(dns.promises as { lookup: unknown }).lookup = async (host: string, options?: unknown) => {
  if (host !== 'localhost' && !net.isIP(host)) {
    throw Object.assign(new Error(`netns agent: name lookups are disabled (${host})`), { code: 'ENOTFOUND' });
  }
  return realLookup(host, options as dns.LookupOptions);
};

/** A packet arriving after this much silence marks media flowing again (a `flow` event). */
const GAP_MS = 250;

let iceRestarts = 0;
let pcSeq = 0;
const pcs = new Set<AgentPeerConnection>();

/** werift's RTCPeerConnection, reporting its state changes and every ICE restart it takes part in. */
class AgentPeerConnection extends RTCPeerConnection {
  readonly tag = `pc${++pcSeq}`;
  private remoteUfrag: string | undefined;

  constructor(config?: ConstructorParameters<typeof RTCPeerConnection>[0]) {
    super(config);
    pcs.add(this);
    this.connectionStateChange.subscribe((state) => {
      emit('rtc.state', { pc: this.tag, state });
      if (state === 'closed') pcs.delete(this);
    });
    this.iceConnectionStateChange.subscribe((state) => emit('rtc.ice', { pc: this.tag, state }));
  }

  override async createOffer(...args: Parameters<RTCPeerConnection['createOffer']>) {
    if (args[0]?.iceRestart) emit('rtc.restartOffer', { pc: this.tag });
    return super.createOffer(...args);
  }

  override async setRemoteDescription(...args: Parameters<RTCPeerConnection['setRemoteDescription']>) {
    const ufrag = /a=ice-ufrag:(\S+)/.exec(args[0]?.sdp ?? '')?.[1];
    if (ufrag && this.remoteUfrag && ufrag !== this.remoteUfrag) {
      iceRestarts++;
      emit('rtc.iceRestart', { pc: this.tag, type: args[0]?.type });
    }
    if (ufrag) this.remoteUfrag = ufrag;
    return super.setRemoteDescription(...args);
  }
}

const rtc = {
  RTCPeerConnection: AgentPeerConnection as unknown as new (
    c?: RTCConfiguration,
  ) => globalThis.RTCPeerConnection,
};

interface Sub {
  key: string;
  streamId: string;
  subscriber: Subscriber;
  sink: RtpSink;
  last: number;
  attached: WeakSet<object>;
}

let session: Session | undefined;
let publisher: Publisher | undefined;
let source: RtpSource | undefined;
/** Real VP8/Opus instead (`publish.encoded`): for recordings checked by decoding. */
let encoded: EncodedSource | undefined;
let sourceTimer: ReturnType<typeof setInterval> | undefined;
const subs = new Map<string, Sub>();
let subSeq = 0;

const SESSION_EVENTS = SESSION_EVENT_NAMES.filter(
  (n) => n !== 'signal' && n !== 'roomStateUpdate' && n !== 'streamPropertyChanged',
);

function needSession(): Session {
  if (!session) throw Object.assign(new Error('join first'), { code: 'NO_SESSION' });
  return session;
}

function attach(sub: Sub, track: globalThis.MediaStreamTrack): void {
  if (sub.attached.has(track)) return;
  sub.attached.add(track);
  sub.sink.attach(track);
  (track as unknown as { onReceiveRtp: { subscribe(f: () => void): void } }).onReceiveRtp.subscribe(() => {
    const t = now();
    if (sub.last > 0 && t - sub.last >= GAP_MS)
      emit('flow', { sub: sub.key, gapMs: Math.round(t - sub.last) });
    else if (sub.last === 0) emit('flow', { sub: sub.key, gapMs: null });
    sub.last = t;
  });
}

/**
 * Starts generated RTP: one audio and one video packet every `intervalMs` (RtpSource), or, with
 * `rate`, that many packets per second in all (half audio, half video), paced on a 1 ms timer
 * that catches up with the clock (a plain 1 ms interval ticks less than 1,000 times a second).
 */
function startSource(intervalMs: number, rate?: number): RtpSource {
  const src = new RtpSource();
  if (!rate) {
    src.start(intervalMs);
    return src;
  }
  const start = now();
  sourceTimer = setInterval(() => {
    const due = Math.floor(((now() - start) / 1000) * (rate / 2));
    for (let b = 0; b < 100 && src.sent < due; b++) src.sendOne();
  }, 1);
  return src;
}

function stopSource(): void {
  source?.stop();
  encoded?.stop();
  encoded = undefined;
  if (sourceTimer) clearInterval(sourceTimer);
  sourceTimer = undefined;
  source = undefined;
}

async function waitStream(streamId: string, timeoutMs = 10_000): Promise<StreamInfo> {
  const s = needSession();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const stream = s.streams.find((x) => x.streamId === streamId);
    if (stream) return stream;
    if (Date.now() > deadline)
      throw Object.assign(new Error(`stream ${streamId} not seen`), { code: 'STREAM_NOT_FOUND' });
    await new Promise((r) => setTimeout(r, 10));
  }
}

function subStats(sub: Sub): AgentSubStats {
  return {
    streamId: sub.streamId,
    state: sub.subscriber.state,
    audio: sub.sink.received.audio,
    video: sub.sink.received.video,
    total: sub.sink.total,
    counters: { audio: sub.sink.counters.audio.length, video: sub.sink.counters.video.length },
    lastCounter: {
      audio: sub.sink.counters.audio.at(-1) ?? null,
      video: sub.sink.counters.video.at(-1) ?? null,
    },
    lastAt: sub.last,
  };
}

/** Active handles by kind (ref'd ones: process.getActiveResourcesInfo) and every open UDP socket. */
function resources(): AgentResult<'resources'> {
  const counts: AgentResult<'resources'> = { udpSockets: udpSocketCount() };
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

const commands: AgentHandlers = {
  async join(a) {
    if (session) throw new Error('already joined');
    const s = new Session({
      url: a.url,
      sessionId: a.sessionId,
      rtc,
      watchNetwork: false,
      // The driver's process environment is this one's: the same test codec as the in-process clients.
      codec: testCodec(),
      ...(a.options ?? {}),
    });
    session = s;
    for (const name of SESSION_EVENTS)
      s.on(name, (e: any) => {
        const data: Record<string, unknown> = { ...e };
        if (e?.stream) data.stream = e.stream;
        if (e?.connection) data.connectionId = e.connection.connectionId;
        delete data.connection;
        emit(`session.${name}`, data);
      });
    await s.connect(a.token);
    return { connectionId: s.connection?.connectionId };
  },

  async publish(a) {
    const s = needSession();
    if (publisher) throw new Error('already publishing');
    let tracks: globalThis.MediaStreamTrack[];
    if (a.encoded) {
      encoded = new EncodedSource();
      await encoded.start();
      tracks = encoded.tracks;
    } else tracks = (source = startSource(a.intervalMs ?? 20, a.rate)).tracks;
    const p = s.initPublisher({
      name: a.name ?? 'agent',
      tracks,
      ...(a.republish === false ? { republish: false } : {}),
    });
    publisher = p;
    p.on('stateChanged', (e) => emit('publisher.stateChanged', e));
    p.on('streamCreated', (e) => emit('publisher.streamCreated', { stream: e.stream }));
    p.on('streamDestroyed', (e) => emit('publisher.streamDestroyed', { stream: e.stream, reason: e.reason }));
    const stream = await s.publish(p);
    return { stream };
  },

  async unpublish() {
    const s = needSession();
    if (publisher) await s.unpublish(publisher);
    publisher = undefined;
    stopSource();
    return {};
  },

  async subscribe(a) {
    const s = needSession();
    const stream = await waitStream(a.streamId, a.timeoutMs);
    const key = a.key ?? `sub${++subSeq}`;
    const subscriber = await s.subscribe(stream);
    const sub: Sub = {
      key,
      streamId: stream.streamId,
      subscriber,
      sink: new RtpSink(),
      last: 0,
      attached: new WeakSet(),
    };
    subs.set(key, sub);
    for (const track of subscriber.tracks) attach(sub, track);
    subscriber.on('track', ({ track }) => attach(sub, track));
    subscriber.on('stateChanged', (e) => emit('subscriber.stateChanged', { sub: key, ...e }));
    subscriber.on('disconnected', (e) => emit('subscriber.disconnected', { sub: key, ...e }));
    subscriber.on('connected', () => emit('subscriber.connected', { sub: key }));
    subscriber.on('destroyed', (e) => emit('subscriber.destroyed', { sub: key, ...e }));
    return { sub: key, state: subscriber.state };
  },

  unsubscribe(a) {
    const s = needSession();
    const sub = subs.get(a.sub);
    if (!sub) throw new Error(`no subscriber ${a.sub}`);
    s.unsubscribe(sub.subscriber);
    subs.delete(a.sub);
    return {};
  },

  /** Stops the generated RTP without unpublishing (the server then sees the publisher go silent). */
  pauseSource() {
    source?.stop();
    if (sourceTimer) clearInterval(sourceTimer);
    sourceTimer = undefined;
    return {};
  },

  async forceUnpublish(a) {
    await needSession().forceUnpublish(a.streamId);
    return {};
  },

  leave() {
    session?.disconnect();
    session = undefined;
    publisher = undefined;
    subs.clear();
    stopSource();
    return {};
  },

  stats() {
    return {
      session: session?.state ?? 'none',
      connectionId: session?.connection?.connectionId,
      publisher: publisher ? { state: publisher.state, streamId: publisher.stream?.streamId } : null,
      sent: source?.sent ?? (encoded ? encoded.sent.audio + encoded.sent.video : 0),
      iceRestarts,
      peerConnections: pcs.size,
      subs: Object.fromEntries([...subs.values()].map((s) => [s.key, subStats(s)])),
    };
  },

  /**
   * The payload counters of one kind from index `from` (negative: the last -from) on, those
   * below `since` left out.
   * `ok`: each is the previous + 1 (strict). `complete`: none missing between the first and
   * the last, retransmissions (video has NACK/RTX) and reordering allowed.
   */
  continuity(a) {
    const sub = subs.get(a.sub);
    if (!sub) throw new Error(`no subscriber ${a.sub}`);
    const kind = (a.kind ?? 'audio') as 'audio' | 'video';
    const all = sub.sink.counters[kind];
    const from = a.from === undefined ? 0 : a.from < 0 ? Math.max(0, all.length + a.from) : a.from;
    const c = all.slice(from).filter((v) => a.since === undefined || v >= a.since);
    const gaps: { at: number; from: number; to: number }[] = [];
    for (let i = 1; i < c.length; i++)
      if (c[i] !== (c[i - 1] as number) + 1)
        gaps.push({ at: i + from, from: c[i - 1] as number, to: c[i] as number });
    const seen = new Set(c);
    let min = Infinity;
    let max = -Infinity;
    for (const v of c) {
      if (v < min) min = v;
      if (v > max) max = v;
    }
    let missing = 0;
    for (let v = min; v <= max; v++) if (!seen.has(v)) missing++;
    return {
      ok: gaps.length === 0,
      complete: missing === 0,
      missing,
      duplicates: c.length - seen.size,
      n: c.length,
      first: c[0] ?? null,
      last: c.at(-1) ?? null,
      gaps: gaps.slice(0, 10),
    };
  },

  resources() {
    return resources();
  },

  ping() {
    return { at: now() };
  },

  exit() {
    try {
      session?.disconnect();
    } catch {
      // leaving anyway
    }
    stopSource();
    setTimeout(() => process.exit(0), 50);
    return {};
  },
};

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let msg: AgentRequest;
  try {
    msg = JSON.parse(line);
  } catch {
    return;
  }
  const known = Object.hasOwn(commands, msg.cmd);
  // Each handler takes its own command's params; the driver typed them against the same map.
  const fn = known ? (commands[msg.cmd as AgentCommand] as (params: unknown) => unknown) : undefined;
  Promise.resolve()
    .then(() => {
      if (!fn) throw Object.assign(new Error(`unknown command ${msg.cmd}`), { code: 'UNKNOWN_COMMAND' });
      return fn(msg.args ?? {});
    })
    .then(
      (value) => send({ re: msg.id, ok: true, value: value ?? {} }),
      (err: any) =>
        send({
          re: msg.id,
          ok: false,
          error: { code: err?.code ?? 'ERROR', message: String(err?.message ?? err) },
        }),
    );
});
// The test process went away: leave with it.
lines.on('close', () => process.exit(0));
process.on('uncaughtException', (err) => {
  process.stderr.write(`uncaught: ${err.stack ?? err}\n`);
});
process.on('unhandledRejection', (err: any) => {
  process.stderr.write(`unhandled rejection: ${err?.stack ?? err}\n`);
});
emit('ready', { pid: process.pid });
