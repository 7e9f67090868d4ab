/**
 * `node bench/compare.ts bench/results/<small>.json bench/results/<large>.json`: the same scenarios
 * of two bench runs side by side — typically 10 000 and 1 000 000 citizens — with the large run's
 * p99 latency as a multiple of the small one's (issue #8: at most 1.25×) and its throughput ratio.
 */
import { readFileSync } from 'node:fs';
import { fmt, type RunReport } from './report.ts';

/** Issue #8: p99 at a million citizens within 1.25× of the same scenario at ten thousand. */
const MAX_P99_RATIO = 1.25;

const files = process.argv.slice(2);
if (files.length !== 2) {
  process.stderr.write('Usage: node bench/compare.ts <small run>.json <large run>.json\n');
  process.exit(64);
}
const [small, large] = files.map((file) => JSON.parse(readFileSync(file, 'utf8')) as RunReport);

const lines = [
  `| scenario | p99 ms at ${small.settings.citizens} | p99 ms at ${large.settings.citizens} | p99 ratio | ops/s at ${small.settings.citizens} | ops/s at ${large.settings.citizens} | ops/s ratio | p99 within ${MAX_P99_RATIO}× |`,
  '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
];
for (const a of small.scenarios) {
  const b = large.scenarios.find((s) => s.name === a.name);
  if (!b) continue;
  const p99Ratio = b.result.latencyMs.p99 / a.result.latencyMs.p99;
  const opsRatio = b.result.opsPerSecond / a.result.opsPerSecond;
  lines.push(`| ${a.name} | ${a.result.latencyMs.p99.toFixed(1)} | ${b.result.latencyMs.p99.toFixed(1)} | ${p99Ratio.toFixed(2)}× | ${fmt(a.result.opsPerSecond)} | ${fmt(b.result.opsPerSecond)} | ${opsRatio.toFixed(2)}× | ${p99Ratio <= MAX_P99_RATIO ? 'yes' : 'NO'} |`);
}
process.stdout.write(`${lines.join('\n')}\n\n${small.date} (${small.settings.citizens} citizens, load average ${small.machine.loadAverage[0].toFixed(1)}) vs ${large.date} (${large.settings.citizens} citizens, load average ${large.machine.loadAverage[0].toFixed(1)}).\n`);
