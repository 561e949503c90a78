import { stormRun, stormSystems } from './storm.mjs';
import { stormTable } from './storm-report.mjs';
import { parsePolicy } from './policy.mjs';
const n = Number(process.argv[2] ?? 100);
const pols = (process.argv[3] ?? '250/1000/0.3').split(',').filter(Boolean).map(parsePolicy);
const sio = (process.argv[4] ?? '').split(',').filter(Boolean);
const mode = process.argv[5] ?? 'lost';
const cutsMs = (process.argv[6] ?? '5000').split(',').map(Number);
const runs = [];
for (const sys of stormSystems(pols, sio))
  runs.push(await stormRun(sys, { clients: n, cutsMs, windowMs: 5000, mode }, (l) => console.error(l)));
console.log(stormTable('storm', runs));
for (const r of runs) {
  console.log(r.label, JSON.stringify(r.endedReasons), r.serverCounters.join('; '));
  for (const c of r.cuts)
    console.log(c.timeline.map((x) => `${x.atMs}:${x.cpuPct}%/${x.upgrades}/${x.up}`).join(' '));
}
process.exit(0);
