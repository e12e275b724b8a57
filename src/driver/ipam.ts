// OvnIpam: libnetwork's IPAM driver, its allocations in the Northbound (see plan-ipam.ts) so
// that every host sees them. A container's address is one insert whose unique name fails to
// commit if another host took the address first: the common case is one round trip. Each pool
// this host uses has a cache of the addresses known to be taken, read once from the server
// (a select of that pool's rows only) and kept by this host's own allocations; a conflict marks
// the address taken and tries the next one, and a pool that looks full is read again before
// the driver says so. Requests for one pool are serialised on this host (one cursor per pool).

import { isOvsdbError } from '../ovsdb/errors';
import { cond, del, mutate, select, strMap } from '../ovsdb/operations';
import type { Logger } from '../util/logger';
import { formatCidr } from './addr';
import {
  AddressSpacesResponse, GLOBAL_ADDRESS_SPACE, IpamCapabilitiesResponse, LOCAL_ADDRESS_SPACE, PoolRef, poolKey,
  ReleaseAddressRequest, RequestAddressRequest, RequestAddressResponse, RequestPoolRequest, RequestPoolResponse, formatPoolId,
} from './api-ipam';
import type { EmptyResponse } from './api';
import { DbClient, dbError, DbRef } from './db';
import { DriverError } from './errors';
import { KeyedMutex } from './keyed-mutex';
import { CHASSIS_KEY, OWNER_MARK, refKey } from './names';
import {
  Allocation, allocationFromRow, allocationName, defaultGateway, describeHolder, holderKey, IPAM_KIND_KEY, IPAM_TABLE, isShared, nextFree, randomIn,
  planAllocate, planDeleteUnheld, planJoinShared, planLeaveShared, planReleaseEndpoint, selectByName, selectPool,
} from './plan-ipam';

export interface IpamOptions {
  readonly nb: DbClient;
  readonly nbRemotes: string;
  /** This host's chassis name (localChassis of the Open_vSwitch replica in the daemon). */
  readonly chassis: () => string | undefined;
  readonly logger: Logger;
  readonly dbTimeoutMs: number;
  /** For the jump after a conflict; Math.random by default. */
  readonly random?: () => number;
}

export interface ReclaimResult {
  /** Container addresses of the chassis, deleted. */
  readonly released: number;
  /** Shared (gateway, aux) rows the chassis held, its hold dropped; those no host holds any more are deleted. */
  readonly unheld: number;
  readonly deleted: number;
  /** Logical ports of the chassis left in the Northbound (only with `force`; the reclaim does not remove them). */
  readonly portsLeft: number;
}

interface PoolState {
  readonly taken: Set<string>;
  cursor: bigint | undefined;
}

/** How many taken addresses in a row a request skips before reading the pool again. */
const CONFLICTS_BEFORE_RELOAD = 8;
const MAX_ATTEMPTS = 64;

function where(ref: PoolRef): string {
  return `subnet ${formatCidr(ref.pool)} of VRF "${ref.vrf}"`;
}

/** The IPAM calls whose answer needs no database: the same before the daemon is ready (pending.ts) and after. */
export const IPAM_STATELESS_CALLS = Object.freeze({
  getCapabilities(): IpamCapabilitiesResponse {
    // The MAC option tells a container's request from an --aux-address (see api-ipam.ts).
    return { RequiresMACAddress: true, RequiresRequestReplay: false };
  },
  getDefaultAddressSpaces(): AddressSpacesResponse {
    return { LocalDefaultAddressSpace: LOCAL_ADDRESS_SPACE, GlobalDefaultAddressSpace: GLOBAL_ADDRESS_SPACE };
  },
});

export class OvnIpam {
  private readonly nb: DbRef;
  private readonly localChassis: () => string | undefined;
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly pools = new Map<string, PoolState>();
  private readonly locks = new KeyedMutex();
  private readonly random: () => number;

  constructor(opts: IpamOptions) {
    this.nb = { client: opts.nb, role: 'Northbound', remotes: opts.nbRemotes };
    this.localChassis = opts.chassis;
    this.logger = opts.logger;
    this.timeoutMs = opts.dbTimeoutMs;
    this.random = opts.random ?? Math.random;
  }

  getCapabilities(): IpamCapabilitiesResponse {
    return IPAM_STATELESS_CALLS.getCapabilities();
  }

  getDefaultAddressSpaces(): AddressSpacesResponse {
    return IPAM_STATELESS_CALLS.getDefaultAddressSpaces();
  }

  /** Nothing to write: a pool is its (VRF, subnet), the same id on every host; its rows come with its addresses. */
  requestPool(req: RequestPoolRequest): RequestPoolResponse {
    return { PoolID: formatPoolId(req), Pool: formatCidr(req.pool), Data: {} };
  }

  /** Forgets the cached view of the pool; its addresses were released one by one before. */
  releasePool(ref: PoolRef): EmptyResponse {
    this.pools.delete(poolKey(ref));
    return {};
  }

  async requestAddress(req: RequestAddressRequest): Promise<RequestAddressResponse> {
    const chassis = this.chassis('request an address in');
    const ref = req.ref;
    const ip = await this.locks.run(poolKey(ref), async () => {
      if (isShared(req.kind)) return this.holdShared(req, chassis);
      if (req.address !== undefined) return this.allocateGiven(req, req.address, chassis);
      return this.allocateAny(req, chassis);
    });
    return { Address: `${ip}/${ref.pool.prefix}`, Data: {} };
  }

  async releaseAddress(req: ReleaseAddressRequest): Promise<EmptyResponse> {
    const chassis = this.chassis('release an address of');
    const { ref, address } = req;
    await this.locks.run(poolKey(ref), async () => {
      const name = allocationName(ref, address);
      const [r] = await this.transact(planReleaseEndpoint(ref, address, chassis), 'release address', address);
      if ((r?.count ?? 0) > 0) {
        this.pools.get(poolKey(ref))?.taken.delete(address);
        return;
      }
      const row = await this.read(name, address);
      if (!row) {
        // Already gone (a retried release, or reclaimed): success, as Docker expects.
        this.pools.get(poolKey(ref))?.taken.delete(address);
        return;
      }
      if (row.kind === 'endpoint') {
        // Not this host's: the address was reclaimed and handed to another host's container.
        this.logger.warn(`ReleaseAddress: ${address} in ${where(ref)} is held by ${describeHolder(row)}, not by this host ("${chassis}"); left as it is`);
        return;
      }
      await this.leaveShared(ref, row, chassis);
    });
    return {};
  }

  /**
   * Frees what a host that is gone held: its containers' addresses, and its holds on gateways
   * and aux addresses (those no host holds any more are deleted). Refused while the Northbound
   * still has logical ports of that chassis, unless `force`: they are containers that still run.
   * A name that is malformed (INVALID_REQUEST) or that nothing in the Northbound names (NOT_FOUND,
   * most likely a typo) is refused; either refusal changes nothing.
   */
  async reclaim(chassis: string, force = false): Promise<ReclaimResult> {
    if (!/^[^\s\x00-\x1f\x7f"']{1,255}$/.test(chassis)) {
      throw new DriverError('INVALID_REQUEST', `failed to reclaim addresses of chassis ${JSON.stringify(chassis)}: not a chassis name (1 to 255 characters, no spaces, quotes or control characters); give the gone host's Open_vSwitch external_ids:system-id, as ovn-sbctl --columns=name list Chassis showed it`);
    }
    const ids = strMap({ ...OWNER_MARK, [IPAM_KIND_KEY]: 'endpoint', [CHASSIS_KEY]: chassis });
    const held = strMap({ ...OWNER_MARK, [holderKey(chassis)]: 'true' });
    // What names the chassis, read first: a chassis nothing names is a typo, not a host to reclaim.
    const [ports, mine, holds, switches] = await this.transact(
      [
        select('Logical_Switch_Port', [cond('external_ids', 'includes', strMap({ ...OWNER_MARK, [CHASSIS_KEY]: chassis }))], ['name']),
        select(IPAM_TABLE, [cond('external_ids', 'includes', ids)], ['name']),
        select(IPAM_TABLE, [cond('external_ids', 'includes', held)], ['name']),
        // Switches have no "has key" condition: few rows, checked here.
        select('Logical_Switch', [cond('external_ids', 'includes', strMap(OWNER_MARK))], ['external_ids']),
      ],
      'reclaim addresses of chassis',
      chassis,
      true,
    );
    const portCount = ports?.rows?.length ?? 0;
    if (portCount > 0 && !force) {
      throw new DriverError('CONFLICT', `failed to reclaim addresses of chassis "${chassis}": the Northbound still has ${portCount} logical port(s) of its containers, so the host may still be running; remove its containers (or, if the host is gone for good, run again with --force)`);
    }
    const onSwitch = (switches?.rows ?? []).some((r) => { const m = r['external_ids']; return m instanceof Map && m.has(refKey(chassis)); });
    if (portCount === 0 && (mine?.rows?.length ?? 0) === 0 && (holds?.rows?.length ?? 0) === 0 && !onSwitch) {
      throw new DriverError('NOT_FOUND', `failed to reclaim addresses of chassis "${chassis}": nothing in the Northbound (${this.nb.remotes}) names it: no address, hold, logical port or network of that chassis; check the name: it is the gone host's Open_vSwitch external_ids:system-id, as ovn-sbctl --columns=name list Chassis showed it`);
    }
    const [heldRows, gone] = await this.transact(
      [
        select(IPAM_TABLE, [cond('external_ids', 'includes', held)], ['name', 'external_ids']),
        del(IPAM_TABLE, [cond('external_ids', 'includes', ids)]),
        mutate(IPAM_TABLE, [cond('external_ids', 'includes', held)], [['external_ids', 'delete', [holderKey(chassis)]]]),
      ],
      'reclaim addresses of chassis',
      chassis,
    );
    let unheld = 0;
    let deleted = 0;
    for (const row of heldRows?.rows ?? []) {
      const a = allocationFromRow(row);
      if (!a) continue;
      unheld++;
      if (a.holders.some((h) => h !== chassis)) continue;
      const after = new Map(a.externalIds);
      after.delete(holderKey(chassis));
      const [d] = await this.transact(planDeleteUnheld(a.name, after), 'delete unheld address', a.address);
      deleted += d?.count ?? 0;
    }
    this.pools.clear();
    const released = gone?.count ?? 0;
    this.logger.info(`reclaimed the IPAM allocations of chassis "${chassis}"`, { released, unheld, deleted, portsLeft: portCount });
    return { released, unheld, deleted, portsLeft: portCount };
  }

  // ---- allocation ---------------------------------------------------------------------------

  private chassis(verb: string): string {
    const c = this.localChassis();
    if (c === undefined) {
      throw new DriverError('HOST_NOT_READY', `failed to ${verb} a pool: this host has no chassis name yet (Open_vSwitch external_ids:system-id); allocations record the host that holds them; set it (ovs-vsctl set Open_vSwitch . external_ids:system-id=NAME) or start ovn-controller's setup`);
    }
    return c;
  }

  private async transact(ops: Parameters<DbClient['transact']>[0], verb: string, name: string, readOnly = false): ReturnType<DbClient['transact']> {
    try {
      return await this.nb.client.transact(ops, { timeoutMs: this.timeoutMs, readOnly });
    } catch (e) {
      throw dbError(this.nb, verb, name, e);
    }
  }

  /** Inserts the allocation; false if the address is taken (the insert's unique name did not commit). */
  private async tryInsert(req: RequestAddressRequest, ip: string, chassis: string): Promise<boolean> {
    try {
      await this.nb.client.transact(planAllocate(req.ref, ip, req.kind, chassis, req.mac), { timeoutMs: this.timeoutMs });
      return true;
    } catch (e) {
      if (isOvsdbError(e, 'OVSDB_CONSTRAINT_VIOLATION')) return false;
      throw dbError(this.nb, 'allocate address', ip, e);
    }
  }

  private async read(name: string, ip: string): Promise<Allocation | undefined> {
    const [r] = await this.transact(selectByName(name), 'look up address', ip, true);
    const row = r?.rows?.[0];
    return row ? allocationFromRow(row, name) : undefined;
  }

  private async load(ref: PoolRef): Promise<PoolState> {
    const [r] = await this.transact(selectPool(ref), `read the allocations of ${where(ref)}`, poolKey(ref), true);
    const taken = new Set<string>();
    for (const row of r?.rows ?? []) {
      const a = allocationFromRow(row);
      if (a) taken.add(a.address);
    }
    const old = this.pools.get(poolKey(ref));
    const state: PoolState = { taken, cursor: old?.cursor };
    this.pools.set(poolKey(ref), state);
    return state;
  }

  private async allocateAny(req: RequestAddressRequest, chassis: string): Promise<string> {
    const ref = req.ref;
    let state = this.pools.get(poolKey(ref)) ?? (await this.load(ref));
    let reloaded = false;
    let conflicts = 0;
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      const next = nextFree(ref, state.taken, state.cursor);
      if (!next || conflicts >= CONFLICTS_BEFORE_RELOAD) {
        if (!next && reloaded) break;
        state = await this.load(ref);
        reloaded = !next || reloaded;
        conflicts = 0;
        continue;
      }
      const ok = await this.tryInsert(req, next.ip, chassis);
      state.taken.add(next.ip);
      state.cursor = next.at;
      if (ok) return next.ip;
      // Another host took it: it is likely walking the same addresses just ahead, so continue
      // from a random place instead of one step behind it each time.
      state.cursor = randomIn(ref, this.random());
      conflicts++;
    }
    const range = ref.range ? ` (--ip-range ${formatCidr(ref.range)})` : '';
    if (reloaded || conflicts === 0) throw new DriverError('CONFLICT', `failed to allocate an address in ${where(ref)}${range}: every address is taken, by containers of all hosts and the network's gateway and aux addresses; remove containers, or make the network with a larger --subnet or --ip-range`);
    throw new DriverError('CONFLICT', `failed to allocate an address in ${where(ref)}${range}: ${MAX_ATTEMPTS} free-looking addresses were taken by other hosts first; the pool is nearly full or very busy; retry the command`);
  }

  private async allocateGiven(req: RequestAddressRequest, ip: string, chassis: string): Promise<string> {
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.tryInsert(req, ip, chassis)) {
        this.pools.get(poolKey(req.ref))?.taken.add(ip);
        return ip;
      }
      const row = await this.read(allocationName(req.ref, ip), ip);
      if (row) {
        this.pools.get(poolKey(req.ref))?.taken.add(ip);
        throw new DriverError('CONFLICT', `failed to allocate address ${ip} in ${where(req.ref)}: it is in use by ${describeHolder(row)}; give --ip another address, or leave it out to get a free one`);
      }
      // Released between the insert and the read: try again.
    }
    throw new DriverError('CONFLICT', `failed to allocate address ${ip} in ${where(req.ref)}: it was taken and released again while the driver tried; retry the command`);
  }

  /** The gateway or an aux address: the first host inserts it, the others add themselves as holders. */
  private async holdShared(req: RequestAddressRequest, chassis: string): Promise<string> {
    const ip = req.address ?? defaultGateway(req.ref);
    const what = req.kind === 'gateway' ? 'gateway' : 'aux address';
    for (let attempt = 0; attempt < 3; attempt++) {
      if (await this.tryInsert(req, ip, chassis)) break;
      const [r] = await this.transact(planJoinShared(req.ref, ip, req.kind, chassis), `hold ${what}`, ip);
      if ((r?.count ?? 0) > 0) break;
      const row = await this.read(allocationName(req.ref, ip), ip);
      if (row) {
        const hint = req.kind === 'gateway' ? 'give --gateway another address of the subnet' : 'give --aux-address another address';
        throw new DriverError('CONFLICT', `failed to reserve ${ip} as the ${what} of ${where(req.ref)}: it is in use by ${describeHolder(row)}; ${hint}`);
      }
      if (attempt === 2) throw new DriverError('CONFLICT', `failed to reserve ${ip} as the ${what} of ${where(req.ref)}: it was taken and released again while the driver tried; retry the command`);
    }
    this.pools.get(poolKey(req.ref))?.taken.add(ip);
    return ip;
  }

  private async leaveShared(ref: PoolRef, row: Allocation, chassis: string): Promise<void> {
    const [, r] = await this.transact(planLeaveShared(row.name, chassis), 'release address', row.address);
    const left = r?.rows?.[0];
    const a = left ? allocationFromRow(left, row.name) : undefined;
    if (!a || a.holders.length > 0) return;
    // No host holds it any more; a host that joins meanwhile changes external_ids and keeps it.
    await this.transact(planDeleteUnheld(a.name, a.externalIds), 'release address', row.address);
    this.pools.get(poolKey(ref))?.taken.delete(row.address);
  }
}
