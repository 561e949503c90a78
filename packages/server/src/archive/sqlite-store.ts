import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { archiveSchema } from '@tether/protocol';
import type { ArchivePatch, ArchiveRecord, ArchiveStore } from './store.js';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS archives (
  id TEXT PRIMARY KEY,
  project TEXT NOT NULL,
  session_id TEXT NOT NULL,
  status TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS archives_by_project ON archives (project, created_at DESC);
CREATE INDEX IF NOT EXISTS archives_by_session ON archives (project, session_id, created_at DESC);
CREATE INDEX IF NOT EXISTS archives_by_status ON archives (status);
`;

interface Row {
  record: string;
  project: string;
}

/**
 * Archive records in SQLite (better-sqlite3), one file in the data directory: the embedded
 * default, nothing else to run. The record is kept whole as JSON (checked with the protocol's
 * schema when read back); the columns beside it are what lists and look-ups filter on.
 * better-sqlite3 is synchronous: each call is a few microseconds on a local file.
 */
export class SqliteArchiveStore implements ArchiveStore {
  private readonly db: Database.Database;

  constructor(file: string) {
    if (file !== ':memory:') mkdirSync(dirname(file), { recursive: true });
    this.db = new Database(file);
    // WAL: a reader never waits for the writer; synchronous NORMAL is durable across a process crash.
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.exec(SCHEMA);
  }

  async insert(record: ArchiveRecord): Promise<void> {
    this.db
      .prepare(
        'INSERT INTO archives (id, project, session_id, status, created_at, record) VALUES (?, ?, ?, ?, ?, ?)',
      )
      .run(record.id, record.project, record.sessionId, record.status, record.createdAt, body(record));
  }

  async update(id: string, patch: ArchivePatch): Promise<boolean> {
    const change = this.db.transaction(() => {
      const current = this.read(id);
      if (!current) return false;
      const next = { ...current, ...patch };
      this.db
        .prepare('UPDATE archives SET status = ?, record = ? WHERE id = ?')
        .run(next.status, body(next), id);
      return true;
    });
    return change();
  }

  async get(id: string): Promise<ArchiveRecord | undefined> {
    return this.read(id);
  }

  async list(
    project: string,
    query: { sessionId?: string; offset: number; count: number },
  ): Promise<{ count: number; items: ArchiveRecord[] }> {
    const where = query.sessionId === undefined ? 'project = ?' : 'project = ? AND session_id = ?';
    const args = query.sessionId === undefined ? [project] : [project, query.sessionId];
    const total = this.db.prepare(`SELECT COUNT(*) AS n FROM archives WHERE ${where}`).get(...args) as {
      n: number;
    };
    const rows = this.db
      .prepare(
        `SELECT record, project FROM archives WHERE ${where} ORDER BY created_at DESC, id LIMIT ? OFFSET ?`,
      )
      .all(...args, query.count, query.offset) as Row[];
    return { count: total.n, items: rows.map(parse) };
  }

  async delete(id: string): Promise<boolean> {
    return this.db.prepare('DELETE FROM archives WHERE id = ?').run(id).changes > 0;
  }

  async unfinished(): Promise<ArchiveRecord[]> {
    const rows = this.db
      .prepare("SELECT record, project FROM archives WHERE status IN ('started', 'stopped')")
      .all() as Row[];
    return rows.map(parse);
  }

  async recording(sessionId: string): Promise<ArchiveRecord | undefined> {
    const row = this.db
      .prepare("SELECT record, project FROM archives WHERE session_id = ? AND status = 'started' LIMIT 1")
      .get(sessionId) as Row | undefined;
    return row && parse(row);
  }

  async close(): Promise<void> {
    this.db.close();
  }

  private read(id: string): ArchiveRecord | undefined {
    const row = this.db.prepare('SELECT record, project FROM archives WHERE id = ?').get(id) as
      Row | undefined;
    return row && parse(row);
  }
}

function body(record: ArchiveRecord): string {
  const { project: _p, ...archive } = record;
  return JSON.stringify(archive);
}

function parse(row: Row): ArchiveRecord {
  const json = JSON.parse(row.record) as { owner?: unknown };
  const owner = typeof json.owner === 'string' ? { owner: json.owner } : {};
  return { ...archiveSchema.parse(json), project: row.project, ...owner };
}
