// A child for child.test.ts: `node child.fixture.mjs --child <role> …args`.
import { setInterval } from 'node:timers';
import { childRole, serveParent } from './child.mjs';

const { role, args } = childRole() ?? {};
if (role === 'echo') {
  serveParent(
    { pid: process.pid, args },
    {
      ping: (msg) => ({ pong: msg.id }),
      fail: () => {
        throw new Error('asked to fail');
      },
      close: async () => ({ closed: true }),
    },
  );
} else if (role === 'die-before-ready') {
  process.exit(3);
} else if (role === 'die-on-request') {
  serveParent({}, { die: () => process.exit(4) });
} else if (role === 'deaf') {
  // Ready, but never answers and never exits by itself (ignores 'close').
  process.on('message', () => undefined);
  process.send({ ready: true });
  setInterval(() => undefined, 1000);
}
