// The stack as e2e tests see it: the driver daemon as a child process (started, awaited on its
// socket, stopped by pid) and read-only views of OVS, the kernel and the OVN Northbound, to
// assert that a scenario left nothing behind.

import { ChildProcess, spawn } from 'node:child_process';
import * as http from 'node:http';
import * as os from 'node:os';
import * as path from 'node:path';
import { DEPLOYED_ENV, DEPLOYED_NODE_FLAGS, unitNice } from './deployed';
import { mapCell, parseTable, setCell, stringCell } from './ovsdb-json';
import { run, sleep, waitFor } from './run';
import { REF_KEY_PREFIX } from '../../src/driver/names';

export const DEFAULT_SOCKET = '/run/docker/plugins/ovn.sock';
/** The daemon tests start: this build, or another given by OVN_DRIVER_MAIN_JS (to measure an older build). */
export const MAIN_JS = process.env['OVN_DRIVER_MAIN_JS'] ?? path.resolve(__dirname, '../../src/main.js');
const OWNER_KEY = 'ovn-driver:owner';
const OWNER = 'ovn-driver';

// ---- talking to the plugin socket --------------------------------------------------------------

export interface PluginReply {
  readonly status: number;
  readonly body: string;
}

/** POSTs `body` to `urlPath` on the plugin's unix socket, as Docker does. */
export function postPlugin(socketPath: string, urlPath: string, body = '', timeoutMs = 30_000): Promise<PluginReply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { socketPath, path: urlPath, method: 'POST', headers: { 'Content-Length': Buffer.byteLength(body) }, timeout: timeoutMs },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer from ${socketPath}${urlPath} in ${timeoutMs} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** True when the socket answers Plugin.Activate with {"Implements": [..."NetworkDriver"...]}. */
export async function pluginActive(socketPath: string): Promise<boolean> {
  try {
    const reply = await postPlugin(socketPath, '/Plugin.Activate', '', 2_000);
    if (reply.status !== 200) return false;
    const doc: unknown = JSON.parse(reply.body);
    if (typeof doc !== 'object' || doc === null || !('Implements' in doc)) return false;
    const impl: unknown = doc.Implements;
    return Array.isArray(impl) && impl.includes('NetworkDriver');
  } catch {
    return false;
  }
}

// ---- the driver daemon --------------------------------------------------------------------------

export interface DriverProcess {
  readonly pid: number;
  readonly socketPath: string;
  /** Everything the daemon wrote to stdout and stderr so far (its debug log). */
  output(): string;
  /** SIGTERM by pid, then SIGKILL if it has not exited after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
  /** SIGKILL by pid (a crash), resolved once it has exited. */
  kill(): Promise<void>;
}

export interface StartDriverOptions {
  readonly socketPath?: string;
  readonly extraArgs?: readonly string[];
  readonly env?: NodeJS.ProcessEnv;
  readonly readyTimeoutMs?: number;
  /** Run it as the RPM and the systemd unit do (test/helpers/deployed.ts): node flags, environment, niceness. */
  readonly deployed?: boolean;
  /** More node flags (--cpu-prof...: node refuses some of them in NODE_OPTIONS). */
  readonly nodeArgs?: readonly string[];
  /** A command that execs node (`nsenter --target PID --mount --net`): the daemon of another host. */
  readonly prefix?: readonly string[];
  /** Where this process reaches `socketPath` (in another mount namespace: /proc/PID/root/...). */
  readonly probeSocketPath?: string;
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/** Starts `node dist/src/main.js --socket S --log-level debug` and waits for Plugin.Activate. */
export async function startDriver(opts: StartDriverOptions = {}): Promise<DriverProcess> {
  const socketPath = opts.socketPath ?? DEFAULT_SOCKET;
  const args = [...(opts.deployed ? DEPLOYED_NODE_FLAGS : []), ...(opts.nodeArgs ?? []), MAIN_JS, '--socket', socketPath, '--log-level', 'debug', ...(opts.extraArgs ?? [])];
  const env = { ...(opts.env ?? process.env), ...(opts.deployed ? DEPLOYED_ENV : {}) };
  const [file, ...argv] = [...(opts.prefix ?? []), process.execPath, ...args];
  const child = spawn(file ?? process.execPath, argv, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  child.stdout?.on('data', (c: Buffer) => (log += c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => (log += c.toString('utf8')));
  const pid = child.pid;
  if (pid === undefined) throw new Error(`failed to start driver "${MAIN_JS}": no pid`);
  // Before it serves anything; the caller (a benchmark standing in for dockerd) keeps its own.
  if (opts.deployed) os.setPriority(pid, unitNice());

  const stop = async (graceMs = 10_000): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.kill(pid, 'SIGTERM');
    const done = exited(child);
    let grace: NodeJS.Timeout | undefined;
    const timer = new Promise<'late'>((resolve) => (grace = setTimeout(() => resolve('late'), graceMs)));
    const outcome = await Promise.race([done.then(() => 'done' as const), timer]);
    // Cleared: a pending grace timer would keep the test process alive for graceMs after the test.
    clearTimeout(grace);
    if (outcome === 'late') {
      process.kill(pid, 'SIGKILL');
      await done;
    }
  };
  const kill = async (): Promise<void> => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    process.kill(pid, 'SIGKILL');
    await exited(child);
  };
  const driver: DriverProcess = { pid, socketPath, output: () => log, stop, kill };

  try {
    await waitFor(`driver to answer Plugin.Activate on ${socketPath}`, async () => {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`driver exited (code ${child.exitCode}, signal ${child.signalCode}) before it answered:\n${log}`);
      }
      return (await pluginActive(opts.probeSocketPath ?? socketPath)) ? true : undefined;
    }, opts.readyTimeoutMs ?? 20_000, 50);
  } catch (err) {
    await stop(2_000);
    throw err;
  }
  return driver;
}

// ---- OVS --------------------------------------------------------------------------------------

export interface OvsInterface {
  readonly uuid: string;
  readonly name: string;
  readonly type: string;
  readonly externalIds: Readonly<Record<string, string>>;
}

export async function listOvsInterfaces(): Promise<OvsInterface[]> {
  const out = await run('ovs-vsctl', ['--timeout=10', '--format=json', 'list', 'Interface']);
  return parseTable(out).map((row) => ({
    uuid: stringCell(row, '_uuid') ?? '',
    name: stringCell(row, 'name') ?? '',
    type: stringCell(row, 'type') ?? '',
    externalIds: mapCell(row, 'external_ids'),
  }));
}

/** Names of the ports on a bridge (`ovs-vsctl list-ports`). */
export async function listBridgePorts(bridge = 'br-int'): Promise<string[]> {
  const out = await run('ovs-vsctl', ['--timeout=10', 'list-ports', bridge]);
  return out.split('\n').filter((l) => l !== '');
}

// ---- kernel links -------------------------------------------------------------------------------

export interface KernelLink {
  readonly name: string;
  readonly kind: string | undefined;
  readonly mac: string | undefined;
  readonly mtu: number | undefined;
}

/** `ip -j -d link show`, in the host namespace or in the named one. */
export async function listKernelLinks(netns?: string): Promise<KernelLink[]> {
  const args = [...(netns === undefined ? [] : ['-n', netns]), '-j', '-d', 'link', 'show'];
  const doc: unknown = JSON.parse(await run('ip', args));
  if (!Array.isArray(doc)) throw new Error('failed to parse ip -j link: not an array');
  return doc.map((entry: unknown) => {
    if (typeof entry !== 'object' || entry === null || !('ifname' in entry) || typeof entry.ifname !== 'string') {
      throw new Error(`failed to parse ip -j link entry: ${JSON.stringify(entry)}`);
    }
    let kind: string | undefined;
    if ('linkinfo' in entry && typeof entry.linkinfo === 'object' && entry.linkinfo !== null && 'info_kind' in entry.linkinfo) {
      const k: unknown = entry.linkinfo.info_kind;
      if (typeof k === 'string') kind = k;
    }
    const mac = 'address' in entry && typeof entry.address === 'string' ? entry.address : undefined;
    const mtu = 'mtu' in entry && typeof entry.mtu === 'number' ? entry.mtu : undefined;
    return { name: entry.ifname, kind, mac, mtu };
  });
}

// ---- OVN Northbound -----------------------------------------------------------------------------

export interface LogicalSwitch {
  readonly uuid: string;
  readonly name: string;
  readonly ports: readonly string[];
  readonly externalIds: Readonly<Record<string, string>>;
}

export interface LogicalSwitchPort {
  readonly uuid: string;
  readonly name: string;
  readonly addresses: readonly string[];
  readonly portSecurity: readonly string[];
  readonly up: boolean | undefined;
  /** '' for a container's port, 'router' for a switch's port facing its VRF's router. */
  readonly type: string;
  readonly options: Readonly<Record<string, string>>;
  readonly externalIds: Readonly<Record<string, string>>;
}

export async function listLogicalSwitches(): Promise<LogicalSwitch[]> {
  const out = await run('ovn-nbctl', ['--timeout=10', '--format=json', 'list', 'Logical_Switch']);
  return parseTable(out).map((row) => ({
    uuid: stringCell(row, '_uuid') ?? '',
    name: stringCell(row, 'name') ?? '',
    ports: setCell(row, 'ports'),
    externalIds: mapCell(row, 'external_ids'),
  }));
}

export async function listLogicalSwitchPorts(): Promise<LogicalSwitchPort[]> {
  const out = await run('ovn-nbctl', ['--timeout=10', '--format=json', 'list', 'Logical_Switch_Port']);
  return parseTable(out).map((row) => {
    const up = row.get('up');
    return {
      uuid: stringCell(row, '_uuid') ?? '',
      name: stringCell(row, 'name') ?? '',
      addresses: setCell(row, 'addresses'),
      portSecurity: setCell(row, 'port_security'),
      up: typeof up === 'boolean' ? up : undefined,
      type: stringCell(row, 'type') ?? '',
      options: mapCell(row, 'options'),
      externalIds: mapCell(row, 'external_ids'),
    };
  });
}

export interface LogicalRouter {
  readonly uuid: string;
  readonly name: string;
  /** Uuids of its Logical_Router_Ports. */
  readonly ports: readonly string[];
  readonly externalIds: Readonly<Record<string, string>>;
}

export interface LogicalRouterPort {
  readonly uuid: string;
  readonly name: string;
  readonly mac: string;
  readonly networks: readonly string[];
  readonly externalIds: Readonly<Record<string, string>>;
}

export async function listLogicalRouters(): Promise<LogicalRouter[]> {
  const out = await run('ovn-nbctl', ['--timeout=10', '--format=json', 'list', 'Logical_Router']);
  return parseTable(out).map((row) => ({
    uuid: stringCell(row, '_uuid') ?? '',
    name: stringCell(row, 'name') ?? '',
    ports: setCell(row, 'ports'),
    externalIds: mapCell(row, 'external_ids'),
  }));
}

export async function listLogicalRouterPorts(): Promise<LogicalRouterPort[]> {
  const out = await run('ovn-nbctl', ['--timeout=10', '--format=json', 'list', 'Logical_Router_Port']);
  return parseTable(out).map((row) => ({
    uuid: stringCell(row, '_uuid') ?? '',
    name: stringCell(row, 'name') ?? '',
    mac: stringCell(row, 'mac') ?? '',
    networks: setCell(row, 'networks'),
    externalIds: mapCell(row, 'external_ids'),
  }));
}

// ---- leftovers ----------------------------------------------------------------------------------

/** What the driver made and has not removed: the things a finished scenario must not leave. */
export interface DriverObjects {
  readonly ovsInterfaces: readonly string[];
  readonly veths: readonly string[];
  readonly logicalSwitchPorts: readonly string[];
  readonly logicalSwitches: readonly string[];
}

// Host end `ovn` + 12 hex, container end `ovc` + 12 hex (the agreed naming).
const DRIVER_VETH = /^ov[nc][0-9a-f]{12}$/;

export async function driverObjects(): Promise<DriverObjects> {
  const [ifaces, links, ports, switches] = await Promise.all([
    listOvsInterfaces(),
    listKernelLinks(),
    listLogicalSwitchPorts(),
    listLogicalSwitches(),
  ]);
  return {
    ovsInterfaces: ifaces.filter((i) => i.externalIds[OWNER_KEY] === OWNER || DRIVER_VETH.test(i.name)).map((i) => i.name),
    veths: links.filter((l) => DRIVER_VETH.test(l.name)).map((l) => l.name),
    logicalSwitchPorts: ports.filter((p) => p.externalIds[OWNER_KEY] === OWNER).map((p) => p.name),
    logicalSwitches: switches.filter((s) => s.externalIds[OWNER_KEY] === OWNER).map((s) => s.name),
  };
}

/** The objects in `after` that were not in `before`: what a scenario added and left behind. */
export function newObjects(before: DriverObjects, after: DriverObjects): DriverObjects {
  const fresh = (a: readonly string[], b: readonly string[]): string[] => b.filter((x) => !a.includes(x));
  return {
    ovsInterfaces: fresh(before.ovsInterfaces, after.ovsInterfaces),
    veths: fresh(before.veths, after.veths),
    logicalSwitchPorts: fresh(before.logicalSwitchPorts, after.logicalSwitchPorts),
    logicalSwitches: fresh(before.logicalSwitches, after.logicalSwitches),
  };
}

/**
 * What still exists, anywhere, for the given Docker endpoints and networks: OVS interfaces and
 * veths named from an endpoint id or carrying it as iface-id, logical ports and switches named
 * by or recording those ids. Precise, so tests running side by side do not see each other.
 */
export async function objectsFor(ids: { endpointIds: readonly string[]; networkIds: readonly string[] }): Promise<DriverObjects> {
  const [ifaces, links, ports, switches] = await Promise.all([
    listOvsInterfaces(),
    listKernelLinks(),
    listLogicalSwitchPorts(),
    listLogicalSwitches(),
  ]);
  const vethNames = ids.endpointIds.flatMap((e) => [`ovn${e.slice(0, 12)}`, `ovc${e.slice(0, 12)}`]);
  const isEndpoint = (v: string | undefined): boolean => v !== undefined && ids.endpointIds.includes(v);
  const isNetwork = (v: string | undefined): boolean => v !== undefined && ids.networkIds.includes(v);
  return {
    ovsInterfaces: ifaces.filter((i) => vethNames.includes(i.name) || isEndpoint(i.externalIds['iface-id'])).map((i) => i.name),
    veths: links.filter((l) => vethNames.includes(l.name)).map((l) => l.name),
    logicalSwitchPorts: ports.filter((p) => isEndpoint(p.name) || isEndpoint(p.externalIds['docker:endpoint-id'])).map((p) => p.name),
    logicalSwitches: switches.filter((s) => isNetwork(s.name) || isNetwork(s.externalIds['docker:network-id']) || switchNetworkIds(s).some(isNetwork)).map((s) => s.name),
  };
}

/** The Docker network ids a shared switch records, one per host (src/driver/plan-network.ts). */
export function switchNetworkIds(s: LogicalSwitch): string[] {
  return Object.entries(s.externalIds).filter(([k]) => k.startsWith(REF_KEY_PREFIX)).map(([, v]) => v);
}

/** The IPAM's Northbound rows of one VRF: address -> kind. */
export async function ipamAllocations(vrf: string): Promise<Map<string, string>> {
  const out = await run('ovn-nbctl', ['--timeout=10', '--format=json', '--columns=name,external_ids', 'list', 'Copp']);
  const doc: unknown = JSON.parse(out);
  const data = typeof doc === 'object' && doc !== null && 'data' in doc && Array.isArray(doc.data) ? (doc.data as unknown[]) : [];
  const prefix = `ovn-driver-ipam:${vrf}/`;
  const m = new Map<string, string>();
  for (const row of data) {
    if (!Array.isArray(row) || typeof row[0] !== 'string' || !row[0].startsWith(prefix)) continue;
    const ids: unknown = row[1];
    const pairs = Array.isArray(ids) && ids[0] === 'map' && Array.isArray(ids[1]) ? (ids[1] as unknown[]) : [];
    const kind = pairs.find((p): p is [string, string] => Array.isArray(p) && p[0] === 'ovn-driver:ipam-kind');
    m.set(row[0].slice(row[0].lastIndexOf('/') + 1), kind?.[1] ?? '');
  }
  return m;
}

/** The switch of a Docker network: the shared one recording its id, or one named by it (the previous release). */
export async function switchOfNetwork(networkId: string): Promise<LogicalSwitch | undefined> {
  return (await listLogicalSwitches()).find((s) => s.name === networkId || switchNetworkIds(s).includes(networkId));
}

export const NOTHING: DriverObjects = { ovsInterfaces: [], veths: [], logicalSwitchPorts: [], logicalSwitches: [] };

/** `external_ids:ovn-installed` of an OVS Interface, "true" once ovn-controller has wired it. */
export async function ovnInstalled(ifaceName: string): Promise<boolean> {
  const ifaces = await listOvsInterfaces();
  const iface = ifaces.find((i) => i.name === ifaceName);
  return iface?.externalIds['ovn-installed'] === 'true';
}

export { sleep };
