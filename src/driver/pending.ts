// The driver as the server sees it while the daemon starts: the socket is served at once, so that
// Docker finds the plugin and every call gets an answer. Until the daemon has reached its local
// Open_vSwitch database (which names the Northbound), calls that need the databases wait for it up
// to the database timeout, then fail with DATABASE_UNAVAILABLE saying what is awaited and why;
// once the real driver is ready, every call goes to it.

import type { DriverApi } from './calls';
import { DriverError } from './errors';

type Async<K extends keyof DriverApi> = DriverApi[K] extends (...args: infer A) => Promise<infer R> ? (...args: A) => Promise<R> : never;

export interface PendingDriverOptions {
  /** What the daemon is waiting for, with the last error seen: "the local Open_vSwitch database at unix:... (last error: ...)". */
  readonly waitingFor: () => string;
  /** How long a call waits for the driver to become ready before it fails (the database timeout). */
  readonly waitMs: number;
  /** The calls that need no database, answered as the real driver does. */
  readonly constant: Pick<DriverApi, 'activate' | 'getCapabilities' | 'allocateNetwork' | 'freeNetwork'>;
}

export class PendingDriver implements DriverApi {
  private target: DriverApi | undefined;
  private readonly readyWaiters = new Set<() => void>();

  constructor(private readonly opts: PendingDriverOptions) {}

  /** From now on every call goes to `driver`; calls waiting meanwhile go on to it too. */
  ready(driver: DriverApi): void {
    this.target = driver;
    for (const wake of [...this.readyWaiters]) wake();
    this.readyWaiters.clear();
  }

  get isReady(): boolean {
    return this.target !== undefined;
  }

  activate: DriverApi['activate'] = () => (this.target ?? this.opts.constant).activate();
  getCapabilities: DriverApi['getCapabilities'] = () => (this.target ?? this.opts.constant).getCapabilities();
  allocateNetwork: DriverApi['allocateNetwork'] = (req) => (this.target ?? this.opts.constant).allocateNetwork(req);
  freeNetwork: DriverApi['freeNetwork'] = (req) => (this.target ?? this.opts.constant).freeNetwork(req);

  createNetwork: Async<'createNetwork'> = (req) => this.call('create network', req.networkId, (d) => d.createNetwork(req));
  deleteNetwork: Async<'deleteNetwork'> = (req) => this.call('delete network', req.networkId, (d) => d.deleteNetwork(req));
  createEndpoint: Async<'createEndpoint'> = (req) => this.call('create endpoint', req.endpointId, (d) => d.createEndpoint(req));
  deleteEndpoint: Async<'deleteEndpoint'> = (req) => this.call('delete endpoint', req.endpointId, (d) => d.deleteEndpoint(req));
  endpointOperInfo: Async<'endpointOperInfo'> = (req) => this.call('read endpoint', req.endpointId, (d) => d.endpointOperInfo(req));
  join: Async<'join'> = (req) => this.call('join endpoint', req.endpointId, (d) => d.join(req));
  leave: Async<'leave'> = (req) => this.call('leave endpoint', req.endpointId, (d) => d.leave(req));
  programExternalConnectivity: Async<'programExternalConnectivity'> = (req) =>
    this.call('program external connectivity for', req.endpointId, (d) => d.programExternalConnectivity(req));
  revokeExternalConnectivity: Async<'revokeExternalConnectivity'> = (req) =>
    this.call('revoke external connectivity of', req.endpointId, (d) => d.revokeExternalConnectivity(req));

  describe: DriverApi['describe'] = () => this.target?.describe() ?? { state: 'starting', waitingFor: this.opts.waitingFor() };

  private async call<T>(verb: string, name: string, fn: (d: DriverApi) => Promise<T>): Promise<T> {
    const d = this.target ?? (await this.waitReady());
    if (d === undefined) {
      throw new DriverError(
        'DATABASE_UNAVAILABLE',
        `failed to ${verb} "${name}": the driver is still waiting for ${this.opts.waitingFor()}, so nothing was done; check that the local ovsdb-server is running and that the driver's --ovsdb option points at it (ovn-driver doctor)`,
      );
    }
    return fn(d);
  }

  private waitReady(): Promise<DriverApi | undefined> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.readyWaiters.delete(wake);
        resolve(this.target);
      };
      const timer = setTimeout(wake, this.opts.waitMs);
      this.readyWaiters.add(wake);
    });
  }
}

