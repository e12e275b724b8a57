// The IPAM's allocations as Northbound rows, and the pure choices made over them. One row per
// allocated address in table Copp, named `ovn-driver-ipam:<vrf>/<subnet>/<address>`. Copp is a
// root table with a unique index on "name" (so two hosts inserting one address at the same
// instant cannot both commit: the second transaction fails with "constraint violation", and
// nothing needs a wait on what was read), it has external_ids, and ovn-northd reads a Copp row
// only when a switch or router references it: unreferenced rows reach neither the Southbound
// nor any ovn-controller, so 100,000 allocations cost the cluster nothing beyond the NB rows.
// (Address_Set, also uniquely named, is copied to the Southbound and to every chassis.)

import { addressToBigInt, bigIntToAddress, Cidr } from './addr';
import type { AddressKind, PoolRef } from './api-ipam';
import { poolKey } from './api-ipam';
import { CHASSIS_KEY, OWNER_KEY, OWNER_MARK } from './names';
import { cond, Condition, del, insert, mutate, Operation, select, strMap } from '../ovsdb/operations';
import type { Row } from '../ovsdb/schema';

export const IPAM_TABLE = 'Copp';
export const IPAM_NAME_PREFIX = 'ovn-driver-ipam:';
export const IPAM_POOL_KEY = 'ovn-driver:ipam-pool';
export const IPAM_ADDRESS_KEY = 'ovn-driver:ipam-address';
export const IPAM_KIND_KEY = 'ovn-driver:ipam-kind';
export const IPAM_MAC_KEY = 'ovn-driver:ipam-mac';
/** One key per host that holds a shared (gateway, aux) address: `ovn-driver:ipam-holder:<chassis>`. */
export const IPAM_HOLDER_PREFIX = 'ovn-driver:ipam-holder:';

export function allocationName(ref: PoolRef, ip: string): string {
  return `${IPAM_NAME_PREFIX}${poolKey(ref)}/${ip}`;
}

export function holderKey(chassis: string): string {
  return `${IPAM_HOLDER_PREFIX}${chassis}`;
}

/** True for the shared kinds: every host with the network holds them. */
export function isShared(kind: AddressKind): boolean {
  return kind !== 'endpoint';
}

/** The insert of one allocation; fails at commit if the address is taken. */
export function planAllocate(ref: PoolRef, ip: string, kind: AddressKind, chassis: string, mac: string | undefined): Operation[] {
  const ids: Record<string, string> = {
    ...OWNER_MARK,
    [IPAM_POOL_KEY]: poolKey(ref),
    [IPAM_ADDRESS_KEY]: ip,
    [IPAM_KIND_KEY]: kind,
    [CHASSIS_KEY]: chassis,
  };
  if (isShared(kind)) ids[holderKey(chassis)] = 'true';
  if (mac !== undefined) ids[IPAM_MAC_KEY] = mac;
  return [insert(IPAM_TABLE, { name: allocationName(ref, ip), meters: new Map(), external_ids: strMap(ids) })];
}

/** Adds this host as a holder of an existing shared row of the same kind; count 0: there is none. */
export function planJoinShared(ref: PoolRef, ip: string, kind: AddressKind, chassis: string): Operation[] {
  const where: Condition[] = [cond('name', '==', allocationName(ref, ip)), cond('external_ids', 'includes', strMap({ [IPAM_KIND_KEY]: kind }))];
  return [mutate(IPAM_TABLE, where, [['external_ids', 'insert', strMap({ [holderKey(chassis)]: 'true' })]])];
}

/** Deletes this host's endpoint allocation; count 0: it is not (or no longer) this host's endpoint address. */
export function planReleaseEndpoint(ref: PoolRef, ip: string, chassis: string): Operation[] {
  const where: Condition[] = [
    cond('name', '==', allocationName(ref, ip)),
    cond('external_ids', 'includes', strMap({ [IPAM_KIND_KEY]: 'endpoint', [CHASSIS_KEY]: chassis })),
  ];
  return [del(IPAM_TABLE, where)];
}

/** Drops this host's hold on a shared row, and reads what is left of the row. */
export function planLeaveShared(name: string, chassis: string): Operation[] {
  return [
    mutate(IPAM_TABLE, [cond('name', '==', name)], [['external_ids', 'delete', [holderKey(chassis)]]]),
    select(IPAM_TABLE, [cond('name', '==', name)], ['external_ids']),
  ];
}

/**
 * Deletes a shared row that no host holds any more: only if its external_ids are still exactly
 * those read (a host that joined meanwhile keeps it).
 */
export function planDeleteUnheld(name: string, externalIds: ReadonlyMap<string, string>): Operation[] {
  return [del(IPAM_TABLE, [cond('name', '==', name), cond('external_ids', '==', new Map(externalIds))])];
}

export function selectByName(name: string): Operation[] {
  return [select(IPAM_TABLE, [cond('name', '==', name)], ['name', 'external_ids'])];
}

/** Every allocation of one pool (all hosts'): a server-side condition, so only that pool's rows travel. */
export function selectPool(ref: PoolRef): Operation[] {
  return [select(IPAM_TABLE, [cond('external_ids', 'includes', strMap({ [OWNER_KEY]: OWNER_MARK[OWNER_KEY] ?? '', [IPAM_POOL_KEY]: poolKey(ref) }))], ['external_ids'])];
}

// ---- rows -----------------------------------------------------------------------------------

export interface Allocation {
  readonly name: string;
  readonly address: string;
  readonly kind: AddressKind;
  readonly chassis: string;
  readonly holders: readonly string[];
  readonly externalIds: ReadonlyMap<string, string>;
}

function stringMapOf(v: unknown): Map<string, string> {
  const out = new Map<string, string>();
  if (!(v instanceof Map)) return out;
  for (const [k, val] of v) if (typeof k === 'string' && typeof val === 'string') out.set(k, val);
  return out;
}

/** An IPAM row as read (select results are not normalised); undefined when it is not one of ours. */
export function allocationFromRow(row: Row | Record<string, unknown>, name?: string): Allocation | undefined {
  const ids = stringMapOf(row['external_ids']);
  if (ids.get(OWNER_KEY) !== OWNER_MARK[OWNER_KEY]) return undefined;
  const address = ids.get(IPAM_ADDRESS_KEY);
  const kind = ids.get(IPAM_KIND_KEY);
  if (address === undefined || (kind !== 'endpoint' && kind !== 'gateway' && kind !== 'aux')) return undefined;
  const holders = [...ids.keys()].filter((k) => k.startsWith(IPAM_HOLDER_PREFIX)).map((k) => k.slice(IPAM_HOLDER_PREFIX.length));
  const rowName = typeof row['name'] === 'string' ? row['name'] : name ?? '';
  return { name: rowName, address, kind, chassis: ids.get(CHASSIS_KEY) ?? '', holders, externalIds: ids };
}

/** Who holds an address, for messages. */
export function describeHolder(a: Allocation): string {
  if (a.kind === 'endpoint') return `a container on chassis "${a.chassis}"`;
  const what = a.kind === 'gateway' ? 'the network\'s gateway' : 'an --aux-address of the network';
  return `${what} (held by ${a.holders.length === 0 ? 'no host' : a.holders.map((h) => `"${h}"`).join(', ')})`;
}

// ---- choosing addresses ---------------------------------------------------------------------

function lastOf(c: Cidr): bigint {
  const bits = BigInt((c.family === 4 ? 32 : 128) - c.prefix);
  return addressToBigInt(c.family, c.ip) | ((1n << bits) - 1n);
}

/** The gateway Docker did not choose: the subnet's first address, the same on every host. */
export function defaultGateway(ref: PoolRef): string {
  return bigIntToAddress(ref.pool.family, addressToBigInt(ref.pool.family, ref.pool.ip) + 1n);
}

/** The bounds containers' addresses are taken from: the range (or subnet) less the subnet's own and broadcast addresses. */
function bounds(ref: PoolRef): { lo: bigint; hi: bigint } {
  const family = ref.pool.family;
  const within = ref.range ?? ref.pool;
  let lo = addressToBigInt(family, within.ip);
  let hi = lastOf(within);
  if (lo === addressToBigInt(family, ref.pool.ip)) lo += 1n;
  if (family === 4 && hi === lastOf(ref.pool)) hi -= 1n;
  return { lo, hi };
}

/** A cursor at a random place of the pool's container addresses (`r` in [0, 1)). */
export function randomIn(ref: PoolRef, r: number): bigint | undefined {
  const { lo, hi } = bounds(ref);
  if (hi < lo) return undefined;
  const size = hi - lo + 1n;
  const span = size > 1n << 52n ? 1n << 52n : size;
  return lo + BigInt(Math.floor(Math.min(Math.max(r, 0), 0.999999) * Number(span)));
}

/**
 * The next free address for a container after `cursor` (wrapping around), inside the
 * --ip-range if there is one, never the subnet's own address nor (IPv4) its broadcast.
 * At most |taken| + 3 candidates are looked at, so a /64 costs no more than a /24.
 */
export function nextFree(ref: PoolRef, taken: ReadonlySet<string>, cursor: bigint | undefined): { ip: string; at: bigint } | undefined {
  const family = ref.pool.family;
  const { lo, hi } = bounds(ref);
  if (hi < lo) return undefined;
  const size = hi - lo + 1n;
  const limit = BigInt(taken.size) + 1n < size ? BigInt(taken.size) + 1n : size;
  let at = cursor === undefined || cursor < lo || cursor >= hi ? lo : cursor + 1n;
  for (let i = 0n; i < limit; i++) {
    const ip = bigIntToAddress(family, at);
    if (!taken.has(ip)) return { ip, at };
    at = at >= hi ? lo : at + 1n;
  }
  return undefined;
}
