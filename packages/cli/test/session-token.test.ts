import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseSessionId, verifyToken } from '@tether/auth';
import { beforeAll, describe, expect, it } from 'vitest';

/** The built binary, as `npx tether` runs it: `npm test` builds first. */
const BIN = fileURLToPath(new URL('../dist/bin.js', import.meta.url));
const apiKey = 'cli-project';
const apiSecret = 'secret-of-the-cli-project';
const lookup = (key: string) => (key === apiKey ? apiSecret : undefined);
const credentials = ['--api-key', apiKey, '--api-secret', apiSecret];

async function tether(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, [BIN, ...args], { env: {} });
    return { code: 0, stdout, stderr };
  } catch (err) {
    const { code, stdout, stderr } = err as { code: number; stdout: string; stderr: string };
    return { code, stdout, stderr };
  }
}

beforeAll(() => {
  if (!existsSync(BIN)) throw new Error(`${BIN} is missing: run \`npm run build\` first`);
});

describe('tether session / tether token (offline signing)', () => {
  it('prints a session id and a token that the server-side verifiers accept', async () => {
    const session = await tether(
      'session',
      ...credentials,
      '--media-mode',
      'relayed',
      '--archive-mode',
      'always',
    );
    expect(session).toMatchObject({ code: 0, stderr: '' });
    const sessionId = session.stdout.trim();
    expect(parseSessionId(sessionId, lookup)).toMatchObject({
      sessionId,
      apiKey,
      mediaMode: 'relayed',
      archiveMode: 'always',
    });

    const token = await tether(
      'token',
      ...credentials,
      '--session',
      sessionId,
      '--role',
      'moderator',
      '--data',
      'alice',
      '--ttl',
      '60',
    );
    expect(token).toMatchObject({ code: 0, stderr: '' });
    const claims = await verifyToken(token.stdout.trim(), lookup);
    expect(claims).toMatchObject({ iss: apiKey, sid: sessionId, role: 'moderator', data: 'alice' });
    expect(claims.exp - claims.iat).toBe(60);
  });

  it('signs with the project secret: a token from another secret does not verify', async () => {
    const sessionId = (await tether('session', ...credentials)).stdout.trim();
    const forged = await tether(
      'token',
      '--api-key',
      apiKey,
      '--api-secret',
      'not-the-secret',
      '--session',
      sessionId,
    );
    expect(forged.code).toBe(0);
    await expect(verifyToken(forged.stdout.trim(), lookup)).rejects.toMatchObject({
      code: 'TOKEN_INVALID_SIGNATURE',
    });
  });

  it('exits 1 with a message saying how to fix a bad role, and prints no token', async () => {
    const sessionId = (await tether('session', ...credentials)).stdout.trim();
    const bad = await tether('token', ...credentials, '--session', sessionId, '--role', 'admin');
    expect(bad.code).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toContain('--role is subscriber, publisher or moderator');
  });
});
