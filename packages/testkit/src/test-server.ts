import { Session, type SessionOptions } from '@tether/client';
import type { Clock, CreateSessionBody, Role } from '@tether/protocol';
import { startServer, type ServerOptions, type TetherServer } from '@tether/server';
import { TetherApi, createToken } from '@tether/server-sdk';
import { testCodec } from './test-codec.js';

export const TEST_PROJECT = { apiKey: 'test-project', apiSecret: 'test-secret-please-change-0123456789' };

export interface TestServer {
  server: TetherServer;
  url: string;
  api: TetherApi;
  /** A new session of the test project. */
  createSession(body?: CreateSessionBody): Promise<string>;
  token(sessionId: string, role?: Role, data?: string): Promise<string>;
  /** A connected client in the test codec (TETHER_TEST_CODEC) unless told another; closed by `close()`. */
  join(
    sessionId: string,
    opts?: { role?: Role; data?: string; url?: SessionOptions['url'] } & Partial<SessionOptions>,
  ): Promise<Session>;
  close(): Promise<void>;
}

/** A real server on an ephemeral loopback port, quiet, with one known project. */
export async function startTestServer(options: ServerOptions = {}, clock?: Clock): Promise<TestServer> {
  const server = await startServer(
    { port: 0, host: '127.0.0.1', projects: [TEST_PROJECT], logLevel: 'silent', ...options },
    clock,
  );
  const api = new TetherApi({ url: server.url, ...TEST_PROJECT });
  const sessions: Session[] = [];
  const token = (sessionId: string, role: Role = 'publisher', data = '') =>
    createToken({ ...TEST_PROJECT, sessionId, role, data });
  return {
    server,
    url: server.url,
    api,
    createSession: async (body) => (await api.createSession(body)).sessionId,
    token,
    async join(sessionId, opts = {}) {
      const { role, data, url, ...sessionOptions } = opts;
      const session = new Session({
        url: url ?? server.url,
        sessionId,
        codec: testCodec(),
        ...sessionOptions,
      });
      sessions.push(session);
      await session.connect(await token(sessionId, role, data));
      return session;
    },
    async close() {
      for (const s of sessions) s.disconnect();
      sessions.length = 0;
      await server.close();
    },
  };
}
