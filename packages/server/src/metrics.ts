import { Counter, Gauge, Registry, collectDefaultMetrics } from 'prom-client';
import type { HubSizes } from './hub.js';

/** Prometheus metrics of one server instance (its own registry, so tests can run several). */
export function createMetrics(
  sizes: () => HubSizes,
  callbackSizes: () => { queued: number; bytes: number } = () => ({ queued: 0, bytes: 0 }),
) {
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
    callbacksDropped: new Counter({
      name: 'tether_callbacks_dropped_total',
      help: 'Callbacks not delivered, by reason: projectQueueFull / serverQueueFull (the oldest waiting went), retriesExhausted, rejected (a 4xx), shutdown',
      labelNames: ['reason'],
      registers: [registry],
    }),
    callbacksDelivered: new Counter({
      name: 'tether_callbacks_delivered_total',
      help: 'Callbacks the receiver answered with 2xx',
      registers: [registry],
    }),
    callbackAttemptsFailed: new Counter({
      name: 'tether_callback_attempts_failed_total',
      help: 'Callback attempts that failed, by outcome: retry (network, timeout, 5xx, 408, 429) or rejected',
      labelNames: ['outcome'],
      registers: [registry],
    }),
  };
  new Gauge({
    name: 'tether_callbacks_queued',
    help: 'Callbacks waiting or being sent (bounded per project and for the server)',
    registers: [registry],
    collect() {
      this.set(callbackSizes().queued);
    },
  });
  new Gauge({
    name: 'tether_callbacks_queued_bytes',
    help: 'Bytes of the callbacks waiting or being sent',
    registers: [registry],
    collect() {
      this.set(callbackSizes().bytes);
    },
  });
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
