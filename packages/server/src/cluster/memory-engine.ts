import type {
  ClusterEngine,
  ConnectionDirectory,
  Fence,
  Followed,
  LogEntry,
  LogSink,
  Logged,
  MediaHomes,
  ResumeRecord,
  SessionSnapshot,
} from './engine.js';

/**
 * The embedded default: one process, no service. The one node's Room of a session is the
 * session's whole state, so the log keeps nothing — an append is delivered to the follower
 * before it returns, in order, and a resume can only happen here, from the connection's own
 * outbox. Exactly the single-process behaviour, behind the cluster seam.
 */
export class MemoryEngine implements ClusterEngine {
  readonly name = 'memory' as const;
  readonly nodeId = 'local';
  readonly available = true;
  private readonly sinks = new Map<string, LogSink>();
  private position = 0;

  /** One node: it is every session's media home. */
  readonly mediaHomes: MediaHomes = {
    claim: async () => ({ home: this.nodeId, moved: false, announce: false }),
    release: async () => undefined,
    clearDead: async () => false,
  };

  readonly directory: ConnectionDirectory = {
    register: async () => undefined,
    load: async () => undefined,
    checkpoint: async () => undefined,
    claim: async () => undefined,
    remove: async () => undefined,
  };

  async follow(sessionId: string, sink: LogSink): Promise<Followed> {
    if (this.sinks.has(sessionId)) throw new Error(`session ${sessionId} is followed already`);
    this.sinks.set(sessionId, sink);
    return {
      snapshot: emptySnapshot(String(this.position)),
      unfollow: () => {
        if (this.sinks.get(sessionId) === sink) this.sinks.delete(sessionId);
      },
    };
  }

  append(sessionId: string, entries: readonly LogEntry[], _fence?: Fence): Promise<void> {
    const sink = this.sinks.get(sessionId);
    if (sink && entries.length > 0) {
      const batch: Logged[] = entries.map((entry) => ({ at: String(++this.position), entry }));
      sink(batch);
    }
    return RESOLVED;
  }

  /** Nothing outside the follower's Room: a session nobody follows here is empty. */
  async snapshot(): Promise<SessionSnapshot> {
    return emptySnapshot(String(this.position));
  }

  async read(): Promise<Logged[]> {
    return [];
  }

  onOrphans(_handler: (records: ResumeRecord[]) => void): void {
    // One process: no other node can die and leave connections behind.
  }

  onNodeDown(_handler: (nodeId: string) => void): void {
    // One process: no other node.
  }

  async close(): Promise<void> {
    this.sinks.clear();
  }
}

const RESOLVED = Promise.resolve();

function emptySnapshot(at: string): SessionSnapshot {
  return { members: [], streams: [], at };
}
