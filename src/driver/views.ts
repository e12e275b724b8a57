// Read-only views built from the replicas: EndpointOperInfo's answer (on every `docker inspect`,
// so O(1) index lookups) and the debug view GET /NetworkDriver.Database returns.

import type { LogicalSwitchPort } from '../ovn/tables.generated';
import { logicalRouterFromRow, logicalRouterPortFromRow, logicalSwitchFromRow, logicalSwitchPortFromRow } from '../ovn/tables.generated';
import type { Replica } from '../ovsdb/replica';
import { BY_IFACE_ID } from './db';
import { CHASSIS_KEY, ENDPOINT_ID_KEY, GATEWAYS_KEY, hostLinkName, INTERNAL_KEY, MTU_KEY, NETWORK_ID_KEY, OVN_INSTALLED_KEY, SUBNETS_KEY, SWITCH_KEY, VRF_KEY } from './names';
import { networkRefs, ownedByDriver, portAddresses, switchRouter } from './records';
import { externalAddressOf } from './plan-external';
import { publishedOf } from './plan-ports';
import { isDockerId } from '../util/docker-id';

export interface StateView {
  readonly nb: Replica;
  readonly ovs: Replica;
  readonly chassis: string | undefined;
}

function interfaceState(ovs: Replica, endpointId: string): { name: string; installed: boolean } | undefined {
  const row = ovs.lookup('Interface', BY_IFACE_ID, endpointId)[0];
  if (!row) return undefined;
  const ids = row['external_ids'];
  return { name: typeof row['name'] === 'string' ? row['name'] : '', installed: ids instanceof Map && ids.get(OVN_INSTALLED_KEY) === 'true' };
}

export function operInfo(v: StateView, endpointId: string, lsp: LogicalSwitchPort): Record<string, unknown> {
  const { mac, ips } = portAddresses(lsp);
  const iface = interfaceState(v.ovs, endpointId);
  return {
    'ovn.logical_switch': lsp.external_ids.get(NETWORK_ID_KEY) ?? '',
    'ovn.logical_port': lsp.name,
    'ovn.host_interface': iface?.name ?? hostLinkName(endpointId),
    'ovn.mac_address': mac ?? '',
    'ovn.addresses': ips.join(','),
    'ovn.chassis': lsp.external_ids.get(CHASSIS_KEY) ?? '',
    'ovn.installed': iface?.installed ?? false,
  };
}

export function describeState(v: StateView, databases: Record<string, unknown>, extra: Record<string, unknown>): Record<string, unknown> {
  const lsps = [...v.nb.table('Logical_Switch_Port').values()].map(logicalSwitchPortFromRow).filter(ownedByDriver);
  // This host's ports per network, by the network id each port records: the replica keeps no
  // Logical_Switch.ports and only this chassis's ports (monitors.ts), so a count of the whole
  // cluster's would take a Northbound read on every status call.
  const portCount = new Map<string, number>();
  for (const p of lsps) {
    if (v.chassis === undefined || p.external_ids.get(CHASSIS_KEY) !== v.chassis) continue;
    const net = p.external_ids.get(NETWORK_ID_KEY);
    if (net !== undefined) portCount.set(net, (portCount.get(net) ?? 0) + 1);
  }
  const networks = [...v.nb.table('Logical_Switch').values()]
    .map(logicalSwitchFromRow)
    .filter(ownedByDriver)
    // This host's networks: a shared switch recording its chassis, or one of the previous
    // release (no refs), named by the network id.
    .flatMap((sw) => {
      const refs = networkRefs(sw);
      if (refs.size === 0) return isDockerId(sw.name) ? [{ sw, networkId: sw.name, hosts: [] as string[] }] : [];
      const mine = v.chassis === undefined ? undefined : refs.get(v.chassis);
      return mine === undefined ? [] : [{ sw, networkId: mine, hosts: [...refs.keys()].sort() }];
    })
    .map(({ sw, networkId, hosts }) => ({
      networkId,
      logicalSwitch: sw.name,
      hosts,
      subnets: sw.external_ids.get(SUBNETS_KEY) ?? '',
      gateways: sw.external_ids.get(GATEWAYS_KEY) ?? '',
      mtu: sw.external_ids.get(MTU_KEY) ?? null,
      vrf: sw.external_ids.get(VRF_KEY) ?? null,
      router: switchRouter(sw) ?? null,
      internal: sw.external_ids.has(INTERNAL_KEY) ? sw.external_ids.get(INTERNAL_KEY) === 'true' : null,
      portsOnThisHost: portCount.get(networkId) ?? 0,
    }));
  // Every VRF's router (they are few: one per VRF), with the networks its ports route, on any host.
  const vrfs = [...v.nb.table('Logical_Router').values()]
    .map(logicalRouterFromRow)
    .filter(ownedByDriver)
    .map((r) => {
      const ports = r.ports.flatMap((u) => {
        const row = v.nb.get('Logical_Router_Port', u.value);
        return row ? [logicalRouterPortFromRow(row)] : [];
      });
      const gw = ports.filter((p) => p.name.startsWith('gw/'));
      const out = ports.find((p) => p.name.startsWith('ext/'));
      return {
        vrf: r.external_ids.get(VRF_KEY) ?? '',
        router: r.name,
        networks: gw.map((p) => p.external_ids.get(SWITCH_KEY) ?? p.name).sort(),
        gateways: gw.flatMap((p) => p.networks).sort(),
        // Its way out (plan-external.ts): the address it leaves with and publishes ports on.
        externalAddress: out ? externalAddressOf(out.networks) ?? null : null,
      };
    })
    .sort((a, b) => a.vrf.localeCompare(b.vrf));
  const endpoints = lsps
    .filter((p) => v.chassis !== undefined && p.external_ids.get(CHASSIS_KEY) === v.chassis)
    .map((p) => {
      const { mac, ips } = portAddresses(p);
      const iface = interfaceState(v.ovs, p.name);
      return {
        endpointId: p.external_ids.get(ENDPOINT_ID_KEY) ?? p.name,
        networkId: p.external_ids.get(NETWORK_ID_KEY) ?? '',
        mac: mac ?? '',
        addresses: ips,
        hostInterface: iface?.name ?? null,
        ovnInstalled: iface?.installed ?? false,
        published: publishedOf(p),
      };
    });
  return { databases, chassis: v.chassis ?? null, ...extra, vrfs, networks, endpoints };
}
