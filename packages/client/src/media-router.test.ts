import type { ClientOp, ServerEventFrame } from '@tether/protocol';
import { FakeClock } from '@tether/testkit';
import { describe, expect, it } from 'vitest';
import { MediaRouter } from './media-router.js';

function setup() {
  const requests: ClientOp[] = [];
  const exceptions: string[] = [];
  const router = new MediaRouter({
    clock: new FakeClock(),
    iceServers: [],
    routed: () => true,
    mediaWindowMs: () => 20_000,
    connected: () => true,
    request: (op) => (requests.push(op), Promise.resolve({})),
    exception: (code) => exceptions.push(code),
  });
  return { router, requests, exceptions };
}

describe('MediaRouter', () => {
  it('claims the media frames and leaves the others to the roster', () => {
    const { router } = setup();
    const media = [
      { t: 'streamMedia', seq: 1, streamId: 's', flowing: false },
      { t: 'mediaRelay', seq: 2, streamId: 's', subscriptionId: 'x', kind: 'offer', sdp: 'v=0' },
      { t: 'mediaMoved', seq: 5 },
    ] as ServerEventFrame[];
    const other = [
      { t: 'signal', seq: 3, from: null, type: 'a', data: '' },
      { t: 'streamDestroyed', seq: 4, streamId: 's', connectionId: 'c', reason: 'clientDisconnected' },
    ] as ServerEventFrame[];
    for (const f of media) expect(router.frame(f)).toBe(true);
    for (const f of other) expect(router.frame(f)).toBe(false);
  });

  it('frames for media this client does not hold change nothing and ask the server nothing', () => {
    const { router, requests, exceptions } = setup();
    router.frame({
      t: 'mediaRelay',
      seq: 1,
      streamId: 's',
      subscriptionId: 'x',
      kind: 'answer',
      sdp: 'v=0',
    } as ServerEventFrame);
    router.streamEnded('s', 'networkDisconnected');
    router.resumed();
    router.rejoined();
    router.ended('clientDisconnected');
    expect(requests).toEqual([]);
    expect(exceptions).toEqual([]);
  });
});
