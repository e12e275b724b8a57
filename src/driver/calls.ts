// The dispatch table: each libnetwork call name to "parse the body, run the driver". The
// server knows nothing else of the driver; the driver knows nothing of HTTP.

import {
  parseCreateEndpoint, parseCreateNetwork, parseDiscovery, parseEmpty, parseEndpointRequest, parseJoin, parseNetworkRequest, parseProgramExternalConnectivity,
} from './api';
import {
  parseReleaseAddress, parseReleasePool, parseRequestAddress, parseRequestPool,
} from './api-ipam';
import type { OvnIpam } from './ipam';
import type { OvnDriver } from './service';

export interface CallResult {
  readonly body: object;
  /** Join's wait for ovn-installed, ms (the server shows it when asked for timing headers). */
  readonly readyWaitMs?: number;
}

export type Call = (body: unknown) => Promise<CallResult>;

/** What the server needs of the driver (OvnDriver has it; server tests may use their own). */
export type DriverApi = Pick<
  OvnDriver,
  | 'activate' | 'getCapabilities' | 'createNetwork' | 'deleteNetwork' | 'allocateNetwork' | 'freeNetwork'
  | 'createEndpoint' | 'deleteEndpoint' | 'endpointOperInfo' | 'join' | 'leave'
  | 'programExternalConnectivity' | 'revokeExternalConnectivity' | 'describe'
>;

const done = async (p: object | Promise<object>): Promise<CallResult> => ({ body: await p });

/** What the server needs of the IPAM driver. */
export type IpamApi = Pick<OvnIpam, 'getCapabilities' | 'getDefaultAddressSpaces' | 'requestPool' | 'releasePool' | 'requestAddress' | 'releaseAddress'>;

export interface CallOptions {
  /** Sandbox directories Join accepts besides Docker's defaults (--docker-exec-root). */
  readonly sandboxDirs?: readonly string[];
  /** The IPAM driver on the same socket: Plugin.Activate then names IpamDriver too. */
  readonly ipam?: IpamApi;
}

/** Call names as they appear in the URL path (`/NetworkDriver.Join`). */
export function driverCalls(d: DriverApi, opts: CallOptions = {}): ReadonlyMap<string, Call> {
  const sandboxDirs = opts.sandboxDirs ?? [];
  return new Map<string, Call>([
    [
      'Plugin.Activate',
      async (b) => {
        parseEmpty('Plugin.Activate', b);
        const r = d.activate();
        return { body: opts.ipam ? { Implements: [...r.Implements, 'IpamDriver'] } : r };
      },
    ],
    ['NetworkDriver.GetCapabilities', (b) => (parseEmpty('GetCapabilities', b), done(d.getCapabilities()))],
    ['NetworkDriver.CreateNetwork', (b) => done(d.createNetwork(parseCreateNetwork(b)))],
    ['NetworkDriver.DeleteNetwork', (b) => done(d.deleteNetwork(parseNetworkRequest('DeleteNetwork', b)))],
    ['NetworkDriver.AllocateNetwork', async (b) => d.allocateNetwork(parseNetworkRequest('AllocateNetwork', b))],
    ['NetworkDriver.FreeNetwork', async (b) => d.freeNetwork(parseNetworkRequest('FreeNetwork', b))],
    ['NetworkDriver.CreateEndpoint', (b) => done(d.createEndpoint(parseCreateEndpoint(b)))],
    ['NetworkDriver.DeleteEndpoint', (b) => done(d.deleteEndpoint(parseEndpointRequest('DeleteEndpoint', b)))],
    ['NetworkDriver.EndpointOperInfo', (b) => done(d.endpointOperInfo(parseEndpointRequest('EndpointOperInfo', b)))],
    [
      'NetworkDriver.Join',
      async (b) => {
        const r = await d.join(parseJoin(b, sandboxDirs));
        return { body: r.response, readyWaitMs: r.readyWaitMs };
      },
    ],
    ['NetworkDriver.Leave', (b) => done(d.leave(parseEndpointRequest('Leave', b)))],
    ['NetworkDriver.ProgramExternalConnectivity', (b) => done(d.programExternalConnectivity(parseProgramExternalConnectivity(b)))],
    ['NetworkDriver.RevokeExternalConnectivity', (b) => done(d.revokeExternalConnectivity(parseEndpointRequest('RevokeExternalConnectivity', b)))],
    ['NetworkDriver.DiscoverNew', (b) => (parseDiscovery('DiscoverNew', b), done({}))],
    ['NetworkDriver.DiscoverDelete', (b) => (parseDiscovery('DiscoverDelete', b), done({}))],
  ]);
}

/**
 * The IpamDriver calls. Their failures answer {"Error": "..."} (libnetwork's ipams/remote api.Response),
 * not the network driver's {"Err": ...}: the server tells them apart by this table.
 */
export function ipamCalls(ipam: IpamApi): ReadonlyMap<string, Call> {
  return new Map<string, Call>([
    ['IpamDriver.GetCapabilities', (b) => (parseEmpty('IpamDriver.GetCapabilities', b), done(ipam.getCapabilities()))],
    ['IpamDriver.GetDefaultAddressSpaces', (b) => (parseEmpty('GetDefaultAddressSpaces', b), done(ipam.getDefaultAddressSpaces()))],
    ['IpamDriver.RequestPool', (b) => done(ipam.requestPool(parseRequestPool(b)))],
    ['IpamDriver.ReleasePool', (b) => done(ipam.releasePool(parseReleasePool(b)))],
    ['IpamDriver.RequestAddress', (b) => done(ipam.requestAddress(parseRequestAddress(b)))],
    ['IpamDriver.ReleaseAddress', (b) => done(ipam.releaseAddress(parseReleaseAddress(b)))],
    ['IpamDriver.DiscoverNew', (b) => (parseDiscovery('DiscoverNew', b), done({}))],
    ['IpamDriver.DiscoverDelete', (b) => (parseDiscovery('DiscoverDelete', b), done({}))],
  ]);
}
