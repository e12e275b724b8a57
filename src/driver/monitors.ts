// The tables and columns the driver's replicas keep: what its lookups and the readiness wait
// read, nothing that changes often (no statistics), so 30,000 ports stay cheap to hold.
// No Logical_Switch_Port.up or Interface.ofport: the driver does not need them, and each
// change of them would be one more notification to decode per port.

import type { MonitorCondition, MonitorRequest } from '../ovsdb/monitor';
import type { Replica } from '../ovsdb/replica';
import { errorMessage } from '../util/error-message';
import { localChassis } from './chassis';
import { CHASSIS_KEY } from './names';

// No Logical_Switch.ports either: a network with N ports would make every port added or removed
// anywhere cost O(N) here (the replica rebuilds the set from each diff, ovsdb-server diffs it
// for every host), 30-50 ms per call at 30,000 ports. The rare calls that check membership (a
// retried CreateEndpoint, DeleteNetwork) read the switch from the server.
const SWITCH_COLUMNS = ['name', 'external_ids'];
const PORT_COLUMNS = ['name', 'type', 'addresses', 'port_security', 'external_ids', 'options'];
// The VRFs' routers and their gateway ports: one router per VRF, one port per routed network,
// so as few as the switches; CreateNetwork and DeleteNetwork plan with them (plan-router.ts).
const ROUTER_COLUMNS = ['name', 'ports', 'nat', 'external_ids'];
const ROUTER_PORT_COLUMNS = ['name', 'mac', 'networks', 'external_ids'];
// The way out (plan-external.ts): the VRFs' SNAT rules (one per routed subnet) and the gateway
// hosts' group, as few again.
const NAT_COLUMNS = ['type', 'external_ip', 'logical_ip', 'external_ids'];
const GROUP_COLUMNS = ['name', 'ha_chassis', 'external_ids'];
const HA_CHASSIS_COLUMNS = ['chassis_name', 'priority', 'external_ids'];

/** Every switch and every port: for tools and tests that look at the whole Northbound. */
export const NB_MONITOR: Record<string, string[]> = {
  Logical_Switch: SWITCH_COLUMNS,
  Logical_Switch_Port: PORT_COLUMNS,
  Logical_Router: ROUTER_COLUMNS,
  Logical_Router_Port: ROUTER_PORT_COLUMNS,
  NAT: NAT_COLUMNS,
  HA_Chassis_Group: GROUP_COLUMNS,
  HA_Chassis: HA_CHASSIS_COLUMNS,
};

/**
 * The daemon's Northbound monitor: every switch, but only this chassis's ports, so a host's
 * cost follows its own containers, not the cluster's (100,000 ports of 1,000 other hosts never
 * arrive). All switches because they are few (one per Docker network, two small columns) and
 * CreateNetwork, Join (the network's MTU) and the views read them from the replica; narrowing
 * them to this host's networks would make each CreateNetwork a condition change first.
 * Every read of a port that may lie outside the condition (one written before a chassis rename
 * or without a chassis, another host's) falls back to the server on a replica miss (db.ts).
 */
export function nbMonitor(chassis: string | undefined): MonitorRequest {
  return {
    Logical_Switch: SWITCH_COLUMNS,
    Logical_Switch_Port: { columns: PORT_COLUMNS, where: portConditions(chassis) },
    Logical_Router: ROUTER_COLUMNS,
    Logical_Router_Port: ROUTER_PORT_COLUMNS,
    NAT: NAT_COLUMNS,
    HA_Chassis_Group: GROUP_COLUMNS,
    HA_Chassis: HA_CHASSIS_COLUMNS,
  };
}

/**
 * The ports the driver writes for this chassis (plan-endpoint.ts sets CHASSIS_KEY); none while
 * it is unknown. And every router-type port: one per routed network and per VRF's way out, as
 * few as the switches, whose uuids removing a network or a VRF needs.
 */
export function portConditions(chassis: string | undefined): MonitorCondition[] {
  const routerPorts: MonitorCondition = ['type', '==', 'router'];
  return chassis === undefined ? [routerPorts] : [['external_ids', 'includes', new Map([[CHASSIS_KEY, chassis]])], routerPorts];
}

export interface ConditionTarget {
  setMonitorConditions(table: string, where: readonly MonitorCondition[] | undefined): Promise<void>;
}

/**
 * Keeps the Northbound port condition on this host's chassis: when system-id changes (set late,
 * or renamed), the condition follows, the old chassis's ports leave the replica and the new
 * one's arrive. Returns a function that stops following.
 */
export function followChassis(ovs: Replica, nb: ConditionTarget, initial: string | undefined, logger: { info(msg: string): void; error(msg: string): void }): () => void {
  let current = initial;
  const onChange = (): void => {
    const next = localChassis(ovs);
    if (next === current) return;
    logger.info(`chassis is now ${next ?? '(none)'} (was ${current ?? '(none)'}): the Northbound replica follows its ports`);
    const was = current;
    current = next;
    nb.setMonitorConditions('Logical_Switch_Port', portConditions(next)).catch((e: unknown) => {
      // Tried again at the next local update.
      if (current === next) current = was;
      logger.error(`failed to follow chassis ${next ?? '(none)'} in the Northbound monitor: ${errorMessage(e)}; reads of this host's ports go to the server until it succeeds`);
    });
  };
  ovs.on('updated', onChange);
  return () => {
    ovs.off('updated', onChange);
  };
}

export const OVS_MONITOR: Record<string, string[]> = {
  Open_vSwitch: ['external_ids', 'bridges'],
  // datapath_type: Join turns TX checksum offload off on a userspace (netdev) datapath.
  Bridge: ['name', 'ports', 'datapath_type'],
  Port: ['name', 'interfaces', 'external_ids'],
  Interface: ['name', 'external_ids'],
};
