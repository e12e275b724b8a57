// What doctor reads from the local Open_vSwitch database in one transaction: the root row's
// external_ids (ovn-nb, system-id, encapsulation), its SSL row (TLS files for ssl: remotes, as
// ovs-vsctl uses them) and whether the integration bridge exists, with its datapath_type. Rows are checked, never cast.

import { OvsdbClient, select, Uuid, Value } from '../ovsdb';

export interface LocalSettings {
  readonly externalIds: ReadonlyMap<string, string>;
  readonly ssl: { readonly privateKey?: string; readonly certificate?: string; readonly caCert?: string };
  readonly bridgePresent: boolean;
  /** The bridge's datapath_type: 'netdev' (userspace), 'system' or '' (the kernel's); undefined without the bridge. */
  readonly bridgeDatapathType: string | undefined;
}

function stringMap(v: Value | undefined): Map<string, string> {
  const out = new Map<string, string>();
  if (v instanceof Map) {
    for (const [k, x] of v) if (typeof k === 'string' && typeof x === 'string') out.set(k, x);
  }
  return out;
}

/** An optional reference column: a bare uuid, or a set of zero or one. */
function optionalUuid(v: Value | undefined): Uuid | undefined {
  if (v instanceof Uuid) return v;
  if (Array.isArray(v) && v.length === 1 && v[0] instanceof Uuid) return v[0];
  return undefined;
}

function optionalString(v: Value | undefined): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

export async function readLocalSettings(client: OvsdbClient, bridge: string, timeoutMs: number): Promise<LocalSettings> {
  const [root, bridges] = await client.transact(
    [select('Open_vSwitch', [], ['external_ids', 'ssl']), select('Bridge', [['name', '==', bridge]], ['name', 'datapath_type'])],
    { timeoutMs },
  );
  const row = root?.rows?.[0];
  const externalIds = stringMap(row?.['external_ids']);
  const sslRef = optionalUuid(row?.['ssl']);
  let ssl: LocalSettings['ssl'] = {};
  if (sslRef !== undefined) {
    const [sslResult] = await client.transact([select('SSL', [['_uuid', '==', sslRef]], ['private_key', 'certificate', 'ca_cert'])], { timeoutMs });
    const s = sslResult?.rows?.[0];
    const privateKey = optionalString(s?.['private_key']);
    const certificate = optionalString(s?.['certificate']);
    const caCert = optionalString(s?.['ca_cert']);
    ssl = { ...(privateKey ? { privateKey } : {}), ...(certificate ? { certificate } : {}), ...(caCert ? { caCert } : {}) };
  }
  const bridgeRow = bridges?.rows?.[0];
  const datapathType = bridgeRow?.['datapath_type'];
  return { externalIds, ssl, bridgePresent: bridgeRow !== undefined, bridgeDatapathType: bridgeRow === undefined ? undefined : typeof datapathType === 'string' ? datapathType : '' };
}
