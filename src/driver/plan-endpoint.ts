// CreateEndpoint and DeleteEndpoint as Northbound operations: one Logical_Switch_Port per
// endpoint, named by the endpoint id, with addresses and port_security "MAC IPv4 [IPv6]", added
// to its switch in the same transaction. On a switch shared by several hosts, whose Docker
// IPAMs each hand out the same addresses, the transaction also waits that no port of the switch
// holds the port's addresses (keyed by the external_ids each port of a shared switch records).

import type { LogicalSwitch, LogicalSwitchPort } from '../ovn/tables.generated';
import { namedUuid } from '../ovsdb/data';
import { cond, del, insert, mutate, Operation, strMap, wait } from '../ovsdb/operations';
import { chooseMac, formatCidr, poolContains } from './addr';
import type { CreateEndpointRequest, CreateEndpointResponse, EndpointRequest } from './api';
import { DriverError } from './errors';
import { CHASSIS_KEY, ENDPOINT_ID_KEY, IPAM_KEY, IPV4_KEY, IPV6_KEY, NETWORK_ID_KEY, OWNER_MARK, rowName, SWITCH_KEY } from './names';
import { networkRefs, ownedByDriver, portAddresses, switchSubnets } from './records';

export interface EndpointContext {
  /** This host's Open_vSwitch external_ids:system-id, the chassis ovn-controller registers. */
  readonly chassis: string | undefined;
  /** Ports of the switch known to hold the endpoint's addresses (read after the address wait failed). */
  readonly holders?: readonly LogicalSwitchPort[];
}

/** True for a switch shared by (VRF, subnets), not one of the previous release named by the network. */
export function isSharedSwitch(sw: LogicalSwitch, networkId: string): boolean {
  return sw.name !== networkId;
}

/** The external_ids keys a port's address is found by: its switch and the address. */
export function addressKeys(switchName: string, family: 4 | 6, ip: string): Record<string, string> {
  return { [SWITCH_KEY]: switchName, [family === 4 ? IPV4_KEY : IPV6_KEY]: ip };
}

/** The addresses Docker gave the endpoint, as [family, ip]. */
export function requestedAddresses(req: CreateEndpointRequest): [4 | 6, string][] {
  return [req.address, req.addressIPv6].flatMap((a) => (a ? [[a.family, a.ip] as [4 | 6, string]] : []));
}

export interface CreateEndpointPlan {
  /** [] when the port already exists as asked (a retried CreateEndpoint). */
  readonly nb: Operation[];
  readonly response: CreateEndpointResponse;
  readonly addresses: string;
}

function notFound(req: EndpointRequest): DriverError {
  return new DriverError('NOT_FOUND', `failed to create logical switch port "${req.endpointId}": network "${req.networkId}" has no logical switch in OVN; it was removed outside Docker: remove the Docker network and create it again`);
}

/** "MAC IPv4 IPv6", the form of both `addresses` and `port_security`. */
export function addressesOf(mac: string, req: CreateEndpointRequest): string {
  return [mac, ...(req.address ? [req.address.ip] : []), ...(req.addressIPv6 ? [req.addressIPv6.ip] : [])].join(' ');
}

export function planCreateEndpoint(
  req: CreateEndpointRequest,
  sw: LogicalSwitch | undefined,
  existing: LogicalSwitchPort | undefined,
  ctx: EndpointContext,
): CreateEndpointPlan {
  if (!sw || !ownedByDriver(sw)) throw notFound(req);
  const subnets = switchSubnets(sw);
  for (const a of [req.address, req.addressIPv6]) {
    if (a && subnets.length > 0 && !subnets.some((s) => poolContains(s, a.family, a.ip))) {
      throw new DriverError('INVALID_REQUEST', `failed to create logical switch port "${req.endpointId}": address ${formatCidr(a)} is outside the network's subnets ${subnets.map(formatCidr).join(', ')}`);
    }
  }
  // A field Docker supplied must come back empty; a MAC we chose is returned.
  const response = (mac: string): CreateEndpointResponse => (req.mac === undefined ? { Interface: { MacAddress: mac } } : {});

  if (existing) {
    const have = portAddresses(existing);
    const mac = req.mac ?? have.mac ?? chooseMac(req.address?.ip, req.endpointId);
    const want = addressesOf(mac, req);
    if (!ownedByDriver(existing) || !sw.ports.some((p) => p.equals(existing._uuid)) || existing.addresses[0] !== want) {
      throw new DriverError('CONFLICT', `failed to create logical switch port "${req.endpointId}": it already exists with addresses "${existing.addresses.join(' ')}" (wanted "${want}"); remove it with ovn-nbctl lsp-del ${req.endpointId} if no container uses it`);
    }
    // Docker retried a CreateEndpoint that succeeded: answer as the first time.
    return { nb: [], response: response(mac), addresses: want };
  }

  const shared = isSharedSwitch(sw, req.networkId);
  for (const other of ctx.holders ?? []) {
    if (other.name === req.endpointId) continue;
    const ip = requestedAddresses(req).find(([f, a]) => other.external_ids.get(f === 4 ? IPV4_KEY : IPV6_KEY) === a)?.[1] ?? portAddresses(other).ips.join(' ');
    const host = other.external_ids.get(CHASSIS_KEY) ?? 'an unknown host';
    throw new DriverError('CONFLICT', `failed to create logical switch port "${req.endpointId}": address ${ip} is already taken on network "${sw.name}" by endpoint ${other.name} on host ${host}; Docker's default IPAM hands out addresses on each host alone, so on a network shared by several hosts create it with --ipam-driver ovn, or give each host its own --ip-range within the subnet`);
  }

  const mac = req.mac ?? chooseMac(req.address?.ip, req.endpointId);
  const addresses = addressesOf(mac, req);
  const externalIds: Record<string, string> = {
    ...OWNER_MARK,
    [ENDPOINT_ID_KEY]: req.endpointId,
    [NETWORK_ID_KEY]: req.networkId,
  };
  if (shared) for (const [family, ip] of requestedAddresses(req)) Object.assign(externalIds, addressKeys(sw.name, family, ip));
  const options: Record<string, string> = {};
  if (ctx.chassis !== undefined) {
    externalIds[CHASSIS_KEY] = ctx.chassis;
    // Bind the port on this host only: ovn-controller claims it as soon as the interface appears.
    options['requested-chassis'] = ctx.chassis;
  }
  const lsp = rowName('lsp', req.endpointId);
  // Only a switch other hosts use can hold an address Docker's IPAM here did not hand out: the
  // check that no port holds it makes the server scan every port of the Northbound, a cost that
  // grows with the cluster. A switch of this host alone skips it, on condition that its refs
  // are still the ones read: a host joining meanwhile fails that wait, and the plan is made again.
  // Addresses of the driver's IPAM are unique across the cluster already (every host of the
  // switch uses it: CreateNetwork refuses a mix).
  const otherHosts = shared && sw.external_ids.get(IPAM_KEY) !== 'ovn' && [...networkRefs(sw).keys()].some((c) => c !== ctx.chassis);
  return {
    nb: [
      // The switch must still be there (and, shared by this host alone, still be). A port of this
      // name created meanwhile makes the insert fail on the schema's unique name index.
      shared && !otherHosts
        ? wait('Logical_Switch', [cond('_uuid', '==', sw._uuid)], ['external_ids'], '==', [{ external_ids: sw.external_ids }], 0)
        : wait('Logical_Switch', [cond('_uuid', '==', sw._uuid)], ['name'], '==', [{ name: sw.name }], 0),
      // Shared with other hosts: no port of the switch (on any host) holds these addresses.
      ...(otherHosts ? requestedAddresses(req).map(([family, ip]) => wait('Logical_Switch_Port', [cond('external_ids', 'includes', strMap(addressKeys(sw.name, family, ip)))], ['name'], '==', [], 0)) : []),
      insert('Logical_Switch_Port', { name: req.endpointId, addresses: [addresses], port_security: [addresses], external_ids: strMap(externalIds), options: strMap(options) }, lsp),
      mutate('Logical_Switch', [cond('_uuid', '==', sw._uuid)], [['ports', 'insert', [namedUuid(lsp)]]]),
    ],
    response: response(mac),
    addresses,
  };
}

/** Removes our port from its switch; [] when it is already gone. */
export function planDeleteEndpoint(req: EndpointRequest, existing: LogicalSwitchPort | undefined): Operation[] {
  // Already gone: success (Docker retries, and rolls back a failed container start with it).
  if (!existing) return [];
  if (!ownedByDriver(existing)) {
    throw new DriverError('CONFLICT', `failed to delete logical switch port "${req.endpointId}": it was not created by the ovn driver, so it is left alone`);
  }
  return [
    mutate('Logical_Switch', [cond('ports', 'includes', [existing._uuid])], [['ports', 'delete', [existing._uuid]]]),
    del('Logical_Switch_Port', [cond('_uuid', '==', existing._uuid)]),
  ];
}
