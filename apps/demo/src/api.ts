export interface JoinTicket {
  url: string;
  sessionId: string;
  token: string;
  /** From the development project's join route: its development routes (record button) work too. */
  dev?: boolean;
}

/** Thrown with a message a person can act on. */
export class JoinError extends Error {}

/**
 * A session id and token for a session name, from the server's development-only route.
 * An application has its own back end do this with the server SDK.
 */
export async function devJoin(name: string, session: string): Promise<JoinTicket> {
  let res: Response;
  try {
    res = await fetch('/dev/join', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name, session }),
    });
  } catch {
    throw new JoinError('The server cannot be reached. Check that `tether serve` is running.');
  }
  if (res.status === 404)
    throw new JoinError(
      'This server has projects configured, so its development join route is off. Use a session id and a token from your back end (below).',
    );
  const body = (await res.json().catch(() => ({}))) as Partial<JoinTicket> & { message?: string };
  if (!res.ok || !body.token || !body.sessionId)
    throw new JoinError(body.message ?? `The server refused to join (HTTP ${res.status}).`);
  return { url: body.url ?? location.origin, sessionId: body.sessionId, token: body.token, dev: true };
}
