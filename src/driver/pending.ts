// The driver as the server sees it while the daemon starts: the socket is served at once, so that
// Docker finds the plugin and every call gets an answer. Until the daemon has reached its local
// Open_vSwitch database (which names the Northbound), calls that need the databases wait for it up
// to the database timeout, then fail with DATABASE_UNAVAILABLE saying what is awaited and why;
// once the real driver (and IPAM) are ready, every call goes to them.

import { formatCidr } from './addr';
import type { DriverApi, IpamApi } from './calls';
import { DriverError } from './errors';

type Async<T, K extends keyof T> = T[K] extends (...args: infer A) => Promise<infer R> ? (...args: A) => Promise<R> : never;

export interface PendingOptions {
  /** What the daemon is waiting for, with the last error seen: "the local Open_vSwitch database at unix:... (last error: ...)". */
  readonly waitingFor: () => string;
  /** How long a call waits for the driver to become ready before it fails (the database timeout). */
  readonly waitMs: number;
}

export interface PendingDriverOptions extends PendingOptions {
  /** The calls that need no database, answered as the real driver does. */
  readonly constant: Pick<DriverApi, 'activate' | 'getCapabilities' | 'allocateNetwork' | 'freeNetwork'>;
}

/** Something that becomes ready once: calls made meanwhile wait for it, up to waitMs. */
class Readiness<T> {
  private target: T | undefined;
  private readonly waiters = new Set<() => void>();

  constructor(private readonly opts: PendingOptions) {}

  get current(): T | undefined {
    return this.target;
  }

  ready(target: T): void {
    this.target = target;
    for (const wake of [...this.waiters]) wake();
    this.waiters.clear();
  }

  waitingFor(): string {
    return this.opts.waitingFor();
  }

  /** Runs `fn` on the target, waiting up to waitMs for it to be ready. */
  async call<R>(verb: string, name: string, fn: (t: T) => Promise<R>): Promise<R> {
    const t = this.target ?? (await this.wait());
    if (t === undefined) throw this.unavailable(verb, name);
    return fn(t);
  }

  /** Runs `fn` on the target if it is ready now. */
  now<R>(verb: string, name: string, fn: (t: T) => R): R {
    if (this.target === undefined) throw this.unavailable(verb, name);
    return fn(this.target);
  }

  private unavailable(verb: string, name: string): DriverError {
    return new DriverError(
      'DATABASE_UNAVAILABLE',
      `failed to ${verb} "${name}": the driver is still waiting for ${this.opts.waitingFor()}, so nothing was done; check that the local ovsdb-server is running and that the driver's --ovsdb option points at it (ovn-driver doctor)`,
    );
  }

  private wait(): Promise<T | undefined> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve(this.target);
      };
      const timer = setTimeout(wake, this.opts.waitMs);
      this.waiters.add(wake);
    });
  }
}

export class PendingDriver implements DriverApi {
  private readonly driver: Readiness<DriverApi>;

  constructor(private readonly opts: PendingDriverOptions) {
    this.driver = new Readiness<DriverApi>(opts);
  }

  /** From now on every call goes to `driver`; calls waiting meanwhile go on to it too. */
  ready(driver: DriverApi): void {
    this.driver.ready(driver);
  }

  get isReady(): boolean {
    return this.driver.current !== undefined;
  }

  activate: DriverApi['activate'] = () => (this.driver.current ?? this.opts.constant).activate();
  getCapabilities: DriverApi['getCapabilities'] = () => (this.driver.current ?? this.opts.constant).getCapabilities();
  allocateNetwork: DriverApi['allocateNetwork'] = (req) => (this.driver.current ?? this.opts.constant).allocateNetwork(req);
  freeNetwork: DriverApi['freeNetwork'] = (req) => (this.driver.current ?? this.opts.constant).freeNetwork(req);

  createNetwork: Async<DriverApi, 'createNetwork'> = (req) => this.driver.call('create network', req.networkId, (d) => d.createNetwork(req));
  deleteNetwork: Async<DriverApi, 'deleteNetwork'> = (req) => this.driver.call('delete network', req.networkId, (d) => d.deleteNetwork(req));
  createEndpoint: Async<DriverApi, 'createEndpoint'> = (req) => this.driver.call('create endpoint', req.endpointId, (d) => d.createEndpoint(req));
  deleteEndpoint: Async<DriverApi, 'deleteEndpoint'> = (req) => this.driver.call('delete endpoint', req.endpointId, (d) => d.deleteEndpoint(req));
  endpointOperInfo: Async<DriverApi, 'endpointOperInfo'> = (req) => this.driver.call('read endpoint', req.endpointId, (d) => d.endpointOperInfo(req));
  join: Async<DriverApi, 'join'> = (req) => this.driver.call('join endpoint', req.endpointId, (d) => d.join(req));
  leave: Async<DriverApi, 'leave'> = (req) => this.driver.call('leave endpoint', req.endpointId, (d) => d.leave(req));
  programExternalConnectivity: Async<DriverApi, 'programExternalConnectivity'> = (req) =>
    this.driver.call('program external connectivity for', req.endpointId, (d) => d.programExternalConnectivity(req));
  revokeExternalConnectivity: Async<DriverApi, 'revokeExternalConnectivity'> = (req) =>
    this.driver.call('revoke external connectivity of', req.endpointId, (d) => d.revokeExternalConnectivity(req));

  describe: DriverApi['describe'] = () => this.driver.current?.describe() ?? { state: 'starting', waitingFor: this.driver.waitingFor() };
}

export interface PendingIpamOptions extends PendingOptions {
  /** The IPAM calls that need no database (Docker asks them when it registers the IPAM driver). */
  readonly constant: Pick<IpamApi, 'getCapabilities' | 'getDefaultAddressSpaces'>;
}

/** The IPAM driver while the daemon starts, as PendingDriver is the network driver. */
export class PendingIpam implements IpamApi {
  private readonly ipam: Readiness<IpamApi>;

  constructor(private readonly opts: PendingIpamOptions) {
    this.ipam = new Readiness<IpamApi>(opts);
  }

  ready(ipam: IpamApi): void {
    this.ipam.ready(ipam);
  }

  getCapabilities: IpamApi['getCapabilities'] = () => (this.ipam.current ?? this.opts.constant).getCapabilities();
  getDefaultAddressSpaces: IpamApi['getDefaultAddressSpaces'] = () => (this.ipam.current ?? this.opts.constant).getDefaultAddressSpaces();
  // RequestPool and ReleasePool need no database either, but the pool's addresses do: answering
  // them before the IPAM is ready would only move the failure to RequestAddress.
  requestPool: IpamApi['requestPool'] = (req) => this.ipam.now('request pool', formatCidr(req.pool), (i) => i.requestPool(req));
  releasePool: IpamApi['releasePool'] = (ref) => this.ipam.now('release pool', formatCidr(ref.pool), (i) => i.releasePool(ref));
  requestAddress: Async<IpamApi, 'requestAddress'> = (req) => this.ipam.call('request an address in pool', formatCidr(req.ref.pool), (i) => i.requestAddress(req));
  releaseAddress: Async<IpamApi, 'releaseAddress'> = (req) => this.ipam.call('release an address of pool', formatCidr(req.ref.pool), (i) => i.releaseAddress(req));
}
