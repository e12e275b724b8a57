// CreateNetwork and DeleteNetwork as Northbound operations. A network is one Logical_Switch
// across the cluster, named by its VRF and subnets (sharedSwitchName): every host's Docker
// network of that VRF and subnets adds its network id to the switch (one key per chassis), and
// the last host to remove its network removes the switch. Switches of the previous release,
// named by the Docker network id and used by one host, keep working as they are.

import type { LogicalSwitch } from '../ovn/tables.generated';
import { Uuid } from '../ovsdb/data';
import { cond, del, insert, mutate, Mutation, Operation, strMap, wait } from '../ovsdb/operations';
import { Cidr, formatCidr } from './addr';
import type { CreateNetworkRequest } from './api';
import { DriverError } from './errors';
import { GLOBAL_ADDRESS_SPACE, LOCAL_ADDRESS_SPACE } from './api-ipam';
import { DEFAULT_VRF, EXTERNAL_SWITCH, GATEWAYS_KEY, INTERNAL_KEY, IPAM_KEY, MTU_KEY, OPTIONS_KEY, OWNER_MARK, refKey, ROUTER_KEY, routerName, sharedSwitchName, SUBNETS_KEY, VRF_KEY } from './names';
import type { ExternalContext } from './plan-external';
import { NO_ROUTER, planAddGatewayPort, planRemoveGatewayPort, RouterState, switchRouterPort, switchRouterPortRef, SWITCH_ROUTER_PORT_ROW } from './plan-router';
import { networkRefs, ownedByDriver, switchGateways, switchSubnets } from './records';

/**
 * The switch a network shares with the other hosts: its VRF and its IPv4 subnets, or its IPv6
 * subnets on an IPv6-only network. The IPv6 pool of a dual-stack network, its gateways and MTU
 * are attributes every host must give alike (networkAttributes).
 */
export function networkSwitchName(req: CreateNetworkRequest): string {
  const v4 = req.ipv4.map((p) => p.pool);
  return sharedSwitchName(req.options.vrf ?? DEFAULT_VRF, v4.length > 0 ? v4 : req.ipv6.map((p) => p.pool));
}

function sortedList(items: readonly string[]): string {
  return [...items].sort().join(',');
}

/** What every host's network on one switch must agree on, as the switch records it. */
interface NetworkAttributes {
  readonly subnets: string;
  readonly gateways: string;
  readonly mtu: string;
  /** 'ovn' for the driver's IPAM, '' for any other (Docker's own). */
  readonly ipam: string;
  /** 'true' for --internal, 'false' otherwise; '' on a switch made before routing (either matches). */
  readonly internal: string;
}

/** 'ovn' when every pool of the request comes from the driver's IPAM (its address spaces), else ''. */
export function ipamOf(req: CreateNetworkRequest): string {
  const pools = [...req.ipv4, ...req.ipv6];
  return pools.length > 0 && pools.every((p) => p.addressSpace === LOCAL_ADDRESS_SPACE || p.addressSpace === GLOBAL_ADDRESS_SPACE) ? 'ovn' : '';
}

function requestAttributes(req: CreateNetworkRequest): NetworkAttributes {
  const pools = [...req.ipv4, ...req.ipv6];
  return {
    subnets: sortedList(pools.map((p) => formatCidr(p.pool))),
    gateways: sortedList(pools.flatMap((p) => (p.gateway ? [formatCidr(p.gateway)] : []))),
    mtu: req.options.mtu === undefined ? '' : String(req.options.mtu),
    ipam: ipamOf(req),
    internal: String(req.options.internal),
  };
}

function requestGateways(req: CreateNetworkRequest): Cidr[] {
  return [...req.ipv4, ...req.ipv6].flatMap((p) => (p.gateway ? [p.gateway] : []));
}

/** A network is routed by its VRF's router unless it is --internal or has no gateway. */
export function isRouted(req: CreateNetworkRequest): boolean {
  return !req.options.internal && requestGateways(req).length > 0;
}

function switchAttributes(sw: LogicalSwitch): NetworkAttributes {
  const list = (key: string): string => sortedList((sw.external_ids.get(key) ?? '').split(',').map((s) => s.trim()).filter((s) => s !== ''));
  return { subnets: list(SUBNETS_KEY), gateways: list(GATEWAYS_KEY), mtu: sw.external_ids.get(MTU_KEY) ?? '', ipam: sw.external_ids.get(IPAM_KEY) ?? '', internal: sw.external_ids.get(INTERNAL_KEY) ?? '' };
}

function sameAttributes(want: NetworkAttributes, have: NetworkAttributes): boolean {
  return want.subnets === have.subnets && want.gateways === have.gateways && want.mtu === have.mtu && want.ipam === have.ipam && (have.internal === '' || want.internal === have.internal);
}

function showAttributes(a: NetworkAttributes): string {
  return `subnets ${a.subnets || 'none'}, gateways ${a.gateways || 'none'}, MTU ${a.mtu || 'the driver default'}${a.ipam === 'ovn' ? ', addresses from --ipam-driver ovn' : ''}${a.internal === 'true' ? ', --internal' : ''}`;
}

/** "Docker network N on host H, ..." for messages that name the existing network. */
export function describeRefs(sw: LogicalSwitch): string {
  const refs = [...networkRefs(sw)].map(([chassis, id]) => `Docker network ${id} on host ${chassis}`);
  return refs.length > 0 ? refs.join(', ') : 'no host';
}

export function networkExternalIds(req: CreateNetworkRequest, chassis: string): Record<string, string> {
  const pools = [...req.ipv4, ...req.ipv6];
  const ids: Record<string, string> = {
    ...OWNER_MARK,
    [refKey(chassis)]: req.networkId,
    [VRF_KEY]: req.options.vrf ?? DEFAULT_VRF,
    [SUBNETS_KEY]: pools.map((p) => formatCidr(p.pool)).join(','),
    [GATEWAYS_KEY]: pools.flatMap((p) => (p.gateway ? [formatCidr(p.gateway)] : [])).join(','),
    [OPTIONS_KEY]: JSON.stringify(req.options.generic),
  };
  if (req.options.mtu !== undefined) ids[MTU_KEY] = String(req.options.mtu);
  if (ipamOf(req) === 'ovn') ids[IPAM_KEY] = 'ovn';
  ids[INTERNAL_KEY] = String(req.options.internal);
  if (isRouted(req)) ids[ROUTER_KEY] = routerName(req.options.vrf ?? DEFAULT_VRF);
  return ids;
}

/** A wait that the switch's external_ids (its refs among them) are still what the plan read. */
function refsUnchanged(sw: LogicalSwitch): Operation {
  return wait('Logical_Switch', [cond('_uuid', '==', sw._uuid)], ['external_ids'], '==', [{ external_ids: sw.external_ids }], 0);
}

export interface NetworkSwitches {
  /** The switch named by the network id: a network of the previous release. */
  readonly legacy: LogicalSwitch | undefined;
  /** The switch named by the network's VRF and subnets. */
  readonly shared: LogicalSwitch | undefined;
  /** The network's VRF's router, for a new routed switch's gateway port. */
  readonly router?: RouterState;
  /** The cluster's way out, if set up: a new VRF router gets its external port, a new subnet its SNAT. */
  readonly external?: ExternalContext | undefined;
}

/**
 * The operations creating the switch or adding this host's ref to it; [] when Docker retries
 * (or replays, on its start) a network the switch already records.
 */
export function planCreateNetwork(req: CreateNetworkRequest, chassis: string | undefined, found: NetworkSwitches): Operation[] {
  const { legacy, shared } = found;
  if (legacy) {
    // A network made by the previous release, replayed by Docker when it starts.
    if (!ownedByDriver(legacy)) {
      throw new DriverError('CONFLICT', `failed to create logical switch "${req.networkId}": a switch of that name exists that the ovn driver did not create; remove it (ovn-nbctl ls-del ${req.networkId}) or recreate the Docker network`);
    }
    const want = requestAttributes(req).subnets;
    const have = sortedList(switchSubnets(legacy).map(formatCidr));
    if (want !== have) {
      throw new DriverError('CONFLICT', `failed to create logical switch "${req.networkId}": it already exists with subnets "${have}", not "${want}"; remove the Docker network and create it again`);
    }
    return [];
  }
  const name = networkSwitchName(req);
  if (chassis === undefined) {
    throw new DriverError('HOST_NOT_READY', `failed to create network "${req.networkId}" (logical switch "${name}"): this host has no chassis name, so the switch shared with other hosts cannot record it; set Open_vSwitch external_ids:system-id (ovs-vsctl set Open_vSwitch . external_ids:system-id=NAME, as ovn-controller needs too) and create the network again`);
  }
  if (!shared) {
    // Routed: the gateway port on the VRF's router, and the switch's port facing it, with the switch.
    const routed = isRouted(req);
    const routing = routed ? [...planAddGatewayPort(req.options.vrf ?? DEFAULT_VRF, name, requestGateways(req), found.router ?? NO_ROUTER, found.external), switchRouterPort(name, SWITCH_ROUTER_PORT_ROW)] : [];
    return [
      // No switch of this name may exist when we commit (the name has no unique index): another
      // host creating the same network at once makes this fail, and it is planned again.
      wait('Logical_Switch', [cond('name', '==', name)], ['name'], '==', [], 0),
      // Nor one of the previous release named by the network id, which the replica may not show yet.
      wait('Logical_Switch', [cond('name', '==', req.networkId)], ['name'], '==', [], 0),
      ...routing,
      insert('Logical_Switch', { name, external_ids: strMap(networkExternalIds(req, chassis)), ports: routed ? [switchRouterPortRef()] : [] }),
    ];
  }
  if (!ownedByDriver(shared)) {
    throw new DriverError('CONFLICT', `failed to create network "${req.networkId}": logical switch "${name}" exists and the ovn driver did not create it; remove it (ovn-nbctl ls-del ${name}) or use another subnet or -o vrf=`);
  }
  const want = requestAttributes(req);
  const have = switchAttributes(shared);
  if (!sameAttributes(want, have)) {
    throw new DriverError('CONFLICT', `failed to create network "${req.networkId}": VRF "${req.options.vrf ?? DEFAULT_VRF}" and this subnet are already the network of logical switch "${name}" (${describeRefs(shared)}) with ${showAttributes(have)}, not ${showAttributes(want)}; create it with the same --subnet, --gateway, IPv6 pool, -o mtu and --ipam-driver and --internal on every host, or choose another subnet or -o vrf=`);
  }
  const mine = networkRefs(shared).get(chassis);
  if (mine === req.networkId) return [];
  if (mine !== undefined) {
    throw new DriverError('CONFLICT', `failed to create network "${req.networkId}": this host (${chassis}) already has Docker network ${mine} on logical switch "${name}"; a host has one network per VRF and subnet: use that network, or remove it first (docker network rm ${mine.slice(0, 12)})`);
  }
  return [
    // Fails if the last host removes the switch meanwhile (or another host changes it): planned again.
    refsUnchanged(shared),
    mutate('Logical_Switch', [cond('_uuid', '==', shared._uuid)], [['external_ids', 'insert', strMap({ [refKey(chassis)]: req.networkId })]]),
  ];
}

/**
 * The operations removing this host's ref, and the switch with its ports when the ref is the
 * last one; [] when the network is already gone.
 */
export function planDeleteNetwork(networkId: string, chassis: string | undefined, existing: LogicalSwitch | undefined, router: RouterState = NO_ROUTER): Operation[] {
  // Already gone: success, so Docker's retries and a second `network rm` succeed.
  if (!existing) return [];
  if (!ownedByDriver(existing)) {
    throw new DriverError('CONFLICT', `failed to delete logical switch "${existing.name}": it was not created by the ovn driver, so it is left alone; remove it yourself if it is no longer used`);
  }
  const deleteSwitch = (): Operation[] => [
    // Its gateway port on the VRF's router, and the router with the VRF's last network.
    ...planRemoveGatewayPort(existing, router),
    del('Logical_Switch', [cond('_uuid', '==', existing._uuid)]),
    // Ports are non-root rows and would be collected anyway; deleting them says what happens.
    ...existing.ports.map((p: Uuid) => del('Logical_Switch_Port', [cond('_uuid', '==', p)])),
  ];
  if (existing.name === networkId) return deleteSwitch(); // a switch of the previous release
  const refs = networkRefs(existing);
  const mine = chassis === undefined ? undefined : refs.get(chassis);
  // The switch no longer records this host's network: its ref is gone already.
  if (chassis === undefined || mine !== networkId) return [];
  // Both waits on the refs read: two hosts removing theirs at once would otherwise both see the
  // other's and leave a switch no host refers to; one of them is planned again and removes it.
  if (refs.size > 1) {
    // Other hosts use the switch: only this host's ref goes (its endpoints went before it).
    return [refsUnchanged(existing), mutate('Logical_Switch', [cond('_uuid', '==', existing._uuid)], [['external_ids', 'delete', strMap({ [refKey(chassis)]: networkId })]])];
  }
  // The last ref: the switch goes, unless another host added its ref meanwhile (planned again).
  return [refsUnchanged(existing), ...deleteSwitch()];
}

/** True for a switch of the driver made before routing: it records no INTERNAL_KEY. */
export function needsRouting(sw: LogicalSwitch): boolean {
  return ownedByDriver(sw) && !sw.external_ids.has(INTERNAL_KEY) && sw.name !== EXTERNAL_SWITCH;
}

/**
 * Routes a switch made before routing (needsRouting): records whether its network is internal
 * (Docker says: upgrade.ts) and, unless it is or it has no gateway, adds its gateway port to its
 * VRF's router as CreateNetwork does now. [] when it was done meanwhile (by another host).
 */
export function planRouteSwitch(sw: LogicalSwitch, internal: boolean, router: RouterState, external?: ExternalContext): Operation[] {
  if (!needsRouting(sw)) return [];
  const vrf = sw.external_ids.get(VRF_KEY) ?? DEFAULT_VRF;
  const gateways = switchGateways(sw);
  const routed = !internal && gateways.length > 0;
  const marks = strMap({ [INTERNAL_KEY]: String(internal), ...(routed ? { [ROUTER_KEY]: routerName(vrf) } : {}) });
  const mutations: Mutation[] = [['external_ids', 'insert', marks]];
  if (routed) mutations.push(['ports', 'insert', [switchRouterPortRef()]]);
  return [
    // Another host routing the same switch at once changes its external_ids: this one fails and
    // is planned again, finding it done.
    refsUnchanged(sw),
    ...(routed ? [...planAddGatewayPort(vrf, sw.name, gateways, router, external), switchRouterPort(sw.name, SWITCH_ROUTER_PORT_ROW)] : []),
    mutate('Logical_Switch', [cond('_uuid', '==', sw._uuid)], mutations),
  ];
}
