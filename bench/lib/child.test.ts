import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { childRole, forkChild, killChildren } from './child.mjs';

const FIXTURE = fileURLToPath(new URL('./child.fixture.mjs', import.meta.url));
const quiet = { log: () => undefined };

describe('childRole', () => {
  it('reads the role and its arguments after --child, and nothing in the bench itself', () => {
    expect(childRole(['node', 'x.mjs', '--child', 'server', 'tether', '1'])).toEqual({
      role: 'server',
      args: ['tether', '1'],
    });
    expect(childRole(['node', 'x.mjs', '--clients', '100'])).toBeUndefined();
  });
});

describe('forkChild', () => {
  it('waits for the ready message, passes arguments as strings, and answers requests over IPC', async () => {
    const child = await forkChild(FIXTURE, 'echo', [7, 'x']);
    try {
      expect(child.info).toMatchObject({ pid: child.pid, args: ['7', 'x'], ready: true });
      const a = await child.call('ping');
      const b = await child.call('ping');
      expect(a.pong).not.toBe(b.pong);
      expect(await child.call('fail')).toMatchObject({ error: 'asked to fail' });
      expect(await child.call('nope')).toMatchObject({ error: "unknown command 'nope'" });
    } finally {
      await child.stop();
    }
    expect(await child.exited).toEqual({ code: 0, signal: null });
    await expect(child.call('ping')).rejects.toThrow('echo is gone');
  });

  it('rejects when the child exits before it is ready', async () => {
    await expect(forkChild(FIXTURE, 'die-before-ready')).rejects.toThrow(
      'die-before-ready exited (3) before it was ready',
    );
  });

  it('rejects a pending request when the child exits instead of answering', async () => {
    const child = await forkChild(FIXTURE, 'die-on-request', [], { label: 'worker' });
    await expect(child.call('die')).rejects.toThrow('worker exited (4)');
  });

  it('rejects a request not answered in time', async () => {
    const child = await forkChild(FIXTURE, 'deaf');
    try {
      await expect(child.call('ping', 100)).rejects.toThrow("deaf did not answer 'ping' in 100 ms");
    } finally {
      child.kill();
      await child.exited;
    }
  });

  it('kills a child that does not exit after close, and says so', async () => {
    const lines: string[] = [];
    const child = await forkChild(FIXTURE, 'deaf', [], { log: (l: string) => lines.push(l) });
    await child.stop(200);
    expect(await child.exited).toEqual({ code: null, signal: 'SIGKILL' });
    expect(lines).toEqual([`deaf did not exit in 0.2 s; killing pid ${child.pid}`]);
  });

  it('killChildren kills every child still alive', async () => {
    const a = await forkChild(FIXTURE, 'deaf', [], quiet);
    const b = await forkChild(FIXTURE, 'echo', [], quiet);
    killChildren();
    expect(await a.exited).toMatchObject({ signal: 'SIGKILL' });
    expect(await b.exited).toMatchObject({ signal: 'SIGKILL' });
  });
});
