// CreateNetwork and DeleteNetwork as Northbound operations: one Logical_Switch per Docker
// network, named by the network id and marked as ours.

import type { LogicalSwitch } from '../ovn/tables.generated';
import { Uuid } from '../ovsdb/data';
import { cond, del, insert, Operation, strMap, wait } from '../ovsdb/operations';
import { formatCidr } from './addr';
import type { CreateNetworkRequest } from './api';
import { DriverError } from './errors';
import { GATEWAYS_KEY, MTU_KEY, NETWORK_ID_KEY, OPTIONS_KEY, OWNER_MARK, SUBNETS_KEY, VRF_KEY } from './names';
import { ownedByDriver, switchSubnets } from './records';

export function networkExternalIds(req: CreateNetworkRequest): Record<string, string> {
  const pools = [...req.ipv4, ...req.ipv6];
  const ids: Record<string, string> = {
    ...OWNER_MARK,
    [NETWORK_ID_KEY]: req.networkId,
    [SUBNETS_KEY]: pools.map((p) => formatCidr(p.pool)).join(','),
    [GATEWAYS_KEY]: pools.flatMap((p) => (p.gateway ? [formatCidr(p.gateway)] : [])).join(','),
    [OPTIONS_KEY]: JSON.stringify(req.options.generic),
  };
  if (req.options.vrf !== undefined) ids[VRF_KEY] = req.options.vrf;
  if (req.options.mtu !== undefined) ids[MTU_KEY] = String(req.options.mtu);
  return ids;
}

/** The operations creating the switch; [] when Docker retries and our switch is already there. */
export function planCreateNetwork(req: CreateNetworkRequest, existing: LogicalSwitch | undefined): Operation[] {
  if (existing) {
    if (!ownedByDriver(existing)) {
      throw new DriverError('CONFLICT', `failed to create logical switch "${req.networkId}": a switch of that name exists that the ovn driver did not create; remove it (ovn-nbctl ls-del ${req.networkId}) or recreate the Docker network`);
    }
    const want = [...req.ipv4, ...req.ipv6].map((p) => formatCidr(p.pool)).sort().join(',');
    const have = switchSubnets(existing).map(formatCidr).sort().join(',');
    if (want !== have) {
      throw new DriverError('CONFLICT', `failed to create logical switch "${req.networkId}": it already exists with subnets "${have}", not "${want}"; remove the Docker network and create it again`);
    }
    return [];
  }
  return [
    // No switch of this name may exist when we commit: a concurrent create makes this fail, not duplicate.
    wait('Logical_Switch', [cond('name', '==', req.networkId)], ['name'], '==', [], 0),
    insert('Logical_Switch', { name: req.networkId, external_ids: strMap(networkExternalIds(req)) }),
  ];
}

/** The operations deleting our switch and its remaining ports; [] when it is already gone. */
export function planDeleteNetwork(networkId: string, existing: LogicalSwitch | undefined): Operation[] {
  // Already gone: success, so Docker's retries and a second `network rm` succeed.
  if (!existing) return [];
  if (!ownedByDriver(existing)) {
    throw new DriverError('CONFLICT', `failed to delete logical switch "${networkId}": it was not created by the ovn driver, so it is left alone; remove it yourself if it is no longer used`);
  }
  const ports: Uuid[] = existing.ports;
  return [
    del('Logical_Switch', [cond('_uuid', '==', existing._uuid)]),
    // Ports are non-root rows and would be collected anyway; deleting them says what happens.
    ...ports.map((p) => del('Logical_Switch_Port', [cond('_uuid', '==', p)])),
  ];
}
