import { MediaStreamTrack, RTCPeerConnection, RtpHeader, RtpPacket } from 'werift';

/** werift as the SDK's WebRTC in Node. */
export const weriftRtc = {
  RTCPeerConnection: RTCPeerConnection as unknown as new (
    c?: RTCConfiguration,
  ) => globalThis.RTCPeerConnection,
};

/**
 * Synthetic media for load: audio and video RTP at a camera's packet rate, no codec (the SFU
 * forwards RTP as it is, so what it costs is what real media costs it, per packet).
 */
export class SyntheticMedia {
  readonly audio = new MediaStreamTrack({ kind: 'audio' });
  readonly video = new MediaStreamTrack({ kind: 'video' });
  private n = 0;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(intervalMs = 20) {
    this.timer = setInterval(() => this.send(), intervalMs);
  }

  get tracks(): globalThis.MediaStreamTrack[] {
    return [this.audio, this.video] as unknown as globalThis.MediaStreamTrack[];
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private send(): void {
    const n = ++this.n;
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
