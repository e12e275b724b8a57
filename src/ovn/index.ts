// Typed access to the OVN_Northbound and Open_vSwitch tables the driver uses.

export * from './tables.generated';
export * from './row';
