// libnetwork's remote IPAM API (docker/libnetwork ipams/remote/api/api.go, docs/ipam.md): the
// request and response types of each IpamDriver call and a parser per request (parse, don't
// assert). A pool is named across the cluster by (VRF, subnet): RequestPool cannot see the
// network's `-o vrf=`, so the VRF comes from `--ipam-opt vrf=V` (default "default") and is part
// of the PoolID, which Docker hands back on every later call. The PoolID carries everything the
// driver needs (VRF, subnet, --ip-range), so no call depends on state kept in the daemon.

import { Cidr, formatCidr, networkOf, parseCidr, parseIp, parseMac, poolContains } from './addr';
import { VRF_RE } from './api';
import { Fields, invalid, show } from './fields';

export const DEFAULT_VRF = 'default';
/** libnetwork's ipamapi.RequestAddressType and netlabel.Gateway: "this request is for the gateway". */
export const REQUEST_ADDRESS_TYPE = 'RequestAddressType';
export const GATEWAY_TYPE = 'com.docker.network.gateway';
/** netlabel.MacAddress: sent with every endpoint's request once GetCapabilities says RequiresMACAddress. */
export const MAC_OPTION = 'com.docker.network.endpoint.macaddress';
/** netlabel.EndpointName: newer Docker releases send it with every endpoint's request too. */
export const ENDPOINT_NAME_OPTION = 'com.docker.network.endpoint.name';
export const KNOWN_IPAM_OPTIONS: readonly string[] = ['vrf'];
export const LOCAL_ADDRESS_SPACE = 'ovn-local';
export const GLOBAL_ADDRESS_SPACE = 'ovn-global';

/** The largest prefix a pool may have: room for a gateway and at least one container. */
const MAX_PREFIX: Readonly<Record<4 | 6, number>> = { 4: 30, 6: 126 };

/** A pool as its PoolID names it: VRF, subnet (network form) and the optional --ip-range. */
export interface PoolRef {
  readonly vrf: string;
  readonly pool: Cidr;
  readonly range: Cidr | undefined;
}

export interface RequestPoolRequest extends PoolRef {
  readonly addressSpace: string;
}

/**
 * What an address is for. `endpoint`: a container's, held by one host alone. `gateway` and
 * `aux` (--aux-address): the network's own, which every host with the network asks for, so
 * they are shared, each host holding a reference.
 */
export type AddressKind = 'endpoint' | 'gateway' | 'aux';

export interface RequestAddressRequest {
  readonly ref: PoolRef;
  /** The address asked for (--ip, --gateway, --aux-address), normalised; undefined: any. */
  readonly address: string | undefined;
  readonly kind: AddressKind;
  readonly mac: string | undefined;
}

export interface ReleaseAddressRequest {
  readonly ref: PoolRef;
  readonly address: string;
}

export interface IpamCapabilitiesResponse {
  RequiresMACAddress: boolean;
  RequiresRequestReplay: boolean;
}

export interface AddressSpacesResponse {
  LocalDefaultAddressSpace: string;
  GlobalDefaultAddressSpace: string;
}

export interface RequestPoolResponse {
  PoolID: string;
  Pool: string;
  Data: Record<string, string>;
}

export interface RequestAddressResponse {
  Address: string;
  Data: Record<string, string>;
}

// ---- pool ids -------------------------------------------------------------------------------

const POOL_ID_PREFIX = 'ovn';

/** `ovn;vrf=default;pool=198.18.5.0/24[;range=198.18.5.128/25]`: differs per VRF, same on every host. */
export function formatPoolId(ref: PoolRef): string {
  const parts = [POOL_ID_PREFIX, `vrf=${ref.vrf}`, `pool=${formatCidr(ref.pool)}`];
  if (ref.range) parts.push(`range=${formatCidr(ref.range)}`);
  return parts.join(';');
}

/** The cluster-wide name of a pool's allocations: its VRF and subnet (not the range: ranges share a subnet's addresses). */
export function poolKey(ref: PoolRef): string {
  return `${ref.vrf}/${formatCidr(ref.pool)}`;
}

function checkPool(call: string, what: string, text: string, family?: 4 | 6): Cidr {
  const c = parseCidr(text);
  if (!c || (family !== undefined && c.family !== family)) {
    const like = family === 6 ? 'fd00:198:18::/64' : '198.18.10.0/24';
    throw invalid(call, `${what} must be ${family === undefined ? 'a' : `an IPv${family}`} subnet like ${like}, got ${show(text)}`);
  }
  return networkOf(c);
}

function checkRange(call: string, pool: Cidr, text: string, what: string): Cidr {
  const range = checkPool(call, what, text, pool.family);
  if (range.prefix < pool.prefix || !poolContains(pool, range.family, range.ip)) {
    throw invalid(call, `${what} ${text} is not inside the subnet ${formatCidr(pool)}; give --ip-range a part of --subnet`);
  }
  return range;
}

export function parsePoolId(call: string, text: unknown): PoolRef {
  if (typeof text !== 'string') throw invalid(call, `field "PoolID" must be a string, got ${show(text)}`);
  const bad = (): never => {
    throw invalid(call, `field "PoolID" ${show(text)} is not a pool of the ovn IPAM driver (they look like "ovn;vrf=default;pool=198.18.5.0/24"); was the network made with another --ipam-driver?`);
  };
  const parts = text.split(';');
  if (parts[0] !== POOL_ID_PREFIX || parts.length < 3 || parts.length > 4) return bad();
  const fields = new Map<string, string>();
  for (const p of parts.slice(1)) {
    const eq = p.indexOf('=');
    if (eq <= 0 || fields.has(p.slice(0, eq))) return bad();
    fields.set(p.slice(0, eq), p.slice(eq + 1));
  }
  const vrf = fields.get('vrf');
  const poolText = fields.get('pool');
  const rangeText = fields.get('range');
  if (vrf === undefined || !VRF_RE.test(vrf) || poolText === undefined || fields.size !== parts.length - 1) return bad();
  if ([...fields.keys()].some((k) => k !== 'vrf' && k !== 'pool' && k !== 'range')) return bad();
  const pool = parseCidr(poolText);
  if (!pool || formatCidr(networkOf(pool)) !== poolText) return bad();
  let range: Cidr | undefined;
  if (rangeText !== undefined) {
    const r = parseCidr(rangeText);
    if (!r || r.family !== pool.family || formatCidr(networkOf(r)) !== rangeText || r.prefix < pool.prefix || !poolContains(pool, r.family, r.ip)) return bad();
    range = r;
  }
  return { vrf, pool, range };
}

// ---- parsers --------------------------------------------------------------------------------

function stringMap(f: Fields, key: string): Record<string, string> {
  const o = f.object(key);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(o)) {
    if (typeof v !== 'string') throw invalid(f.call, `field "${key}.${k}" must be a string, got ${show(v)}`);
    out[k] = v;
  }
  return out;
}

export function parseRequestPool(body: unknown): RequestPoolRequest {
  const call = 'RequestPool';
  const f = Fields.of(call, body);
  const addressSpace = f.string('AddressSpace', true);
  const poolText = f.string('Pool', true);
  const subPoolText = f.string('SubPool', true);
  const v6 = f.raw('V6');
  if (v6 !== undefined && v6 !== null && typeof v6 !== 'boolean') throw f.error('V6', 'true or false', v6);
  const options = stringMap(f, 'Options');
  for (const k of Object.keys(options)) {
    if (!KNOWN_IPAM_OPTIONS.includes(k)) {
      throw invalid(call, `unknown IPAM option ${show(k)}; the ovn IPAM driver knows ${KNOWN_IPAM_OPTIONS.map((o) => `--ipam-opt ${o}=...`).join(', ')}`);
    }
  }
  const vrf = options['vrf'] ?? DEFAULT_VRF;
  if (!VRF_RE.test(vrf)) throw invalid(call, `IPAM option "vrf" must be 1 to 64 letters, digits, "_", "." or "-", got ${show(vrf)}`);
  if (poolText === '') {
    const family = v6 === true ? 'IPv6' : 'IPv4';
    throw invalid(call, `no ${family} subnet given; the ovn IPAM driver hands out addresses of subnets every host names alike, so give docker network create --subnet${v6 === true ? ' (an IPv6 one, with --ipv6)' : ''}`);
  }
  const pool = checkPool(call, '--subnet', poolText);
  if (pool.prefix > MAX_PREFIX[pool.family]) {
    throw invalid(call, `the subnet ${poolText} is too small: an IPv${pool.family} pool needs a prefix of at most /${MAX_PREFIX[pool.family]} (room for a gateway and a container)`);
  }
  if (v6 === true && pool.family !== 6) throw invalid(call, `V6 is true but the subnet ${poolText} is IPv4`);
  const range = subPoolText === '' ? undefined : checkRange(call, pool, subPoolText, '--ip-range');
  return { addressSpace, vrf, pool, range };
}

export function parseReleasePool(body: unknown): PoolRef {
  const f = Fields.of('ReleasePool', body);
  return parsePoolId('ReleasePool', f.raw('PoolID'));
}

function parseAddressIn(f: Fields, ref: PoolRef, optional: boolean): string | undefined {
  const text = f.string('Address', optional);
  if (text === '') {
    if (optional) return undefined;
    throw f.error('Address', 'an address', text);
  }
  // Docker sends a bare address; a prefix length is tolerated if it is the pool's.
  const slash = text.indexOf('/');
  const bare = slash < 0 ? text : text.slice(0, slash);
  const ip = parseIp(bare);
  if (!ip || ip.family !== ref.pool.family || (slash >= 0 && parseCidr(text)?.prefix !== ref.pool.prefix)) {
    throw f.error('Address', `empty or an IPv${ref.pool.family} address of the subnet ${formatCidr(ref.pool)}`, text);
  }
  if (!poolContains(ref.pool, ip.family, ip.ip)) {
    throw invalid(f.call, `address ${ip.ip} is not in the subnet ${formatCidr(ref.pool)} (VRF "${ref.vrf}"); give --ip, --gateway or --aux-address an address of --subnet`);
  }
  return ip.ip;
}

export function parseRequestAddress(body: unknown): RequestAddressRequest {
  const call = 'RequestAddress';
  const f = Fields.of(call, body);
  const ref = parsePoolId(call, f.raw('PoolID'));
  const address = parseAddressIn(f, ref, true);
  const options = stringMap(f, 'Options');
  const macText = options[MAC_OPTION];
  let mac: string | undefined;
  if (macText !== undefined && macText !== '') {
    mac = parseMac(macText);
    if (mac === undefined) throw invalid(call, `option "${MAC_OPTION}" must be a unicast MAC address like 02:42:c6:12:0a:02, got ${show(macText)}`);
  }
  const type = options[REQUEST_ADDRESS_TYPE];
  if (type !== undefined && type !== GATEWAY_TYPE) throw invalid(call, `option "${REQUEST_ADDRESS_TYPE}" must be "${GATEWAY_TYPE}" when given, got ${show(type)}`);
  // libnetwork asks for the gateway with RequestAddressType, for an endpoint with the MAC (our
  // GetCapabilities asks for it) and, in newer releases, the endpoint name; an --aux-address
  // with neither. A request with no address and no options is served as an endpoint's: the
  // exclusive kind is the safe reading.
  const forEndpoint = macText !== undefined || options[ENDPOINT_NAME_OPTION] !== undefined;
  const kind: AddressKind = type === GATEWAY_TYPE ? 'gateway' : forEndpoint || address === undefined ? 'endpoint' : 'aux';
  return { ref, address, kind, mac };
}

export function parseReleaseAddress(body: unknown): ReleaseAddressRequest {
  const call = 'ReleaseAddress';
  const f = Fields.of(call, body);
  const ref = parsePoolId(call, f.raw('PoolID'));
  const address = parseAddressIn(f, ref, false);
  if (address === undefined) throw f.error('Address', 'an address', '');
  return { ref, address };
}
