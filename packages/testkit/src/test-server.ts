import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Session, type SessionOptions } from '@tether/client';
import type { Clock, CreateSessionBody, Role } from '@tether/protocol';
import {
  RedisEngine,
  startServer,
  type ClusterEngine,
  type ServerOptions,
  type TetherServer,
} from '@tether/server';
import { clusterPrefix } from './cluster-node.js';
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

/**
 * The cluster engine test servers use, chosen in one place: `TETHER_TEST_ENGINE=redis` runs
 * the integration suite with every session's log in the Redis at TETHER_TEST_REDIS (default
 * 127.0.0.1:6379), each server in its own key prefix (vitest project `redis`); otherwise the
 * memory engine, as `tether serve` runs by default.
 */
async function testEngine(): Promise<ClusterEngine | undefined> {
  const name = process.env.TETHER_TEST_ENGINE ?? 'memory';
  if (name === 'memory') return undefined;
  if (name !== 'redis') throw new Error(`TETHER_TEST_ENGINE must be memory or redis, got ${name}`);
  return RedisEngine.connect(process.env.TETHER_TEST_REDIS ?? 'redis://127.0.0.1:6379', {
    // Real time, whatever clock the test gives the server: its liveness key expires in Redis's time.
    prefix: clusterPrefix(),
  });
}

/** A real server on an ephemeral loopback port, quiet, with one known project. */
export async function startTestServer(options: ServerOptions = {}, clock?: Clock): Promise<TestServer> {
  const engine = options.engine ?? (await testEngine());
  // Archives (records and files) go to a folder of this server's own, removed with it, unless the test names one.
  const ownDir = options.dataDir === undefined ? mkdtempSync(join(tmpdir(), 'tether-test-')) : undefined;
  const server = await startServer(
    {
      port: 0,
      host: '127.0.0.1',
      projects: [TEST_PROJECT],
      logLevel: process.env.TETHER_TEST_LOG ?? 'silent',
      ...(ownDir ? { dataDir: ownDir } : {}),
      ...options,
      ...(engine ? { engine } : {}),
    },
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
      if (ownDir) rmSync(ownDir, { recursive: true, force: true });
    },
  };
}
