import type { Archive } from '@tether/protocol';

/** An archive as it is kept: the record the API shows, and the project it belongs to. */
export interface ArchiveRecord extends Archive {
  /** The API key of the project that started it: no other project sees it. */
  project: string;
  /**
   * The data directory its files are in (a stable id of it): in a store several nodes share,
   * the one whose restart finds it unfinished is the one whose files they are.
   */
  owner?: string;
}

export type ArchivePatch = Partial<
  Omit<ArchiveRecord, 'id' | 'project' | 'owner' | 'sessionId' | 'createdAt'>
>;

/**
 * Where archive records live, so they outlive the process: SQLite in the data directory by
 * default (sqlite-store.ts). A cluster plugs in a store every node shares (the README says
 * which), behind this same interface. Async, so a networked store fits it.
 */
export interface ArchiveStore {
  insert(record: ArchiveRecord): Promise<void>;
  /** Changes fields of a record; false if there is none. */
  update(id: string, patch: ArchivePatch): Promise<boolean>;
  get(id: string): Promise<ArchiveRecord | undefined>;
  /** A project's archives, newest first, optionally of one session; `count` is how many match in all. */
  list(
    project: string,
    query: { sessionId?: string; offset: number; count: number },
  ): Promise<{ count: number; items: ArchiveRecord[] }>;
  delete(id: string): Promise<boolean>;
  /** Records a server left unfinished (`started` or `stopped`): found at start-up. */
  unfinished(): Promise<ArchiveRecord[]>;
  /** The session's archive that is recording, if any. */
  recording(sessionId: string): Promise<ArchiveRecord | undefined>;
  close(): Promise<void>;
}
