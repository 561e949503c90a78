import { randomUUID } from 'node:crypto';
import {
  TetherError,
  startArchiveBodySchema,
  type ArchiveFailure,
  type ArchiveStream,
  type Clock,
  type SessionInfo,
  type TimerHandle,
} from '@tether/protocol';
import type { Logger } from 'pino';
import type { z } from 'zod/mini';
import type { ArchiveRequest, LogEntry } from '../cluster/engine.js';
import type { Room } from '../room.js';
import { compose } from './composer.js';
import { SessionRecording } from './recording.js';
import { recoverFiles } from './recovery.js';
import { RemoteArchives } from './remote.js';
import type { ArchiveStorage } from './storage.js';
import type { ArchivePatch, ArchiveRecord, ArchiveStore } from './store.js';

export type StartArchive = z.infer<typeof startArchiveBodySchema>;

/** The composed file of a composed archive. */
export const COMPOSED_FILE = 'archive.webm';

export interface ArchivesOptions {
  store: ArchiveStore;
  storage: ArchiveStorage;
  clock: Clock;
  log: Logger;
  /** This node's replica of a session, if it follows it. */
  room(sessionId: string): Room | undefined;
  /** The project (API key) a session id belongs to. */
  projectOf(sessionId: string): string;
  /** Called whenever an archive's status changes (started, stopped, available, failed). */
  statusChanged?: (record: ArchiveRecord) => void;
  /** A stable id of the data directory the files go to (records name it: `ArchiveRecord.owner`). */
  owner: string;
  /** How many streams a session has, wherever it is held (a session this node does not follow). */
  streamCount(sessionId: string): Promise<number>;
  /** Appends to a session's log (an archive request for the media home on another node). */
  append(sessionId: string, entries: LogEntry[]): Promise<void>;
  /** ffmpeg's path (composing, and repairing files a crash left). Default `ffmpeg`. */
  ffmpeg?: string;
}

interface Active {
  record: ArchiveRecord;
  recording: SessionRecording;
  room: Room;
  /** Stops it at its maxDuration. */
  limit: TimerHandle;
}

/**
 * The archives of this node: starts and stops recordings of the sessions whose media it runs,
 * keeps their records (ArchiveStore) and files (ArchiveStorage), finishes them (composing a
 * composed one with ffmpeg), and tells each session's clients through its log
 * (`archiveStarted` / `archiveStopped`), so it works in a cluster. One archive per session at a
 * time. A session in archive mode `always` starts one by itself when its first stream is
 * published; any archive stops when its session ends (the last client left).
 */
export class Archives {
  private readonly active = new Map<string, Active>();
  /** Sessions whose start is on its way (the record being written): a second start is refused. */
  private readonly starting = new Set<string>();
  /** Archives being finished (files closed, composed). */
  private readonly finishing = new Set<Promise<void>>();

  private readonly remote: RemoteArchives;

  constructor(private readonly opts: ArchivesOptions) {
    this.remote = new RemoteArchives(opts.store, opts.clock, opts.append);
  }

  async start(
    project: string,
    session: SessionInfo,
    body: StartArchive,
    id: string = randomUUID(),
  ): Promise<ArchiveRecord> {
    const { opts } = this;
    const sessionId = session.sessionId;
    if (session.mediaMode === 'relayed') throw new TetherError('ARCHIVE_RELAYED_SESSION');
    if (this.active.has(sessionId) || this.starting.has(sessionId))
      throw new TetherError(
        'ARCHIVE_ALREADY_RECORDING',
        `archive ${this.active.get(sessionId)?.record.id ?? ''}`,
      );
    const room = opts.room(sessionId);
    if (!room?.media.isHome) {
      // The media runs on another node (or this one does not follow the session): that node records.
      if ((room ? room.streams.size : await opts.streamCount(sessionId)) === 0)
        throw new TetherError('ARCHIVE_NO_STREAMS');
      const running = await opts.store.recording(sessionId);
      if (running) throw new TetherError('ARCHIVE_ALREADY_RECORDING', `archive ${running.id}`);
      return this.remote.start(sessionId, { op: 'start', id, project, body });
    }
    if (room.streams.size === 0) throw new TetherError('ARCHIVE_NO_STREAMS');
    this.starting.add(sessionId);
    try {
      const running = await opts.store.recording(sessionId);
      if (running && (running.owner ?? opts.owner) === opts.owner)
        throw new TetherError('ARCHIVE_ALREADY_RECORDING', `archive ${running.id}`);
      // This node runs the session's media now: an archive another node was recording lost it
      // (that node died or drained, and the media moved here). It ends, failed; a new one may start.
      if (running) {
        const failed = await this.save(running.id, { status: 'failed', reason: 'mediaMoved' });
        room.emit({ event: { t: 'archiveStopped', id: running.id } });
        if (failed) this.changed(failed);
      }
      const record: ArchiveRecord = {
        id,
        project,
        owner: opts.owner,
        sessionId,
        name: body.name,
        outputMode: body.outputMode,
        hasAudio: body.hasAudio,
        hasVideo: body.hasVideo,
        resolution: body.resolution,
        layout: body.layout,
        status: 'started',
        createdAt: opts.clock.now(),
        duration: 0,
        size: 0,
        streams: [],
      };
      await opts.storage.prepare(record.id);
      await opts.store.insert(record);
      const recording = new SessionRecording({
        archiveId: record.id,
        hasAudio: record.hasAudio,
        hasVideo: record.hasVideo,
        startedAt: record.createdAt,
        storage: opts.storage,
        clock: opts.clock,
        log: opts.log,
        stream: (streamId) => room.streams.get(streamId),
        // Kept as they appear: a server that dies mid-recording leaves the record of what it wrote.
        changed: (streams) => void this.save(record.id, { streams }),
        failed: (err) =>
          opts.log.error({ err, archiveId: record.id }, 'archive: a file could not be written'),
      });
      const active: Active = {
        record,
        recording,
        room,
        limit: opts.clock.setTimeout(() => {
          if (this.active.get(sessionId) === active)
            this.track(
              this.end(active, true, 'maxDuration').then(
                () => undefined,
                (err: unknown) => opts.log.error({ err, archiveId: record.id }, 'archive: stop failed'),
              ),
            );
        }, body.maxDuration * 1000),
      };
      this.active.set(sessionId, active);
      room.media.record(recording);
      room.emit({ event: { t: 'archiveStarted', id: record.id, name: record.name } });
      opts.log.info({ archiveId: record.id, sessionId, outputMode: record.outputMode }, 'archive started');
      this.changed(record);
      return record;
    } finally {
      this.starting.delete(sessionId);
    }
  }

  async stop(project: string, id: string): Promise<ArchiveRecord> {
    const record = await this.get(project, id);
    const active = [...this.active.values()].find((a) => a.record.id === id);
    if (!active) {
      // Recording on another node (the session's media home): it stops it.
      if (record.status === 'started') return this.remote.stop(record);
      throw new TetherError('ARCHIVE_NOT_RECORDING', `status ${record.status}`);
    }
    return this.end(active, true);
  }

  /** Another node asks this one, the session's media home, to start or stop the session's archive. */
  request(room: Room, request: ArchiveRequest): void {
    const work =
      request.op === 'start'
        ? this.start(request.project, room.session, { sessionId: room.id, ...request.body }, request.id)
        : this.stop(request.project, request.id);
    work.then(undefined, (err: unknown) =>
      this.opts.log.warn(
        { err, sessionId: room.id, request: request.op },
        'archive: a request from another node failed',
      ),
    );
  }

  async get(project: string, id: string): Promise<ArchiveRecord> {
    const record = await this.opts.store.get(id);
    if (!record || record.project !== project) throw new TetherError('ARCHIVE_NOT_FOUND', id);
    return record;
  }

  list(project: string, query: { sessionId?: string; offset: number; count: number }) {
    return this.opts.store.list(project, query);
  }

  async delete(project: string, id: string): Promise<void> {
    const record = await this.get(project, id);
    if (record.status === 'started' || record.status === 'stopped')
      throw new TetherError('ARCHIVE_IN_PROGRESS', `status ${record.status}`);
    await this.opts.store.delete(id);
    await this.opts.storage.remove(id);
  }

  /**
   * A stream was published, or this node became the media home (in a cluster the home is
   * claimed by the first media op, after the stream): a session in archive mode `always`
   * with a stream starts recording, at its home.
   */
  mediaReady(room: Room): void {
    const { archiveMode } = room.session;
    if (archiveMode !== 'always' || this.active.has(room.id) || this.starting.has(room.id)) return;
    if (!room.media.isHome || room.streams.size === 0) return;
    this.start(
      this.opts.projectOf(room.id),
      room.session,
      startArchiveBodySchema.parse({ sessionId: room.id }),
    ).then(undefined, (err: unknown) => {
      if (!(err instanceof TetherError && err.code === 'ARCHIVE_ALREADY_RECORDING'))
        this.opts.log.error({ err, sessionId: room.id }, 'archive: automatic start failed');
    });
  }

  /** This node stops following a session (its last client left): its archive stops. */
  roomClosed(room: Room): void {
    const active = this.active.get(room.id);
    if (active?.room === room)
      this.track(
        this.end(active, false, 'sessionEnded').then(
          () => undefined,
          (err: unknown) => this.opts.log.error({ err, archiveId: active.record.id }, 'archive: stop failed'),
        ),
      );
  }

  /** The running archive of a session this node records, as clients are told of it. */
  runningIn(sessionId: string): { id: string; name: string } | undefined {
    const active = this.active.get(sessionId);
    return active && { id: active.record.id, name: active.record.name };
  }

  /**
   * At start-up: archives a previous process left `started` or `stopped` (it died mid-way)
   * become `failed` (serverRestarted), their files repaired so what was written plays.
   */
  async recover(): Promise<void> {
    // Only this data directory's: in a shared store, another node's unfinished archive may be recording now.
    const mine = (await this.opts.store.unfinished()).filter(
      (r) => (r.owner ?? this.opts.owner) === this.opts.owner,
    );
    for (const record of mine) {
      const { streams, duration } = await recoverFiles(record, this.opts.storage, this.opts.ffmpeg).catch(
        (err: unknown) => {
          this.opts.log.error({ err, archiveId: record.id }, 'archive: repairing files failed');
          return { streams: record.streams, duration: record.duration };
        },
      );
      const failed = await this.save(record.id, {
        status: 'failed',
        reason: 'serverRestarted',
        streams,
        duration,
        size: streams.reduce((n, s) => n + s.size, 0),
      });
      this.opts.log.warn({ archiveId: record.id }, 'archive failed: the server stopped while recording it');
      if (failed) this.changed(failed);
    }
  }

  /** Stops what records (its session ends) and waits for what is being finished. */
  async close(): Promise<void> {
    await Promise.all([...this.active.values()].map((a) => this.end(a, false, 'sessionEnded')));
    while (this.finishing.size > 0) await Promise.all([...this.finishing]);
  }

  private async end(
    active: Active,
    tell: boolean,
    reason?: 'sessionEnded' | 'maxDuration',
  ): Promise<ArchiveRecord> {
    const { opts } = this;
    const { record, recording, room } = active;
    opts.clock.clearTimeout(active.limit);
    this.active.delete(record.sessionId);
    room.media.record(undefined);
    const stopped: ArchiveRecord = {
      ...record,
      status: 'stopped',
      duration: Math.max(0, opts.clock.now() - record.createdAt) / 1000,
      streams: recording.streams(),
      ...(reason ? { reason } : {}),
    };
    await this.save(record.id, stopped);
    // Nobody is left to tell when the session ended.
    if (tell) room.emit({ event: { t: 'archiveStopped', id: record.id } });
    opts.log.info({ archiveId: record.id, duration: stopped.duration }, 'archive stopped');
    this.changed(stopped);
    this.track(this.finish(stopped, recording));
    return stopped;
  }

  /** Closes its files, composes a composed one, and makes it `available` (or `failed`). */
  private async finish(record: ArchiveRecord, recording: SessionRecording): Promise<void> {
    const { opts } = this;
    let failure: ArchiveFailure = 'storageFailed';
    let patch: ArchivePatch;
    try {
      const streams = await recording.stop();
      let size = streams.reduce((n, s) => n + s.size, 0);
      if (record.outputMode === 'composed') {
        failure = 'composeFailed';
        const [width, height] = record.resolution.split('x').map(Number) as [number, number];
        const output = opts.storage.pathFor(record.id, COMPOSED_FILE);
        opts.log.info({ archiveId: record.id, streams: streams.length }, 'archive: composing');
        await compose(
          {
            inputs: streams.map((s) => ({
              path: opts.storage.pathFor(record.id, s.file),
              startOffset: s.startOffset,
              ...(s.stopOffset !== undefined ? { stopOffset: s.stopOffset } : {}),
              hasAudio: s.hasAudio,
              hasVideo: s.hasVideo,
            })),
            output,
            duration: record.duration,
            width,
            height,
            hasAudio: record.hasAudio,
            hasVideo: record.hasVideo,
          },
          opts.log,
          opts.ffmpeg,
        );
        await opts.storage.finished(record.id, COMPOSED_FILE);
        size = (await opts.storage.size(record.id, COMPOSED_FILE)) ?? 0;
      } else for (const s of streams) await opts.storage.finished(record.id, s.file);
      patch = { status: 'available', streams, size };
    } catch (err) {
      opts.log.error({ err, archiveId: record.id }, `archive failed: ${failure}`);
      patch = { status: 'failed', reason: failure, streams: recording.streams() };
    }
    const saved = await this.save(record.id, patch);
    opts.log.info({ archiveId: record.id, status: patch.status, size: patch.size }, 'archive finished');
    if (saved) this.changed(saved);
  }

  private track(work: Promise<void>): void {
    const done = work.finally(() => this.finishing.delete(done));
    this.finishing.add(done);
  }

  private async save(id: string, patch: ArchivePatch): Promise<ArchiveRecord | undefined> {
    try {
      if (!(await this.opts.store.update(id, patch))) return undefined;
      return await this.opts.store.get(id);
    } catch (err) {
      this.opts.log.error({ err, archiveId: id }, 'archive: the record could not be saved');
      return undefined;
    }
  }

  private changed(record: ArchiveRecord): void {
    // The application's callback (server.ts wires it to Callbacks.emit).
    this.opts.statusChanged?.(record);
  }
}

export type { ArchiveStream };
