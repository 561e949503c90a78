import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { HubSizes } from './hub.js';

/** Prometheus metrics of one server instance (its own registry, so tests can run several). */
export function createMetrics(sizes: () => HubSizes) {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'tether_' });
  const m = {
    registry,
    connects: new Counter({
      name: 'tether_connects_total',
      help: 'Connections created',
      registers: [registry],
    }),
    resumes: new Counter({ name: 'tether_resumes_total', help: 'Successful resumes', registers: [registry] }),
    interruptions: new Counter({
      name: 'tether_interruptions_total',
      help: 'Transports lost inside a connection',
      registers: [registry],
    }),
    destroyed: new Counter({
      name: 'tether_connections_destroyed_total',
      help: 'Connections ended, by reason',
      labelNames: ['reason'],
      registers: [registry],
    }),
    signals: new Counter({
      name: 'tether_signals_total',
      help: 'Signals received from clients',
      registers: [registry],
    }),
    framesIn: new Counter({
      name: 'tether_frames_in_total',
      help: 'WebSocket frames received',
      registers: [registry],
    }),
    framesOut: new Counter({
      name: 'tether_frames_out_total',
      help: 'WebSocket frames sent',
      registers: [registry],
    }),
    unconfirmed: new Counter({
      name: 'tether_unconfirmed_discarded_total',
      help: 'Connections discarded before their client confirmed the welcome (nobody was told of them), by outcome',
      labelNames: ['outcome'],
      registers: [registry],
    }),
    budgetEvictions: new Counter({
      name: 'tether_interrupted_evictions_total',
      help: 'Interrupted connections ended because their session or the server held too much for interrupted connections',
      labelNames: ['scope'],
      registers: [registry],
    }),
  };
  new Gauge({
    name: 'tether_connections',
    help: 'Live connections, by state',
    labelNames: ['state'],
    registers: [registry],
    collect() {
      const s = sizes();
      this.set({ state: 'pending' }, s.pending);
      this.set({ state: 'connected' }, s.connected);
      this.set({ state: 'interrupted' }, s.interrupted);
    },
  });
  new Gauge({
    name: 'tether_interrupted_held_bytes',
    help: 'Bytes held for connections without a transport (their outboxes, plus a fixed cost each), bounded per session and for the server',
    registers: [registry],
    collect() {
      this.set(sizes().interruptedHeldBytes);
    },
  });
  new Gauge({
    name: 'tether_cluster_available',
    help: '1 while the cluster engine can serve (memory: always; Redis: reachable), 0 while this node refuses joins with CLUSTER_UNAVAILABLE',
    registers: [registry],
    collect() {
      this.set(sizes().clusterAvailable ? 1 : 0);
    },
  });
  new Gauge({
    name: 'tether_sessions',
    help: 'Sessions with live connections',
    registers: [registry],
    collect() {
      this.set(sizes().sessions);
    },
  });
  return m;
}

export type Metrics = ReturnType<typeof createMetrics>;
