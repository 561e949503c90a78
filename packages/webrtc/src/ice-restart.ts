/** The part of werift's `RTCIceTransport` (0.25) the workaround reads. */
interface WeriftIceTransport {
  state: string;
  connection?: { nominated?: unknown; remoteUsername?: string };
  start(): Promise<void>;
}

/**
 * After an ICE restart, werift (0.25) takes the new credentials but, once DTLS is up, runs no
 * connectivity checks again: the transport stays without a nominated pair, so a path that
 * died never comes back. This starts them, on each end, once the remote description is set.
 * Browsers restart ICE by themselves (their peer connections have no `iceTransports`): a no-op.
 */
export function resumeIceChecks(pc: object): void {
  const transports = (pc as { iceTransports?: WeriftIceTransport[] }).iceTransports;
  for (const t of transports ?? [])
    if (
      t.state !== 'closed' &&
      t.state !== 'checking' &&
      t.connection &&
      !t.connection.nominated &&
      t.connection.remoteUsername
    )
      t.start().catch(() => undefined); // a failed start shows as a path still down: recovery retries
}
