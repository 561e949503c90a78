import type { LoadReport } from './run.js';

const n = (v: number) => (Number.isNaN(v) ? '-' : Math.round(v).toLocaleString('en-US'));

/** The report a person reads at the end of a load run. */
export function formatReport(r: LoadReport): string {
  const rows: Array<[string, string]> = [
    ['clients / sessions', `${r.clients} / ${r.sessions}`],
    ['all joined and seeing their session in', `${n(r.connectMs)} ms`],
    ['signals sent', n(r.signalsSent)],
    ['deliveries', `${n(r.deliveries)} (${n(r.deliveriesPerSecond)}/s over ${n(r.sendingMs / 1000)} s)`],
    [
      'latency',
      `p50 ${n(r.latencyMs.p50)} ms · p90 ${n(r.latencyMs.p90)} ms · p99 ${n(r.latencyMs.p99)} ms · max ${n(r.latencyMs.max)} ms`,
    ],
    ['lost (accepted, never delivered)', n(r.lost)],
    ['duplicated / out of order', `${n(r.duplicates)} / ${n(r.reordered)}`],
    ['refused sends / unanswered at the end', `${n(r.refused)} / ${n(r.unsettled)}`],
    ['cuts', n(r.cuts)],
    [
      'reconnects',
      r.reconnects.count === 0
        ? '0'
        : `${n(r.reconnects.count)}: p50 ${n(r.reconnects.p50Ms)} ms · p99 ${n(r.reconnects.p99Ms)} ms · max ${n(r.reconnects.maxMs)} ms`,
    ],
    ...(r.cuts > 0
      ? ([
          [
            'cut → back (each client)',
            `p50 ${n(r.recoveryMs.p50)} ms · p99 ${n(r.recoveryMs.p99)} ms · max ${n(r.recoveryMs.max)} ms`,
          ],
        ] as Array<[string, string]>)
      : []),
    ['sessions ended (not resumed)', n(r.ended)],
  ];
  if (r.media.publishers > 0)
    rows.push([
      'media',
      `${r.media.publishers} publishers, ${r.media.subscribers} subscriptions (${r.media.playing} playing), ${n(r.media.packetsReceived)} RTP packets received`,
    ]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n') + '\n';
}
