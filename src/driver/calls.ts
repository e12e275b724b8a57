// The dispatch table: each libnetwork call name to "parse the body, run the driver". The
// server knows nothing else of the driver; the driver knows nothing of HTTP.

import {
  parseCreateEndpoint, parseCreateNetwork, parseDiscovery, parseEmpty, parseEndpointRequest, parseJoin, parseNetworkRequest,
} from './api';
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

export interface CallOptions {
  /** Sandbox directories Join accepts besides Docker's defaults (--docker-exec-root). */
  readonly sandboxDirs?: readonly string[];
}

/** Call names as they appear in the URL path (`/NetworkDriver.Join`). */
export function driverCalls(d: DriverApi, opts: CallOptions = {}): ReadonlyMap<string, Call> {
  const sandboxDirs = opts.sandboxDirs ?? [];
  return new Map<string, Call>([
    ['Plugin.Activate', (b) => (parseEmpty('Plugin.Activate', b), done(d.activate()))],
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
    ['NetworkDriver.ProgramExternalConnectivity', (b) => done(d.programExternalConnectivity(parseEndpointRequest('ProgramExternalConnectivity', b)))],
    ['NetworkDriver.RevokeExternalConnectivity', (b) => done(d.revokeExternalConnectivity(parseEndpointRequest('RevokeExternalConnectivity', b)))],
    ['NetworkDriver.DiscoverNew', (b) => (parseDiscovery('DiscoverNew', b), done({}))],
    ['NetworkDriver.DiscoverDelete', (b) => (parseDiscovery('DiscoverDelete', b), done({}))],
  ]);
}
