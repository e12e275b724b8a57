// Start-up discovery: what the daemon reads from the local Open_vSwitch database before it can
// serve: the root row's external_ids (ovn-nb, system-id, encapsulation) and whether the
// integration bridge exists (with its datapath_type), in one transaction, then the root row's SSL row (TLS files for ssl:
// remotes, as ovs-vsctl uses them); and from those and the options, the Northbound remote and its
// TLS files. main.ts runs it at start-up; `ovn-driver doctor` reads the same settings to check
// them. Rows are checked, never cast.

import type { Config } from './config';
import { select, Uuid, Value } from './ovsdb';
import type { OvsdbClient, TlsFiles } from './ovsdb';

/** What discovery needs of the local database's client. */
export type LocalDb = Pick<OvsdbClient, 'transact'>;

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

export async function readLocalSettings(client: LocalDb, bridge: string, timeoutMs: number): Promise<LocalSettings> {
  const [root, bridges] = await client.transact(
    [select('Open_vSwitch', [], ['external_ids', 'ssl']), select('Bridge', [['name', '==', bridge]], ['name', 'datapath_type'])],
    { timeoutMs, readOnly: true },
  );
  const row = root?.rows?.[0];
  const externalIds = stringMap(row?.['external_ids']);
  const sslRef = optionalUuid(row?.['ssl']);
  let ssl: LocalSettings['ssl'] = {};
  if (sslRef !== undefined) {
    const [sslResult] = await client.transact([select('SSL', [['_uuid', '==', sslRef]], ['private_key', 'certificate', 'ca_cert'])], { timeoutMs, readOnly: true });
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

export type DiscoveryErrorCode = 'NB_REMOTE_UNSET' | 'TLS_FILES_MISSING';

/** Start-up stops: the options and the local database together do not say how to reach a database. */
export class DiscoveryError extends Error {
  readonly code: DiscoveryErrorCode;
  constructor(code: DiscoveryErrorCode, message: string) {
    super(message);
    this.name = 'DiscoveryError';
    this.code = code;
  }
}

/** TLS files for `remotes` if any is ssl:, from the options or else the local database's SSL row. */
export function tlsFor(remotes: string, tls: Config['tls'], fromDb: LocalSettings['ssl']): TlsFiles | undefined {
  if (!remotes.split(',').some((r) => r.trim().startsWith('ssl:'))) return undefined;
  const privateKey = tls.privateKey ?? fromDb.privateKey;
  const certificate = tls.certificate ?? fromDb.certificate;
  const caCert = tls.caCert ?? fromDb.caCert;
  if (privateKey === undefined || certificate === undefined || caCert === undefined) {
    throw new DiscoveryError('TLS_FILES_MISSING', `failed to connect to "${remotes}": ssl remotes need a private key, a certificate and a CA certificate; pass --private-key, --certificate and --ca-cert, or set them with ovs-vsctl set-ssl`);
  }
  return { privateKey, certificate, caCert };
}

export interface Northbound {
  readonly remotes: string;
  readonly tls: TlsFiles | undefined;
  /** Whether the integration bridge exists yet (ovn-controller creates it). */
  readonly bridgePresent: boolean;
}

/** The Northbound remote (--nb, else external_ids:ovn-nb) and its TLS files, read through `ovs`. */
export async function discoverNorthbound(ovs: LocalDb, config: Pick<Config, 'nbRemote' | 'tls' | 'bridge' | 'dbTimeoutMs'>): Promise<Northbound> {
  const local = await readLocalSettings(ovs, config.bridge, config.dbTimeoutMs);
  const remotes = config.nbRemote ?? local.externalIds.get('ovn-nb');
  if (remotes === undefined || remotes === '') {
    throw new DiscoveryError('NB_REMOTE_UNSET', 'failed to find the OVN Northbound database: Open_vSwitch external_ids:ovn-nb is not set; set it (ovs-vsctl set open . external_ids:ovn-nb=tcp:HOST:6641) or pass --nb');
  }
  return { remotes, tls: tlsFor(remotes, config.tls, local.ssl), bridgePresent: local.bridgePresent };
}
