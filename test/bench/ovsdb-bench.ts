// OVSDB client benchmark: prints figures, asserts nothing.
//
//   node --expose-gc dist/test/bench/ovsdb-bench.js
//
// Environment: OVSDB_BENCH_N (client transactions, default 10000), OVSDB_BENCH_NBCTL_N
// (ovn-nbctl processes, default 300: one process per port costs tens of ms, so a smaller N
// gives the same rate), OVSDB_BENCH_REPLICA_N (ports held by the replica, default 30000),
// OVSDB_BENCH_SETTLE_S (idle seconds watched after the replica's sync, default 20),
// OVSDB_BENCH_NODES (comma-separated node binaries for the replica measurement, default this
// one; e.g. "$(scripts/node16.sh),node" to measure Node 16.20 as el7 runs it, too).
//
// Rows look like the driver's (src/driver/plan-endpoint.ts): a port per endpoint named by its
// 64-hex id, addresses = port_security = "MAC IP", four external_ids and requested-chassis; a
// switch per network named by its id. Each transaction adds one port and links it to its
// switch, as `ovn-nbctl lsp-add` does (a port no switch references is garbage-collected); ports
// are spread over 100 switches, so that no transaction rewrites a huge "ports" set. The replica
// monitors exactly what the driver's does (NB_MONITOR) with the driver's name indexes.

import { spawn } from 'node:child_process';
import * as path from 'node:path';
import { NB_MONITOR } from '../../src/driver/monitors';
import { CHASSIS_KEY, ENDPOINT_ID_KEY, NETWORK_ID_KEY, OWNER, OWNER_KEY } from '../../src/driver/names';
import { OvsdbClient } from '../../src/ovsdb/client';
import { namedUuid } from '../../src/ovsdb/data';
import { insert, mutate, Operation, strMap } from '../../src/ovsdb/operations';
import { NB_SCHEMA, run, startStandalone } from '../helpers/ovsdb-server';
import { DEPLOYED_ENV, DEPLOYED_NODE_FLAGS } from '../helpers/deployed';
import type { ReplicaFigures } from './ovsdb-replica-rss';

const DB = 'OVN_Northbound';
const SWITCHES = 100;
const WARMUP = 200;
const CHASSIS = 'bench-chassis-1';


function envInt(name: string, dflt: number): number {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : dflt;
}

/** 64 hex digits that look random (ids as Docker makes them), unique per (kind < 16, i < 2^28). */
function hex64(kind: number, i: number): string {
  let out = (((kind << 28) | i) >>> 0).toString(16).padStart(8, '0');
  let h = out.length + i;
  for (let k = 0; k < 7; k++) {
    h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d) + 0x9e3779b1;
    h = Math.imul(h ^ (h >>> 12), 0x297a2d39) >>> 0;
    out += h.toString(16).padStart(8, '0');
  }
  return out;
}

function mac(i: number): string {
  const h = i.toString(16).padStart(8, '0');
  return `02:00:${h.slice(0, 2)}:${h.slice(2, 4)}:${h.slice(4, 6)}:${h.slice(6, 8)}`;
}

/** Distinct addresses in 198.18.0.0/15 for i < 131072. */
function ip(i: number): string {
  return `198.${18 + ((i >> 16) & 1)}.${(i >> 8) & 255}.${i & 255}`;
}

// Index ranges, so that every port has its own MAC and IP.
const WARM_BASE = 120000;
const FILL_BASE = 20000;

const networkId = (sw: number): string => hex64(1, sw);

/** The port the driver's CreateEndpoint inserts, linked to its switch. */
function addPort(i: number, uuidName: string): Operation[] {
  const endpointId = hex64(2, i);
  const net = networkId(i % SWITCHES);
  const addresses = `${mac(i)} ${ip(i)}`;
  return [
    insert(
      'Logical_Switch_Port',
      {
        name: endpointId,
        addresses: [addresses],
        port_security: [addresses],
        external_ids: strMap({ [OWNER_KEY]: OWNER, [ENDPOINT_ID_KEY]: endpointId, [NETWORK_ID_KEY]: net, [CHASSIS_KEY]: CHASSIS }),
        options: strMap({ 'requested-chassis': CHASSIS }),
      },
      uuidName,
    ),
    mutate('Logical_Switch', [['name', '==', net]], [['ports', 'insert', [namedUuid(uuidName)]]]),
  ];
}

interface Stats {
  n: number;
  perSec: number;
  p50: number;
  p99: number;
}

function stats(latMs: number[], wallMs: number): Stats {
  const s = [...latMs].sort((a, b) => a - b);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? NaN;
  return { n: s.length, perSec: (s.length / wallMs) * 1000, p50: at(0.5), p99: at(0.99) };
}

function nowMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

async function addSwitches(remote: string): Promise<void> {
  const c = new OvsdbClient({ remotes: remote, database: DB });
  try {
    await c.connect();
    const ops = Array.from({ length: SWITCHES }, (_, sw) =>
      insert('Logical_Switch', { name: networkId(sw), external_ids: strMap({ [OWNER_KEY]: OWNER, [NETWORK_ID_KEY]: networkId(sw), 'docker:subnets': `198.18.${sw}.0/24` }) }),
    );
    await c.transact(ops);
  } finally {
    await c.close();
  }
}

async function benchClient(remote: string, n: number): Promise<Stats> {
  const c = new OvsdbClient({ remotes: remote, database: DB });
  try {
    await c.connect();
    for (let i = 0; i < WARMUP; i++) await c.transact(addPort(WARM_BASE + i, 'p'));
    const lat: number[] = [];
    const start = nowMs();
    for (let i = 0; i < n; i++) {
      const t0 = nowMs();
      await c.transact(addPort(i, 'p'));
      lat.push(nowMs() - t0);
    }
    return stats(lat, nowMs() - start);
  } finally {
    await c.close();
  }
}

async function benchNbctl(remote: string, n: number): Promise<Stats> {
  const lat: number[] = [];
  const start = nowMs();
  for (let i = 0; i < n; i++) {
    const t0 = nowMs();
    await run('ovn-nbctl', [`--db=${remote}`, 'lsp-add', networkId(i % SWITCHES), `nb${i}`]);
    lat.push(nowMs() - t0);
  }
  return stats(lat, nowMs() - start);
}

/** Fills the database up to `total` ports, 1000 per transaction. */
async function fill(remote: string, total: number): Promise<void> {
  const c = new OvsdbClient({ remotes: remote, database: DB });
  try {
    await c.connect();
    const [res] = await c.transact([{ op: 'select', table: 'Logical_Switch_Port', where: [], columns: ['_uuid'] }]);
    let have = res?.rows?.length ?? 0;
    while (have < total) {
      const batch = Math.min(1000, total - have);
      const ops: Operation[] = [];
      for (let k = 0; k < batch; k++) ops.push(...addPort(FILL_BASE + have + k, `p${k}`));
      await c.transact(ops, { timeoutMs: 120000 });
      have += batch;
    }
  } finally {
    await c.close();
  }
}

const SETTLE_S = envInt('OVSDB_BENCH_SETTLE_S', 20);

function isFigures(j: unknown): j is ReplicaFigures {
  return typeof j === 'object' && j !== null && 'idleRss' in j && 'rows' in j && 'syncMs' in j;
}

function runChild(nodeBin: string, remote: string, flags: string[], env: Record<string, string>): Promise<ReplicaFigures> {
  return new Promise((resolve, reject) => {
    const args = ['--expose-gc', ...flags, path.join(__dirname, 'ovsdb-replica-rss.js'), remote, String(SETTLE_S)];
    const child = spawn(nodeBin, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) => {
      try {
        const j: unknown = JSON.parse(out);
        if (code === 0 && isFigures(j)) resolve(j);
        else reject(new Error(`replica child exited ${code}: ${out}`));
      } catch (e) {
        reject(new Error(`replica child exited ${code}: ${out} (${String(e)})`));
      }
    });
  });
}

const mb = (b: number): string => (b / 1048576).toFixed(1);
const f = (x: number, d = 2): string => x.toFixed(d);

async function main(): Promise<void> {
  const n = envInt('OVSDB_BENCH_N', 10000);
  const nbctlN = envInt('OVSDB_BENCH_NBCTL_N', 300);
  const replicaN = envInt('OVSDB_BENCH_REPLICA_N', 30000);
  const nodes = (process.env.OVSDB_BENCH_NODES ?? process.execPath).split(',').map((s) => s.trim()).filter((s) => s !== '');
  const server = await startStandalone(NB_SCHEMA);
  try {
    const version = (await run('ovsdb-server', ['--version'])).split('\n')[0];
    await addSwitches(server.remote);
    const client = await benchClient(server.remote, n);
    const nbctl = await benchNbctl(server.remote, nbctlN);
    await fill(server.remote, replicaN);
    // Compact the database file now: ovsdb-server would otherwise do it in the middle of a
    // measurement, and a slow monitor reply changes how the client's memory grows.
    await server.server.appctl('ovsdb-server/compact');
    const settings: [string, string[], Record<string, string>][] = [
      ['plain node', [], {}],
      [`daemon settings: ${DEPLOYED_NODE_FLAGS.join(' ')} ${Object.entries(DEPLOYED_ENV).map(([k, v]) => `${k}=${v}`).join(' ')}`, [...DEPLOYED_NODE_FLAGS], { ...DEPLOYED_ENV }],
    ];
    const reps: [string, ReplicaFigures][] = [];
    for (const bin of nodes) for (const [label, flags, env] of settings) reps.push([label, await runChild(bin, server.remote, flags, env)]);

    const row = (what: string, s: Stats): string =>
      `${what.padEnd(34)} ${String(s.n).padStart(6)} ${f(s.perSec, 0).padStart(9)} ${f(s.p50, 3).padStart(9)} ${f(s.p99, 3).padStart(9)}`;
    const cols = ['node', 'settings', 'rows', 'sync s', 'base MB', 'synced MB', 'idle MB', '(at s)', 'gc MB', 'heap MB'];
    const lines = [
      `# ovsdb-bench: ${version}, standalone OVN_Northbound over a unix socket; node ${process.version} ${process.execArgv.join(' ')}`,
      `# one transaction = insert 1 driver-shaped Logical_Switch_Port + link it to its switch (${SWITCHES} switches); ${WARMUP} warm-up transactions not counted`,
      `${'what'.padEnd(34)} ${'n'.padStart(6)} ${'txn/s'.padStart(9)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)}`,
      row('client transact (sequential)', client),
      row(`ovn-nbctl lsp-add (1 process each)`, nbctl),
      `client/ovn-nbctl rate: ${f(client.perSec / nbctl.perSec, 1)}x  (ovn-nbctl measured on n=${nbctlN}, right after the client's ${n} ports: both see a database of that size)`,
      `# replica: a child process monitoring ${Object.entries(NB_MONITOR).map(([t, c]) => `${t}(${c.join(',')})`).join(' ')} with name indexes.`,
      `# RSS before connecting (base), right after the sync, lowest in ${SETTLE_S} s idle without forcing a GC (idle), after forced full GCs (gc); heap used after them`,
      cols.join(' | '),
      ...reps.map(([label, r]) =>
        [r.node, label, r.rows, f(r.syncMs / 1000), mb(r.baselineRss), mb(r.rssAfterSync), mb(r.idleRss), r.idleAfterS, mb(r.gcRss), mb(r.gcHeapUsed)].join(' | '),
      ),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await server.close();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
  process.exitCode = 1;
});
