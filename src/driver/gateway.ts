// A gateway host's start (--external-bridge; README "Reaching the outside"): the cluster's
// external network in the Northbound (created by the first gateway host from its
// --external-* values, checked against them by the others), this chassis in the gateway hosts'
// HA_Chassis_Group at its --external-priority, the physnet mapped to the external bridge in the
// local ovn-bridge-mappings, and a way out for every VRF router that has none yet (VRFs created
// later get theirs with their router). A value that conflicts with the cluster's is an error the
// daemon stops with; every step is idempotent, so a restart redoes only what is missing.

import { bridgeFromRow, haChassisFromRow, haChassisGroupFromRow, logicalRouterFromRow, logicalRouterPortFromRow, logicalSwitchFromRow, openVSwitchFromRow } from '../ovn/tables.generated';
import type { HAChassisGroup } from '../ovn/tables.generated';
import { isOvsdbError } from '../ovsdb/errors';
import { cond, mutate, Operation, strMap, wait } from '../ovsdb/operations';
import type { Logger } from '../util/logger';
import { parseCidr } from './addr';
import { localChassis } from './chassis';
import { BY_NAME, DbClient, dbError, DbRef, ensureIndexes, selectEach, selectRows } from './db';
import { DriverError } from './errors';
import { EXTERNAL_PHYSNET, EXTERNAL_SWITCH, GATEWAY_GROUP, SWITCH_KEY, vrfOfRouter } from './names';
import { ExternalContext, ExternalFound, ExternalNetwork, planExternalPort, planExternalSetup, routerGains } from './plan-external';
import { externalPortOf } from './plan-router';
import { ownedByDriver } from './records';

const MAPPINGS_KEY = 'ovn-bridge-mappings';
const ATTEMPTS = 5;

export interface GatewayOptions {
  readonly nb: DbClient;
  readonly nbRemotes: string;
  readonly ovs: DbClient;
  readonly ovsRemotes: string;
  /** undefined: not a gateway host (only the values given, if any, are checked or recorded). */
  readonly bridge: string | undefined;
  readonly network: ExternalNetwork | undefined;
  readonly priority: number;
  /** The driver's view of the way out, from the replica (OvnDriver.externalContext). */
  readonly externalContext: () => ExternalContext | undefined;
  readonly logger: Logger;
  readonly dbTimeoutMs: number;
}

/** "a:b,c:d" with `physnet` mapped to `bridge` (replacing its old bridge), other mappings kept. */
export function withMapping(current: string | undefined, physnet: string, bridge: string): string {
  const kept = (current ?? '').split(',').map((m) => m.trim()).filter((m) => m !== '' && m.split(':')[0] !== physnet);
  return [...kept, `${physnet}:${bridge}`].join(',');
}

export async function setUpGateway(o: GatewayOptions): Promise<void> {
  const nb: DbRef = { client: o.nb, role: 'Northbound', remotes: o.nbRemotes };
  const ovs: DbRef = { client: o.ovs, role: 'local Open_vSwitch', remotes: o.ovsRemotes };
  ensureIndexes(o.nb.replica, ['Logical_Switch', 'Logical_Switch_Port', 'Logical_Router', 'HA_Chassis_Group']);
  const chassis = localChassis(o.ovs.replica);
  if (o.bridge !== undefined) {
    if (chassis === undefined) throw new DriverError('HOST_NOT_READY', 'failed to make this host a gateway host: it has no chassis name; set Open_vSwitch external_ids:system-id (ovs-vsctl set Open_vSwitch . external_ids:system-id=NAME)');
    const bridge = [...o.ovs.replica.table('Bridge').values()].map(bridgeFromRow).find((b) => b.name === o.bridge);
    if (!bridge) {
      throw new DriverError('HOST_NOT_READY', `failed to make this host a gateway host: the external bridge "${o.bridge}" does not exist; create it and plug in the uplink (ovs-vsctl add-br ${o.bridge}; ovs-vsctl add-port ${o.bridge} UPLINK), or fix --external-bridge`);
    }
  }
  if (o.bridge === undefined && o.network === undefined) return;

  // The external network and this host's place in the gateway group.
  for (let attempt = 1; ; attempt++) {
    const found = attempt === 1 ? replicaFound(o.nb) : await serverFound(nb, o.dbTimeoutMs);
    const ops = planExternalSetup(o.network, found, o.bridge === undefined ? undefined : chassis, o.priority);
    if (ops.length === 0) break;
    try {
      await o.nb.transact(ops, { timeoutMs: o.dbTimeoutMs });
      o.logger.info(`set up the way out in the Northbound${o.bridge !== undefined ? `: this host (${chassis ?? ''}) is a gateway host at priority ${o.priority}` : ''}`);
      break;
    } catch (e) {
      // Another gateway host set it up meanwhile: check what it made.
      if ((isOvsdbError(e, 'OVSDB_TIMED_OUT') || isOvsdbError(e, 'OVSDB_CONSTRAINT_VIOLATION')) && attempt < ATTEMPTS) continue;
      throw dbError(nb, 'set up the external network', EXTERNAL_SWITCH, e);
    }
  }
  if (o.bridge === undefined) return;

  // ovn-controller maps the external switch's localnet port to the bridge.
  const ovsRow = [...o.ovs.replica.table('Open_vSwitch').values()][0];
  if (!ovsRow) throw new DriverError('HOST_NOT_READY', 'failed to make this host a gateway host: the local database has no Open_vSwitch row');
  const root = openVSwitchFromRow(ovsRow);
  const current = root.external_ids.get(MAPPINGS_KEY);
  const wanted = withMapping(current, EXTERNAL_PHYSNET, o.bridge);
  if (current !== wanted) {
    try {
      await o.ovs.transact([mutate('Open_vSwitch', [cond('_uuid', '==', root._uuid)], [['external_ids', 'delete', [MAPPINGS_KEY]], ['external_ids', 'insert', strMap({ [MAPPINGS_KEY]: wanted })]])], { timeoutMs: o.dbTimeoutMs });
    } catch (e) {
      throw dbError(ovs, 'set ovn-bridge-mappings', wanted, e);
    }
    o.logger.info(`ovn-bridge-mappings is now ${wanted} (was ${current ?? 'unset'})`);
  }

  // Every VRF router without a way out gets one.
  const ext = await o.nb.replica.waitFor(() => o.externalContext(), o.dbTimeoutMs);
  if (!ext) throw new DriverError('DATABASE_UNAVAILABLE', `failed to route the VRFs out: the Northbound replica did not show the external network within ${o.dbTimeoutMs} ms`);
  const routers = [...o.nb.replica.table('Logical_Router').values()].map(logicalRouterFromRow).filter(ownedByDriver);
  for (const r of routers) {
    const vrf = vrfOfRouter(r.name);
    if (vrf !== undefined) await routeOut(o, nb, vrf);
  }
}

async function routeOut(o: GatewayOptions, nb: DbRef, vrf: string): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    const row = o.nb.replica.lookup('Logical_Router', BY_NAME, `vrf/${vrf}`)[0];
    const ext = o.externalContext();
    if (!row || !ext) return;
    const router = logicalRouterFromRow(row);
    const ports = router.ports.flatMap((u) => {
      const p = o.nb.replica.get('Logical_Router_Port', u.value);
      return p ? [logicalRouterPortFromRow(p)] : [];
    });
    if (externalPortOf(vrf, { router, ports: ports.map((port) => ({ port, network: '' })) })) return;
    const subnets = ports.filter((p) => p.name.startsWith('gw/')).flatMap((p) => p.networks.flatMap((n) => {
      const c = parseCidr(n);
      return c && c.family === 4 ? [{ subnet: c, switchName: p.external_ids.get(SWITCH_KEY) ?? p.name.slice(3) }] : [];
    }));
    const plan = planExternalPort(vrf, ext, subnets);
    const ops: Operation[] = [wait('Logical_Router', [cond('_uuid', '==', router._uuid)], ['ports'], '==', [{ ports: router.ports }], 0), ...plan.ops, routerGains(router, plan)];
    try {
      await o.nb.transact(ops, { timeoutMs: o.dbTimeoutMs });
      o.logger.info(`VRF ${vrf} leaves through the gateway hosts with ${plan.address}`);
      return;
    } catch (e) {
      if ((isOvsdbError(e, 'OVSDB_TIMED_OUT') || isOvsdbError(e, 'OVSDB_CONSTRAINT_VIOLATION')) && attempt < ATTEMPTS) {
        // Another host changed the router or took the address: plan again once the replica moved.
        await o.nb.replica.waitFor(() => undefined, 200);
        continue;
      }
      throw dbError(nb, 'give VRF a way out', vrf, e);
    }
  }
}

function replicaFound(nb: DbClient): ExternalFound {
  const swRow = nb.replica.lookup('Logical_Switch', BY_NAME, EXTERNAL_SWITCH)[0];
  const groupRow = nb.replica.lookup('HA_Chassis_Group', BY_NAME, GATEWAY_GROUP)[0];
  const group = groupRow ? haChassisGroupFromRow(groupRow) : undefined;
  return { sw: swRow ? logicalSwitchFromRow(swRow) : undefined, group, members: members(group, (u) => nb.replica.get('HA_Chassis', u)) };
}

function members(group: HAChassisGroup | undefined, get: (uuid: string) => ReturnType<DbClient['replica']['get']>): ExternalFound['members'] {
  return (group?.ha_chassis ?? []).flatMap((u) => {
    const r = get(u.value);
    return r ? [haChassisFromRow(r)] : [];
  });
}

async function serverFound(nb: DbRef, timeoutMs: number): Promise<ExternalFound> {
  const sw = (await selectRows(nb, 'Logical_Switch', 'name', EXTERNAL_SWITCH, timeoutMs, 'external switch'))[0];
  const groupRow = (await selectRows(nb, 'HA_Chassis_Group', 'name', GATEWAY_GROUP, timeoutMs, 'gateway group'))[0];
  const group = groupRow ? haChassisGroupFromRow(groupRow) : undefined;
  const uuids = group?.ha_chassis ?? [];
  const found = await selectEach(nb, 'HA_Chassis', uuids.map((u) => [cond('_uuid', '==', u)]), timeoutMs, 'gateway host', GATEWAY_GROUP);
  const rows = new Map(found.flatMap((r, i) => (r[0] && uuids[i] ? [[uuids[i]?.value ?? '', r[0]] as const] : [])));
  return { sw: sw ? logicalSwitchFromRow(sw) : undefined, group, members: members(group, (u) => rows.get(u)) };
}
