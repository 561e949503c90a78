import type { ArchiveStream, Clock, StreamInfo } from '@tether/protocol';
import type { Logger } from 'pino';
import type { IngestSource, Kind, MediaTap } from '../media/sfu.js';
import { StreamRecorder } from './recorder.js';
import type { ArchiveStorage } from './storage.js';

/** Bounds the files of one archive: a stream published again and again does not make files without end. */
export const MAX_FILES_PER_ARCHIVE = 256;

export interface RecordingOptions {
  archiveId: string;
  hasAudio: boolean;
  hasVideo: boolean;
  /** Clock ms the archive started: the offsets of its streams count from here. */
  startedAt: number;
  storage: ArchiveStorage;
  clock: Clock;
  log: Logger;
  /** The stream a receiving end belongs to, as the session knows it. */
  stream(streamId: string): StreamInfo | undefined;
  /** A file appeared or ended: the record's `streams` as they are now. */
  changed(streams: ArchiveStream[]): void;
  /** A file could not be written. */
  failed(err: unknown): void;
}

interface File {
  entry: ArchiveStream;
  recorder: StreamRecorder;
  /** It has a first packet in: it is in the record. */
  started: boolean;
  done: Promise<void> | undefined;
}

/**
 * One archive being recorded on the node that runs its session's SFU: every receiving end of
 * the session (each stream; a stream published afresh gets a new file) is recorded into its
 * own WebM (`<streamId>.webm`, then `<streamId>-2.webm`…), with the moment it appears and
 * disappears relative to the archive's start. Streams that join mid-archive are recorded from
 * their first packet; streams that leave end their file then.
 */
export class SessionRecording implements MediaTap {
  private readonly files: File[] = [];
  private readonly parts = new Map<string, number>();
  private stopped = false;

  constructor(private readonly opts: RecordingOptions) {}

  ingest(source: IngestSource): void {
    const { opts } = this;
    const info = opts.stream(source.streamId);
    if (this.stopped || !info) return;
    if (this.files.length >= MAX_FILES_PER_ARCHIVE) {
      opts.log.warn({ archiveId: opts.archiveId }, 'archive: too many files, a stream is left out');
      return;
    }
    const kinds: Kind[] = [];
    if (opts.hasAudio) kinds.push('audio');
    if (opts.hasVideo) kinds.push('video');
    const n = (this.parts.get(source.streamId) ?? 0) + 1;
    this.parts.set(source.streamId, n);
    const name = n === 1 ? `${source.streamId}.webm` : `${source.streamId}-${n}.webm`;
    const entry: ArchiveStream = {
      streamId: info.streamId,
      connectionId: info.connectionId,
      name: info.name,
      file: name,
      startOffset: 0,
      hasAudio: false,
      hasVideo: false,
      size: 0,
    };
    const file: File = { entry, started: false, done: undefined, recorder: undefined as never };
    file.recorder = new StreamRecorder(
      source,
      opts.storage.pathFor(opts.archiveId, name),
      kinds,
      opts.clock,
      (at, got) => {
        entry.startOffset = Math.max(0, at - opts.startedAt);
        entry.hasAudio = got.includes('audio');
        entry.hasVideo = got.includes('video');
        file.started = true;
        opts.log.info({ archiveId: opts.archiveId, file: name, kinds: got }, 'archive: stream recording');
        this.report();
      },
      () => void this.end(file),
      (err) => opts.failed(err),
    );
    this.files.push(file);
  }

  /** Stops every file (idempotent): the streams recorded, each finished. */
  async stop(): Promise<ArchiveStream[]> {
    this.stopped = true;
    await Promise.all(this.files.map((f) => this.end(f)));
    return this.streams();
  }

  /** The files with something in them, as the record lists them. */
  streams(): ArchiveStream[] {
    return this.files.filter((f) => f.started).map((f) => ({ ...f.entry }));
  }

  private end(file: File): Promise<void> {
    file.done ??= file.recorder.stop().then(
      (recorded) => {
        file.entry.stopOffset = Math.max(file.entry.startOffset, recorded.stoppedAt - this.opts.startedAt);
        file.entry.size = recorded.size;
        if (recorded.startedAt === undefined) file.started = false;
        if (file.started) this.report();
      },
      (err: unknown) => this.opts.failed(err),
    );
    return file.done;
  }

  private report(): void {
    if (!this.stopped) this.opts.changed(this.streams());
  }
}
