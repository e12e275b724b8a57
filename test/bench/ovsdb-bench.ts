// OVSDB client benchmark: prints figures, asserts nothing.
//
//   node --expose-gc dist/test/bench/ovsdb-bench.js
//
// Environment: OVSDB_BENCH_N (client transactions, default 10000), OVSDB_BENCH_NBCTL_N
// (ovn-nbctl processes, default 300: one process per port costs tens of ms, so a smaller N
// gives the same rate), OVSDB_BENCH_REPLICA_N (ports held by the replica, default 30000).
//
// Each transaction adds one Logical_Switch_Port and links it to its switch, as `ovn-nbctl
// lsp-add` does (a port no switch references is garbage-collected). Ports are spread over 100
// switches, so that no transaction rewrites a huge "ports" set.

import { spawn } from 'node:child_process';
import { OvsdbClient } from '../../src/ovsdb/client';
import { namedUuid } from '../../src/ovsdb/data';
import { insert, mutate, Operation, strMap } from '../../src/ovsdb/operations';
import { NB_SCHEMA, run, startStandalone } from '../helpers/ovsdb-server';

const DB = 'OVN_Northbound';
const SWITCHES = 100;
const WARMUP = 200;

function envInt(name: string, dflt: number): number {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v > 0 ? v : dflt;
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

function addPort(i: number, prefix: string): Operation[] {
  const name = `${prefix}${i}`;
  return [
    insert('Logical_Switch_Port', { name, addresses: [`${mac(i)} ${ip(i)}`], external_ids: strMap({ 'ovn-driver/endpoint': `ep-${name}` }) }, 'p'),
    mutate('Logical_Switch', [['name', '==', `sw${i % SWITCHES}`]], [['ports', 'insert', [namedUuid('p')]]]),
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

async function benchClient(remote: string, n: number): Promise<Stats> {
  const c = new OvsdbClient({ remotes: remote, database: DB });
  try {
    await c.connect();
    for (let i = 0; i < WARMUP; i++) await c.transact(addPort(WARM_BASE + i, 'warm'));
    const lat: number[] = [];
    const start = nowMs();
    for (let i = 0; i < n; i++) {
      const t0 = nowMs();
      await c.transact(addPort(i, 'c'));
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
    await run('ovn-nbctl', [`--db=${remote}`, 'lsp-add', `sw${i % SWITCHES}`, `nb${i}`]);
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
      for (let k = 0; k < batch; k++) {
        const i = FILL_BASE + have + k;
        ops.push(
          insert('Logical_Switch_Port', { name: `f${i}`, addresses: [`${mac(i)} ${ip(i)}`], external_ids: strMap({ 'ovn-driver/endpoint': `ep-f${i}` }) }, `p${k}`),
          mutate('Logical_Switch', [['name', '==', `sw${i % SWITCHES}`]], [['ports', 'insert', [namedUuid(`p${k}`)]]]),
        );
      }
      await c.transact(ops, { timeoutMs: 120000 });
      have += batch;
    }
  } finally {
    await c.close();
  }
}

interface ReplicaFigures {
  rows: number;
  baselineRss: number;
  rss: number;
  heapUsed: number;
  /** RSS once V8's memory reducer has returned the pages the initial sync used. */
  settledRss: number;
  settledAfterS: number;
  syncMs: number;
  gc: boolean;
}

const SETTLE_S = Number(process.env.OVSDB_BENCH_SETTLE_S ?? 20);

function measure(): { rss: number; heapUsed: number } {
  const g: unknown = Reflect.get(globalThis, 'gc');
  if (typeof g === 'function') g();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed };
}

/** Runs in a child process, so the figure is the replica's and not the benchmark's garbage. */
async function replicaChild(remote: string): Promise<void> {
  const base = measure();
  const c = new OvsdbClient({ remotes: remote, database: DB, monitor: { Logical_Switch: ['name', 'ports'], Logical_Switch_Port: 'all' }, requestTimeoutMs: 120000 });
  c.replica.createIndex('Logical_Switch_Port', 'name', (r) => (typeof r.name === 'string' ? r.name : undefined));
  const t0 = nowMs();
  await c.connect();
  const syncMs = nowMs() - t0;
  const after = measure();
  // V8 keeps the heap it grew while parsing the 30,000-row reply until its memory reducer runs,
  // some seconds later, when the process is idle: wait for the RSS to settle.
  let settled = after.rss;
  let settledAfterS = 0;
  for (let s = 1; s <= SETTLE_S; s++) {
    await new Promise((r) => setTimeout(r, 1000));
    const rss = process.memoryUsage().rss;
    if (rss < settled) {
      settled = rss;
      settledAfterS = s;
    }
  }
  const fig: ReplicaFigures = {
    rows: c.replica.table('Logical_Switch_Port').size,
    baselineRss: base.rss,
    rss: after.rss,
    heapUsed: after.heapUsed,
    settledRss: settled,
    settledAfterS,
    syncMs,
    gc: typeof Reflect.get(globalThis, 'gc') === 'function',
  };
  process.stdout.write(`${JSON.stringify(fig)}\n`);
  await c.close();
}

function isFigures(j: unknown): j is ReplicaFigures {
  return typeof j === 'object' && j !== null && 'rss' in j && 'rows' in j && 'syncMs' in j;
}

function runChild(remote: string, flags: string[]): Promise<ReplicaFigures> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--expose-gc', ...flags, __filename, '--replica-child', remote], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
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

const mb = (b: number): string => `${(b / 1048576).toFixed(1)} MB`;
const f = (x: number, d = 2): string => x.toFixed(d);

async function main(): Promise<void> {
  const n = envInt('OVSDB_BENCH_N', 10000);
  const nbctlN = envInt('OVSDB_BENCH_NBCTL_N', 300);
  const replicaN = envInt('OVSDB_BENCH_REPLICA_N', 30000);
  const server = await startStandalone(NB_SCHEMA);
  try {
    const version = (await run('ovsdb-server', ['--version'])).split('\n')[0];
    await run('ovn-nbctl', [`--db=${server.remote}`, ...Array.from({ length: SWITCHES }, (_, i) => ['--', 'ls-add', `sw${i}`]).flat().slice(1)]);
    const client = await benchClient(server.remote, n);
    const nbctl = await benchNbctl(server.remote, nbctlN);
    await fill(server.remote, replicaN);
    // V8 keeps the young generation it grew while parsing the 30,000-row monitor reply; a
    // smaller semi-space (a node flag the daemon may set) shows how much of the RSS that is.
    const variants: [string, string[]][] = [['default node flags', []], ['--max-semi-space-size=1', ['--max-semi-space-size=1']]];
    const reps: [string, ReplicaFigures][] = [];
    for (const [label, flags] of variants) reps.push([label, await runChild(server.remote, flags)]);

    const row = (what: string, s: Stats): string =>
      `${what.padEnd(34)} ${String(s.n).padStart(6)} ${f(s.perSec, 0).padStart(9)} ${f(s.p50, 3).padStart(9)} ${f(s.p99, 3).padStart(9)}`;
    const lines = [
      `# ovsdb-bench: ${version}, standalone OVN_Northbound over a unix socket; node ${process.version}`,
      `# one transaction = insert 1 Logical_Switch_Port + link it to its switch (${SWITCHES} switches); ${WARMUP} warm-up transactions not counted`,
      `${'what'.padEnd(34)} ${'n'.padStart(6)} ${'txn/s'.padStart(9)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)}`,
      row('client transact (sequential)', client),
      row(`ovn-nbctl lsp-add (1 process each)`, nbctl),
      `client/ovn-nbctl rate: ${f(client.perSec / nbctl.perSec, 1)}x  (ovn-nbctl measured on n=${nbctlN}, right after the client's ${n} ports: both see a database of that size)`,
      ...reps.map(
        ([label, rep]) =>
          `replica (${label}): ${rep.rows} Logical_Switch_Port rows (+${SWITCHES} switches) synced in ${f(rep.syncMs / 1000, 2)} s; ` +
          `heap used ${mb(rep.heapUsed)}${rep.gc ? ' after gc' : ' (gc not exposed)'}; RSS before connecting ${mb(rep.baselineRss)}, ` +
          `right after sync ${mb(rep.rss)}, lowest in ${SETTLE_S} s idle ${mb(rep.settledRss)} (at ${rep.settledAfterS} s; replica +${mb(rep.settledRss - rep.baselineRss)})`,
      ),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await server.close();
  }
}

if (process.argv[2] === '--replica-child') {
  replicaChild(process.argv[3] ?? '').catch((e: unknown) => {
    process.stderr.write(`${String(e)}\n`);
    process.exitCode = 1;
  });
} else {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.stack ?? e.message : String(e)}\n`);
    process.exitCode = 1;
  });
}
