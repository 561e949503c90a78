import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gunzipSync } from 'node:zlib';
import { Session } from '@tether/client';
import { startServer, type TetherServer } from '@tether/server';
import { afterEach, describe, expect, it } from 'vitest';

const demo = {
  dir: fileURLToPath(new URL('../apps/demo', import.meta.url)),
  sdkDir: fileURLToPath(new URL('../packages/client/dist/browser', import.meta.url)),
  opentokDir: fileURLToPath(new URL('../packages/opentok/dist/browser', import.meta.url)),
};
const PROJECT = { apiKey: 'demo-test', apiSecret: 'demo-test-secret-0123456789abcdef' };

describe('demo routes', () => {
  const cleanup: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const fn of cleanup.splice(0).reverse()) await fn();
  });

  async function serve(options: Parameters<typeof startServer>[0]): Promise<TetherServer> {
    const dataDir = mkdtempSync(join(tmpdir(), 'tether-demo-'));
    const server = await startServer({ port: 0, host: '127.0.0.1', logLevel: 'silent', dataDir, ...options });
    cleanup.push(
      () => rmSync(dataDir, { recursive: true, force: true }),
      () => server.close(),
    );
    return server;
  }

  const devJoin = (server: TetherServer, body: unknown) =>
    fetch(`${server.url}/dev/join`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });

  it('serves the page at / and the script-tag SDK at /sdk/tether.js, gzipped when accepted, same-origin scripts only', async () => {
    const server = await serve({ demo });
    const page = await fetch(`${server.url}/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    expect(page.headers.get('content-security-policy')).toContain("script-src 'self'");
    const html = await page.text();
    expect(html).toContain('<script defer src="/sdk/tether.js"></script>');
    expect(html).toContain('<script defer src="/app.js"></script>');

    for (const path of ['/sdk/tether.js', '/sdk/tether.esm.js', '/app.js', '/styles.css', '/favicon.svg']) {
      const res = await fetch(`${server.url}${path}`);
      expect(res.status, path).toBe(200);
    }
    // Raw bytes, to see the encoding on the wire (fetch would decode it).
    const raw = await new Promise<{ encoding: string | undefined; body: Buffer }>((resolve, reject) => {
      import('node:http').then(({ get }) =>
        get(`${server.url}/sdk/tether.js`, { headers: { 'accept-encoding': 'gzip' } }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () =>
            resolve({ encoding: res.headers['content-encoding'], body: Buffer.concat(chunks) }),
          );
        }).on('error', reject),
      );
    });
    expect(raw.encoding).toBe('gzip');
    expect(gunzipSync(raw.body).toString()).toMatch(/var Tether=/);
  });

  it('serves the OpenTok facade at /sdk/opentok.js, and every /sdk/ file readable from any origin (CORS)', async () => {
    const server = await serve({ demo });
    const origin = { origin: 'https://app.example' };
    const ot = await fetch(`${server.url}/sdk/opentok.js`, { headers: origin });
    expect(ot.status).toBe(200);
    expect(ot.headers.get('content-type')).toMatch(/^text\/javascript/);
    expect(ot.headers.get('access-control-allow-origin')).toBe('*');
    expect(ot.headers.get('cross-origin-resource-policy')).toBe('cross-origin');
    expect(await ot.text()).toMatch(/\.OT=/);
    for (const path of ['/sdk/tether.js', '/sdk/tether.esm.js', '/sdk/opentok.js.map'])
      expect(
        (await fetch(`${server.url}${path}`, { headers: origin })).headers.get('access-control-allow-origin'),
      ).toBe('*');
    // The page itself stays same-origin only.
    expect(
      (await fetch(`${server.url}/`, { headers: origin })).headers.get('access-control-allow-origin'),
    ).toBeNull();
  });

  it('hands out a token on the development project: the same session name gives the same session, and the token joins it', async () => {
    const server = await serve({ demo });
    const a = await devJoin(server, { name: 'Ada', session: 'Standup' });
    const b = await devJoin(server, { name: 'Grace', session: ' standup ' });
    expect(a.status).toBe(200);
    const ticketA = (await a.json()) as { url: string; sessionId: string; token: string };
    const ticketB = (await b.json()) as { url: string; sessionId: string; token: string };
    expect(ticketA.url).toBe(server.url);
    expect(ticketB.sessionId).toBe(ticketA.sessionId);
    expect(
      (await devJoin(server, { name: 'Ada', session: 'other' }).then((r) => r.json())).sessionId,
    ).not.toBe(ticketA.sessionId);

    const session = new Session({ url: ticketA.url, sessionId: ticketA.sessionId });
    cleanup.push(() => session.disconnect());
    await session.connect(ticketA.token);
    expect(session.connection?.data).toBe('Ada');
  });

  it('rejects a join without a name or session with API_BODY_INVALID', async () => {
    const server = await serve({ demo });
    for (const body of [
      {},
      { name: '', session: 'x' },
      { name: 'Ada', session: 'x'.repeat(65) },
      { name: 7, session: 'x' },
    ]) {
      const res = await devJoin(server, body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { code: string }).code).toBe('API_BODY_INVALID');
    }
  });

  it('has no development join route when projects are configured (404), and still serves the page', async () => {
    const server = await serve({ demo, projects: [PROJECT] });
    const res = await devJoin(server, { name: 'Ada', session: 'x' });
    expect(res.status).toBe(404);
    expect(((await res.json()) as { code: string }).code).toBe('API_NOT_FOUND');
    expect((await fetch(`${server.url}/`)).status).toBe(200);
  });

  it('serves neither page nor join route unless asked to (the default of startServer)', async () => {
    const server = await serve({});
    expect((await fetch(`${server.url}/`)).status).toBe(404);
    expect((await devJoin(server, { name: 'Ada', session: 'x' })).status).toBe(404);
  });

  it('says to build when the built files are missing', async () => {
    const server = await serve({ demo: { dir: demo.dir, sdkDir: join(tmpdir(), 'no-such-sdk-dir') } });
    const res = await fetch(`${server.url}/sdk/tether.js`);
    expect(res.status).toBe(404);
    expect(((await res.json()) as { message: string }).message).toMatch(/run `npm run build`/);
  });
});
