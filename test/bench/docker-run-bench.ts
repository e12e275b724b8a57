// Benchmark (prints figures, asserts nothing): how long `docker run -d` takes on an ovn network
// against `--net=none`, on the real Docker engine and stack. The runs alternate between the two,
// so drift on the machine affects both alike; each container is removed untimed after its run.
// The difference of the medians is what the ovn network adds to a container start (the
// driver's calls, Join's wait for ovn-installed, and Docker's own work for a network).
//
// Run: make bench-docker-run, or RUNS=20 node dist/test/bench/docker-run-bench.js
//   env DRIVER_LOG=FILE: the daemon logs at debug level (each call with its duration) into FILE.
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { DockerScope } from '../helpers/docker';
import { randomSuffix, run } from '../helpers/run';
import { startDriver } from '../helpers/stack';

const RUNS = Number(process.env['RUNS'] ?? 20);
const WARMUP = Number(process.env['WARMUP'] ?? 2);
const REPO = path.resolve(__dirname, '../../..');
const PLUGIN_DIR = '/run/docker/plugins';
const DRIVER_LOG = process.env['DRIVER_LOG'];

function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

const f = (ms: number): string => ms.toFixed(0).padStart(7);

async function main(): Promise<void> {
  if (!Number.isInteger(RUNS) || RUNS < 1 || !Number.isInteger(WARMUP) || WARMUP < 0) throw new Error('RUNS must be a positive integer, WARMUP a non-negative one');
  await run('bash', [path.join(REPO, 'scripts/stack.sh'), 'start'], 300_000);
  // A driver name of our own (Docker names a plugin after its socket), so nothing else is touched.
  const driverName = `ovnbench-${randomSuffix()}`;
  await fs.mkdir(PLUGIN_DIR, { recursive: true });
  const driver = await startDriver({ socketPath: path.join(PLUGIN_DIR, `${driverName}.sock`), extraArgs: ['--log-level', DRIVER_LOG === undefined ? 'info' : 'debug'], deployed: true });
  const scope = new DockerScope();
  try {
    const net = await scope.createNetwork('bench', { driver: driverName, subnets: ['198.18.96.0/24'], gateways: ['198.18.96.1'] });
    const times: Record<'ovn' | 'none', number[]> = { ovn: [], none: [] };
    for (let i = 0; i < WARMUP + RUNS; i++) {
      for (const kind of i % 2 === 0 ? (['ovn', 'none'] as const) : (['none', 'ovn'] as const)) {
        const started = process.hrtime.bigint();
        const ctr = await scope.runContainer(`${kind}-${i}`, { network: kind === 'ovn' ? net.name : 'none' });
        const ms = Number(process.hrtime.bigint() - started) / 1e6;
        if (i >= WARMUP) times[kind].push(ms);
        await scope.removeContainer(ctr.name);
      }
    }
    console.log(`docker run -d (busybox sleep), ${RUNS} runs each after ${WARMUP} warm-up, alternating; ms`);
    console.log(`${'network'.padEnd(12)}    p50    p90    min    max`);
    for (const kind of ['ovn', 'none'] as const) {
      const xs = times[kind];
      console.log(`${(kind === 'ovn' ? 'ovn' : '--net=none').padEnd(12)}${f(pct(xs, 50))}${f(pct(xs, 90))}${f(Math.min(...xs))}${f(Math.max(...xs))}`);
    }
    console.log(`ovn adds ${(pct(times.ovn, 50) - pct(times.none, 50)).toFixed(0)} ms at the median (${(pct(times.ovn, 50) / pct(times.none, 50)).toFixed(2)}x)`);
  } finally {
    await scope.cleanup();
    await driver.stop();
    if (DRIVER_LOG !== undefined) await fs.writeFile(DRIVER_LOG, driver.output());
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
