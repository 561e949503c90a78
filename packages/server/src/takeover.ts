import { createHash } from 'node:crypto';
import { TetherError } from '@tether/protocol';
import { comparePositions, isFor, viewFor, type ClusterEngine, type ResumeRecord } from './cluster/engine.js';
import type { Connection } from './connection.js';
import type { Room } from './room.js';

/** How a resume record keeps a secret: its SHA-256, never the secret itself. */
export function secretDigest(secret: string): string {
  return createHash('sha256').update(secret).digest('base64url');
}

/**
 * A resume on this node of a connection this node does not hold: another node owns it, or
 * owned it and died (then this or another node holds it as an orphan). The connection is
 * claimed for this node (its old owner drops it on `~moved`), and its outbox is rebuilt from
 * the session log: the entries after its checkpoint addressed to it, numbered on from the
 * checkpoint — exactly what the old owner numbered, because the numbering is a function of
 * the log. Entries that arrive while the log is read are held and follow in order.
 *
 * `make` builds the Connection (the hub's hooks and limits); the caller attaches the
 * transport and tells the others, as for any resume. Returns the replica state the
 * connection had, which says what the others must be told.
 */
export async function takeOver(
  engine: ClusterEngine,
  room: Room,
  record: ResumeRecord,
  make: (record: ResumeRecord) => Connection,
): Promise<{ conn: Connection; before: 'pending' | 'connected' | 'interrupted' }> {
  const id = record.member.info.connectionId;
  const claimed = await engine.directory.claim(record.sessionId, id, record.epoch);
  if (!claimed)
    throw new TetherError('RESUME_UNKNOWN_CONNECTION', 'another resume of this connection took it first');
  const before = room.memberState(id) ?? claimed.member.state;
  const conn = make(claimed);
  conn.epoch = claimed.epoch;
  const { checkpoint } = claimed;
  conn.outbox.startAt(checkpoint.seq, checkpoint.at);
  conn.lastApplied = checkpoint.lastApplied;
  for (const stream of room.streams.values())
    if (stream.connectionId === id) conn.streams.add(stream.streamId);

  // From here the room holds every new entry for it; the log supplies those before.
  const upTo = room.position;
  room.beginAdoption(conn);
  try {
    const missed =
      comparePositions(checkpoint.at, upTo) < 0
        ? await engine.read(record.sessionId, checkpoint.at, upTo)
        : [];
    const held = room.endAdoption(conn);
    for (const { at, entry } of [...missed, ...held]) {
      if (comparePositions(at, checkpoint.at) <= 0 || !isFor(entry, id)) continue;
      const event = viewFor(entry, claimed.member.role);
      if (event === undefined) continue;
      if (event.t === 'reply' && event.re > conn.lastApplied) conn.lastApplied = event.re;
      conn.deliver(event, at);
    }
  } catch (err) {
    room.endAdoption(conn);
    room.forget(conn);
    throw err;
  }
  return { conn, before };
}
