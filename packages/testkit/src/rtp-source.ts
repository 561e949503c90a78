import type { MediaStreamTrack } from 'werift';

/**
 * Generated audio and video RTP (no codec: a counter in each payload), so receivers can count
 * packets and check continuity without decoding: the media `tether load` sends.
 */
export { SyntheticMedia as RtpSource, weriftRtc } from '@tether/cli';

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
