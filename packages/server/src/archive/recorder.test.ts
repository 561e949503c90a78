import { RtpHeader, RtpPacket } from 'werift';
import { describe, expect, it } from 'vitest';
import { vp8KeyframeSize } from './recorder.js';

/** An RTP packet with a VP8 payload descriptor (S=1, PID 0) and the first bytes of a frame. */
function vp8Packet(frame: number[]): RtpPacket {
  return new RtpPacket(new RtpHeader({ payloadType: 96 }), Buffer.from([0x10, ...frame]));
}

describe('vp8KeyframeSize', () => {
  it('reads the frame size of a key frame (RFC 6386 §9.1), 14 bits each', () => {
    // frame tag with P=0 (key frame), start code 9d 01 2a, width 320 (+ scale bits), height 240.
    const key = vp8Packet([0x00, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x41, 0xf0, 0x80]);
    expect(vp8KeyframeSize(key)).toEqual({ width: 320, height: 240 });
  });

  it('is undefined for an inter frame or a packet without the start code', () => {
    expect(
      vp8KeyframeSize(vp8Packet([0x01, 0x00, 0x00, 0x9d, 0x01, 0x2a, 0x40, 0x01, 0xf0, 0x00])),
    ).toBeUndefined();
    expect(
      vp8KeyframeSize(vp8Packet([0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x40, 0x01, 0xf0, 0x00])),
    ).toBeUndefined();
  });
});
