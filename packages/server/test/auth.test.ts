import { Session } from '@tether/client';
import { ERRORS, PROTOCOL_VERSION, TetherError, errorNumber, type ErrorCode } from '@tether/protocol';
import { createSessionId, createToken } from '@tether/auth';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { TEST_PROJECT, startTestServer, testCodec, type TestServer } from '@tether/testkit';
import { RawClient, Recorder, marker, signJwt } from './raw-client.js';

/**
 * Guarantee 7, tokens: every bad token or session id is refused before anything joins, with its
 * own code — as an error frame and as the close code on the wire, and as `err.code` in the SDK.
 */

const OTHER_PROJECT = { apiKey: 'other-project', apiSecret: 'other-secret-also-please-change-9876543210' };
const STRANGER = { apiKey: 'stranger', apiSecret: 'a-secret-this-server-has-never-heard-of' };

interface Attempt {
  sessionId: string;
  token: string;
}

describe('every bad token is refused with its own code', () => {
  let t: TestServer;
  let sessionId: string;
  let otherSessionId: string;
  let inside: Session;
  let insideLog: Recorder;
  const raws: RawClient[] = [];
  const sessions: Session[] = [];

  beforeEach(async () => {
    t = await startTestServer({ projects: [TEST_PROJECT, OTHER_PROJECT] });
    sessionId = await t.createSession();
    otherSessionId = createSessionId({ ...OTHER_PROJECT });
    inside = await t.join(sessionId, { data: 'inside' });
    insideLog = new Recorder(inside);
  });
  afterEach(async () => {
    for (const r of raws.splice(0)) r.close();
    for (const s of sessions.splice(0)) s.disconnect();
    await t.close();
  });

  const tokenFor = (sid: string, extra: Partial<Parameters<typeof createToken>[0]> = {}) =>
    createToken({ ...TEST_PROJECT, sessionId: sid, ...extra });
  const nowS = () => Math.floor(Date.now() / 1000);
  /** Flips one character of the signature part of a session id (`1~payload~signature`). */
  const tamperSignature = (sid: string) => {
    const parts = sid.split('~');
    const sig = parts[2]!;
    parts[2] = (sig[0] === 'A' ? 'B' : 'A') + sig.slice(1);
    return parts.join('~');
  };
  /** Rewrites the payload of a session id (for example to claim another media mode), keeping the old signature. */
  const tamperPayload = (sid: string, change: (p: Record<string, unknown>) => void) => {
    const [v, body, sig] = sid.split('~') as [string, string, string];
    const payload = JSON.parse(Buffer.from(body, 'base64url').toString()) as Record<string, unknown>;
    change(payload);
    return [v, Buffer.from(JSON.stringify(payload)).toString('base64url'), sig].join('~');
  };

  const cases: Array<[string, ErrorCode, () => Promise<Attempt>]> = [
    ['garbage instead of a JWT', 'TOKEN_MALFORMED', async () => ({ sessionId, token: 'garbage' })],
    [
      'a JWT without claims',
      'TOKEN_MALFORMED',
      async () => ({ sessionId, token: signJwt({}, TEST_PROJECT.apiSecret) }),
    ],
    [
      'a JWT whose role does not exist',
      'TOKEN_MALFORMED',
      async () => ({
        sessionId,
        token: signJwt(
          { iss: TEST_PROJECT.apiKey, sid: sessionId, role: 'admin', iat: nowS(), exp: nowS() + 60 },
          TEST_PROJECT.apiSecret,
        ),
      }),
    ],
    [
      'a JWT with alg none',
      'TOKEN_MALFORMED',
      async () => {
        const claims = {
          iss: TEST_PROJECT.apiKey,
          sid: sessionId,
          role: 'moderator',
          data: '',
          iat: nowS(),
          exp: nowS() + 60,
        };
        const b64 = (v: object) => Buffer.from(JSON.stringify(v)).toString('base64url');
        return { sessionId, token: `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims)}.` };
      },
    ],
    [
      'an API token (not a client token)',
      'TOKEN_MALFORMED',
      async () => ({
        sessionId,
        token: signJwt(
          { iss: TEST_PROJECT.apiKey, ist: 'project', iat: nowS(), exp: nowS() + 60 },
          TEST_PROJECT.apiSecret,
        ),
      }),
    ],
    [
      'a token signed with another secret (forged)',
      'TOKEN_INVALID_SIGNATURE',
      async () => ({
        sessionId,
        token: await createToken({
          apiKey: TEST_PROJECT.apiKey,
          apiSecret: 'not-the-project-secret-0000000000',
          sessionId,
        }),
      }),
    ],
    [
      'a token whose claims were edited after signing (role raised to moderator)',
      'TOKEN_INVALID_SIGNATURE',
      async () => {
        const [header, payload, sig] = (await tokenFor(sessionId, { role: 'subscriber' })).split('.') as [
          string,
          string,
          string,
        ];
        const claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Record<string, unknown>;
        claims.role = 'moderator';
        return {
          sessionId,
          token: `${header}.${Buffer.from(JSON.stringify(claims)).toString('base64url')}.${sig}`,
        };
      },
    ],
    [
      'an expired token',
      'TOKEN_EXPIRED',
      async () => ({
        sessionId,
        token: await tokenFor(sessionId, { expireInSeconds: 60, now: Date.now() - 3_600_000 }),
      }),
    ],
    [
      'a forged token that is also expired (reported as forged)',
      'TOKEN_INVALID_SIGNATURE',
      async () => ({
        sessionId,
        token: await createToken({
          apiKey: TEST_PROJECT.apiKey,
          apiSecret: 'not-the-project-secret-0000000000',
          sessionId,
          expireInSeconds: 60,
          now: Date.now() - 3_600_000,
        }),
      }),
    ],
    [
      'a token for session A used to join session B',
      'TOKEN_WRONG_SESSION',
      async () => {
        const other = await t.createSession();
        return { sessionId: other, token: await tokenFor(sessionId) };
      },
    ],
    [
      'a token of a project this server does not know (iss not configured)',
      'TOKEN_UNKNOWN_PROJECT',
      async () => ({ sessionId, token: await createToken({ ...STRANGER, sessionId }) }),
    ],
    [
      'a session id whose signature was tampered with',
      'SESSION_INVALID',
      async () => {
        const forged = tamperSignature(sessionId);
        return { sessionId: forged, token: await tokenFor(forged) };
      },
    ],
    [
      'a session id whose payload was rewritten (media mode changed)',
      'SESSION_INVALID',
      async () => {
        const forged = tamperPayload(sessionId, (p) => (p.m = p.m === 'r' ? 'l' : 'r'));
        return { sessionId: forged, token: await tokenFor(forged) };
      },
    ],
    [
      'a session id that is not a Tether session id',
      'SESSION_INVALID',
      async () => ({ sessionId: 'my-own-room', token: await tokenFor('my-own-room') }),
    ],
    [
      'a session id minted for an unknown project',
      'SESSION_INVALID',
      async () => {
        const foreign = createSessionId({ ...STRANGER });
        return { sessionId: foreign, token: await tokenFor(foreign) };
      },
    ],
    [
      'a token of project A for a session of project B (both known to the server)',
      'TOKEN_WRONG_SESSION',
      async () => ({ sessionId: otherSessionId, token: await tokenFor(otherSessionId) }),
    ],
    [
      'a token of project B for a session of project A (both known to the server)',
      'TOKEN_WRONG_SESSION',
      async () => ({ sessionId, token: await createToken({ ...OTHER_PROJECT, sessionId }) }),
    ],
  ];

  it.each(cases)(
    '%s is refused with %s: an error frame and that close code, and nobody sees it join',
    async (_label, code, make) => {
      const attempt = await make();
      const raw = await RawClient.open(t.url);
      raws.push(raw);
      raw.send({ t: 'connect', v: PROTOCOL_VERSION, sessionId: attempt.sessionId, token: attempt.token });
      const err = await raw.error(0);
      expect(err).toMatchObject({ t: 'error', code });
      expect(err.message).toContain(ERRORS[code].message);
      const closed = await raw.waitClosed();
      expect(closed.code).toBe(errorNumber(code));
      expect(raw.ofType('welcome')).toEqual([]);

      // The session it tried to enter is untouched, and its member is still served.
      const data = marker();
      await inside.signal({ type: 'check', data });
      await insideLog.signal('check', data);
      expect(insideLog.of('connectionCreated')).toEqual([]);
      expect(await t.api.listConnections(sessionId)).toHaveLength(1);
    },
  );

  it.each(cases)(
    '%s makes the SDK’s session.connect() reject with a TetherError of code %s',
    async (_label, code, make) => {
      const attempt = await make();
      const session = new Session({ url: t.url, sessionId: attempt.sessionId, codec: testCodec() });
      sessions.push(session);
      const states: string[] = [];
      session.on('roomStateUpdate', (e) => states.push(`${e.state}:${e.errorCode}`));
      const err = await session.connect(attempt.token).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(TetherError);
      expect((err as TetherError).code).toBe(code);
      expect(session.state).toBe('disconnected');
      expect(session.connection).toBeUndefined();
      expect(states.at(-1)).toBe(`disconnected:${errorNumber(code)}`);
    },
  );

  it('a valid token of the second project joins that project’s session (the refusals above are not a misconfiguration)', async () => {
    const token = await createToken({ ...OTHER_PROJECT, sessionId: otherSessionId, data: 'other' });
    const session = new Session({ url: t.url, sessionId: otherSessionId, codec: testCodec() });
    sessions.push(session);
    await session.connect(token);
    expect(session.state).toBe('connected');
    expect(session.connections.map((c) => c.data)).toEqual(['other']);
  });

  it('the role comes from the signed token: a subscriber token cannot be used to publish even if the client asks', async () => {
    const session = new Session({ url: t.url, sessionId, codec: testCodec() });
    sessions.push(session);
    await session.connect(await tokenFor(sessionId, { role: 'subscriber' }));
    await expect(session.publish({ name: 'cam' })).rejects.toMatchObject({ code: 'NOT_PERMITTED' });
  });
});

describe('resuming needs the per-connection secret', () => {
  let t: TestServer;
  let sessionId: string;
  const raws: RawClient[] = [];
  beforeEach(async () => {
    t = await startTestServer();
    sessionId = await t.createSession();
  });
  afterEach(async () => {
    for (const r of raws.splice(0)) r.close();
    await t.close();
  });

  it('a resume with a wrong secret is refused with RESUME_BAD_SECRET (4401) and the live connection is untouched', async () => {
    const { client: owner, welcome } = await RawClient.join(
      t.url,
      sessionId,
      await t.token(sessionId, 'publisher', 'owner'),
    );
    raws.push(owner);
    const thief = await RawClient.open(t.url);
    raws.push(thief);
    const wrong = (welcome.secret as string).replace(/^./, (c) => (c === 'A' ? 'B' : 'A'));
    thief.send({
      t: 'resume',
      v: PROTOCOL_VERSION,
      sessionId,
      connectionId: welcome.connection.connectionId,
      secret: wrong,
      ack: 0,
    });
    expect(await thief.error(0)).toMatchObject({ code: 'RESUME_BAD_SECRET' });
    expect((await thief.waitClosed()).code).toBe(errorNumber('RESUME_BAD_SECRET'));
    owner.send({ t: 'signal', seq: 1, type: 'chat', data: 'still-mine' });
    expect(await owner.reply(1)).toMatchObject({ ok: true });
    expect(owner.isOpen).toBe(true);
    expect(thief.ofType('signal')).toEqual([]);
  });

  it('a resume of a connection of another session is refused with RESUME_UNKNOWN_CONNECTION (4400), even with the right secret', async () => {
    const { client: owner, welcome } = await RawClient.join(t.url, sessionId, await t.token(sessionId));
    raws.push(owner);
    const elsewhere = await t.createSession();
    const raw = await RawClient.open(t.url);
    raws.push(raw);
    raw.send({
      t: 'resume',
      v: PROTOCOL_VERSION,
      sessionId: elsewhere,
      connectionId: welcome.connection.connectionId,
      secret: welcome.secret,
      ack: 0,
    });
    expect(await raw.error(0)).toMatchObject({ code: 'RESUME_UNKNOWN_CONNECTION' });
    expect((await raw.waitClosed()).code).toBe(errorNumber('RESUME_UNKNOWN_CONNECTION'));
    expect(owner.isOpen).toBe(true);
  });
});
