/**
 * Waits for a condition by polling it on the event loop; fails with `what` after the
 * timeout. For integration tests over real sockets, where the event is the condition. An
 * async condition (an HTTP probe) is awaited each time and polled less often.
 */
export async function waitFor(
  cond: () => boolean | Promise<boolean>,
  what = 'condition',
  timeoutMs = 10_000,
): Promise<void> {
  const start = Date.now();
  for (;;) {
    const got = cond();
    const async = typeof got !== 'boolean';
    if (async ? await got : got) return;
    if (Date.now() - start > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, async ? 50 : 2));
  }
}

/** Resolves after `ms` of real time (for deliberately long network cuts, never to wait for a result). */
export function hold(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
