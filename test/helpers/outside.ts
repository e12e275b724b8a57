// The "outside world" of the egress tests (issue 12): a network namespace standing in for the
// network beyond the gateway hosts, and the external OVS bridges that reach it. Only 198.18.250.0/24,
// and nothing routes further: the namespace has no default route and does not forward, so a
// container's way out ends here.
//
//   host 1's OVS: bridge brex-SFX (netdev) -- port xo1-SFX ==veth== xi1-SFX --+
//   host 2's OVS: bridge BR (netdev)       -- port xo2-SFX ==veth== xi2-SFX --+-- br0 (Linux bridge,
//                                                                              198.18.250.1/24)
//                                                           in netns ovnout-SFX
//
// The Linux bridge makes one L2 segment of every uplink, so a VRF's way out may move from one
// gateway host to another. Every veth end that sends into OVS (and br0, whose frames leave through
// them) has TX checksum offload off (`ethtool -K IFACE tx off`): the userspace datapath does not
// complete partial checksums, and TCP and UDP would fail while ping passes.
// Servers: test/helpers/outside-probe.ts run in the namespace (HTTP and a UDP echo that record the
// peer address each connection and datagram came from). Everything is removed in cleanup.

import { ChildProcess, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { Cleanup } from './cleanup';
import { mapCell, parseTable, Row, setCell, stringCell } from './ovsdb-json';
import { run, runResult, waitFor } from './run';
import { takeMachineLock } from './machine-lock';
import type { SecondHost } from './second-host';
import { netnsEnd, pathMtu, TrafficEnd } from './traffic';

export { pathMtu };

/** The external network of the tests (--external-cidr, --external-gateway, --external-pool). */
export const EXTERNAL_CIDR = '198.18.250.0/24';
export const EXTERNAL_GATEWAY = '198.18.250.1';
export const EXTERNAL_POOL_FIRST = '198.18.250.10';
export const EXTERNAL_POOL_LAST = '198.18.250.50';
export const EXTERNAL_POOL = `${EXTERNAL_POOL_FIRST}-${EXTERNAL_POOL_LAST}`;
/** The Northbound rows of the external network, cluster configuration the driver leaves in place. */
export const EXTERNAL_SWITCH = 'ovn-driver-external';
export const GATEWAY_GROUP = 'ovn-driver-gateways';

export const OUTSIDE_PROBE = path.resolve(__dirname, 'outside-probe.js');
/** The external gateway's MAC (02:00 then 198.18.250.1's bytes), the same in every run. */
export const OUTSIDE_MAC = '02:00:c6:12:fa:01';

/** The driver options that make a host a gateway host on `bridge` (and write the external network). */
export function externalArgs(bridge: string, priority?: number, withNetwork = true): string[] {
  return [
    '--external-bridge', bridge,
    ...(withNetwork ? ['--external-cidr', EXTERNAL_CIDR, '--external-gateway', EXTERNAL_GATEWAY, '--external-pool', EXTERNAL_POOL] : []),
    ...(priority === undefined ? [] : ['--external-priority', String(priority)]),
  ];
}

/** True when `ip` is in the pool of --external-pool. */
export function inExternalPool(ip: string): boolean {
  const last = (a: string): number => Number(a.split('.')[3]);
  return ip.startsWith('198.18.250.') && last(ip) >= last(EXTERNAL_POOL_FIRST) && last(ip) <= last(EXTERNAL_POOL_LAST);
}

// ---- the outside namespace and the external bridges ----------------------------------------

export interface Outside {
  readonly netns: string;
  /** Host 1's external OVS bridge (give it to --external-bridge). */
  readonly bridge: string;
  /** The namespace as one end of traffic (helpers/traffic.ts), its scratch a host directory. */
  readonly end: TrafficEnd;
  /** Makes `bridge` on host 2's OVS, uplinked to the same segment. */
  addSecondHostBridge(host2: SecondHost, bridge: string): Promise<void>;
  /** Starts the recording servers in the namespace; stopped in cleanup. */
  startServer(httpPort: number, udpPort: number, bytes: number): Promise<OutsideServer>;
  /** The segment's ends of host 1's and host 2's uplinks (names on br0). */
  readonly uplink1: string;
  readonly uplink2: string;
  /** The uplink the segment last saw `mac` come from (br0's learned FDB entry), or undefined. */
  uplinkOf(mac: string): Promise<string | undefined>;
}

async function ignoreGone(r: Promise<{ code: number; stderr: string }>, what: string): Promise<void> {
  const res = await r;
  // Already gone (its namespace went first, or a failed set-up never made it): that is success.
  if (res.code !== 0 && !/Cannot find device|does not exist|No such|not found/i.test(res.stderr)) throw new Error(`${what}: ${res.stderr.trim()}`);
}

/** `ethtool -K IFACE tx off` in the namespace `prefix` runs programs in. */
async function txOff(prefix: readonly string[], iface: string): Promise<void> {
  const [file, ...args] = [...prefix, 'ethtool', '-K', iface, 'tx', 'off'];
  await run(file ?? 'ethtool', args);
}

async function waitLink(prefix: readonly string[], name: string): Promise<void> {
  const [file, ...args] = [...prefix, 'ip', 'link', 'show', name];
  await waitFor(`the kernel interface ${name}`, async () => ((await runResult(file ?? 'ip', args)).code === 0 ? true : undefined), 10_000, 50);
}

/**
 * The cluster's external network is one for every suite (one Northbound, one bridge mapping on
 * host 1): suites that make a gateway host take this machine lock first (waiting up to 150 s).
 */
export function takeExternalLock(cleanup: Cleanup): Promise<void> {
  return takeMachineLock(cleanup, 'ovn-driver-external-network', 'the external network', { waitMs: 150_000, say: (line) => process.stdout.write(`${line}\n`) });
}

/**
 * The outside namespace with the external gateway address, and host 1's external bridge
 * uplinked to it. `suffix`: 6 hex digits (names stay within the kernel's 15 characters).
 */
export async function createOutside(cleanup: Cleanup, suffix: string): Promise<Outside> {
  const netns = `ovnout-${suffix}`;
  const bridge = `brex-${suffix}`;
  const inNs = ['ip', 'netns', 'exec', netns];
  const scratch = await fs.mkdtemp(path.join(os.tmpdir(), `${netns}-`));
  cleanup.add(`remove ${scratch}`, () => fs.rm(scratch, { recursive: true, force: true }));

  await run('ip', ['netns', 'add', netns]);
  cleanup.add(`delete netns ${netns}`, () => run('ip', ['netns', 'del', netns]));
  // No IPv6 here: nothing of it is under test, and router solicitations would only add noise.
  await run('ip', ['netns', 'exec', netns, 'sysctl', '-q', '-w', 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1']);
  await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
  // Its MAC set, so it stays: a Linux bridge with an unset MAC takes the lowest of its ports',
  // and adding host 2's uplink would change it under the VRF routers' MAC bindings (which OVN
  // does not refresh: they would go on sending to the old MAC).
  await run('ip', ['-n', netns, 'link', 'add', 'br0', 'address', OUTSIDE_MAC, 'type', 'bridge']);
  await txOff(inNs, 'br0');
  await run('ip', ['-n', netns, 'addr', 'add', `${EXTERNAL_GATEWAY}/24`, 'dev', 'br0']);
  await run('ip', ['-n', netns, 'link', 'set', 'br0', 'up']);

  /** A veth from the segment: `inner` on br0, `outer` left in the host namespace for the caller. */
  const uplink = async (outer: string, inner: string): Promise<void> => {
    cleanup.add(`delete veth ${outer}`, () => ignoreGone(runResult('ip', ['link', 'del', outer]), `delete veth ${outer}`));
    await run('ip', ['link', 'add', outer, 'type', 'veth', 'peer', 'name', inner, 'netns', netns]);
    await txOff(inNs, inner);
    await run('ip', ['-n', netns, 'link', 'set', inner, 'master', 'br0']);
    await run('ip', ['-n', netns, 'link', 'set', inner, 'up']);
  };

  // Host 1: the machine's OVS.
  cleanup.add(`delete OVS bridge ${bridge}`, () => run('ovs-vsctl', ['--timeout=10', '--if-exists', 'del-br', bridge]));
  await run('ovs-vsctl', ['--timeout=10', 'add-br', bridge, '--', 'set', 'Bridge', bridge, 'datapath_type=netdev']);
  const xo1 = `xo1-${suffix}`;
  await uplink(xo1, `xi1-${suffix}`);
  await txOff([], xo1);
  await run('ip', ['link', 'set', xo1, 'up']);
  await run('ovs-vsctl', ['--timeout=10', 'add-port', bridge, xo1]);

  const outside: Outside = {
    netns,
    bridge,
    end: netnsEnd(netns, scratch),
    addSecondHostBridge: async (host2, bridge2) => {
      const xo2 = `xo2-${suffix}`;
      cleanup.add(`delete host 2's OVS bridge ${bridge2}`, async () => {
        // Host 2 may be gone already (its OVS with it): then so is the bridge.
        await host2.vsctl(['--if-exists', 'del-br', bridge2]).catch(() => undefined);
      });
      await host2.vsctl(['add-br', bridge2, '--', 'set', 'Bridge', bridge2, 'datapath_type=netdev']);
      await uplink(xo2, `xi2-${suffix}`);
      // Its outer end into host 2's network namespace (deleted from the segment's side in cleanup).
      cleanup.add(`delete veth xi2-${suffix}`, () => ignoreGone(runResult('ip', ['-n', netns, 'link', 'del', `xi2-${suffix}`]), `delete veth xi2-${suffix}`));
      await run('ip', ['link', 'set', xo2, 'netns', host2.netns]);
      await txOff(host2.enter, xo2);
      const [file, ...args] = [...host2.enter, 'ip', 'link', 'set', xo2, 'up'];
      await run(file ?? 'nsenter', args);
      await waitLink(host2.enter, xo2);
      await host2.vsctl(['add-port', bridge2, xo2]);
    },
    startServer: (httpPort, udpPort, bytes) => startOutsideServer(cleanup, netns, httpPort, udpPort, bytes),
    uplink1: `xi1-${suffix}`,
    uplink2: `xi2-${suffix}`,
    uplinkOf: async (mac) => {
      const doc: unknown = JSON.parse(await run('ip', ['netns', 'exec', netns, 'bridge', '-j', 'fdb', 'show', 'br', 'br0']));
      if (!Array.isArray(doc)) throw new Error('failed to parse bridge -j fdb: not an array');
      for (const e of doc) {
        if (typeof e !== 'object' || e === null) continue;
        const lladdr: unknown = Reflect.get(e, 'mac');
        const ifname: unknown = Reflect.get(e, 'ifname');
        if (typeof lladdr === 'string' && lladdr.toLowerCase() === mac.toLowerCase() && typeof ifname === 'string') return ifname;
      }
      return undefined;
    },
  };
  return outside;
}

// ---- the recording servers ------------------------------------------------------------------

export interface PeerEvent {
  readonly proto: 'tcp' | 'udp';
  readonly peer: string;
  readonly peerPort: number;
  readonly bytes: number;
}

export interface OutsideServer {
  readonly httpPort: number;
  readonly udpPort: number;
  /** MD5 of what GET returns. */
  readonly md5: string;
  readonly bytes: number;
  /** Every TCP connection and datagram so far, in arrival order. */
  events(): readonly PeerEvent[];
  stop(): Promise<void>;
}

function parseEvent(text: string): PeerEvent | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof doc !== 'object' || doc === null) return undefined;
  const proto: unknown = Reflect.get(doc, 'proto');
  const peer: unknown = Reflect.get(doc, 'peer');
  const peerPort: unknown = Reflect.get(doc, 'peerPort');
  const bytes: unknown = Reflect.get(doc, 'bytes');
  if ((proto !== 'tcp' && proto !== 'udp') || typeof peer !== 'string' || typeof peerPort !== 'number' || typeof bytes !== 'number') return undefined;
  return { proto, peer, peerPort, bytes };
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

async function startOutsideServer(cleanup: Cleanup, netns: string, httpPort: number, udpPort: number, bytes: number): Promise<OutsideServer> {
  // `ip netns exec` execs node: the pid is the server's.
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, OUTSIDE_PROBE, 'serve', String(httpPort), String(udpPort), String(bytes)], { stdio: ['ignore', 'pipe', 'pipe'] });
  const pid = child.pid;
  if (pid === undefined) throw new Error(`failed to start the outside server in ${netns}: no pid`);
  const stop = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.kill(pid, 'SIGTERM');
    await exited(child);
  };
  cleanup.add(`stop the outside server (pid ${pid})`, stop);
  let out = '';
  let err = '';
  let md5 = '';
  const events: PeerEvent[] = [];
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    out += d.toString();
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      const l = out.slice(0, nl);
      out = out.slice(nl + 1);
      if (l.startsWith('ready ')) md5 = l.slice('ready '.length);
      else {
        const e = parseEvent(l);
        if (e !== undefined) events.push(e);
      }
    }
  });
  await waitFor(`the outside server in ${netns}`, async () => {
    if (child.exitCode !== null) throw new Error(`the outside server exited (${child.exitCode}): ${err}`);
    return md5 === '' ? undefined : true;
  }, 20_000, 20);
  return { httpPort, udpPort, md5, bytes, events: () => [...events], stop };
}

// ---- traffic from either end --------------------------------------------------------------------

export interface Fetch {
  readonly code: number;
  readonly bytes: number;
  readonly md5: string;
  readonly detail: string;
}

/** `busybox wget` of `url` in `from` (a container or the outside), once, no retries: bytes and MD5. */
export async function wget(from: TrafficEnd, url: string, timeoutS = 10): Promise<Fetch> {
  const got = `${from.scratch}/wget-${process.pid}-${Date.now()}`;
  const r = await from.sh(`busybox timeout ${timeoutS} busybox wget -q -O ${got} ${url}; rc=$?; if [ -f ${got} ]; then busybox wc -c < ${got}; busybox md5sum ${got}; busybox rm -f ${got}; fi; exit $rc`, (timeoutS + 30) * 1000);
  const count = /^\s*(\d+)\s*$/m.exec(r.stdout)?.[1];
  const md5 = /^([0-9a-f]{32}) /m.exec(r.stdout)?.[1] ?? '';
  const bytes = count === undefined ? 0 : Number(count);
  return { code: r.code, bytes, md5, detail: `${from.label}: wget ${url}: exit ${r.code}${r.code === 143 ? ` (timed out after ${timeoutS} s)` : ''}, ${bytes} bytes, md5 ${md5 || 'none'} ${`${r.stdout}${r.stderr}`.trim()}` };
}

export interface EchoReport {
  readonly sent: number;
  readonly echoed: number;
  readonly damaged: number;
  /** The sources the echoes came from, ADDRESS:PORT. */
  readonly from: readonly string[];
}

/** UDP datagrams of `sizes` payload bytes from `end`'s namespace to an echo at address:port, the echoes counted. */
export async function udpEcho(end: TrafficEnd, address: string, port: number, sizes: readonly number[], waitMs = 3_000): Promise<EchoReport> {
  const [file, ...args] = [...(await end.netnsPrefix()), process.execPath, OUTSIDE_PROBE, 'echo-client', address, String(port), sizes.join(','), String(waitMs)];
  const r = await run(file ?? 'ip', args, waitMs + 30_000);
  const doc: unknown = JSON.parse(r.trim().split('\n').pop() ?? '');
  if (typeof doc !== 'object' || doc === null) throw new Error(`${end.label}: echo-client said ${r}`);
  const num = (k: string): number => {
    const v: unknown = Reflect.get(doc, k);
    if (typeof v !== 'number') throw new Error(`${end.label}: echo-client's ${k} is not a number: ${r}`);
    return v;
  };
  const from: unknown = Reflect.get(doc, 'from');
  return { sent: num('sent'), echoed: num('echoed'), damaged: num('damaged'), from: Array.isArray(from) ? from.map(String) : [] };
}

/** The MD5 of a host file (what a container serving the host's busybox serves). */
export async function md5OfFile(file: string): Promise<{ md5: string; bytes: number }> {
  const [md5] = (await run('md5sum', [file])).split(' ');
  return { md5: md5 ?? '', bytes: (await fs.stat(file)).size };
}

// ---- host state the driver changes: the bridge mappings ----------------------------------------

const MAPPINGS_KEY = 'ovn-bridge-mappings';

/**
 * Records Open_vSwitch external_ids:ovn-bridge-mappings of the OVS `vsctl` talks to (host 1's by
 * default) and registers its restoration (the driver adds `ovn-driver-external:BRIDGE` and, as
 * the mapping is host configuration, may leave it). Resolves to the value before, '' if none.
 */
export async function keepBridgeMappings(cleanup: Cleanup, vsctl: (args: readonly string[]) => Promise<string> = vsctl1): Promise<string> {
  const before = (await vsctl(['--if-exists', 'get', 'Open_vSwitch', '.', `external_ids:${MAPPINGS_KEY}`])).trim();
  cleanup.add(`restore ${MAPPINGS_KEY} (${before === '' ? 'none' : before})`, async () => {
    if (before === '') await vsctl(['remove', 'Open_vSwitch', '.', 'external_ids', MAPPINGS_KEY]);
    else await vsctl(['set', 'Open_vSwitch', '.', `external_ids:${MAPPINGS_KEY}=${before}`]);
  });
  return before === '' ? '' : unquote(before);
}

/** The current mappings ('' when none), as `physnet:bridge,...`. */
export async function bridgeMappings(vsctl: (args: readonly string[]) => Promise<string> = vsctl1): Promise<string> {
  return unquote((await vsctl(['--if-exists', 'get', 'Open_vSwitch', '.', `external_ids:${MAPPINGS_KEY}`])).trim());
}

function unquote(s: string): string {
  return s.startsWith('"') && s.endsWith('"') ? s.slice(1, -1) : s;
}

function vsctl1(args: readonly string[]): Promise<string> {
  return run('ovs-vsctl', ['--timeout=10', ...args]);
}

// ---- Northbound rows of egress ------------------------------------------------------------------

async function nbList(table: string): Promise<Row[]> {
  return parseTable(await run('ovn-nbctl', ['--timeout=10', '--format=json', 'list', table]));
}

function intCell(row: Row, column: string): number | undefined {
  const v = row.get(column);
  return typeof v === 'number' ? v : undefined;
}

export interface LoadBalancer {
  readonly uuid: string;
  readonly name: string;
  readonly protocol: string;
  readonly vips: Readonly<Record<string, string>>;
  readonly externalIds: Readonly<Record<string, string>>;
}

export async function listLoadBalancers(): Promise<LoadBalancer[]> {
  return (await nbList('Load_Balancer')).map((row) => ({
    uuid: stringCell(row, '_uuid') ?? '',
    name: stringCell(row, 'name') ?? '',
    protocol: stringCell(row, 'protocol') ?? '',
    vips: mapCell(row, 'vips'),
    externalIds: mapCell(row, 'external_ids'),
  }));
}

/**
 * The Load_Balancer rows with a VIP on one of `addresses` (or all rows when none given), as one
 * comparable text (sorted), for "a refusal changed nothing".
 */
export async function loadBalancerSnapshot(addresses: readonly string[] = []): Promise<string> {
  const rows = (await listLoadBalancers()).filter((r) => addresses.length === 0 || Object.keys(r.vips).some((v) => addresses.some((a) => v.startsWith(`${a}:`))));
  return JSON.stringify(rows.map((r) => ({ ...r, vips: Object.entries(r.vips).sort() })).sort((a, b) => (a.uuid < b.uuid ? -1 : 1)));
}

export interface Nat {
  readonly uuid: string;
  readonly type: string;
  readonly externalIp: string;
  readonly logicalIp: string;
  readonly externalIds: Readonly<Record<string, string>>;
}

export async function listNats(): Promise<Nat[]> {
  return (await nbList('NAT')).map((row) => ({
    uuid: stringCell(row, '_uuid') ?? '',
    type: stringCell(row, 'type') ?? '',
    externalIp: stringCell(row, 'external_ip') ?? '',
    logicalIp: stringCell(row, 'logical_ip') ?? '',
    externalIds: mapCell(row, 'external_ids'),
  }));
}

export interface Router {
  readonly uuid: string;
  readonly name: string;
  readonly ports: readonly string[];
  readonly nat: readonly string[];
  readonly loadBalancer: readonly string[];
  readonly staticRoutes: readonly string[];
  readonly externalIds: Readonly<Record<string, string>>;
}

export async function listRouters(): Promise<Router[]> {
  return (await nbList('Logical_Router')).map((row) => ({
    uuid: stringCell(row, '_uuid') ?? '',
    name: stringCell(row, 'name') ?? '',
    ports: setCell(row, 'ports'),
    nat: setCell(row, 'nat'),
    loadBalancer: setCell(row, 'load_balancer'),
    staticRoutes: setCell(row, 'static_routes'),
    externalIds: mapCell(row, 'external_ids'),
  }));
}

export interface RouterPort {
  readonly uuid: string;
  readonly name: string;
  readonly mac: string;
  readonly networks: readonly string[];
  /** Uuid of its HA_Chassis_Group, '' if none. */
  readonly haChassisGroup: string;
}

export async function listRouterPorts(): Promise<RouterPort[]> {
  return (await nbList('Logical_Router_Port')).map((row) => ({
    uuid: stringCell(row, '_uuid') ?? '',
    name: stringCell(row, 'name') ?? '',
    mac: stringCell(row, 'mac') ?? '',
    networks: setCell(row, 'networks'),
    haChassisGroup: stringCell(row, 'ha_chassis_group') ?? '',
  }));
}

export interface StaticRoute {
  readonly uuid: string;
  readonly ipPrefix: string;
  readonly nexthop: string;
}

export async function listStaticRoutes(): Promise<StaticRoute[]> {
  return (await nbList('Logical_Router_Static_Route')).map((row) => ({
    uuid: stringCell(row, '_uuid') ?? '',
    ipPrefix: stringCell(row, 'ip_prefix') ?? '',
    nexthop: stringCell(row, 'nexthop') ?? '',
  }));
}

export interface HaChassisGroup {
  readonly uuid: string;
  readonly name: string;
  /** chassis name -> priority. */
  readonly chassis: Readonly<Record<string, number>>;
}

export async function listHaChassisGroups(): Promise<HaChassisGroup[]> {
  const members = new Map((await nbList('HA_Chassis')).map((row) => [stringCell(row, '_uuid') ?? '', { name: stringCell(row, 'chassis_name') ?? '', priority: intCell(row, 'priority') ?? -1 }]));
  return (await nbList('HA_Chassis_Group')).map((row) => {
    const chassis: Record<string, number> = {};
    for (const u of setCell(row, 'ha_chassis')) {
      const m = members.get(u);
      if (m !== undefined) chassis[m.name] = m.priority;
    }
    return { uuid: stringCell(row, '_uuid') ?? '', name: stringCell(row, 'name') ?? '', chassis };
  });
}

/** What the driver made for one VRF's way out, as the Northbound holds it (absent parts empty). */
export interface VrfEgress {
  readonly router: Router | undefined;
  readonly extPort: RouterPort | undefined;
  readonly nats: readonly Nat[];
  readonly loadBalancers: readonly LoadBalancer[];
  readonly routes: readonly StaticRoute[];
}

export async function vrfEgress(vrf: string): Promise<VrfEgress> {
  const [routers, ports, nats, lbs, routes] = await Promise.all([listRouters(), listRouterPorts(), listNats(), listLoadBalancers(), listStaticRoutes()]);
  const router = routers.find((r) => r.name === `vrf/${vrf}`);
  return {
    router,
    extPort: ports.find((p) => p.name === `ext/${vrf}`),
    nats: router === undefined ? [] : nats.filter((n) => router.nat.includes(n.uuid)),
    loadBalancers: router === undefined ? [] : lbs.filter((l) => router.loadBalancer.includes(l.uuid)),
    routes: router === undefined ? [] : routes.filter((s) => router.staticRoutes.includes(s.uuid)),
  };
}

/** The VRF's external address (the first address of its ext/V port), or undefined. */
export async function vrfAddress(vrf: string): Promise<string | undefined> {
  const port = (await listRouterPorts()).find((p) => p.name === `ext/${vrf}`);
  return port?.networks[0]?.split('/')[0];
}

/** The chassis (name) the Southbound binds the VRF's gateway port cr-ext/V to: where its way out is, or undefined. */
export async function activeGateway(vrf: string): Promise<string | undefined> {
  const uuid = (await run('ovn-sbctl', ['--timeout=10', '--bare', '--columns=chassis', 'find', 'Port_Binding', `logical_port="cr-ext/${vrf}"`])).trim();
  if (uuid === '') return undefined;
  const name = (await run('ovn-sbctl', ['--timeout=10', '--bare', '--columns=name', 'list', 'Chassis', uuid])).trim();
  return name === '' ? undefined : name;
}

/** The MAC the driver gives an ext/V port: 0a:58 then the address's four bytes. */
export function externalMac(ip: string): string {
  return `0a:58:${ip.split('.').map((b) => Number(b).toString(16).padStart(2, '0')).join(':')}`;
}

/** The published-port load balancers of an endpoint (pm/<endpointId>/<proto>). */
export async function endpointLoadBalancers(endpointId: string): Promise<LoadBalancer[]> {
  return (await listLoadBalancers()).filter((l) => l.name.startsWith(`pm/${endpointId}/`));
}

/**
 * Removes the external switch and the gateway group when no VRF uses them any more (no ext/*
 * router port left): the external network is cluster configuration the driver does not remove.
 * Resolves to what was left in place and why ('' when both went or were gone).
 */
export async function removeExternalNetworkIfUnused(): Promise<string> {
  const users = (await listRouterPorts()).filter((p) => p.name.startsWith('ext/')).map((p) => p.name);
  if (users.length > 0) return `left ${EXTERNAL_SWITCH} and ${GATEWAY_GROUP}: still used by router ports ${users.join(', ')}`;
  await run('ovn-nbctl', ['--timeout=10', '--if-exists', 'ls-del', EXTERNAL_SWITCH]);
  if ((await listHaChassisGroups()).some((g) => g.name === GATEWAY_GROUP)) await run('ovn-nbctl', ['--timeout=10', 'ha-chassis-group-del', GATEWAY_GROUP]);
  return '';
}

/** `ovn-nbctl show` of the named switches and routers (those that exist) and `ovn-sbctl show`, for a failure's message. */
export async function ovnPicture(names: readonly string[]): Promise<string> {
  const parts: string[] = [];
  for (const n of names) {
    const r = await runResult('ovn-nbctl', ['--timeout=10', 'show', n]);
    if (r.code === 0) parts.push(r.stdout.trim());
  }
  const lbs = await runResult('ovn-nbctl', ['--timeout=10', '--columns=name,vips,protocol', 'list', 'Load_Balancer']);
  const groups = await runResult('ovn-nbctl', ['--timeout=10', 'list', 'HA_Chassis']);
  const sb = await runResult('ovn-sbctl', ['--timeout=10', 'show']);
  return `--- ovn-nbctl show ${names.join(' ')}\n${parts.join('\n')}\n--- Load_Balancer\n${lbs.stdout}\n--- HA_Chassis\n${groups.stdout}\n--- ovn-sbctl show\n${sb.stdout}${sb.stderr}`;
}

// ---- containers that serve what is published -----------------------------------------------------

/**
 * Bind mounts that let a container of the busybox test image run the host's node and
 * outside-probe.js (/usr/bin/node, its libraries, /probe): a UDP service for -p .../udp.
 */
export function nodeVolumes(): string[] {
  return [`${process.execPath}:/usr/bin/node:ro`, '/usr/lib/x86_64-linux-gnu:/lib/x86_64-linux-gnu:ro', '/usr/lib64:/lib64:ro', `${path.dirname(OUTSIDE_PROBE)}:/probe:ro`];
}

/**
 * A container command serving the image's busybox binary over HTTP on `tcpPort` (busybox httpd in
 * the foreground, listening as soon as it runs) and, when `udpPort` is given, a UDP echo (node).
 * GET /busybox returns the host's /bin/busybox (the image's is a copy of it).
 */
export function servingCommand(tcpPort: number, udpPort?: number): string[] {
  const udp = udpPort === undefined ? '' : `/usr/bin/node /probe/outside-probe.js udp-echo ${udpPort} >/dev/null & `;
  return ['sh', '-c', `${udp}exec httpd -f -p ${tcpPort} -h /bin`];
}

// ---- what `ovn-driver status` says -----------------------------------------------------------------

export interface Published {
  readonly proto: string;
  readonly address: string;
  readonly hostPort: number;
  readonly port: number;
}

/**
 * The published ports `ovn-driver status` lists for the endpoint whose id starts with `endpointId`'s
 * first 12 characters: every `PROTO ADDRESS:HOSTPORT->PORT` on its lines.
 */
export function publishedInStatus(status: string, endpointId: string): Published[] {
  const lines = status.split('\n').filter((l) => l.includes(endpointId.slice(0, 12)));
  const found: Published[] = [];
  for (const l of lines) {
    for (const m of l.matchAll(/\b(tcp|udp|sctp) (\d+\.\d+\.\d+\.\d+):(\d+)->(\d+)/g)) {
      found.push({ proto: m[1] ?? '', address: m[2] ?? '', hostPort: Number(m[3]), port: Number(m[4]) });
    }
  }
  return found;
}

/**
 * A safety net for cleanup: deletes the Load_Balancer rows no router refers to any more that are
 * named for one of `endpointIds` or have a VIP on one of `addresses` (what a failed run's driver
 * left; the test has already failed on it). Resolves to their names.
 */
export async function removeLeakedLoadBalancers(endpointIds: readonly string[], addresses: readonly string[]): Promise<string[]> {
  const used = new Set((await listRouters()).flatMap((r) => r.loadBalancer));
  const leaked = (await listLoadBalancers()).filter((l) => !used.has(l.uuid)
    && (endpointIds.some((e) => l.name.startsWith(`pm/${e}/`)) || Object.keys(l.vips).some((v) => addresses.some((a) => v.startsWith(`${a}:`)))));
  for (const l of leaked) await run('ovn-nbctl', ['--timeout=10', '--if-exists', 'lb-del', l.uuid]);
  return leaked.map((l) => l.name);
}

/**
 * A safety net for cleanup, after the drivers stopped: removes what a driver that could not clean
 * up (its databases unreachable, a failed test) left of this run's VRFs, found by `suffix` in their
 * names: the routers vrf/* (their ports, routes and NAT rows go with them), the external switch's
 * rtr-ext/* ports and the logical switches of their networks. Resolves to what it removed.
 */
export async function removeLeftVrfs(suffix: string): Promise<string[]> {
  const removed: string[] = [];
  for (const p of (await run('ovn-nbctl', ['--timeout=10', '--bare', '--columns=name', 'list', 'Logical_Switch_Port'])).split('\n')) {
    if (p.startsWith('rtr-ext/') && p.includes(suffix)) {
      await run('ovn-nbctl', ['--timeout=10', '--if-exists', 'lsp-del', p]);
      removed.push(p);
    }
  }
  for (const r of await listRouters()) {
    if (r.name.startsWith('vrf/') && r.name.includes(suffix)) {
      await run('ovn-nbctl', ['--timeout=10', '--if-exists', 'lr-del', r.uuid]);
      removed.push(r.name);
    }
  }
  for (const s of (await run('ovn-nbctl', ['--timeout=10', '--bare', '--columns=name', 'list', 'Logical_Switch'])).split('\n')) {
    if (s.includes(`${suffix}/`)) {
      await run('ovn-nbctl', ['--timeout=10', '--if-exists', 'ls-del', s]);
      removed.push(s);
    }
  }
  return removed;
}

/**
 * Registered right after takeExternalLock, so it runs last, still under the lock: fails the
 * cleanup unless ovn-bridge-mappings are what they were at the start and, when the run removed
 * the external network (`removed()`), its switch and gateway group are gone.
 */
export async function checkRestoredAtEnd(cleanup: Cleanup, removed: () => boolean): Promise<void> {
  const raw = async (): Promise<string> => (await runResult('ovs-vsctl', ['--timeout=10', '--if-exists', 'get', 'Open_vSwitch', '.', `external_ids:${MAPPINGS_KEY}`])).stdout.trim();
  const atStart = await raw();
  cleanup.add('check that the host and the Northbound are as before the run', async () => {
    const wrong: string[] = [];
    const now = await raw();
    if (now !== atStart) wrong.push(`${MAPPINGS_KEY} is ${now || 'unset'}, was ${atStart || 'unset'}`);
    if (removed()) {
      if ((await run('ovn-nbctl', ['--timeout=10', '--bare', '--columns=name', 'list', 'Logical_Switch'])).split('\n').includes(EXTERNAL_SWITCH)) wrong.push(`${EXTERNAL_SWITCH} is still there`);
      if ((await listHaChassisGroups()).some((g) => g.name === GATEWAY_GROUP)) wrong.push(`${GATEWAY_GROUP} is still there`);
    }
    if (wrong.length > 0) throw new Error(`not restored: ${wrong.join('; ')}`);
  });
}
