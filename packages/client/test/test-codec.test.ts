import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  Agent,
  destroyAllNetns,
  startTestServer,
  testCodec,
  waitFor,
  type TestServer,
} from '@tether/testkit';

/**
 * The switch the `msgpack` vitest project relies on: with TETHER_TEST_CODEC=msgpack every test
 * client — in this process or a testkit agent — negotiates MessagePack, so the suite it runs
 * proves that codec, not JSON again. Without the variable they all speak JSON.
 */
const expected = process.env.TETHER_TEST_CODEC === 'msgpack' ? 'msgpack' : 'json';

describe(`test clients speak the codec TETHER_TEST_CODEC names (${expected} here)`, () => {
  let t: TestServer;
  let sessionId: string;
  beforeEach(async () => {
    t = await startTestServer();
    sessionId = await t.createSession();
  });
  afterEach(async () => {
    await destroyAllNetns();
    await t.close();
  });

  const serverCodec = (connectionId: string) =>
    t.server.hub.rooms.get(sessionId)?.member(connectionId)?.codec.name;

  it('a client joined through the test server negotiates it, and a signal round-trips over it', async () => {
    expect(testCodec().name).toBe(expected);
    const a = await t.join(sessionId, { data: 'a' });
    expect(serverCodec(a.connection!.connectionId)).toBe(expected);
    const got: string[] = [];
    a.on('signal', (e) => got.push(e.data));
    await a.signal({ type: 'probe', data: 'é€😀' });
    await waitFor(() => got.length === 1, 'the signal back');
    expect(got).toEqual(['é€😀']);
  });

  it('a testkit agent (its own process) negotiates it too', async () => {
    const agent = await Agent.start({ label: 'codec' });
    const { connectionId } = await agent.call('join', {
      url: agent.serverUrl(t.server.port),
      sessionId,
      token: await t.token(sessionId),
    });
    expect(serverCodec(connectionId as string)).toBe(expected);
  });
});
