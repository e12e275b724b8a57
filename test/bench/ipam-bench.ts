// Benchmark (prints figures, asserts nothing): IPAM RequestAddress through OvnIpam against a
// private Northbound ovsdb-server (no northd), empty and loaded with OTHER_PORTS logical ports
// of other hosts (on SWITCHES switches) plus OTHER_ALLOCS IPAM rows of other hosts' pools.
// Each case: WARMUP requests, then N timed RequestAddress calls one after the other (as Docker
// starts containers), then their release; p50 and p90 of the request.
// Goal (issue 10): p50 at most 1 ms, loaded at most 1.2 times empty.
// Run: make bench-ipam, or N=500 OTHER_PORTS=100000 node dist/test/bench/ipam-bench.js
import { performance } from 'node:perf_hooks';
import { parseReleaseAddress, parseRequestAddress, parseRequestPool, MAC_OPTION } from '../../src/driver/api-ipam';
import { OvnIpam } from '../../src/driver/ipam';
import { planAllocate } from '../../src/driver/plan-ipam';
import { OvsdbClient } from '../../src/ovsdb/client';
import { namedUuid } from '../../src/ovsdb/data';
import { insert, Operation, strMap } from '../../src/ovsdb/operations';
import { NB_SCHEMA, startStandalone } from '../helpers/ovsdb-server';

const N = Number(process.env['N'] ?? 500);
const WARMUP = Number(process.env['WARMUP'] ?? 50);
const OTHER_PORTS = Number(process.env['OTHER_PORTS'] ?? 100_000);
const SWITCHES = Number(process.env['SWITCHES'] ?? 500);
const OTHER_ALLOCS = Number(process.env['OTHER_ALLOCS'] ?? 20_000);
const quiet = { error(): void {}, warn(): void {}, info(): void {}, debug(): void {} };

function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

async function load(client: OvsdbClient): Promise<void> {
  const perSwitch = Math.ceil(OTHER_PORTS / SWITCHES);
  for (let sw = 0; sw < SWITCHES; sw++) {
    const ops: Operation[] = [];
    const ports = [];
    for (let i = 0; i < perSwitch && sw * perSwitch + i < OTHER_PORTS; i++) {
      const n = sw * perSwitch + i;
      ops.push(insert('Logical_Switch_Port', {
        name: `other-${n}`, addresses: [`0a:58:c6:13:${((n >> 8) & 0xff).toString(16).padStart(2, '0')}:${(n & 0xff).toString(16).padStart(2, '0')} 198.19.${(n >> 8) & 0xff}.${n & 0xff}`],
        external_ids: strMap({ 'ovn-driver:owner': 'ovn-driver', 'ovn-driver:chassis': `host-${n % 1000}` }),
      }, `p${i}`));
      ports.push(namedUuid(`p${i}`));
    }
    ops.push(insert('Logical_Switch', { name: `other-switch-${sw}`, ports }));
    await client.transact(ops, { timeoutMs: 120_000 });
  }
  const batch = 1000;
  for (let start = 0; start < OTHER_ALLOCS; start += batch) {
    const ops: Operation[] = [];
    for (let n = start; n < Math.min(OTHER_ALLOCS, start + batch); n++) {
      const net = Math.floor(n / 250);
      const ref = { vrf: `other-${net >> 8}`, pool: { family: 4 as const, ip: `198.19.${net & 0xff}.0`, prefix: 24 }, range: undefined };
      ops.push(...planAllocate(ref, `198.19.${net & 0xff}.${(n % 250) + 2}`, 'endpoint', `host-${n % 1000}`, undefined));
    }
    await client.transact(ops, { timeoutMs: 120_000 });
  }
}

async function measure(label: string, loaded: boolean): Promise<number> {
  const s = await startStandalone(NB_SCHEMA);
  const client = new OvsdbClient({ remotes: s.remote, database: 'OVN_Northbound', requestTimeoutMs: 120_000 });
  try {
    await client.connect();
    if (loaded) {
      const t0 = performance.now();
      await load(client);
      console.log(`  loaded ${OTHER_PORTS} ports on ${SWITCHES} switches and ${OTHER_ALLOCS} IPAM rows in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
    const ipam = new OvnIpam({ nb: client, nbRemotes: s.remote, chassis: () => 'bench-host', logger: quiet, dbTimeoutMs: 20_000 });
    const pool = ipam.requestPool(parseRequestPool({ AddressSpace: 'ovn-local', Pool: '198.18.0.0/16', Options: { vrf: 'bench' } })).PoolID;
    const times: number[] = [];
    const got: string[] = [];
    for (let i = 0; i < WARMUP + N; i++) {
      const t = performance.now();
      const r = await ipam.requestAddress(parseRequestAddress({ PoolID: pool, Address: '', Options: { [MAC_OPTION]: '02:42:00:00:00:01' } }));
      if (i >= WARMUP) times.push(performance.now() - t);
      got.push(r.Address);
    }
    for (const a of got) await ipam.releaseAddress(parseReleaseAddress({ PoolID: pool, Address: a.replace(/\/\d+$/, '') }));
    const p50 = pct(times, 50);
    console.log(`  ${label}: RequestAddress p50 ${p50.toFixed(3)} ms, p90 ${pct(times, 90).toFixed(3)} ms (N=${N})`);
    return p50;
  } finally {
    await client.close();
    await s.close();
  }
}

async function main(): Promise<void> {
  console.log(`IPAM RequestAddress (OvnIpam on a private NB ovsdb-server, unix socket)`);
  const empty = await measure('empty', false);
  const loaded = await measure(`loaded (${OTHER_PORTS} other ports)`, true);
  console.log(`  loaded/empty ${(loaded / empty).toFixed(2)} (goal <= 1.2); loaded p50 ${loaded <= 1 ? 'meets' : 'misses'} the 1 ms goal`);
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
