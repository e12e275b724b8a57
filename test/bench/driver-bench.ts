// Benchmark (prints figures and whether issue 3's goals are met; asserts nothing): the lifecycle
// Docker sends for one container — CreateEndpoint, Join, EndpointOperInfo, Leave, DeleteEndpoint —
// through the plugin socket of a real daemon on the real stack, measured the same way in each case:
//   empty: an empty Northbound;
//   loaded: OTHER_PORTS other logical ports, on a switch of their own (other networks);
//   unrouted: an empty Northbound and an --internal network, which has no router port (the
//     other cases' network is routed by its VRF's router): issue 11's goal compares the two;
//   same (opt-in): OTHER_PORTS other logical ports on the benchmark's own network (one big
//     network); slow, since ovn-controller then handles all of them on every change.
// In each case:
//
//   back-to-back: RUNS runs (a fresh daemon each) of WARMUP + N lifecycles, one after the other,
//     as a busy host starts containers; each figure is the median over the runs of its p50.
//   northd paused (opt-in, PAUSED_N > 0): PAUSED_N lifecycles with ovn-northd paused (ovn-appctl
//     pause; resumed afterwards) and Join's wait cut to 1 ms, since no port can become ready:
//     the driver, the databases and the kernel without OVN's central recompute competing for
//     the CPU. Opt-in because it stalls every other user of the stack while it runs.
//   central apart (opt-in, CENTRAL_CPUS=1, say): OVN central (ovn-northd, the NB and SB
//     ovsdb-servers) pinned to those CPUs and the host side (this client, the daemon, the local
//     ovsdb-server, ovs-vswitchd, ovn-controller) to the others, for every case, as when central
//     runs on machines of its own; affinities are restored afterwards.
//
// Per call it shows the time the client saw, the daemon's handling time and its CPU time (the
// x-ovn-driver-handle-ms / -cpu-ms headers, which the daemon sends when started with
// --timing-headers on, as here), and Join's wait for ovn-installed apart
// (x-ovn-driver-ready-wait-ms). It also shows how much CPU OVN's daemons used meanwhile, so a
// slower case can be put down to the driver or to OVN.
//
// Run: make bench-driver, or N=100 RUNS=3 node dist/test/bench/driver-bench.js
//   env: N (100), RUNS (3), WARMUP (10), PAUSED_N (0 = skip), OTHER_PORTS (30000),
//        CASES (empty,unrouted,loaded; add same), CPU_PROF_DIR (write a V8 CPU profile of each daemon there),
//        CENTRAL_CPUS (a taskset CPU list for OVN central; unset = no pinning).
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { OvsdbClient } from '../../src/ovsdb/client';
import { namedUuid, Uuid } from '../../src/ovsdb/data';
import { cond, del, insert, mutate, Operation, strMap } from '../../src/ovsdb/operations';
import { deployedSettings } from '../helpers/deployed';
import { run } from '../helpers/run';
import { startDriver } from '../helpers/stack';
import { PluginConnection } from './plugin-connection';
import { CpuMeter, processCpuMs, settle, stackPids } from './proc-cpu';

const num = (name: string, dflt: number): number => {
  const v = Number(process.env[name] ?? dflt);
  if (!Number.isInteger(v) || v < 0) throw new Error(`${name} must be a non-negative integer`);
  return v;
};
const N = num('N', 100);
const RUNS = Math.max(1, num('RUNS', 3));
const WARMUP = num('WARMUP', 10);
const PAUSED_N = num('PAUSED_N', 0);
const OTHER_PORTS = num('OTHER_PORTS', 30_000);
const CASES = (process.env['CASES'] ?? 'empty,unrouted,loaded').split(',');
const CPU_PROF_DIR = process.env['CPU_PROF_DIR'];
const CENTRAL_CPUS = process.env['CENTRAL_CPUS'];
const NB = process.env['OVN_NB'] ?? 'unix:/var/run/ovn/ovnnb_db.sock';
const REPO = path.resolve(__dirname, '../../..');
const SETUP_GOAL_MS = 5;
const RATIO_GOAL = 1.2;
const ROUTED_GOAL = 1.1;
/** What OVN does after each change: each run starts once these are idle. */
const OVN_BUSY = ['ovn-northd', 'NB ovsdb-server', 'SB ovsdb-server', 'ovn-controller'];
/** OVN central, which a deployment runs on machines other than the container hosts. */
const CENTRAL = ['ovn-northd', 'NB ovsdb-server', 'SB ovsdb-server'];

const CALLS = ['CreateEndpoint', 'Join', 'EndpointOperInfo', 'Leave', 'DeleteEndpoint'] as const;
type CallName = (typeof CALLS)[number];

/** One call as measured: by the client, and as the daemon reports it. */
interface Sample {
  readonly client: number;
  readonly handle: number;
  readonly cpu: number;
  readonly wait: number;
}

type Lifecycle = Record<CallName, Sample>;

interface RunResult {
  readonly lifecycles: Lifecycle[];
  /** Daemon CPU (/proc, user + system) per lifecycle, ms. */
  readonly daemonCpuMs: number;
  readonly usage: Awaited<ReturnType<CpuMeter['stop']>>;
}

const hex = (): string => randomBytes(32).toString('hex');
/** One connection per daemon socket, as dockerd keeps one per plugin. */
const connections = new Map<string, PluginConnection>();

function dropConnection(socketPath: string): void {
  connections.get(socketPath)?.close();
  connections.delete(socketPath);
}

function header(headers: ReadonlyMap<string, string>, name: string): number {
  const v = Number(headers.get(name) ?? NaN);
  return Number.isFinite(v) ? v : NaN;
}

/** A figure the daemon must send: it does only when started with --timing-headers on. */
function required(headers: ReadonlyMap<string, string>, name: string): number {
  const v = header(headers, name);
  if (Number.isNaN(v)) throw new Error(`the daemon's answer has no ${name} header; start it with --timing-headers on`);
  return v;
}

/** One call, as the client saw it (ms) and as the daemon answered. */
async function post(socketPath: string, call: string, body: object): Promise<{ status: number; text: string; headers: ReadonlyMap<string, string>; client: number }> {
  let conn = connections.get(socketPath);
  if (!conn) connections.set(socketPath, (conn = new PluginConnection(socketPath)));
  const data = JSON.stringify(body);
  const started = process.hrtime.bigint();
  const res = await conn.post(`/NetworkDriver.${call}`, data);
  const client = Number(process.hrtime.bigint() - started) / 1e6;
  return { status: res.status, text: res.body, headers: res.headers, client };
}

async function must(socketPath: string, call: string, body: object): Promise<Sample> {
  const r = await post(socketPath, call, body);
  if (r.status !== 200) throw new Error(`${call} failed: ${r.status} ${r.text}`);
  const wait = header(r.headers, 'x-ovn-driver-ready-wait-ms');
  return { client: r.client, handle: required(r.headers, 'x-ovn-driver-handle-ms'), cpu: required(r.headers, 'x-ovn-driver-cpu-ms'), wait: Number.isNaN(wait) ? 0 : wait };
}

// ---- statistics ---------------------------------------------------------------------------

function pct(xs: readonly number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
}
const median = (xs: readonly number[]): number => pct(xs, 50);

/** The figures of one lifecycle the table shows, by row. */
const ROWS: ReadonlyArray<[string, (l: Lifecycle) => Sample]> = [
  ['CreateEndpoint', (l) => l.CreateEndpoint],
  ['Join w/o wait', (l) => ({ ...l.Join, client: l.Join.client - l.Join.wait, handle: l.Join.handle - l.Join.wait })],
  ['Join ready wait', (l) => ({ client: l.Join.wait, handle: l.Join.wait, cpu: NaN, wait: 0 })],
  ['EndpointOperInfo', (l) => l.EndpointOperInfo],
  ['Leave', (l) => l.Leave],
  ['DeleteEndpoint', (l) => l.DeleteEndpoint],
  ['setup w/o wait', setupOf],
];

/** CreateEndpoint + Join without its wait for ovn-installed: issue 3's "rest of setup". */
function setupOf(l: Lifecycle): Sample {
  return {
    client: l.CreateEndpoint.client + l.Join.client - l.Join.wait,
    handle: l.CreateEndpoint.handle + l.Join.handle - l.Join.wait,
    cpu: l.CreateEndpoint.cpu + l.Join.cpu,
    wait: 0,
  };
}

/** Median over runs of each run's p50 (p99: of all lifecycles pooled). */
function summarize(runs: readonly RunResult[], pick: (l: Lifecycle) => Sample): { client: number; handle: number; cpu: number; p99: number } {
  const per = (f: (s: Sample) => number): number => median(runs.map((r) => pct(r.lifecycles.map((l) => f(pick(l))), 50)));
  return { client: per((s) => s.client), handle: per((s) => s.handle), cpu: per((s) => s.cpu), p99: pct(runs.flatMap((r) => r.lifecycles.map((l) => pick(l).client)), 99) };
}

const f = (ms: number, w = 9): string => (Number.isNaN(ms) ? '-' : ms.toFixed(2)).padStart(w);

interface CaseResult {
  readonly label: string;
  readonly setup: { client: number; handle: number; cpu: number };
  readonly daemonCpuMs: number;
  readonly pausedSetup: number | undefined;
  readonly northdPct: number;
}

function report(label: string, runs: readonly RunResult[], paused: RunResult | undefined): CaseResult {
  const lifecycles = runs.reduce((a, r) => a + r.lifecycles.length, 0);
  console.log(`\n== ${label}: back-to-back, ${runs.length} run(s) x ${runs[0]?.lifecycles.length ?? 0} lifecycles (${lifecycles} in all); ms, median over runs of p50`);
  console.log(`${'call'.padEnd(18)}${'client'.padStart(9)}${'server'.padStart(9)}${'cpu'.padStart(9)}${'p99 cl.'.padStart(9)}${paused ? 'paused'.padStart(9) : ''}`);
  for (const [name, pick] of ROWS) {
    const s = summarize(runs, pick);
    const st = paused ? summarize([paused], pick).client : undefined;
    console.log(`${name.padEnd(18)}${f(s.client)}${f(s.handle)}${f(s.cpu)}${f(s.p99)}${st === undefined ? '' : f(st)}`);
  }
  console.log(`  client: as the plugin socket's caller saw it; server: the daemon's own handling time; cpu: daemon CPU during the call`);
  console.log(`  setup p50 of each run: ${runs.map((r) => f(pct(r.lifecycles.map((l) => setupOf(l).client), 50), 0)).join(', ')}`);
  const daemonCpu = median(runs.map((r) => r.daemonCpuMs));
  if (paused) console.log(`  paused: ${paused.lifecycles.length} lifecycles with ovn-northd paused (Join's ready wait cut to 1 ms), client p50`);
  console.log(`  daemon CPU per lifecycle (/proc): ${f(daemonCpu, 0)} ms${paused ? `; northd paused: ${f(paused.daemonCpuMs, 0)} ms` : ''}`);
  const names = [...(runs[0]?.usage.processes.keys() ?? [])];
  const usage = (name: string): number => median(runs.map((r) => r.usage.processes.get(name)?.pct ?? NaN));
  console.log(`  CPU while it ran, % of one core: ${names.map((n) => `${n} ${usage(n).toFixed(0)}`).join(', ')}; machine ${median(runs.map((r) => r.usage.machineBusyPct)).toFixed(0)}% busy of ${runs[0]?.usage.cores ?? '?'} cores`);
  const setup = summarize(runs, setupOf);
  return { label, setup, daemonCpuMs: daemonCpu, pausedSetup: paused ? summarize([paused], setupOf).client : undefined, northdPct: usage('ovn-northd') };
}

// ---- the lifecycles -----------------------------------------------------------------------

async function lifecycles(socketPath: string, pid: number, netId: string, count: number): Promise<RunResult> {
  const meter = new CpuMeter(await stackPids());
  const out: Lifecycle[] = [];
  let cpu = 0;
  for (let i = 0; i < WARMUP + count; i++) {
    if (i === WARMUP) {
      await meter.start();
      cpu = (await processCpuMs(pid)) ?? NaN;
    }
    const ep = hex();
    const ip = `198.18.${64 + Math.floor((i + 2) / 256)}.${(i + 2) % 256}`;
    const ids = { NetworkID: netId, EndpointID: ep };
    const l: Lifecycle = {
      CreateEndpoint: await must(socketPath, 'CreateEndpoint', { ...ids, Interface: { Address: `${ip}/18`, AddressIPv6: '', MacAddress: '' }, Options: {} }),
      Join: await must(socketPath, 'Join', { ...ids, SandboxKey: '/var/run/docker/netns/bench00000000', Options: {} }),
      EndpointOperInfo: await must(socketPath, 'EndpointOperInfo', ids),
      Leave: await must(socketPath, 'Leave', ids),
      DeleteEndpoint: await must(socketPath, 'DeleteEndpoint', ids),
    };
    if (i >= WARMUP) out.push(l);
  }
  cpu = ((await processCpuMs(pid)) ?? NaN) - cpu;
  const usage = await meter.stop();
  return { lifecycles: out, daemonCpuMs: cpu / Math.max(1, out.length), usage };
}

/** The daemon as Docker would run it, on a socket of its own; with CPU_PROF_DIR under --cpu-prof. */
async function withDaemon<T>(extraArgs: readonly string[], body: (socketPath: string, pid: number) => Promise<T>): Promise<T> {
  const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ovn-bench-'));
  const socketPath = path.join(dir, 'ovn.sock');
  const nodeArgs = CPU_PROF_DIR === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${CPU_PROF_DIR}`];
  try {
    const driver = await startDriver({ socketPath, extraArgs: ['--log-level', 'info', '--reconcile-interval', '0', '--timing-headers', 'on', ...extraArgs], deployed: true, nodeArgs });
    try {
      return await body(driver.socketPath, driver.pid);
    } finally {
      dropConnection(socketPath);
      await driver.stop();
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
}

/** Runs `body` with ovn-northd paused; resumes it however `body` ends. */
async function withNorthdPaused<T>(body: () => Promise<T>): Promise<T> {
  const pid = (await fs.readFile('/var/run/ovn/ovn-northd.pid', 'utf8')).trim();
  const ctl = `/var/run/ovn/ovn-northd.${pid}.ctl`;
  await run('ovn-appctl', ['-t', ctl, 'pause']);
  try {
    return await body();
  } finally {
    await run('ovn-appctl', ['-t', ctl, 'resume']);
  }
}

type Others = 'none' | 'other switch' | 'same switch';

/** One case: its network (created and removed through a daemon, as Docker would), runs, and report. */
async function measureCase(label: string, others: Others, internal = false): Promise<CaseResult> {
  const netId = hex();
  // Routed by its VRF's router unless --internal (the unrouted case).
  const options = internal ? { 'com.docker.network.internal': true } : {};
  await withDaemon([], (s) => must(s, 'CreateNetwork', { NetworkID: netId, Options: options, IPv4Data: [{ Pool: '198.18.64.0/18', Gateway: '198.18.64.1/18' }], IPv6Data: [] }));
  try {
    const measure = async (): Promise<CaseResult> => {
      const pids = await stackPids();
      const busy = new Map([...pids].filter(([n]) => OVN_BUSY.includes(n)));
      const runs: RunResult[] = [];
      for (let r = 0; r < RUNS; r++) {
        await settle(busy);
        runs.push(await withDaemon([], (s, pid) => lifecycles(s, pid, netId, N)));
      }
      let paused: RunResult | undefined;
      if (PAUSED_N > 0) {
        await settle(busy);
        paused = await withNorthdPaused(() => withDaemon(['--ready-timeout', '0.001'], (s, pid) => lifecycles(s, pid, netId, PAUSED_N)));
      }
      return report(label, runs, paused);
    };
    if (others === 'none') return await measure();
    // The network's switch is named by its VRF and subnet (src/driver/names.ts sharedSwitchName).
    return await withOtherPorts(OTHER_PORTS, others === 'same switch' ? 'default/198.18.64.0/18' : undefined, measure);
  } finally {
    await withDaemon([], (s) => must(s, 'DeleteNetwork', { NetworkID: netId }));
  }
}

/**
 * `count` ports, in a few big transactions, on the switch named `onSwitch` or else on a switch of
 * their own; removed afterwards.
 */
async function withOtherPorts<T>(count: number, onSwitch: string | undefined, body: () => Promise<T>): Promise<T> {
  const nb = new OvsdbClient({ remotes: NB, database: 'OVN_Northbound', requestTimeoutMs: 120_000 });
  await nb.connect();
  const name = onSwitch ?? `bench-others-${randomBytes(4).toString('hex')}`;
  const prefix = `bench-other-${randomBytes(4).toString('hex')}`;
  const inserted: Uuid[] = [];
  const started = Date.now();
  try {
    if (onSwitch === undefined) await nb.transact([insert('Logical_Switch', { name, external_ids: strMap({ 'ovn-driver-bench': 'true' }) })]);
    const batch = 5000;
    for (let b = 0; b < count; b += batch) {
      const ops: Operation[] = [];
      const names: string[] = [];
      for (let i = b; i < Math.min(count, b + batch); i++) {
        const n = `p${i}`;
        names.push(n);
        const mac = `0a:59:00:${((i >> 16) & 0xff).toString(16).padStart(2, '0')}:${((i >> 8) & 0xff).toString(16).padStart(2, '0')}:${(i & 0xff).toString(16).padStart(2, '0')}`;
        ops.push(insert('Logical_Switch_Port', { name: `${prefix}-${i}`, addresses: [`${mac} 10.${(i >> 16) & 0xff}.${(i >> 8) & 0xff}.${i & 0xff}`] }, n));
      }
      ops.push(mutate('Logical_Switch', [cond('name', '==', name)], [['ports', 'insert', names.map((n) => namedUuid(n))]]));
      for (const r of await nb.transact(ops)) if (r.uuid) inserted.push(r.uuid);
    }
    console.log(`\ncreated ${count} other logical ports on ${onSwitch === undefined ? 'a switch of their own' : "the benchmark network's switch"} in ${Date.now() - started} ms`);
    return await body();
  } finally {
    if (onSwitch === undefined) {
      await nb.transact([del('Logical_Switch', [cond('name', '==', name)])]);
    } else {
      // Unlinked from the switch, the (non-root) ports are deleted with it.
      if (inserted.length > 0) await nb.transact([mutate('Logical_Switch', [cond('name', '==', name)], [['ports', 'delete', inserted]])]);
    }
    await nb.close();
  }
}

/** CPUs of a taskset list ("1", "0,2-3"). */
function cpuList(list: string): number[] {
  const out: number[] = [];
  for (const part of list.split(',')) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part.trim());
    if (!m) throw new Error(`CENTRAL_CPUS: "${list}" is not a CPU list like "1" or "0,2-3"`);
    for (let c = Number(m[1]); c <= Number(m[2] ?? m[1]); c++) out.push(c);
  }
  return out;
}

/** Affinity (all threads) of `pid`, as a CPU list. */
async function affinity(pid: number): Promise<string> {
  const out = await run('taskset', ['-pc', String(pid)]);
  const list = /:\s*(\S+)\s*$/.exec(out.trim())?.[1];
  if (list === undefined) throw new Error(`cannot read the CPU affinity of pid ${pid}: ${out}`);
  return list;
}

const pin = (pid: number, list: string): Promise<string> => run('taskset', ['-a', '-pc', list, String(pid)]);

/** Runs `body` with OVN central on `centralList` and the host side (this process included) on the other CPUs. */
async function withCentralApart<T>(centralList: string, body: () => Promise<T>): Promise<T> {
  const central = cpuList(centralList);
  const all = os.cpus().map((_c, i) => i);
  const host = all.filter((c) => !central.includes(c));
  if (host.length === 0 || central.some((c) => !all.includes(c))) throw new Error(`CENTRAL_CPUS=${centralList} must leave CPUs for the host side (this machine has 0-${all.length - 1})`);
  const pids = new Map([...(await stackPids()), ['this client and the daemon', process.pid]]);
  const before = new Map<number, string>();
  try {
    for (const [name, pid] of pids) {
      before.set(pid, await affinity(pid));
      await pin(pid, CENTRAL.includes(name) ? central.join(',') : host.join(','));
    }
    console.log(`OVN central (${CENTRAL.join(', ')}) on CPU ${central.join(',')}; the host side on CPU ${host.join(',')}`);
    return await body();
  } finally {
    for (const [pid, list] of before) await pin(pid, list).catch(() => undefined);
  }
}

function verdict(ok: boolean): string {
  return ok ? 'MET' : 'NOT MET';
}

async function main(): Promise<void> {
  await run('bash', [path.join(REPO, 'scripts/stack.sh'), 'start'], 300_000);
  console.log(`driver benchmark: N=${N} RUNS=${RUNS} WARMUP=${WARMUP} PAUSED_N=${PAUSED_N} OTHER_PORTS=${OTHER_PORTS}; ${os.cpus().length} cores, node ${process.version}`);
  console.log(`the daemon runs as deployed (RPM launcher, systemd unit): ${deployedSettings()}; this client (in dockerd's place) at nice ${os.getPriority()}`);
  const monitorAll = await run('ovs-vsctl', ['--timeout=10', 'get', 'Open_vSwitch', '.', 'external_ids:ovn-monitor-all']).catch(() => 'unset');
  console.log(`ovn-controller: external_ids:ovn-monitor-all=${monitorAll.trim().replace(/"/g, '')}`);
  const results: CaseResult[] = [];
  let unrouted: CaseResult | undefined;
  const measureAll = async (): Promise<void> => {
    if (CASES.includes('empty')) results.push(await measureCase('empty Northbound', 'none'));
    if (CASES.includes('unrouted')) unrouted = await measureCase('empty Northbound, an --internal (unrouted) network', 'none', true);
    if (CASES.includes('loaded')) results.push(await measureCase(`${OTHER_PORTS} other ports on other networks`, 'other switch'));
    if (CASES.includes('same')) results.push(await measureCase(`${OTHER_PORTS} other ports on the same network`, 'same switch'));
  };
  if (CENTRAL_CPUS === undefined) await measureAll();
  else await withCentralApart(CENTRAL_CPUS, measureAll);

  console.log(`\n== goals (issue 3)`);
  for (const r of results) {
    console.log(`setup w/o wait p50 <= ${SETUP_GOAL_MS} ms, ${r.label}: ${f(r.setup.client, 0)} ms (daemon's own handling ${f(r.setup.handle, 0)} ms, CPU ${f(r.setup.cpu, 0)} ms): ${verdict(r.setup.client <= SETUP_GOAL_MS)}`);
  }
  const [empty, ...loadedCases] = results;
  if (empty && unrouted && CASES.includes('empty')) {
    // The empty case's network is routed (a gateway port on its VRF's router): issue 11's goal.
    const ratio = empty.setup.client / unrouted.setup.client;
    console.log(`routed network: per-container setup no more than ${ROUTED_GOAL}x an unrouted one: ${f(empty.setup.client, 2)} vs ${f(unrouted.setup.client, 2)} ms p50, ratio ${ratio.toFixed(2)}: ${verdict(ratio <= ROUTED_GOAL)}`);
    console.log(`  the daemon: handling time ${f(empty.setup.handle, 2)} vs ${f(unrouted.setup.handle, 2)} ms, CPU per lifecycle ${f(empty.daemonCpuMs, 1)} vs ${f(unrouted.daemonCpuMs, 1)} ms`);
  }
  if (empty && CASES.includes('empty')) {
    for (const loaded of loadedCases) {
      const ratio = loaded.setup.client / empty.setup.client;
      console.log(`${loaded.label}: no more than ${RATIO_GOAL}x slower than empty: setup p50 ratio ${ratio.toFixed(2)}: ${verdict(ratio <= RATIO_GOAL)}`);
      console.log(`  the daemon: handling time ratio ${(loaded.setup.handle / empty.setup.handle).toFixed(2)}, CPU per setup ratio ${(loaded.setup.cpu / empty.setup.cpu).toFixed(2)}, CPU per lifecycle ratio ${(loaded.daemonCpuMs / empty.daemonCpuMs).toFixed(2)}`);
      if (empty.pausedSetup !== undefined && loaded.pausedSetup !== undefined) {
        const pausedRatio = loaded.pausedSetup / empty.pausedSetup;
        console.log(`  with ovn-northd paused: ${f(empty.pausedSetup, 0)} vs ${f(loaded.pausedSetup, 0)} ms, ratio ${pausedRatio.toFixed(2)}: ${verdict(pausedRatio <= RATIO_GOAL)} (the driver and the local stack without OVN's recompute)`);
      }
      console.log(`  ovn-northd used ${empty.northdPct.toFixed(0)}% of a core while the empty case ran and ${loaded.northdPct.toFixed(0)}% in this one (OVN 23.03's northd recomputes everything on each change)`);
    }
  }
}

main().catch((e: unknown) => {
  console.error(e);
  process.exitCode = 1;
});
