// This host's chassis name, the one rule for finding it: Open_vSwitch external_ids:system-id,
// which ovn-controller registers as its Chassis. Service and reconciler both read it here.

import type { Replica } from '../ovsdb/replica';

export const SYSTEM_ID_KEY = 'system-id';

/** The chassis name from the local replica; undefined while the database has none. */
export function localChassis(ovs: Replica): string | undefined {
  for (const row of ovs.table('Open_vSwitch').values()) {
    const ids = row['external_ids'];
    const id = ids instanceof Map ? ids.get(SYSTEM_ID_KEY) : undefined;
    if (typeof id === 'string' && id !== '') return id;
  }
  return undefined;
}
