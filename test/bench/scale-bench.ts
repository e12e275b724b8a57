// Benchmark (prints figures and whether the goals are met; asserts nothing): what one host's
// daemon costs when the Northbound holds a large cluster. A private NB ovsdb-server (no northd)
// is filled with OTHER_PORTS driver-like ports of HOSTS other chassis on SWITCHES switches, and
// the daemon is started as deployed (test/helpers/deployed.ts) against it, with the shared
// stack's local Open_vSwitch. The same is measured against an empty private NB:
//   activate: spawn to the first answer to Plugin.Activate (polled every 50 ms);
//   serving:  spawn to the first successful Northbound call (a CreateNetwork of this host's
//             network, sent right after Activate; it waits for the Northbound up to --db-timeout);
//   RSS:      the daemon's VmRSS after the warm-up and the measured calls;
//   CreateEndpoint p50: N calls on this host's network through the plugin socket, as dockerd sends
//             them (after WARMUP), one at a time.
// Each case runs RUNS fresh daemons, each once the NB ovsdb-server is idle (after the fill it
// compacts its log for a while); the table shows the median over runs of each figure.
// IPAM RequestAddress on the same kind of Northbound is measured by test/bench/ipam-bench.ts (make bench-ipam).
//
// Run: make bench-scale, or OTHER_PORTS=100000 N=200 node dist/test/bench/scale-bench.js
//   env: OTHER_PORTS (100000), HOSTS (1000), SWITCHES (500), N (200), WARMUP (20), RUNS (3),
//        DB_TIMEOUT (seconds the daemon waits for the NB, 15).
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OvsdbClient } from '../../src/ovsdb/client';
import { namedUuid } from '../../src/ovsdb/data';
import { insert, Operation, strMap } from '../../src/ovsdb/operations';
import { deployedSettings } from '../helpers/deployed';
import { NB_SCHEMA, startStandalone, StandaloneServer } from '../helpers/ovsdb-server';
import { startDriver } from '../helpers/stack';
import { PluginConnection } from './plugin-connection';
import { settle } from './proc-cpu';

const num = (name: string, dflt: number): number => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer`);
  return v;
};
const OTHER_PORTS = num('OTHER_PORTS', 100_000);
const HOSTS = Math.max(1, num('HOSTS', 1000));
const SWITCHES = Math.max(1, num('SWITCHES', 500));
const N = Math.max(1, num('N', 200));
const WARMUP = num('WARMUP', 20);
const DB_TIMEOUT = Math.max(1, num('DB_TIMEOUT', 15));
const RUNS = Math.max(1, num('RUNS', 3));
const GOALS = { servingMs: 2000, rssMb: 70, ratio: 1.2 };

const hex = (): string => randomBytes(32).toString('hex');
const mac = (i: number): string => `0a:58:${[24, 16, 8, 0].map((s) => ((i >>> s) & 0xff).toString(16).padStart(2, '0')).join(':')}`;
const ip = (i: number): string => `198.19.${(i >> 8) & 0xff}.${i & 0xff}`;

/** Ports as other hosts' drivers write them (plan-endpoint.ts), in transactions of whole switches. */
async function fill(remote: string): Promise<number> {
  const nb = new OvsdbClient({ remotes: remote, database: 'OVN_Northbound', requestTimeoutMs: 300_000 });
  const started = Date.now();
  try {
    await nb.connect();
    const perSwitch = Math.ceil(OTHER_PORTS / SWITCHES);
    const switchesPerTxn = Math.max(1, Math.floor(5000 / perSwitch));
    let port = 0;
    for (let s = 0; s < SWITCHES; s += switchesPerTxn) {
      const ops: Operation[] = [];
      for (let k = s; k < Math.min(SWITCHES, s + switchesPerTxn); k++) {
        const net = hex();
        const names: string[] = [];
        for (let j = 0; j < perSwitch && port < OTHER_PORTS; j++, port++) {
          const ep = hex();
          const addr = `${mac(port)} ${ip(port)}`;
          const chassis = `bench-chassis-${port % HOSTS}`;
          const n = `p${port}`;
          names.push(n);
          ops.push(insert('Logical_Switch_Port', {
            name: ep, addresses: [addr], port_security: [addr],
            external_ids: strMap({ 'ovn-driver:owner': 'ovn-driver', 'docker:endpoint-id': ep, 'docker:network-id': net, 'ovn-driver:chassis': chassis }),
            options: strMap({ 'requested-chassis': chassis }),
          }, n));
        }
        ops.push(insert('Logical_Switch', {
          name: net, ports: names.map((n) => namedUuid(n)),
          external_ids: strMap({ 'ovn-driver:owner': 'ovn-driver', 'docker:network-id': net, 'docker:subnets': '198.19.0.0/16' }),
        }));
      }
      await nb.transact(ops);
    }
    return Date.now() - started;
  } finally {
    await nb.close();
  }
}

function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}

async function rssMb(pid: number): Promise<number> {
  const status = await fs.readFile(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? NaN);
  return kb / 1024;
}

interface Figures {
  label: string;
  activateMs: number;
  servingMs: number | undefined;
  servingError: string | undefined;
  rssMb: number;
  createP50: number;
  createP90: number;
}

async function measure(label: string, nbRemote: string, run: number): Promise<Figures> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ovn-scale-'));
  const socketPath = path.join(dir, 'ovn.sock');
  const started = process.hrtime.bigint();
  const since = (): number => Number(process.hrtime.bigint() - started) / 1e6;
  const driver = await startDriver({
    socketPath, deployed: true, readyTimeoutMs: 30_000,
    extraArgs: ['--log-level', 'info', '--reconcile-interval', '0', '--nb', nbRemote, '--db-timeout', String(DB_TIMEOUT)],
  });
  const conn = new PluginConnection(socketPath);
  try {
    const activateMs = since();
    const netId = hex();
    const created = await conn.post('/NetworkDriver.CreateNetwork', JSON.stringify({ NetworkID: netId, Options: { 'com.docker.network.generic': { vrf: `scale${run}` } }, IPv4Data: [{ Pool: '198.18.64.0/18', Gateway: '198.18.64.1/18' }], IPv6Data: [] }));
    const servingAt = since();
    if (created.status !== 200) {
      return { label, activateMs, servingMs: undefined, servingError: created.body.slice(0, 700), rssMb: await rssMb(driver.pid), createP50: NaN, createP90: NaN };
    }
    const times: number[] = [];
    for (let i = 0; i < WARMUP + N; i++) {
      const body = JSON.stringify({ NetworkID: netId, EndpointID: hex(), Interface: { Address: `198.18.${64 + ((i + 2) >> 8)}.${(i + 2) & 0xff}/18`, AddressIPv6: '', MacAddress: '' }, Options: {} });
      const t = process.hrtime.bigint();
      const res = await conn.post('/NetworkDriver.CreateEndpoint', body);
      const ms = Number(process.hrtime.bigint() - t) / 1e6;
      if (res.status !== 200) throw new Error(`CreateEndpoint failed: ${res.status} ${res.body}`);
      if (i >= WARMUP) times.push(ms);
    }
    return { label, activateMs, servingMs: servingAt, servingError: undefined, rssMb: await rssMb(driver.pid), createP50: pct(times, 50), createP90: pct(times, 90) };
  } finally {
    conn.close();
    await driver.stop();
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** RUNS daemons one after the other, each once the NB server is idle; the median of each figure. */
async function measureRuns(label: string, s: StandaloneServer): Promise<Figures> {
  const runs: Figures[] = [];
  const pid = s.server.pid;
  for (let r = 0; r < RUNS; r++) {
    if (pid !== undefined) await settle(new Map([['NB ovsdb-server', pid]]), 500, 120_000);
    // Each daemon its own VRF: one host has one network per VRF and subnet.
    runs.push(await measure(label, s.remote, r));
  }
  const med = (pick: (x: Figures) => number | undefined): number => pct(runs.map((x) => pick(x) ?? NaN), 50);
  const failed = runs.find((x) => x.servingError !== undefined);
  console.log(`# ${label}: per run activate ${runs.map((x) => x.activateMs.toFixed(0)).join(', ')} ms; serving ${runs.map((x) => (x.servingMs === undefined ? '-' : x.servingMs.toFixed(0))).join(', ')} ms; CreateEndpoint p50 ${runs.map((x) => x.createP50.toFixed(2)).join(', ')} ms`);
  return {
    label,
    activateMs: med((x) => x.activateMs),
    servingMs: failed ? undefined : med((x) => x.servingMs),
    servingError: failed?.servingError,
    rssMb: med((x) => x.rssMb),
    createP50: med((x) => x.createP50),
    createP90: med((x) => x.createP90),
  };
}

async function withNb<T>(body: (s: StandaloneServer) => Promise<T>): Promise<T> {
  const s = await startStandalone(NB_SCHEMA);
  try {
    return await body(s);
  } finally {
    await s.close();
  }
}

const f = (x: number | undefined, w = 12): string => (x === undefined || Number.isNaN(x) ? '-' : x.toFixed(x >= 100 ? 0 : 2)).padStart(w);

async function main(): Promise<void> {
  const version = (await fs.readFile(path.resolve(__dirname, '../../../package.json'), 'utf8').then((t) => JSON.parse(t) as { version?: string })).version ?? '?';
  console.log(`# scale-bench: ovn-driver ${version}, node ${process.version}, deployed as ${deployedSettings()}`);
  console.log(`# private NB ovsdb-server (standalone, no northd) with ${OTHER_PORTS} driver-like ports of ${HOSTS} other chassis on ${SWITCHES} switches, vs an empty one; local OVS: the shared stack's`);
  console.log(`# ${RUNS} daemon(s) per case, each: ${N} CreateEndpoint calls after ${WARMUP} of warm-up, one at a time over one keep-alive connection; median over daemons`);
  console.log('# IPAM RequestAddress: measured by make bench-ipam (test/bench/ipam-bench.ts)');
  const empty = await withNb((s) => measureRuns('empty NB', s));
  const loaded = await withNb(async (s) => {
    const ms = await fill(s.remote);
    const size = (await fs.stat(path.join(s.dir, 'db.db'))).size;
    console.log(`# filled the loaded NB in ${ms} ms (${(size / 1024 / 1024).toFixed(0)} MiB database file)`);
    return measureRuns(`${OTHER_PORTS} other ports`, s);
  });
  console.log('');
  console.log(`${'case'.padEnd(20)}${'activate ms'.padStart(12)}${'serving ms'.padStart(12)}${'RSS MB'.padStart(12)}${'CreateEP p50'.padStart(14)}${'p90'.padStart(10)}`);
  for (const r of [empty, loaded]) {
    console.log(`${r.label.padEnd(20)}${f(r.activateMs)}${f(r.servingMs)}${f(r.rssMb)}${f(r.createP50, 14)}${f(r.createP90, 10)}`);
    if (r.servingError !== undefined) console.log(`  not serving: the first Northbound call failed after ${f(DB_TIMEOUT, 0)} s: ${r.servingError}`);
  }
  const ratio = loaded.createP50 / empty.createP50;
  const ok = (b: boolean): string => (b ? 'met' : 'NOT met');
  console.log(`\ngoals (loaded NB): serving within ${GOALS.servingMs} ms: ${ok(loaded.servingMs !== undefined && loaded.servingMs <= GOALS.servingMs)}; ` +
    `RSS at most ${GOALS.rssMb} MB: ${ok(loaded.rssMb <= GOALS.rssMb)} (${f(loaded.rssMb, 0)}); ` +
    `CreateEndpoint p50 at most ${GOALS.ratio} x empty: ${ok(ratio <= GOALS.ratio)} (${Number.isNaN(ratio) ? '-' : ratio.toFixed(2)} x)`);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.stack ?? e.message : String(e));
  process.exitCode = 1;
});
