// A VRF as a routing domain: one Logical_Router per VRF (routerName), shared by every host, and
// per routed network a Logical_Router_Port holding the network's gateway addresses (its IPv4
// and IPv6 gateways, each with the subnet's prefix length) with a MAC every host derives alike
// (gatewayMac), facing a port of type router on the network's switch. OVN's routers are
// distributed: each host routes its own containers' packets, nothing hairpins through a node.
// These operations join the switch's own in CreateNetwork's and DeleteNetwork's transaction.
// The router's `ports` is what the plans wait on: two hosts adding or removing networks of one
// VRF at once see each other's change as a failed wait, and plan again.

import type { LogicalRouter, LogicalRouterPort, LogicalSwitch, NAT } from '../ovn/tables.generated';
import { NamedUuid, namedUuid, Uuid } from '../ovsdb/data';
import { cond, del, insert, Mutation, mutate, Operation, strMap, wait } from '../ovsdb/operations';
import { Cidr, formatCidr, networkOf, parseCidr, poolContains } from './addr';
import { DriverError } from './errors';
import { externalPortName, gatewayMac, gatewayPortName, OWNER_MARK, routerName, SWITCH_KEY, switchRouterPortName, VRF_KEY } from './names';
import { externalAddressOf, ExternalContext, natOfSwitch, planExternalPort, snatRow } from './plan-external';
import { ownedByDriver, switchRouter } from './records';

/** A VRF's router and its ports, as read (replica or server). */
export interface RouterState {
  readonly router: LogicalRouter | undefined;
  /** The router's ports, each with a description of the network it serves, for messages. */
  readonly ports: ReadonlyArray<{ readonly port: LogicalRouterPort; readonly network: string }>;
  /** The router's NAT rows (SNAT of its routed subnets, when it has a way out). */
  readonly nat?: readonly NAT[];
  /** The external switch's router-type port facing this router, when it has a way out. */
  readonly externalSwitchPort?: Uuid | undefined;
}

export const NO_ROUTER: RouterState = Object.freeze({ router: undefined, ports: [] });

/** The router's port on the external network, if it has one. */
export function externalPortOf(vrf: string, state: RouterState): LogicalRouterPort | undefined {
  return state.ports.find((p) => p.port.name === externalPortName(vrf))?.port;
}

/** True when two subnets share an address (same family, one inside the other). */
export function subnetsOverlap(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const [wide, narrow] = a.prefix <= b.prefix ? [a, b] : [b, a];
  return poolContains(networkOf(wide), narrow.family, narrow.ip);
}

/** The switch's port of type router, inserted with `switchRow`'s name in the same transaction. */
export function switchRouterPort(switchName: string, uuidName: string): Operation {
  return insert('Logical_Switch_Port', {
    name: switchRouterPortName(switchName),
    type: 'router',
    addresses: ['router'],
    options: strMap({ 'router-port': gatewayPortName(switchName) }),
    external_ids: strMap({ ...OWNER_MARK, [SWITCH_KEY]: switchName }),
  }, uuidName);
}

/**
 * The operations adding the gateway port of switch `switchName` (VRF `vrf`, `gateways`) to the
 * VRF's router, creating the router when it has none. CONFLICT when another network of the VRF
 * routes an overlapping subnet (one router cannot route both), or the router is not ours.
 */
export function planAddGatewayPort(vrf: string, switchName: string, gateways: readonly Cidr[], state: RouterState, ext?: ExternalContext): Operation[] {
  const name = routerName(vrf);
  const lrpName = gatewayPortName(switchName);
  const lrpRow = 'gateway_port';
  const lrp = insert('Logical_Router_Port', {
    name: lrpName,
    mac: gatewayMac(gateways),
    networks: gateways.map(formatCidr),
    external_ids: strMap({ ...OWNER_MARK, [SWITCH_KEY]: switchName }),
  }, lrpRow);
  const { router } = state;
  const v4 = gateways.filter((g) => g.family === 4).map((g) => ({ subnet: g, switchName }));
  if (!router) {
    // With a way out in the cluster, the new router gets its external port with its first network.
    const out = ext ? planExternalPort(vrf, ext, v4) : undefined;
    return [
      // No router of this name may exist at commit (names have no unique index): another host
      // creating the VRF's router at once makes this fail, and the plan is made again.
      wait('Logical_Router', [cond('name', '==', name)], ['name'], '==', [], 0),
      lrp,
      ...(out?.ops ?? []),
      insert('Logical_Router', {
        name, ports: [namedUuid(lrpRow), ...(out?.ports ?? [])],
        ...(out ? { static_routes: out.staticRoutes, nat: out.nat } : {}),
        external_ids: strMap({ ...OWNER_MARK, [VRF_KEY]: vrf }),
      }),
    ];
  }
  if (!ownedByDriver(router)) {
    throw new DriverError('CONFLICT', `failed to route network "${switchName}": logical router "${name}" exists and the ovn driver did not create it; remove it (ovn-nbctl lr-del ${name}) or use another -o vrf=`);
  }
  for (const { port, network } of state.ports) {
    if (port.name === externalPortName(vrf)) continue;
    if (port.name === lrpName) {
      throw new DriverError('CONFLICT', `failed to route network "${switchName}": router "${name}" already has a port "${lrpName}" that no switch of the driver records; remove it (ovn-nbctl lrp-del ${lrpName}) and create the network again`);
    }
    for (const theirs of port.networks.flatMap((n) => parseCidr(n) ?? [])) {
      const mine = gateways.find((g) => subnetsOverlap(g, theirs));
      if (mine) {
        throw new DriverError('CONFLICT', `failed to route network "${switchName}" in VRF "${vrf}": its subnet ${formatCidr(networkOf(mine))} overlaps ${formatCidr(networkOf(theirs))} of ${network}, and one router cannot route both; use a subnet that does not overlap, or another -o vrf=`);
      }
    }
  }
  // A router with a way out: this network's subnets leave with the VRF's address too.
  const address = externalAddressOf(externalPortOf(vrf, state)?.networks ?? []);
  const snat = address === undefined ? [] : v4.map((s, i) => ({ op: snatRow(address, s.subnet, switchName, `snat_${i}`), ref: namedUuid(`snat_${i}`) }));
  const mutations: Mutation[] = [['ports', 'insert', [namedUuid(lrpRow)]]];
  if (snat.length > 0) mutations.push(['nat', 'insert', snat.map((x) => x.ref)]);
  return [
    // The router's ports as read: a network added or removed meanwhile by another host (or the
    // router removed with its last network) fails this, and the plan is made again.
    wait('Logical_Router', [cond('_uuid', '==', router._uuid)], ['ports'], '==', [{ ports: router.ports }], 0),
    lrp,
    ...snat.map((x) => x.op),
    mutate('Logical_Router', [cond('_uuid', '==', router._uuid)], mutations),
  ];
}

/**
 * The operations removing a switch's gateway port from its VRF's router, and the router with
 * its last port; [] when the switch is unrouted or the port is gone already. The switch's
 * router-type port goes with the switch's other ports.
 */
export function planRemoveGatewayPort(sw: LogicalSwitch, state: RouterState): Operation[] {
  if (switchRouter(sw) === undefined || !state.router || !ownedByDriver(state.router)) return [];
  const { router } = state;
  const lrp = state.ports.find((p) => p.port.name === gatewayPortName(sw.name))?.port;
  if (!lrp || !router.ports.some((u) => u.equals(lrp._uuid))) return [];
  const unchanged = wait('Logical_Router', [cond('_uuid', '==', router._uuid)], ['ports'], '==', [{ ports: router.ports }], 0);
  // The last network: the router goes too (its ports, routes and NAT rules are non-root rows,
  // deleted with it), and the external switch's port facing it, unless another host added a
  // network to the VRF meanwhile (the wait fails; planned again).
  const others = state.ports.filter((p) => p.port.name.startsWith('gw/') && !p.port._uuid.equals(lrp._uuid));
  if (others.length === 0) {
    const facing = state.externalSwitchPort;
    return [
      unchanged,
      del('Logical_Router', [cond('_uuid', '==', router._uuid)]),
      ...(facing ? [mutate('Logical_Switch', [cond('ports', 'includes', [facing])], [['ports', 'delete', [facing]]])] : []),
    ];
  }
  // Other networks stay: removing this port (and its SNAT rules) is right whatever they do meanwhile.
  const nat = natOfSwitch(state.nat ?? [], sw.name).map((n) => n._uuid);
  const mutations: Mutation[] = [['ports', 'delete', [lrp._uuid]]];
  if (nat.length > 0) mutations.push(['nat', 'delete', nat]);
  return [mutate('Logical_Router', [cond('_uuid', '==', router._uuid)], mutations)];
}

/** The uuid-name the switch's router-type port is inserted under, for the switch's `ports`. */
export const SWITCH_ROUTER_PORT_ROW = 'router_facing_port';

export function switchRouterPortRef(): NamedUuid {
  return namedUuid(SWITCH_ROUTER_PORT_ROW);
}
