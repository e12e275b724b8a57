// The libnetwork remote driver API (docker/libnetwork drivers/remote/api/api.go): request and
// response types for every call, and a parser per request that checks every field the driver
// uses (parse, don't assert). Unknown top-level fields are ignored: newer Docker releases add
// some. A parse error is a DriverError with code INVALID_REQUEST.

import { Cidr, networkOf, parseCidr, parseIp, parseMac, poolContains } from './addr';
import { isObject, JsonObject } from '../util/json';
import { Fields, invalid, show } from './fields';

// ---- requests -------------------------------------------------------------------------------

export interface IpamData {
  readonly pool: Cidr;
  readonly gateway: Cidr | undefined;
  /** The IPAM driver's address space the pool came from ('LocalDefault' for Docker's own IPAM). */
  readonly addressSpace: string;
}

export interface NetworkOptions {
  readonly mtu: number | undefined;
  readonly vrf: string | undefined;
  /** The user's `-o` options as given (all strings), recorded in the switch's external_ids. */
  readonly generic: Readonly<Record<string, string>>;
  /** False when Docker 28 disables IPv4 (`com.docker.network.enable_ipv4: false`): IPv6 only. */
  readonly ipv4: boolean;
  readonly ipv6: boolean;
  readonly internal: boolean;
}

export interface CreateNetworkRequest {
  readonly networkId: string;
  readonly options: NetworkOptions;
  readonly ipv4: readonly IpamData[];
  readonly ipv6: readonly IpamData[];
}

export interface NetworkRequest {
  readonly networkId: string;
}

export interface EndpointRequest {
  readonly networkId: string;
  readonly endpointId: string;
}

export interface CreateEndpointRequest extends EndpointRequest {
  /** Empty fields are those Docker left to the driver. */
  readonly address: Cidr | undefined;
  readonly addressIPv6: Cidr | undefined;
  readonly mac: string | undefined;
}

export type PortProtocol = 'tcp' | 'udp' | 'sctp';

/** One entry of `com.docker.network.portmap` (libnetwork types.PortBinding). */
export interface PortBinding {
  readonly proto: PortProtocol;
  /** The container's port. */
  readonly port: number;
  /** "" = any address. */
  readonly hostIp: string;
  /** 0 = pick one (-P). */
  readonly hostPort: number;
  /** > hostPort: any free port of hostPort..hostPortEnd. */
  readonly hostPortEnd: number;
}

export interface ProgramExternalConnectivityRequest extends EndpointRequest {
  readonly portMap: readonly PortBinding[];
}

export interface JoinRequest extends EndpointRequest {
  readonly sandboxKey: string;
}

export interface DiscoveryRequest {
  readonly discoveryType: number;
}

// ---- responses ------------------------------------------------------------------------------

export interface ActivateResponse {
  Implements: string[];
}

export interface CapabilitiesResponse {
  Scope: 'local' | 'global';
  ConnectivityScope: 'local' | 'global';
}

export interface EndpointInterface {
  Address?: string;
  AddressIPv6?: string;
  MacAddress?: string;
}

export interface CreateEndpointResponse {
  /** Only the fields the driver chose: libnetwork rejects a changed field Docker supplied. */
  Interface?: EndpointInterface;
}

export interface JoinResponse {
  InterfaceName: { SrcName: string; DstPrefix: string };
  Gateway?: string;
  GatewayIPv6?: string;
  StaticRoutes?: { Destination: string; RouteType: number; NextHop?: string }[];
  DisableGatewayService: boolean;
}

export interface EndpointOperInfoResponse {
  Value: Record<string, unknown>;
}

export type EmptyResponse = Record<string, never>;

// ---- network options ------------------------------------------------------------------------

export const GENERIC_OPTIONS_KEY = 'com.docker.network.generic';
export const ENABLE_IPV4_KEY = 'com.docker.network.enable_ipv4';
export const ENABLE_IPV6_KEY = 'com.docker.network.enable_ipv6';
export const KNOWN_GENERIC_OPTIONS: readonly string[] = ['vrf', 'com.docker.network.driver.mtu', 'mtu', ENABLE_IPV4_KEY, ENABLE_IPV6_KEY];
export const VRF_RE = /^[A-Za-z0-9_.-]{1,64}$/;

function parseMtu(call: string, key: string, value: string): number {
  if (!/^[0-9]{1,5}$/.test(value) || Number(value) < 68 || Number(value) > 65535) {
    throw invalid(call, `option "${key}" must be an MTU between 68 and 65535, got ${show(value)}`);
  }
  return Number(value);
}

function parseNetworkOptions(call: string, f: Fields, hasIPv6: boolean): NetworkOptions {
  const options = f.object('Options');
  const rawGeneric = options[GENERIC_OPTIONS_KEY];
  const generic: Record<string, string> = {};
  if (rawGeneric !== undefined && rawGeneric !== null) {
    if (!isObject(rawGeneric)) throw invalid(call, `field "Options.${GENERIC_OPTIONS_KEY}" must be an object of -o options, got ${show(rawGeneric)}`);
    for (const [k, v] of Object.entries(rawGeneric)) {
      if (!KNOWN_GENERIC_OPTIONS.includes(k)) {
        throw invalid(call, `unknown network option ${show(k)}; the ovn driver knows ${KNOWN_GENERIC_OPTIONS.map((o) => `-o ${o}=...`).join(', ')}`);
      }
      // Docker's CLI sends strings; the API lets numbers through.
      if (typeof v !== 'string' && typeof v !== 'number') throw invalid(call, `option "${k}" must be a string, got ${show(v)}`);
      generic[k] = String(v);
    }
  }
  const mtus = ['com.docker.network.driver.mtu', 'mtu'].flatMap((k) => (generic[k] === undefined ? [] : [parseMtu(call, k, generic[k] ?? '')]));
  if (mtus.length === 2 && mtus[0] !== mtus[1]) throw invalid(call, `options "com.docker.network.driver.mtu" and "mtu" disagree (${mtus[0]} and ${mtus[1]}); give one`);
  const mtu = mtus[0];
  if (mtu !== undefined && hasIPv6 && mtu < 1280) throw invalid(call, `an IPv6 network needs an MTU of at least 1280, got ${mtu}`);
  const vrf = generic['vrf'];
  if (vrf !== undefined && !VRF_RE.test(vrf)) throw invalid(call, `option "vrf" must be 1 to 64 letters, digits, "_", "." or "-" (it names the VRF's OVN logical router, "vrf/NAME", and its networks' switches), got ${show(vrf)}`);
  return {
    mtu,
    vrf,
    generic,
    ipv4: enabled(call, options, generic, ENABLE_IPV4_KEY) ?? true,
    ipv6: enabled(call, options, generic, ENABLE_IPV6_KEY) ?? false,
    internal: options['com.docker.network.internal'] === true,
  };
}

/**
 * An address family switched on or off: Docker puts `key` in Options as a boolean (Docker 28
 * sends enable_ipv4 too); `-o key=true|false` says the same. Undefined when neither says.
 */
function enabled(call: string, options: JsonObject, generic: Readonly<Record<string, string>>, key: string): boolean | undefined {
  const top = options[key];
  if (top !== undefined && top !== null && typeof top !== 'boolean') throw invalid(call, `field "Options.${key}" must be true or false, got ${show(top)}`);
  const text = generic[key];
  if (text !== undefined && text !== 'true' && text !== 'false') throw invalid(call, `option "${key}" must be true or false, got ${show(text)}`);
  const fromGeneric = text === undefined ? undefined : text === 'true';
  if (typeof top === 'boolean' && fromGeneric !== undefined && top !== fromGeneric) {
    throw invalid(call, `Docker's ${key}=${String(top)} and the option -o ${key}=${text ?? ''} disagree; give one`);
  }
  return typeof top === 'boolean' ? top : fromGeneric;
}

function parseIpamList(f: Fields, key: 'IPv4Data' | 'IPv6Data', family: 4 | 6): IpamData[] {
  const list = f.array(key);
  return list.map((item, i) => {
    if (!isObject(item)) throw invalid(f.call, `field "${key}[${i}]" must be an object with a Pool, got ${show(item)}`);
    const entry = new Fields(f.call, item, `${key}[${i}].`);
    const poolText = entry.string('Pool');
    const pool = parseCidr(poolText);
    if (!pool || pool.family !== family) throw entry.error('Pool', `an IPv${family} subnet like ${family === 4 ? '198.18.10.0/24' : 'fd00:198:18::/64'}`, poolText);
    const gwText = entry.string('Gateway', true);
    let gateway: Cidr | undefined;
    if (gwText !== '') {
      gateway = parseCidr(gwText);
      if (!gateway || gateway.family !== family || !poolContains(pool, family, gateway.ip)) {
        throw entry.error('Gateway', `an IPv${family} address with prefix length inside the pool ${poolText}`, gwText);
      }
    }
    return { pool: networkOf(pool), gateway, addressSpace: entry.string('AddressSpace', true) };
  });
}

// ---- parsers --------------------------------------------------------------------------------

export function parseCreateNetwork(body: unknown): CreateNetworkRequest {
  const call = 'CreateNetwork';
  const f = Fields.of(call, body);
  const networkId = f.id('NetworkID');
  const ipv4 = parseIpamList(f, 'IPv4Data', 4);
  const ipv6 = parseIpamList(f, 'IPv6Data', 6);
  const options = parseNetworkOptions(call, f, ipv6.length > 0);
  if (!options.ipv4 && ipv4.length > 0) {
    throw invalid(call, `IPv4 is disabled (${ENABLE_IPV4_KEY}=false) but IPv4Data has ${ipv4.length} pool(s); drop --subnet's IPv4 subnets or enable IPv4`);
  }
  if (ipv4.length === 0 && ipv6.length === 0) {
    throw invalid(call, 'the network has no address pool (IPv4Data and IPv6Data are both empty); the ovn driver needs at least one subnet: give docker network create a --subnet, or leave IPv4 enabled so Docker\'s IPAM picks one');
  }
  return { networkId, options, ipv4, ipv6 };
}

export function parseNetworkRequest(call: string, body: unknown): NetworkRequest {
  return { networkId: Fields.of(call, body).id('NetworkID') };
}

/** Leave, DeleteEndpoint, EndpointOperInfo, RevokeExternalConnectivity, ProgramExternalConnectivity. */
export function parseEndpointRequest(call: string, body: unknown): EndpointRequest {
  const f = Fields.of(call, body);
  const networkId = f.id('NetworkID');
  const endpointId = f.id('EndpointID');
  f.object('Options');
  return { networkId, endpointId };
}

/** IANA protocol numbers, as Docker sends them. */
const PROTOCOLS: ReadonlyMap<number, PortProtocol> = new Map([[6, 'tcp'], [17, 'udp'], [132, 'sctp']]);
export const PORTMAP_KEY = 'com.docker.network.portmap';

function portNumber(f: Fields, key: string, allowZero: boolean): number {
  const v = f.integer(key);
  if (v < (allowZero ? 0 : 1) || v > 65535) throw f.error(key, `a port number ${allowZero ? '0' : '1'}..65535`, v);
  return v;
}

/** ProgramExternalConnectivity: the endpoint and its port map (`docker run -p`). */
export function parseProgramExternalConnectivity(body: unknown): ProgramExternalConnectivityRequest {
  const call = 'ProgramExternalConnectivity';
  const f = Fields.of(call, body);
  const networkId = f.id('NetworkID');
  const endpointId = f.id('EndpointID');
  const options = new Fields(call, f.object('Options'), 'Options.');
  const portMap = options.array(PORTMAP_KEY).map((item, i): PortBinding => {
    if (!isObject(item)) throw invalid(call, `field "Options.${PORTMAP_KEY}[${i}]" must be an object, got ${show(item)}`);
    const e = new Fields(call, item, `Options.${PORTMAP_KEY}[${i}].`);
    const protoNumber = e.integer('Proto');
    const proto = PROTOCOLS.get(protoNumber);
    if (proto === undefined) throw e.error('Proto', '6 (tcp), 17 (udp) or 132 (sctp)', protoNumber);
    const hostIp = e.string('HostIP', true);
    if (hostIp !== '' && parseIp(hostIp) === undefined) throw e.error('HostIP', 'empty or an IP address', hostIp);
    const hostPort = portNumber(e, 'HostPort', true);
    const end = e.raw('HostPortEnd') === undefined ? hostPort : portNumber(e, 'HostPortEnd', true);
    if (end !== 0 && end < hostPort) throw e.error('HostPortEnd', `0 or at least HostPort (${hostPort})`, end);
    return { proto, port: portNumber(e, 'Port', false), hostIp: parseIp(hostIp)?.ip ?? '', hostPort, hostPortEnd: Math.max(end, hostPort) };
  });
  return { networkId, endpointId, portMap };
}

function optionalCidr(f: Fields, key: string, family: 4 | 6): Cidr | undefined {
  const text = f.string(key, true);
  if (text === '') return undefined;
  const c = parseCidr(text);
  if (!c || c.family !== family) throw f.error(key, `empty or an IPv${family} address with prefix length like ${family === 4 ? '198.18.10.2/24' : 'fd00:198:18::2/64'}`, text);
  return c;
}

export function parseCreateEndpoint(body: unknown): CreateEndpointRequest {
  const call = 'CreateEndpoint';
  const f = Fields.of(call, body);
  const networkId = f.id('NetworkID');
  const endpointId = f.id('EndpointID');
  f.object('Options');
  const iface = f.nested('Interface', true);
  if (!iface) return { networkId, endpointId, address: undefined, addressIPv6: undefined, mac: undefined };
  const address = optionalCidr(iface, 'Address', 4);
  const addressIPv6 = optionalCidr(iface, 'AddressIPv6', 6);
  const macText = iface.string('MacAddress', true);
  let mac: string | undefined;
  if (macText !== '') {
    mac = parseMac(macText);
    if (mac === undefined) throw iface.error('MacAddress', 'empty or a unicast MAC address like 02:42:c6:12:0a:02', macText);
  }
  return { networkId, endpointId, address, addressIPv6, mac };
}

/** Docker's sandbox namespaces live here (the default --exec-root); nothing else may name one. */
export const SANDBOX_DIRS: readonly string[] = ['/var/run/docker/netns/', '/run/docker/netns/'];
const SANDBOX_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

/** Where a dockerd started with `--exec-root DIR` keeps its sandboxes: DIR/netns/. */
export function sandboxDirOf(execRoot: string): string {
  return `${execRoot.replace(/\/+$/, '')}/netns/`;
}

/** `extraDirs`: the sandbox directories of other exec roots (--docker-exec-root), accepted too. */
export function parseJoin(body: unknown, extraDirs: readonly string[] = []): JoinRequest {
  const call = 'Join';
  const f = Fields.of(call, body);
  const networkId = f.id('NetworkID');
  const endpointId = f.id('EndpointID');
  f.object('Options');
  const sandboxKey = f.string('SandboxKey');
  const dirs = [...SANDBOX_DIRS, ...extraDirs];
  const dir = dirs.find((d) => sandboxKey.startsWith(d));
  const name = dir === undefined ? '' : sandboxKey.slice(dir.length);
  if (dir === undefined || !SANDBOX_NAME_RE.test(name) || name === '..') {
    const hint = extraDirs.length === 0 ? '; a dockerd with another --exec-root needs the driver\'s --docker-exec-root' : '';
    throw f.error('SandboxKey', `a namespace file directly under ${dirs.join(' or ')}${hint}`, sandboxKey);
  }
  return { networkId, endpointId, sandboxKey };
}

export function parseDiscovery(call: string, body: unknown): DiscoveryRequest {
  return { discoveryType: Fields.of(call, body).integer('DiscoveryType') };
}

/** The body of an empty request (Activate, GetCapabilities): absent, or a JSON object. */
export function parseEmpty(call: string, body: unknown): void {
  if (body !== undefined && !isObject(body)) throw invalid(call, `the body must be empty or a JSON object, got ${show(body)}`);
}

export type { JsonObject };
