// The tables and columns the driver's replicas keep: what its lookups and the readiness wait
// read, nothing that changes often (no statistics), so 30,000 ports stay cheap to hold.
// No optional (0..1) columns such as Logical_Switch_Port.up or Interface.ofport: the driver
// does not need them, and they are the columns most prone to update2 diff mistakes.

export const NB_MONITOR: Record<string, string[]> = {
  Logical_Switch: ['name', 'ports', 'external_ids'],
  Logical_Switch_Port: ['name', 'addresses', 'port_security', 'external_ids', 'options'],
};

export const OVS_MONITOR: Record<string, string[]> = {
  Open_vSwitch: ['external_ids', 'bridges'],
  Bridge: ['name', 'ports'],
  Port: ['name', 'interfaces', 'external_ids'],
  Interface: ['name', 'external_ids'],
};
