// The tables and columns the driver's replicas keep: what its lookups and the readiness wait
// read, nothing that changes often (no statistics), so 30,000 ports stay cheap to hold.
// No Logical_Switch_Port.up or Interface.ofport: the driver does not need them, and each
// change of them would be one more notification to decode per port.

// No Logical_Switch.ports either: a network with N ports would make every port added or removed
// anywhere cost O(N) here (the replica rebuilds the set from each diff, ovsdb-server diffs it
// for every host), 30-50 ms per call at 30,000 ports. The rare calls that check membership (a
// retried CreateEndpoint, DeleteNetwork) read the switch from the server.
export const NB_MONITOR: Record<string, string[]> = {
  Logical_Switch: ['name', 'external_ids'],
  Logical_Switch_Port: ['name', 'addresses', 'port_security', 'external_ids', 'options'],
};

export const OVS_MONITOR: Record<string, string[]> = {
  Open_vSwitch: ['external_ids', 'bridges'],
  // datapath_type: Join turns TX checksum offload off on a userspace (netdev) datapath.
  Bridge: ['name', 'ports', 'datapath_type'],
  Port: ['name', 'interfaces', 'external_ids'],
  Interface: ['name', 'external_ids'],
};
