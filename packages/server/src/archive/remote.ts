import { TetherError, type Clock } from '@tether/protocol';
import type { ArchiveRequest, LogEntry } from '../cluster/engine.js';
import type { ArchiveRecord, ArchiveStore } from './store.js';

/** How long a node waits for the media home to act on an archive request before it answers ARCHIVE_ELSEWHERE. */
export const REMOTE_ARCHIVE_TIMEOUT_MS = 10_000;
const POLL_MS = 100;

/**
 * Archive starts and stops asked of a node that does not run the session's media (a cluster):
 * the request goes through the session's log as `~archive`, the media home acts on it, and
 * this node reads the outcome from the archive store every node shares (the cluster's Redis).
 * With a store of its own (SQLite) it never sees one, and answers ARCHIVE_ELSEWHERE.
 */
export class RemoteArchives {
  constructor(
    private readonly store: ArchiveStore,
    private readonly clock: Clock,
    private readonly append: (sessionId: string, entries: LogEntry[]) => Promise<void>,
  ) {}

  /** Asks the media home to start archive `request.id`; resolves with its record once it recorded it. */
  async start(sessionId: string, request: Extract<ArchiveRequest, { op: 'start' }>): Promise<ArchiveRecord> {
    await this.append(sessionId, [{ event: { t: '~archive', request } }]);
    return this.until(request.id, (r) => r !== undefined);
  }

  /** Asks the media home to stop a recording archive; resolves once its record is no longer `started`. */
  async stop(record: ArchiveRecord): Promise<ArchiveRecord> {
    const request: ArchiveRequest = { op: 'stop', id: record.id, project: record.project };
    await this.append(record.sessionId, [{ event: { t: '~archive', request } }]);
    return this.until(record.id, (r) => r !== undefined && r.status !== 'started');
  }

  private async until(id: string, done: (r: ArchiveRecord | undefined) => boolean): Promise<ArchiveRecord> {
    const deadline = this.clock.now() + REMOTE_ARCHIVE_TIMEOUT_MS;
    for (;;) {
      const record = await this.store.get(id);
      if (record && done(record)) return record;
      if (this.clock.now() >= deadline)
        throw new TetherError(
          'ARCHIVE_ELSEWHERE',
          'the media home did not act on it (is the archive store shared?)',
        );
      await new Promise<void>((resolve) => this.clock.setTimeout(resolve, POLL_MS));
    }
  }
}
