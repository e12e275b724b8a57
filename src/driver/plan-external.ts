// The way out of a VRF, as OVN deployments build it (Neutron's routers behind kuryr,
// ovn-kubernetes' gateways): one external network for the cluster, a Logical_Switch with a
// localnet port on physnet EXTERNAL_PHYSNET, which each gateway host maps to its external OVS
// bridge (ovn-bridge-mappings); the gateway hosts in one HA_Chassis_Group; and per VRF router
// one port on the external switch holding an address of the pool, bound to that group (a
// distributed gateway port: the highest-priority live gateway host carries the VRF's traffic in
// and out), a default route to the external gateway, and an SNAT rule per routed IPv4 subnet.
// The cluster-wide values (subnet, gateway, pool) are kept on the external switch, once.

import type { HAChassis, HAChassisGroup, LogicalRouter, LogicalSwitch, NAT } from '../ovn/tables.generated';
import { NamedUuid, namedUuid, Uuid } from '../ovsdb/data';
import { cond, insert, mutate, Operation, strMap, update, wait } from '../ovsdb/operations';
import { addressToBigInt, bigIntToAddress, Cidr, formatCidr, networkOf, parseCidr, parseIp } from './addr';
import { DriverError } from './errors';
import {
  EXTERNAL_CIDR_KEY, EXTERNAL_GATEWAY_KEY, EXTERNAL_LOCALNET_PORT, EXTERNAL_PHYSNET, EXTERNAL_POOL_KEY, EXTERNAL_SWITCH, externalPortName,
  externalSwitchPortName, GATEWAY_GROUP, OWNER_MARK, SWITCH_KEY,
} from './names';
import { ownedByDriver } from './records';

/** The external network as the cluster keeps it (on the external switch). */
export interface ExternalNetwork {
  readonly cidr: Cidr;
  readonly gateway: string;
  readonly poolFirst: string;
  readonly poolLast: string;
}

/** What a plan needs of the external network: its switch and the gateway hosts' group. */
export interface ExternalContext {
  readonly network: ExternalNetwork;
  readonly switchUuid: Uuid;
  readonly groupUuid: Uuid;
  /** The pool addresses VRFs hold already (their external ports'). */
  readonly taken: ReadonlySet<string>;
}

/** The validated --external-* values (config.ts) as the planners take them. */
export function externalNetworkFromConfig(c: { cidr: string; gateway: string; poolFirst: string; poolLast: string } | undefined): ExternalNetwork | undefined {
  const cidr = c === undefined ? undefined : parseCidr(c.cidr);
  if (!c || !cidr) return undefined;
  return { cidr: networkOf(cidr), gateway: c.gateway, poolFirst: c.poolFirst, poolLast: c.poolLast };
}

export function formatPool(n: { poolFirst: string; poolLast: string }): string {
  return `${n.poolFirst}-${n.poolLast}`;
}

/** The values recorded on the external switch; undefined when they do not parse. */
export function externalNetworkOf(sw: LogicalSwitch): ExternalNetwork | undefined {
  const cidr = parseCidr(sw.external_ids.get(EXTERNAL_CIDR_KEY) ?? '');
  const gateway = parseIp(sw.external_ids.get(EXTERNAL_GATEWAY_KEY) ?? '');
  const [first, last] = (sw.external_ids.get(EXTERNAL_POOL_KEY) ?? '').split('-').map((s) => parseIp(s));
  if (!cidr || cidr.family !== 4 || gateway?.family !== 4 || first?.family !== 4 || last?.family !== 4) return undefined;
  return { cidr: networkOf(cidr), gateway: gateway.ip, poolFirst: first.ip, poolLast: last.ip };
}

function describeNetwork(n: ExternalNetwork): string {
  return `--external-cidr ${formatCidr(n.cidr)} --external-gateway ${n.gateway} --external-pool ${formatPool(n)}`;
}

export interface ExternalFound {
  readonly sw: LogicalSwitch | undefined;
  readonly group: HAChassisGroup | undefined;
  /** The group's members. */
  readonly members: readonly HAChassis[];
}

/**
 * A gateway host's start: the external switch (with the given values, or checked against them)
 * and this chassis (a gateway host's) in the gateway group at `priority`. [] when all is as wanted. The error is
 * the one line the daemon stops with.
 */
export function planExternalSetup(given: ExternalNetwork | undefined, found: ExternalFound, chassis: string | undefined, priority: number): Operation[] {
  const ops: Operation[] = [];
  if (!found.sw) {
    if (!given) {
      throw new DriverError('HOST_NOT_READY', `failed to set up the way out: the Northbound has no external network yet (logical switch "${EXTERNAL_SWITCH}"); give the first gateway host --external-cidr, --external-gateway and --external-pool`);
    }
    ops.push(
      // Two gateway hosts starting at once: one creates it, the other plans again and checks it.
      wait('Logical_Switch', [cond('name', '==', EXTERNAL_SWITCH)], ['name'], '==', [], 0),
      insert('Logical_Switch_Port', {
        name: EXTERNAL_LOCALNET_PORT, type: 'localnet', addresses: ['unknown'],
        options: strMap({ network_name: EXTERNAL_PHYSNET }), external_ids: strMap({ ...OWNER_MARK }),
      }, 'localnet_port'),
      insert('Logical_Switch', {
        name: EXTERNAL_SWITCH, ports: [namedUuid('localnet_port')],
        external_ids: strMap({ ...OWNER_MARK, [EXTERNAL_CIDR_KEY]: formatCidr(given.cidr), [EXTERNAL_GATEWAY_KEY]: given.gateway, [EXTERNAL_POOL_KEY]: formatPool(given) }),
      }),
    );
  } else {
    if (!ownedByDriver(found.sw)) {
      throw new DriverError('CONFLICT', `failed to set up the way out: logical switch "${EXTERNAL_SWITCH}" exists and the ovn driver did not create it; remove it (ovn-nbctl ls-del ${EXTERNAL_SWITCH})`);
    }
    const have = externalNetworkOf(found.sw);
    if (!have) {
      throw new DriverError('CONFLICT', `failed to set up the way out: logical switch "${EXTERNAL_SWITCH}" records no valid external network; remove it (ovn-nbctl ls-del ${EXTERNAL_SWITCH}) and start a gateway host with --external-cidr, --external-gateway and --external-pool`);
    }
    if (given && describeNetwork(given) !== describeNetwork(have)) {
      throw new DriverError('CONFLICT', `failed to set up the way out: this host gives ${describeNetwork(given)}, but the cluster's external network (in the Northbound) is ${describeNetwork(have)}; give the same values, or none`);
    }
  }
  // Not a gateway host (chassis undefined): the values only.
  if (chassis === undefined) return ops;
  if (!found.group) {
    ops.push(
      insert('HA_Chassis', { chassis_name: chassis, priority, external_ids: strMap({ ...OWNER_MARK }) }, 'this_gateway'),
      // The group's name is a unique index: a second host creating it at once fails and plans again.
      insert('HA_Chassis_Group', { name: GATEWAY_GROUP, ha_chassis: [namedUuid('this_gateway')], external_ids: strMap({ ...OWNER_MARK }) }),
    );
    return ops;
  }
  const mine = found.members.find((m) => m.chassis_name === chassis);
  if (!mine) {
    ops.push(
      insert('HA_Chassis', { chassis_name: chassis, priority, external_ids: strMap({ ...OWNER_MARK }) }, 'this_gateway'),
      mutate('HA_Chassis_Group', [cond('_uuid', '==', found.group._uuid)], [['ha_chassis', 'insert', [namedUuid('this_gateway')]]]),
    );
  } else if (mine.priority !== priority) {
    ops.push(update('HA_Chassis', [cond('_uuid', '==', mine._uuid)], { priority }));
  }
  return ops;
}

/** The first pool address no VRF holds; CONFLICT when none is left. */
export function freeExternalAddress(ext: ExternalContext): string {
  const first = addressToBigInt(4, ext.network.poolFirst);
  const last = addressToBigInt(4, ext.network.poolLast);
  for (let n = first; n <= last; n++) {
    const ip = bigIntToAddress(4, n);
    if (!ext.taken.has(ip)) return ip;
  }
  throw new DriverError('CONFLICT', `failed to give a VRF its way out: every address of the external pool ${formatPool(ext.network)} is held by a VRF; widen --external-pool (on the gateway hosts, and in the Northbound's logical switch "${EXTERNAL_SWITCH}"), or remove a VRF's last network`);
}

function externalMac(ip: string): string {
  return [0x0a, 0x58, ...ip.split('.').map(Number)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}

/** An SNAT rule: the routed subnet leaves with the VRF's address. */
export function snatRow(address: string, subnet: Cidr, switchName: string, uuidName: string): Operation {
  return insert('NAT', { type: 'snat', external_ip: address, logical_ip: formatCidr(networkOf(subnet)), external_ids: strMap({ ...OWNER_MARK, [SWITCH_KEY]: switchName }) }, uuidName);
}

export interface ExternalPortPlan {
  /** Inserts (and the external switch's mutation) to run before the router's own operation. */
  readonly ops: Operation[];
  /** What the router's `ports`, `static_routes` and `nat` gain (its insert or mutate). */
  readonly ports: NamedUuid[];
  readonly staticRoutes: NamedUuid[];
  readonly nat: NamedUuid[];
  readonly address: string;
}

/**
 * A VRF router's way out: its port on the external switch (an address of the pool, bound to the
 * gateway hosts' group), the external switch's port facing it, the default route and an SNAT
 * rule per routed IPv4 subnet (`subnets`, with the switch each belongs to).
 */
export function planExternalPort(vrf: string, ext: ExternalContext, subnets: ReadonlyArray<{ readonly subnet: Cidr; readonly switchName: string }>): ExternalPortPlan {
  const address = freeExternalAddress(ext);
  const network = `${address}/${ext.network.cidr.prefix}`;
  const nat = subnets.filter((s) => s.subnet.family === 4).map((s, i) => ({ ...s, row: `snat_${i}` }));
  return {
    ops: [
      // No other VRF may take this address meanwhile (a wait over the few router ports).
      wait('Logical_Router_Port', [cond('networks', 'includes', [network])], ['name'], '==', [], 0),
      insert('Logical_Router_Port', {
        name: externalPortName(vrf), mac: externalMac(address), networks: [network], ha_chassis_group: [ext.groupUuid],
        external_ids: strMap({ ...OWNER_MARK, [SWITCH_KEY]: EXTERNAL_SWITCH }),
      }, 'external_port'),
      insert('Logical_Switch_Port', {
        name: externalSwitchPortName(vrf), type: 'router', addresses: ['router'],
        options: strMap({ 'router-port': externalPortName(vrf) }), external_ids: strMap({ ...OWNER_MARK, [SWITCH_KEY]: EXTERNAL_SWITCH }),
      }, 'external_facing_port'),
      mutate('Logical_Switch', [cond('_uuid', '==', ext.switchUuid)], [['ports', 'insert', [namedUuid('external_facing_port')]]]),
      insert('Logical_Router_Static_Route', { ip_prefix: '0.0.0.0/0', nexthop: ext.network.gateway, external_ids: strMap({ ...OWNER_MARK }) }, 'default_route'),
      ...nat.map((s) => snatRow(address, s.subnet, s.switchName, s.row)),
    ],
    ports: [namedUuid('external_port')],
    staticRoutes: [namedUuid('default_route')],
    nat: nat.map((s) => namedUuid(s.row)),
    address,
  };
}

/** The address a router's external port holds ("198.18.250.10"); undefined when it has none. */
export function externalAddressOf(networks: readonly string[]): string | undefined {
  const c = parseCidr(networks[0] ?? '');
  return c?.family === 4 ? c.ip : undefined;
}

/** The router's SNAT rules of one switch (to remove with its network). */
export function natOfSwitch(nat: readonly NAT[], switchName: string): NAT[] {
  return nat.filter((n) => n.type === 'snat' && n.external_ids.get(SWITCH_KEY) === switchName);
}

/** Mutations adding a plan's rows to an existing router. */
export function routerGains(router: LogicalRouter, plan: Pick<ExternalPortPlan, 'ports' | 'staticRoutes' | 'nat'>): Operation {
  const m: [string, 'insert', NamedUuid[]][] = [];
  if (plan.ports.length > 0) m.push(['ports', 'insert', plan.ports]);
  if (plan.staticRoutes.length > 0) m.push(['static_routes', 'insert', plan.staticRoutes]);
  if (plan.nat.length > 0) m.push(['nat', 'insert', plan.nat]);
  return mutate('Logical_Router', [cond('_uuid', '==', router._uuid)], m);
}
