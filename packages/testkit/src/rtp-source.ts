import { MediaStreamTrack, RTCPeerConnection, RtpHeader, RtpPacket } from 'werift';

/** werift as the SDK's WebRTC in Node (its RTCPeerConnection has the browser's shape). */
export const weriftRtc = {
  RTCPeerConnection: RTCPeerConnection as unknown as new (
    c?: RTCConfiguration,
  ) => globalThis.RTCPeerConnection,
};

/**
 * Generated audio and video RTP (no codec: a counter in each payload), so receivers can
 * count packets and check continuity without decoding.
 */
export class RtpSource {
  readonly audio = new MediaStreamTrack({ kind: 'audio' });
  readonly video = new MediaStreamTrack({ kind: 'video' });
  sent = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  /** The tracks, typed for the SDK. */
  get tracks(): globalThis.MediaStreamTrack[] {
    return [this.audio, this.video] as unknown as globalThis.MediaStreamTrack[];
  }

  /** Sends one audio and one video packet every `intervalMs`. */
  start(intervalMs = 20): void {
    this.timer = setInterval(() => this.sendOne(), intervalMs);
  }

  /** Sends the next audio and video packet, numbered by `sent`. */
  sendOne(): void {
    this.sent++;
    const n = this.sent;
    const payload = Buffer.alloc(160);
    payload.writeUInt32BE(n, 0);
    this.audio.writeRtp(
      new RtpPacket(
        new RtpHeader({ sequenceNumber: n & 0xffff, timestamp: n * 960, payloadType: 111 }),
        payload,
      ),
    );
    this.video.writeRtp(
      new RtpPacket(
        new RtpHeader({ sequenceNumber: n & 0xffff, timestamp: n * 3000, payloadType: 96, marker: true }),
        payload,
      ),
    );
  }

  stop(): void {
    clearInterval(this.timer);
  }
}

/** Counts RTP arriving on received werift tracks; `counters` are the payload counters seen, per kind. */
export class RtpSink {
  readonly received = { audio: 0, video: 0 };
  readonly counters: Record<'audio' | 'video', number[]> = { audio: [], video: [] };
  lastAt = 0;

  attach(track: globalThis.MediaStreamTrack): void {
    const t = track as unknown as MediaStreamTrack;
    const kind = t.kind as 'audio' | 'video';
    t.onReceiveRtp.subscribe((rtp) => {
      this.received[kind]++;
      this.lastAt = Date.now();
      if (rtp.payload.length >= 4) this.counters[kind].push(rtp.payload.readUInt32BE(0));
    });
  }

  get total(): number {
    return this.received.audio + this.received.video;
  }

  /** Payload counters in order without gaps or repeats, for one kind, from index `from`. */
  continuous(kind: 'audio' | 'video', from = 0): boolean {
    const c = this.counters[kind].slice(from);
    for (let i = 1; i < c.length; i++) if (c[i] !== (c[i - 1] as number) + 1) return false;
    return true;
  }
}
