// createVethPair's time, sequentially, on the real kernel (root): a figure, not a test.
//   node dist/test/bench/veth-bench.js [N]

import { openLinks } from '../../src/netlink';
import { randomSuffix, runResult } from '../helpers/run';

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('needs root');
  const n = Number(process.argv[2] ?? 50);
  if (!Number.isInteger(n) || n < 1) throw new Error(`N must be a positive whole number, got ${process.argv[2] ?? ''}`);
  const sfx = randomSuffix();
  const names = Array.from({ length: n }, (_, i) => `ovt${sfx}t${i}`);
  const links = openLinks();
  try {
    const times: number[] = [];
    for (const name of names) {
      const start = process.hrtime.bigint();
      await links.createVethPair({ name, peerName: `${name}p`, peerMac: '02:00:c6:12:00:01', mtu: 1442 });
      times.push(Number(process.hrtime.bigint() - start) / 1e6);
    }
    times.sort((x, y) => x - y);
    const pct = (p: number): string => (times[Math.min(n - 1, Math.floor(p * n))] ?? NaN).toFixed(2);
    process.stdout.write(`FIGURE: createVethPair (sequential, ${n} pairs): p50 ${pct(0.5)} ms, p90 ${pct(0.9)} ms, max ${pct(1)} ms (node dist/test/bench/veth-bench.js ${n})\n`);
  } finally {
    for (const name of names) await runResult('ip', ['link', 'del', name]);
    links.close();
  }
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`veth-bench: ${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  },
);
