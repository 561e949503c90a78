import { MediaStreamTrack, RTCPeerConnection, RtpHeader, RtpPacket } from 'werift';

/** werift as the SDK's WebRTC in Node (its RTCPeerConnection has the browser's shape). */
export const weriftRtc = {
  RTCPeerConnection: RTCPeerConnection as unknown as new (
    c?: RTCConfiguration,
  ) => globalThis.RTCPeerConnection,
};

/**
 * Synthetic media: audio and video RTP at a camera's packet rate, no codec (the SFU forwards
 * RTP as it is, so what it costs is what real media costs it, per packet). Each payload starts
 * with a counter (`sent` at the time), so a receiver can check continuity without decoding —
 * the load run and the tests (testkit's RtpSource) send the same media.
 */
export class SyntheticMedia {
  readonly audio = new MediaStreamTrack({ kind: 'audio' });
  readonly video = new MediaStreamTrack({ kind: 'video' });
  /** Packets sent of each kind. */
  sent = 0;
  private timer: ReturnType<typeof setInterval> | undefined;

  /** The tracks, typed for the SDK. */
  get tracks(): globalThis.MediaStreamTrack[] {
    return [this.audio, this.video] as unknown as globalThis.MediaStreamTrack[];
  }

  /** Sends one audio and one video packet every `intervalMs`. */
  start(intervalMs = 20): void {
    clearInterval(this.timer);
    this.timer = setInterval(() => this.sendOne(), intervalMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** Sends the next audio and video packet, numbered by `sent`. */
  sendOne(): void {
    const n = ++this.sent;
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
}

/** Counts the RTP packets a subscriber receives. */
export function countPackets(track: globalThis.MediaStreamTrack, onPacket: () => void): void {
  (track as unknown as MediaStreamTrack).onReceiveRtp.subscribe(() => onPacket());
}
