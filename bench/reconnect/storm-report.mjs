/**
 * bench/reconnect/storm-report.mjs — the table of scenario (c), the recovery storm: a column
 * per system, figures pooled over its cuts (bench/README.md explains each row).
 */
import { formatWrapped } from '../lib/table.mjs';

export const fmtMs = (ms) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(2)} s` : '—');
const p50p99 = (d) => (d.n ? `${fmtMs(d.p50)} / ${fmtMs(d.p99)}` : '—');

/** The storm table: one column per system. */
export function stormTable(title, runs) {
  const rows = [['', ...runs.map((r) => r.label)]];
  const row = (label, fn) => rows.push([label, ...runs.map(fn)]);
  const per = (x, n) => (n ? (x / n).toFixed(2) : '—');
  const of = (r) => r.clients * r.cuts.length;
  row('went down (clients × cuts)', (r) => `${r.wentDown}/${of(r)}${r.ended ? `, ${r.ended} ENDED` : ''}`);
  row('detection cut → down p50/p99', (r) => p50p99(r.detect));
  row('restore → up  p50 / p99', (r) => p50p99(r.up));
  row('restore → all up, each cut', (r) =>
    r.allUp.n
      ? `${r.allUp.values.map((v) => (v / 1000).toFixed(2)).join(' ')} s${r.stillDown ? `, ${r.stillDown} never` : ''}`
      : '—',
  );
  row('  state kept', (r) => `${r.kept} yes, ${r.notKept} no`);
  row('attempts / client p50 / max', (r) =>
    r.attemptsPerClient.n ? `${r.attemptsPerClient.p50} / ${r.attemptsPerClient.max}` : '—',
  );
  row('  total (proxy accepted)', (r) => `${r.attemptsTotal} (${r.proxyAccepted})`);
  row('server upgrades (during the cut)', (r) => `${r.serverUpgrades} (${r.serverUpgradesDuringCut})`);
  row('  per recovered client', (r) => per(r.serverUpgrades, r.up.n));
  row('server CPU steady', (r) => `${r.baselineCpuPct.toFixed(0)} % of a core`);
  row('server CPU recovery (window)', (r) => `${r.recoveryCpuMs.toFixed(0)} ms (${fmtMs(r.windowMs)})`);
  row('  per recovered client', (r) => (r.up.n ? `${(r.recoveryCpuMs / r.up.n).toFixed(2)} ms` : '—'));
  row('bench process CPU (window)', (r) => `${r.benchCpuPct.toFixed(0)} %`);
  row('load average, start → end', (r) => r.loadAvg.map((x) => x.toFixed(1)).join(' → '));
  row('catch-up restore → down p50/p99', (r) => p50p99(r.catchUp));
  row('  never complete', (r) => `${r.catchUpNever}/${of(r)}`);
  row('  sessions ended (reason)', (r) =>
    // "bufferOverflow/INTERRUPTED_BUDGET_EXCEEDED" → the code alone, so that the cell fits its column.
    r.ended
      ? Object.entries(r.endedReasons)
          .map(([k, v]) => `${k.split('/').at(-1)} ${v}`)
          .join(', ')
      : '—',
  );
  row('down sent/lost/dup (live sessions)', (r) => `${r.down.sent} / ${r.down.lost} / ${r.down.dup}`);
  row(
    'up   sent/lost/dup (live sessions)',
    (r) => `${r.upSignals.sent} / ${r.upSignals.lost} / ${r.upSignals.dup}`,
  );
  return [title, formatWrapped(rows, { widths: [37, ...runs.slice(1).map(() => 32)], indent: '  ' })].join(
    '\n',
  );
}
