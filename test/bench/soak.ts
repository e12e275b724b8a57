// RSS soak: N endpoint lifecycles (CreateEndpoint, Join, EndpointOperInfo, Leave, DeleteEndpoint)
// through the socket of an isolated daemon (own databases, own namespace, no ovn-controller, so
// Join's readiness wait is cut to 1 ms). Prints the daemon's RSS after the first 1,000 and at
// the end. `node dist/test/bench/soak.js [N]` (default 10,000); load.test.ts runs a short form.

import { promises as fs } from 'node:fs';
import { Cleanup } from '../helpers/cleanup';
import { startIsolatedDaemon } from '../helpers/isolated-daemon';
import { randomSuffix } from '../helpers/run';
import { postPlugin } from '../helpers/stack';

export interface SoakResult {
  readonly lifecycles: number;
  readonly rssAfterFirst1000Kb: number;
  readonly rssEndKb: number;
  readonly elapsedMs: number;
}

async function rssKb(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+([0-9]+) kB$/m.exec(status);
  if (!m?.[1]) throw new Error(`failed to read VmRSS of ${pid}`);
  return Number(m[1]);
}

function hex64(): string {
  return (randomSuffix(16) + randomSuffix(16)).slice(0, 64);
}

async function ok(socketPath: string, call: string, body: object): Promise<void> {
  const r = await postPlugin(socketPath, `/NetworkDriver.${call}`, JSON.stringify(body));
  if (r.status !== 200) throw new Error(`${call} answered ${r.status}: ${r.body}`);
}

export async function runSoak(lifecycles: number, concurrency = 8): Promise<SoakResult> {
  const cleanup = new Cleanup();
  try {
    const d = await startIsolatedDaemon(cleanup, { extraArgs: ['--ready-timeout', '0.001', '--log-level', 'error'] });
    const networkId = hex64();
    await ok(d.socketPath, 'CreateNetwork', { NetworkID: networkId, Options: {}, IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: '198.19.0.0/16', Gateway: '198.19.0.1/16' }], IPv6Data: [] });
    let next = 0;
    let done = 0;
    let rssAfterFirst1000Kb = 0;
    const started = Date.now();
    const worker = async (): Promise<void> => {
      while (next < lifecycles) {
        const i = next++;
        const endpointId = hex64();
        const ep = { NetworkID: networkId, EndpointID: endpointId };
        const ip = `198.19.${2 + ((i >> 8) % 250)}.${2 + (i % 250)}/16`;
        await ok(d.socketPath, 'CreateEndpoint', { ...ep, Interface: { Address: ip, AddressIPv6: '', MacAddress: '' }, Options: {} });
        await ok(d.socketPath, 'Join', { ...ep, SandboxKey: `/var/run/docker/netns/${endpointId.slice(0, 12)}`, Options: {} });
        await ok(d.socketPath, 'EndpointOperInfo', ep);
        await ok(d.socketPath, 'Leave', ep);
        await ok(d.socketPath, 'DeleteEndpoint', ep);
        done++;
        if (done === Math.min(1000, lifecycles)) rssAfterFirst1000Kb = await rssKb(d.pid());
      }
    };
    await Promise.all(Array.from({ length: concurrency }, worker));
    const rssEndKb = await rssKb(d.pid());
    await ok(d.socketPath, 'DeleteNetwork', { NetworkID: networkId });
    if (!d.alive()) throw new Error(`the daemon died:\n${d.output().slice(-2000)}`);
    return { lifecycles: done, rssAfterFirst1000Kb, rssEndKb, elapsedMs: Date.now() - started };
  } finally {
    await cleanup.run();
  }
}

export function soakFigure(r: SoakResult, command: string): string {
  const ratio = r.rssEndKb / r.rssAfterFirst1000Kb;
  return `FIGURE: soak lifecycles=${r.lifecycles} rss-after-1000=${r.rssAfterFirst1000Kb}kB rss-end=${r.rssEndKb}kB ratio=${ratio.toFixed(3)} elapsed=${r.elapsedMs}ms (${command})`;
}

if (require.main === module) {
  const n = Number(process.argv[2] ?? 10_000);
  runSoak(n).then(
    (r) => {
      process.stdout.write(`${soakFigure(r, `node dist/test/bench/soak.js ${n}`)}\n`);
      const ratio = r.rssEndKb / r.rssAfterFirst1000Kb;
      if (ratio > 1.1) {
        process.stderr.write(`soak: RSS grew ${((ratio - 1) * 100).toFixed(1)}% after the first 1,000 lifecycles (limit 10%)\n`);
        process.exit(1);
      }
    },
    (e: unknown) => {
      process.stderr.write(`soak failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
      process.exit(1);
    },
  );
}
