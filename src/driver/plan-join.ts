// Join and Leave as link steps plus local Open_vSwitch operations. Join: a veth pair (host end
// `ovn…`, container end `ovc…` carrying the port's MAC), the host end as an OVS Port/Interface
// on the integration bridge with external_ids:iface-id = the logical port's name. Leave undoes it.
// On a userspace (netdev) datapath the container end's TX checksum offload is turned off: a veth
// hands TCP and UDP packets over with partial checksums, which OVS's userspace datapath (3.1)
// forwards uncompleted, so the receiver drops them (ping, whose checksum is never offloaded, works).
// What a crashed attempt left behind is reused when it is right, replaced when it is not.

import type { LinkInfo } from '../netlink/types';
import type { Bridge, Interface, LogicalSwitchPort, Port } from '../ovn/tables.generated';
import { namedUuid } from '../ovsdb/data';
import { cond, insert, mutate, Operation, strMap, wait } from '../ovsdb/operations';
import type { EndpointRequest, JoinResponse } from './api';
import { DriverError } from './errors';
import { ATTACHED_MAC_KEY, containerLinkName, ENDPOINT_ID_KEY, hasOwnerMark, hostLinkName, IFACE_ID_KEY, IFACE_STATUS_KEY, OWNER_MARK, rowName } from './names';
import { ovsPortEndpoint, ovsPortIsEndpoints, ovsPortIsOthers, portAddresses } from './records';

export type LinkStep =
  | { readonly kind: 'delete'; readonly name: string }
  | { readonly kind: 'create'; readonly name: string; readonly peerName: string; readonly peerMac: string; readonly mtu: number }
  /** `ethtool -K NAME tx off`; it stays with the link when Docker moves and renames it. */
  | { readonly kind: 'tx-checksum-off'; readonly name: string };

/** OVS's userspace datapath, which does not complete partial checksums (see the top). */
export const USERSPACE_DATAPATH = 'netdev';

export interface JoinState {
  readonly lsp: LogicalSwitchPort | undefined;
  readonly bridgeName: string;
  readonly bridge: Bridge | undefined;
  /** The OVS Port named like the host end, and its first Interface, if any. */
  readonly port: Port | undefined;
  readonly iface: Interface | undefined;
  readonly hostLink: LinkInfo | undefined;
  readonly containerLink: LinkInfo | undefined;
  readonly mtu: number;
  /** The routed network's gateway addresses (records.ts joinGateways); {} when unrouted. */
  readonly gateways?: JoinGateways;
}

export interface JoinPlan {
  readonly links: LinkStep[];
  /** True when `links` creates the pair (so a later failure must delete it again). */
  readonly createsLinks: boolean;
  readonly ovs: Operation[];
  readonly response: JoinResponse;
  readonly hostName: string;
  readonly mac: string;
}

/**
 * Gateway / GatewayIPv6: the network's gateway port on its VRF's router, which Docker makes the
 * container's default route; none on an --internal network (or one without a router).
 * DisableGatewayService: otherwise Docker would add a docker_gwbridge leg to every container.
 */
export function joinResponse(endpointId: string, gateways: JoinGateways = {}): JoinResponse {
  return {
    InterfaceName: { SrcName: containerLinkName(endpointId), DstPrefix: 'eth' },
    ...(gateways.ipv4 === undefined ? {} : { Gateway: gateways.ipv4 }),
    ...(gateways.ipv6 === undefined ? {} : { GatewayIPv6: gateways.ipv6 }),
    DisableGatewayService: true,
  };
}

export interface JoinGateways {
  readonly ipv4?: string;
  readonly ipv6?: string;
}

function linksReusable(s: JoinState, mac: string): boolean {
  const h = s.hostLink;
  const c = s.containerLink;
  return h !== undefined && c !== undefined && h.kind === 'veth' && c.kind === 'veth' && h.up && c.mac === mac && h.mtu === s.mtu && c.mtu === s.mtu;
}

export function planJoin(req: EndpointRequest, s: JoinState): JoinPlan {
  if (!s.lsp) {
    throw new DriverError('NOT_FOUND', `failed to join endpoint "${req.endpointId}": it has no logical switch port in OVN (CreateEndpoint did not run or it was removed); remove the container and start it again`);
  }
  const { mac } = portAddresses(s.lsp);
  if (mac === undefined) {
    throw new DriverError('CONFLICT', `failed to join endpoint "${req.endpointId}": its logical switch port has no MAC address in "addresses" (${JSON.stringify(s.lsp.addresses)}); remove the container and start it again`);
  }
  if (!s.bridge) {
    throw new DriverError('HOST_NOT_READY', `failed to join endpoint "${req.endpointId}": the integration bridge "${s.bridgeName}" does not exist; is ovn-controller running? (ovn-driver doctor)`);
  }
  const hostName = hostLinkName(req.endpointId);
  const peerName = containerLinkName(req.endpointId);
  if (ovsPortIsOthers(s.port, s.iface, req.endpointId)) {
    throw new DriverError('CONFLICT', `failed to join endpoint "${req.endpointId}": its host interface name ${hostName} is taken by the OVS port of endpoint "${ovsPortEndpoint(s.port, s.iface) ?? ''}", whose id starts with the same 12 hex digits; the driver leaves that port and veth alone: remove this container and start it again (Docker then picks a new endpoint id)`);
  }

  const links: LinkStep[] = [];
  const reuse = linksReusable(s, mac);
  if (!reuse) {
    // Left by a crashed attempt but not as needed: start again. Deleting one end removes both.
    if (s.hostLink) links.push({ kind: 'delete', name: hostName });
    if (s.containerLink) links.push({ kind: 'delete', name: peerName });
    links.push({ kind: 'create', name: hostName, peerName, peerMac: mac, mtu: s.mtu });
  }
  // Also on a reused pair: a crash may have come between its creation and this step.
  if (s.bridge.datapath_type === USERSPACE_DATAPATH) links.push({ kind: 'tx-checksum-off', name: peerName });

  const ovs: Operation[] = [];
  const portOk = ovsPortIsEndpoints(s.port, s.iface, req.endpointId) && s.iface?.external_ids.get(ATTACHED_MAC_KEY) === mac && s.bridge.ports.some((p) => s.port !== undefined && p.equals(s.port._uuid));
  if (!portOk) {
    if (s.port) {
      // A port of our name that is not right (another bridge, another endpoint's MAC): replace it.
      ovs.push(mutate('Bridge', [cond('ports', 'includes', [s.port._uuid])], [['ports', 'delete', [s.port._uuid]]]));
    }
    const ifaceRow = rowName('iface', req.endpointId);
    const portRow = rowName('port', req.endpointId);
    ovs.push(
      // The bridge must exist at commit: mutating a missing one would silently drop the port.
      wait('Bridge', [cond('name', '==', s.bridgeName)], ['name'], '==', [{ name: s.bridgeName }], 0),
      insert('Interface', {
        name: hostName,
        external_ids: strMap({ [IFACE_ID_KEY]: req.endpointId, [ATTACHED_MAC_KEY]: mac, [IFACE_STATUS_KEY]: 'active', ...OWNER_MARK }),
      }, ifaceRow),
      insert('Port', { name: hostName, interfaces: [namedUuid(ifaceRow)], external_ids: strMap({ ...OWNER_MARK, [ENDPOINT_ID_KEY]: req.endpointId }) }, portRow),
      mutate('Bridge', [cond('name', '==', s.bridgeName)], [['ports', 'insert', [namedUuid(portRow)]]]),
    );
  }
  return { links, createsLinks: !reuse, ovs, response: joinResponse(req.endpointId, s.gateways), hostName, mac };
}

export interface LeavePlan {
  readonly ovs: Operation[];
  readonly links: LinkStep[];
}

/**
 * Removes the OVS port (if it is the endpoint's) and the veth; empty steps when already gone.
 * When the port of that name is another endpoint's (ids sharing the first 12 hex digits), so is
 * the veth: `othersPort` says whether to refuse (Leave) or to leave both alone (DeleteEndpoint).
 */
export function planLeave(req: EndpointRequest, port: Port | undefined, iface: Interface | undefined, hostLink: LinkInfo | undefined, othersPort: 'refuse' | 'skip'): LeavePlan {
  if (ovsPortIsOthers(port, iface, req.endpointId)) {
    if (othersPort === 'skip') return { ovs: [], links: [] };
    const hostName = hostLinkName(req.endpointId);
    throw new DriverError('CONFLICT', `failed to leave endpoint "${req.endpointId}": its host interface name ${hostName} belongs to the OVS port of endpoint "${ovsPortEndpoint(port, iface) ?? ''}", whose id starts with the same 12 hex digits; that port and veth are left alone, and this endpoint has none to remove`);
  }
  const ovs: Operation[] = [];
  if (port && ovsPortIsEndpoints(port, iface, req.endpointId) && (hasOwnerMark(port.external_ids) || hasOwnerMark(iface?.external_ids))) {
    // Port and Interface are non-root rows: unlinked from the bridge, they are deleted.
    ovs.push(mutate('Bridge', [cond('ports', 'includes', [port._uuid])], [['ports', 'delete', [port._uuid]]]));
  }
  const links: LinkStep[] = hostLink ? [{ kind: 'delete', name: hostLinkName(req.endpointId) }] : [];
  return { ovs, links };
}
