import { createReadStream } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { Readable } from 'node:stream';

/** File names an archive's files may have: no path from a request ever reaches the file system unchecked. */
const FILE_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,200}$/;
const ARCHIVE_ID = /^[A-Za-z0-9-]{1,64}$/;

export function validFileName(name: string): boolean {
  return FILE_NAME.test(name) && !name.includes('..');
}

/**
 * Where archives' files are kept. Recorders and ffmpeg write local files, so `pathFor` names
 * one; a store elsewhere (object storage) would take each file when it is finished
 * (`finished`) and serve `read` from there.
 */
export interface ArchiveStorage {
  /** Makes room for an archive's files (before its first `pathFor`). */
  prepare(archiveId: string): Promise<void>;
  /** A local path to write one file of an archive to. */
  pathFor(archiveId: string, file: string): string;
  /** The file is complete (nothing more is written to it). */
  finished(archiveId: string, file: string): Promise<void>;
  /** Its size in bytes; undefined if there is no such file. */
  size(archiveId: string, file: string): Promise<number | undefined>;
  /** Its bytes, `start`..`end` inclusive. */
  read(archiveId: string, file: string, range?: { start: number; end: number }): Readable;
  files(archiveId: string): Promise<string[]>;
  remove(archiveId: string): Promise<void>;
  /** A stable id of where the files are (the records of a shared store name it). */
  readonly owner: string;
}

/** Files in the data directory: `<dir>/<archiveId>/<file>`. */
export class LocalArchiveStorage implements ArchiveStorage {
  readonly owner: string;

  constructor(private readonly dir: string) {
    // Made once per data directory, kept beside the files: the same after every restart.
    const file = join(dir, 'owner');
    mkdirSync(dir, { recursive: true });
    let owner: string;
    try {
      owner = readFileSync(file, 'utf8').trim();
    } catch {
      owner = '';
    }
    if (!/^[0-9a-f-]{36}$/.test(owner)) writeFileSync(file, (owner = randomUUID()));
    this.owner = owner;
  }

  async prepare(archiveId: string): Promise<void> {
    await mkdir(this.folder(archiveId), { recursive: true });
  }

  pathFor(archiveId: string, file: string): string {
    return join(this.folder(archiveId), this.name(file));
  }

  async finished(): Promise<void> {}

  async size(archiveId: string, file: string): Promise<number | undefined> {
    if (!validFileName(file)) return undefined;
    return stat(join(this.folder(archiveId), file)).then(
      (s) => (s.isFile() ? s.size : undefined),
      () => undefined,
    );
  }

  read(archiveId: string, file: string, range?: { start: number; end: number }): Readable {
    return createReadStream(join(this.folder(archiveId), this.name(file)), range);
  }

  async files(archiveId: string): Promise<string[]> {
    return readdir(this.folder(archiveId)).catch(() => []);
  }

  async remove(archiveId: string): Promise<void> {
    await rm(this.folder(archiveId), { recursive: true, force: true });
  }

  private folder(archiveId: string): string {
    if (!ARCHIVE_ID.test(archiveId)) throw new Error(`not an archive id: ${archiveId}`);
    return join(this.dir, archiveId);
  }

  private name(file: string): string {
    if (!validFileName(file)) throw new Error(`not an archive file name: ${file}`);
    return file;
  }
}
