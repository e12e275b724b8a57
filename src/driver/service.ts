// OvnDriver carries the planners' plans out: at most one Northbound and one local Open_vSwitch
// transaction per Docker request, link steps through the netlink gateway, and undo of what was
// done when a later step fails. It keeps no state of its own: every answer comes from the
// databases (through their replicas) and the kernel, so a restarted daemon serves what exists.

import { performance } from 'node:perf_hooks';
import { NetlinkError } from '../netlink/errors';
import type { Links, LinkInfo } from '../netlink/types';
import { bridgeFromRow, haChassisGroupFromRow, interfaceFromRow, loadBalancerFromRow, logicalRouterFromRow, logicalRouterPortFromRow, logicalSwitchFromRow, logicalSwitchPortFromRow, natFromRow, portFromRow } from '../ovn/tables.generated';
import type { LoadBalancer, LogicalSwitch, LogicalSwitchPort } from '../ovn/tables.generated';
import type { Uuid } from '../ovsdb/data';
import { isOvsdbError } from '../ovsdb/errors';
import { roundMs } from '../time';
import type { Logger } from '../util/logger';
import { cond, Operation, strMap } from '../ovsdb/operations';
import type { Row } from '../ovsdb/schema';
import type {
  ActivateResponse, CapabilitiesResponse, CreateEndpointRequest, CreateEndpointResponse, CreateNetworkRequest,
  EmptyResponse, EndpointOperInfoResponse, EndpointRequest, JoinRequest, JoinResponse, NetworkRequest, ProgramExternalConnectivityRequest,
} from './api';
import { BY_IFACE_ID, BY_NAME, BY_NETWORK_REF, DbClient, dbError, DbRef, ensureIndexes, findRows, selectEach, selectRows } from './db';
import { localChassis } from './chassis';
import { DriverError, errorMessage, isDriverError } from './errors';
import { KeyedMutex } from './keyed-mutex';
import { containerLinkName, DEFAULT_VRF, ENDPOINT_ID_KEY, EXTERNAL_SWITCH, externalPortName, externalSwitchPortName, PUBLISHED_KEY, GATEWAY_GROUP, hostLinkName, OVN_INSTALLED_KEY, refKey, routerName, SWITCH_KEY, vrfOfRouter, VRF_KEY } from './names';
import { externalAddressOf, ExternalContext, externalNetworkOf } from './plan-external';
import { planPublish, planUnpublish, PublishState } from './plan-ports';
import { addressKeys, isSharedSwitch, planCreateEndpoint, planDeleteEndpoint, requestedAddresses } from './plan-endpoint';
import { LinkStep, planJoin, planLeave } from './plan-join';
import { describeRefs, NetworkSwitches, networkSwitchName, planCreateNetwork, planDeleteNetwork, planRouteSwitch } from './plan-network';
import type { RouterState } from './plan-router';
import { joinGateways, networkRefs, ownedByDriver, switchMtu, switchRouter } from './records';
import type { ReconcileLocks } from './reconcile';
import { describeState, operInfo, StateView } from './views';

export interface DriverConfig {
  readonly bridge: string;
  readonly mtu: number;
  readonly readyTimeoutMs: number;
  readonly dbTimeoutMs: number;
}

export interface DriverOptions {
  readonly nb: DbClient;
  readonly nbRemotes: string;
  readonly ovs: DbClient;
  readonly ovsRemotes: string;
  readonly links: Links;
  readonly logger: Logger;
  readonly config: DriverConfig;
  /** Milliseconds, for the readiness figure; performance.now by default (sub-millisecond). */
  readonly now?: () => number;
}

export interface JoinResult {
  readonly response: JoinResponse;
  /** How long Join waited for ovn-controller to set ovn-installed. */
  readonly readyWaitMs: number;
  /** False when the wait timed out (the answer went out anyway). */
  readonly ready: boolean;
}

/** True when a transaction was sent and its reply never came: it may or may not have committed. */
export function outcomeUnknown(e: unknown): boolean {
  if (isOvsdbError(e, 'OVSDB_UNKNOWN_OUTCOME') || isDriverError(e, 'OUTCOME_UNKNOWN')) return true;
  return isDriverError(e) && isOvsdbError(e.cause, 'OVSDB_UNKNOWN_OUTCOME');
}

/** True when the server answered and refused the transaction: then nothing of it was applied. */
function refusedByServer(e: unknown): boolean {
  return isOvsdbError(e) && e.rfcError !== undefined;
}

/** The calls whose answer needs no database: the same before the daemon is ready (pending.ts) and after. */
export const STATELESS_CALLS = Object.freeze({
  activate(): ActivateResponse {
    return { Implements: ['NetworkDriver'] };
  },
  getCapabilities(): CapabilitiesResponse {
    // Local: Docker keeps the network's state per host. Global connectivity: OVN joins the hosts.
    return { Scope: 'local', ConnectivityScope: 'global' };
  },
  allocateNetwork(req: NetworkRequest): never {
    throw new DriverError('NOT_SUPPORTED', `failed to allocate network "${req.networkId}": the ovn driver is local-scope and does not take part in swarm network allocation`);
  },
  freeNetwork(req: NetworkRequest): never {
    throw new DriverError('NOT_SUPPORTED', `failed to free network "${req.networkId}": the ovn driver is local-scope and does not take part in swarm network allocation`);
  },
});

const CREATE_PORT_UNKNOWN = 'the logical switch port may have been created; Docker\'s retry of the same request finds it, and if none comes it is removed by reconciliation';

/** Plans of CreateNetwork and DeleteNetwork tried before giving up on a switch that keeps changing. */
const NETWORK_ATTEMPTS = 5;

export class OvnDriver {
  private readonly nb: DbRef;
  private readonly ovs: DbRef;
  private readonly links: Links;
  private readonly logger: Logger;
  private readonly config: DriverConfig;
  private readonly now: () => number;
  private readonly endpoints = new KeyedMutex();
  private readonly networks = new KeyedMutex();
  /** Per VRF router (innermost lock): this host's changes of one router's ports or load balancers take turns. */
  private readonly vrfs = new KeyedMutex();

  constructor(opts: DriverOptions) {
    this.nb = { client: opts.nb, role: 'Northbound', remotes: opts.nbRemotes };
    this.ovs = { client: opts.ovs, role: 'local Open_vSwitch', remotes: opts.ovsRemotes };
    this.links = opts.links;
    this.logger = opts.logger;
    this.config = opts.config;
    this.now = opts.now ?? ((): number => performance.now());
    ensureIndexes(opts.nb.replica, ['Logical_Switch', 'Logical_Switch_Port', 'Logical_Router', 'HA_Chassis_Group']);
    ensureIndexes(opts.ovs.replica, ['Bridge', 'Port', 'Interface'], 'Interface');
  }

  activate(): ActivateResponse {
    return STATELESS_CALLS.activate();
  }

  getCapabilities(): CapabilitiesResponse {
    return STATELESS_CALLS.getCapabilities();
  }

  // ---- networks ----------------------------------------------------------------------------

  createNetwork(req: CreateNetworkRequest): Promise<EmptyResponse> {
    return this.networks.run(req.networkId, async () => {
      const name = networkSwitchName(req);
      // The replica first: on a miss, the plan's wait makes the insert fail (handled below) if
      // the switch exists after all, so asking the server first would only add a round trip.
      const vrf = req.options.vrf ?? DEFAULT_VRF;
      // One network of a VRF at a time on this host: they all change its router's ports.
      return this.vrfs.run(routerName(vrf), async () => {
        let found: NetworkSwitches = { legacy: this.replicaSwitch(req.networkId), shared: this.replicaSwitch(name), router: this.replicaRouter(routerName(vrf)), external: this.externalContext() };
        for (let attempt = 1; ; attempt++) {
          const ops = planCreateNetwork(req, this.chassis(), found);
          if (ops.length === 0) return {};
          try {
            await this.transact(this.nb, ops);
            break;
          } catch (e) {
            // A wait failed: the switch or the VRF's router was created, changed or removed
            // meanwhile (the replica had not seen it, or another host's request got there first).
            // Decide again with what the server holds: the same network is success, a different
            // one the planner's CONFLICT.
            if (!isOvsdbError(e, 'OVSDB_TIMED_OUT') || attempt >= NETWORK_ATTEMPTS) throw this.unknownOutcome(dbError(this.nb, 'create logical switch', name, e), 'the logical switch may have been created; run the same command again, which finds it');
            const [legacy, shared, router] = await Promise.all([this.findSwitch(req.networkId, true), this.findSwitch(name, true), this.serverRouter(routerName(vrf))]);
            found = { legacy, shared, router, external: this.externalContext() };
          }
        }
        this.logger.info('created network', { networkId: req.networkId, logicalSwitch: name });
        return {};
      });
    });
  }

  deleteNetwork(req: NetworkRequest): Promise<EmptyResponse> {
    return this.networks.run(req.networkId, async () => {
      // Under its VRF's lock (createNetwork) when it is routed: its router's ports change.
      const routerOfFirst = switchRouter(await this.findNetworkSwitch(req.networkId, true));
      return routerOfFirst === undefined ? this.deleteNetworkLocked(req) : this.vrfs.run(routerOfFirst, () => this.deleteNetworkLocked(req));
    });
  }

  private async deleteNetworkLocked(req: NetworkRequest): Promise<EmptyResponse> {
    for (let attempt = 1; ; attempt++) {
      // From the server: the ports to delete with the switch are not in the replica (monitors.ts).
      const sw = await this.findNetworkSwitch(req.networkId, true);
      // Its VRF's router, from the replica first; after a failed wait, from the server.
      const routerOf = switchRouter(sw);
      const router = routerOf === undefined ? undefined : attempt === 1 ? this.replicaRouter(routerOf) : await this.serverRouter(routerOf);
      const ops = planDeleteNetwork(req.networkId, this.chassis(), sw, router);
      if (ops.length === 0) {
        this.logger.debug('network already gone', { networkId: req.networkId });
        return {};
      }
      try {
        await this.transact(this.nb, ops);
        this.logger.info('deleted network', { networkId: req.networkId, logicalSwitch: sw?.name });
        return {};
      } catch (e) {
        // The last ref's wait failed: another host added its ref meanwhile; plan again.
        if (isOvsdbError(e, 'OVSDB_TIMED_OUT') && attempt < NETWORK_ATTEMPTS) continue;
        throw this.unknownOutcome(dbError(this.nb, 'delete logical switch', sw?.name ?? req.networkId, e), 'the logical switch may have been deleted; run the same command again');
      }
    }
  }

  allocateNetwork(req: NetworkRequest): never {
    return STATELESS_CALLS.allocateNetwork(req);
  }

  freeNetwork(req: NetworkRequest): never {
    return STATELESS_CALLS.freeNetwork(req);
  }

  /**
   * Routes this host's network `networkId` when its switch was made before routing (upgrade.ts
   * asks Docker whether it is `internal`), under the network's lock. 'gone': no such switch;
   * 'done': it records routing already (now or by another host).
   */
  routeExistingNetwork(networkId: string, internal: boolean): Promise<'routed' | 'done' | 'gone'> {
    return this.networks.run(networkId, async () => {
      const first = await this.findNetworkSwitch(networkId);
      if (!first) return 'gone';
      const name = routerName(first.external_ids.get(VRF_KEY) ?? DEFAULT_VRF);
      return this.vrfs.run(name, async () => {
        for (let attempt = 1; ; attempt++) {
          const fresh = attempt > 1;
          const sw = fresh ? await this.findNetworkSwitch(networkId, true) : first;
          if (!sw) return 'gone';
          const ops = planRouteSwitch(sw, internal, fresh ? await this.serverRouter(name) : this.replicaRouter(name), this.externalContext());
          if (ops.length === 0) return 'done';
          try {
            await this.transact(this.nb, ops);
          } catch (e) {
            if (isOvsdbError(e, 'OVSDB_TIMED_OUT') && attempt < NETWORK_ATTEMPTS) continue;
            throw this.unknownOutcome(dbError(this.nb, 'route logical switch', sw.name, e), 'the router port may have been added; the next start of the daemon finds it');
          }
          this.logger.info(internal ? 'recorded a network of the previous release as --internal (no router port)' : 'routed a network of the previous release', { networkId, logicalSwitch: sw.name, router: name });
          return 'routed';
        }
      });
    });
  }

  // ---- endpoints ---------------------------------------------------------------------------

  createEndpoint(req: CreateEndpointRequest): Promise<CreateEndpointResponse> {
    return this.withEndpointLock(req.endpointId, async () => {
      const existing = this.replicaPort(req.endpointId);
      // A retry (the port exists) is checked against the switch's ports, which the replica does
      // not keep (monitors.ts): only then is the switch read from the server.
      const sw = await this.findNetworkSwitch(req.networkId, existing !== undefined);
      const chassis = this.chassis();
      const plan = planCreateEndpoint(req, sw, existing, { chassis });
      if (plan.nb.length === 0) return plan.response;
      try {
        await this.transact(this.nb, plan.nb);
      } catch (e) {
        if (isOvsdbError(e, 'OVSDB_TIMED_OUT') || isOvsdbError(e, 'OVSDB_CONSTRAINT_VIOLATION')) {
          // The switch is gone or another port holds an address (a wait failed), or the port
          // exists (a retry the replica has not seen yet): the new plan says which.
          const [sw2, port2] = await Promise.all([this.findNetworkSwitch(req.networkId, true), this.findPort(req.endpointId, true)]);
          const holders = sw2 && isSharedSwitch(sw2, req.networkId) ? await this.addressHolders(sw2.name, req) : [];
          const again = planCreateEndpoint(req, sw2, port2, { chassis, holders });
          if (again.nb.length === 0) return again.response;
          // The switch changed under the plan (another host joined it): the new plan, once.
          if (isOvsdbError(e, 'OVSDB_TIMED_OUT')) {
            try {
              await this.transact(this.nb, again.nb);
            } catch (e2) {
              throw this.unknownOutcome(dbError(this.nb, 'create logical switch port', req.endpointId, e2), CREATE_PORT_UNKNOWN);
            }
            this.logger.debug('created logical switch port', { endpointId: req.endpointId, addresses: again.addresses });
            return again.response;
          }
        }
        throw this.unknownOutcome(dbError(this.nb, 'create logical switch port', req.endpointId, e), CREATE_PORT_UNKNOWN);
      }
      this.logger.debug('created logical switch port', { endpointId: req.endpointId, addresses: plan.addresses });
      return plan.response;
    });
  }

  deleteEndpoint(req: EndpointRequest): Promise<EmptyResponse> {
    return this.withEndpointLock(req.endpointId, async () => {
      // Leave should have run; if a crash skipped it, remove the local port and veth first
      // (unless they are another endpoint's, whose id starts with the same 12 hex digits).
      await this.removeLocalPort(req, false, false);
      const lsp = await this.findPort(req.endpointId);
      // A published endpoint whose Revoke never came (a crash): its load balancers go with its port.
      const unpublish = lsp?.external_ids.has(PUBLISHED_KEY) ? planUnpublish(await this.endpointLoadBalancers(req.endpointId), undefined) : [];
      const ops = [...unpublish, ...planDeleteEndpoint(req, lsp)];
      if (ops.length === 0) return {};
      try {
        await this.transact(this.nb, ops);
      } catch (e) {
        throw this.unknownOutcome(dbError(this.nb, 'delete logical switch port', req.endpointId, e), 'the logical switch port may have been deleted; the same request again finishes the job');
      }
      this.logger.debug('deleted logical switch port', { endpointId: req.endpointId });
      return {};
    });
  }

  async endpointOperInfo(req: EndpointRequest): Promise<EndpointOperInfoResponse> {
    // Called on every `docker inspect`: replica lookups only, unless the replica lacks the port.
    const lsp = await this.existingPort(req, 'read');
    return { Value: operInfo(this.view(), req.endpointId, lsp) };
  }

  // ---- join / leave ------------------------------------------------------------------------

  join(req: JoinRequest): Promise<JoinResult> {
    return this.withEndpointLock(req.endpointId, () => this.joinLocked(req, { fresh: false, probeLinks: false }));
  }

  /**
   * `fresh`: read the OVS port from the server, not the replica (the retry after a name clash).
   * `probeLinks`: read the veths before planning. Without it they are read only when the
   * replica shows an OVS port of this endpoint (a retried Join, or what a crash left); otherwise
   * they are taken as absent, which saves two netlink round trips on every container start, and
   * a veth that does exist makes the create fail with EEXIST, which plans again with them read.
   */
  private async joinLocked(req: JoinRequest, opts: { fresh: boolean; probeLinks: boolean }): Promise<JoinResult> {
    const { fresh } = opts;
    const hostName = hostLinkName(req.endpointId);
    const lsp = await this.findPort(req.endpointId);
    // The network's MTU and, when its VRF routes it, the gateways Join answers.
    const sw = await this.findNetworkSwitch(req.networkId);
    const t = this.config.dbTimeoutMs;
    // Fresh: the bridge too, whose ports say whether the port found on the server is plugged in.
    const bridgeRow = (fresh
      ? await selectRows(this.ovs, 'Bridge', 'name', this.config.bridge, t, 'integration bridge')
      : await findRows(this.ovs, 'Bridge', BY_NAME, 'name', this.config.bridge, t, 'integration bridge'))[0];
    const [portRow, ifaceRow] = fresh
      ? [(await selectRows(this.ovs, 'Port', 'name', hostName, t, 'OVS port'))[0], (await selectRows(this.ovs, 'Interface', 'name', hostName, t, 'OVS interface'))[0]]
      : [this.ovs.client.replica.lookup('Port', BY_NAME, hostName)[0], this.ovs.client.replica.lookup('Interface', BY_NAME, hostName)[0]];
    const probe = opts.probeLinks || fresh || portRow !== undefined || ifaceRow !== undefined;
    const [hostLink, containerLink] = probe
      ? await Promise.all([this.getLink(req, hostName), this.getLink(req, containerLinkName(req.endpointId))])
      : [undefined, undefined];
    // A veth of this name with no OVS port in the replica: ask the server whose port it has, as
    // the veth may be another endpoint's (ids sharing the first 12 hex digits), not debris.
    if (!fresh && hostLink !== undefined && portRow === undefined) return this.joinLocked(req, { fresh: true, probeLinks: true });
    const plan = planJoin(req, {
      lsp,
      bridgeName: this.config.bridge,
      bridge: bridgeRow ? bridgeFromRow(bridgeRow) : undefined,
      port: portRow ? portFromRow(portRow) : undefined,
      iface: ifaceRow ? interfaceFromRow(ifaceRow) : undefined,
      hostLink,
      containerLink,
      mtu: switchMtu(sw) ?? this.config.mtu,
      gateways: joinGateways(sw),
    });

    try {
      await this.runLinkSteps(req, plan.links, 'join endpoint');
    } catch (e) {
      // A veth we guessed absent exists (left by a crash): plan again with the links read.
      if (!probe && isDriverError(e, 'LINK_ERROR') && e.cause instanceof NetlinkError && e.cause.errno === 'EEXIST') {
        return this.joinLocked(req, { fresh, probeLinks: true });
      }
      throw e;
    }
    if (plan.ovs.length > 0) {
      try {
        await this.transact(this.ovs, plan.ovs);
      } catch (e) {
        if (plan.createsLinks) await this.undoLinks(req, hostName);
        // A port of that name the replica had not seen (left by a crash): read again, once.
        if (!fresh && isOvsdbError(e, 'OVSDB_CONSTRAINT_VIOLATION')) return this.joinLocked(req, { fresh: true, probeLinks: true });
        const err = dbError(this.ovs, 'add OVS port', hostName, e);
        const veth = plan.createsLinks ? 'the veth was removed again' : 'the veth was kept';
        if (outcomeUnknown(err)) {
          throw new DriverError('OUTCOME_UNKNOWN', `failed to join endpoint "${req.endpointId}": ${err.message}; the outcome is unknown: the OVS port ${hostName} may have been added (${veth}); starting the container again reuses or replaces it, and reconciliation removes it if nothing does`, e);
        }
        const what = refusedByServer(e) ? `${veth}, the database changed nothing` : veth;
        throw new DriverError(err.code, `failed to join endpoint "${req.endpointId}": ${err.message}; ${what}`, e);
      }
    }

    const started = this.now();
    const ready = await this.ovs.client.replica.waitFor(() => (this.installed(req.endpointId, hostName) ? true : undefined), this.config.readyTimeoutMs);
    const readyWaitMs = this.now() - started;
    if (ready === undefined) {
      this.logger.warn(`endpoint ${req.endpointId}: ovn-controller did not set ovn-installed on ${hostName} within ${this.config.readyTimeoutMs} ms; answering Join anyway, the container's first packets may be lost (is ovn-controller running? ovn-driver doctor)`, { endpointId: req.endpointId });
    }
    this.logger.debug('joined endpoint', { endpointId: req.endpointId, hostInterface: hostName, readyWaitMs: roundMs(readyWaitMs) });
    return { response: plan.response, readyWaitMs, ready: ready === true };
  }

  leave(req: EndpointRequest): Promise<EmptyResponse> {
    return this.withEndpointLock(req.endpointId, async () => {
      await this.removeLocalPort(req, true, true);
      return {};
    });
  }

  /**
   * Leave's work; with `authoritative` a replica miss is confirmed with the server, as it is
   * whenever a veth of the name exists (whose it is is told by the OVS port, which the replica
   * may not have yet). `refuseOthers`: CONFLICT when the port is another endpoint's (Leave);
   * otherwise that port and veth are left alone (DeleteEndpoint, which must still succeed).
   */
  private async removeLocalPort(req: EndpointRequest, authoritative: boolean, refuseOthers: boolean): Promise<void> {
    const hostName = hostLinkName(req.endpointId);
    const hostLink = await this.getLink(req, hostName);
    const lookup = async (table: string): Promise<Row | undefined> =>
      authoritative || hostLink !== undefined
        ? (await findRows(this.ovs, table, BY_NAME, 'name', hostName, this.config.dbTimeoutMs, 'OVS port'))[0]
        : this.ovs.client.replica.lookup(table, BY_NAME, hostName)[0];
    const portRow = await lookup('Port');
    const ifaceRow = portRow ? await lookup('Interface') : undefined;
    const plan = planLeave(req, portRow ? portFromRow(portRow) : undefined, ifaceRow ? interfaceFromRow(ifaceRow) : undefined, hostLink, refuseOthers ? 'refuse' : 'skip');
    if (plan.ovs.length > 0) {
      try {
        await this.transact(this.ovs, plan.ovs);
      } catch (e) {
        throw this.unknownOutcome(dbError(this.ovs, 'remove OVS port', hostName, e), 'the OVS port may have been removed; the same request again finishes the job');
      }
    }
    // After the OVS port, so vswitchd never holds a port whose device vanished.
    await this.runLinkSteps(req, plan.links, 'leave endpoint');
    if (plan.ovs.length > 0 || plan.links.length > 0) this.logger.debug('removed local port', { endpointId: req.endpointId, hostInterface: hostName });
  }

  /**
   * `docker run -p`: the endpoint's port map as load balancers on its VRF's router (plan-ports.ts),
   * in one transaction; Docker's same map again changes nothing.
   */
  programExternalConnectivity(req: ProgramExternalConnectivityRequest): Promise<EmptyResponse> {
    return this.withEndpointLock(req.endpointId, async () => {
      const lsp = await this.existingPort(req, 'program external connectivity for');
      if (req.portMap.length === 0 && !lsp.external_ids.has(PUBLISHED_KEY)) return {};
      const sw = await this.findNetworkSwitch(req.networkId);
      const router = switchRouter(sw);
      if (router === undefined || vrfOfRouter(router) === undefined) {
        if (req.portMap.length === 0) return {};
        throw new DriverError('CONFLICT', `failed to publish ports of endpoint "${req.endpointId}": its network is not routed (--internal, or it has no gateway), so nothing can be published; run the container without -p, or on a routed network`);
      }
      const vrf = vrfOfRouter(router) ?? '';
      return this.vrfs.run(router, () => this.publishLocked(req, router, vrf, lsp));
    });
  }

  private async publishLocked(req: ProgramExternalConnectivityRequest, router: string, vrf: string, lsp: LogicalSwitchPort): Promise<EmptyResponse> {
    for (let attempt = 1; ; attempt++) {
      const state = await this.publishState(router, vrf, lsp);
      if (!state) throw new DriverError('NOT_FOUND', `failed to publish ports of endpoint "${req.endpointId}": the router "${router}" of its VRF is gone; remove the container and its network, and create them again`);
      if (state.address === undefined && this.externalContext() === undefined) {
        // No gateway host has set up a way out: as before it existed, -p publishes nothing; said in the log.
        if (req.portMap.length > 0) this.logger.warn(`endpoint ${req.endpointId}: -p publishes nothing, since the cluster has no way out (no gateway host: start one driver with --external-bridge, README "Reaching the outside")`, { endpointId: req.endpointId });
        return {};
      }
      const plan = planPublish(req.endpointId, req.networkId, req.portMap, state);
      if (plan.ops.length === 0) return {};
      try {
        await this.transact(this.nb, plan.ops);
      } catch (e) {
        // Another endpoint published on the VRF meanwhile: plan again with what the server holds.
        if (isOvsdbError(e, 'OVSDB_TIMED_OUT') && attempt < NETWORK_ATTEMPTS) continue;
        throw this.unknownOutcome(dbError(this.nb, 'publish ports of endpoint', req.endpointId, e), 'the ports may have been published; starting the container again replaces them, and removing it removes them');
      }
      this.logger.info(`endpoint ${req.endpointId} publishes ${plan.published.join(', ') || 'nothing'}`, { endpointId: req.endpointId, networkId: req.networkId });
      return {};
    }
  }

  revokeExternalConnectivity(req: EndpointRequest): Promise<EmptyResponse> {
    return this.withEndpointLock(req.endpointId, async () => {
      const lsp = await this.existingPort(req, 'revoke external connectivity of');
      if (!lsp.external_ids.has(PUBLISHED_KEY)) return {};
      const ops = planUnpublish(await this.endpointLoadBalancers(req.endpointId), lsp);
      if (ops.length === 0) return {};
      try {
        await this.transact(this.nb, ops);
      } catch (e) {
        throw this.unknownOutcome(dbError(this.nb, 'remove the published ports of endpoint', req.endpointId, e), 'they may have been removed; removing the container again finishes the job, and reconciliation removes what is left');
      }
      this.logger.debug('removed published ports', { endpointId: req.endpointId });
      return {};
    });
  }

  /** The VRF router, its load balancers (from the server) and external address, for planPublish. */
  private async publishState(router: string, vrf: string, lsp: LogicalSwitchPort): Promise<PublishState | undefined> {
    const t = this.config.dbTimeoutMs;
    const row = (await selectRows(this.nb, 'Logical_Router', 'name', router, t, 'logical router'))[0];
    if (!row) return undefined;
    const lr = logicalRouterFromRow(row);
    const lbs = (await selectEach(this.nb, 'Load_Balancer', lr.load_balancer.map((u) => [cond('_uuid', '==', u)]), t, 'load balancer', router)).flat().map(loadBalancerFromRow);
    const ext = (await selectRows(this.nb, 'Logical_Router_Port', 'name', externalPortName(vrf), t, 'logical router port'))[0];
    const address = ext ? externalAddressOf(logicalRouterPortFromRow(ext).networks) : undefined;
    return { lsp, vrf, router: lr, address, loadBalancers: lbs, chassis: this.chassis() };
  }

  /** The endpoint's load balancers, from the server (only endpoints whose port records published ports have any). */
  private async endpointLoadBalancers(endpointId: string): Promise<LoadBalancer[]> {
    const rows = await selectEach(this.nb, 'Load_Balancer', [[cond('external_ids', 'includes', strMap({ [ENDPOINT_ID_KEY]: endpointId }))]], this.config.dbTimeoutMs, 'load balancer', endpointId);
    return rows.flat().map(loadBalancerFromRow).filter((lb) => lb.name.startsWith('pm/'));
  }

  /** The endpoint's logical port (replica first, then the server), or NOT_FOUND saying so. */
  private async existingPort(req: EndpointRequest, verb: string): Promise<LogicalSwitchPort> {
    const lsp = this.replicaPort(req.endpointId) ?? (await this.findPort(req.endpointId));
    if (!lsp) {
      throw new DriverError('NOT_FOUND', `failed to ${verb} endpoint "${req.endpointId}": it has no logical switch port in OVN; it was removed outside Docker, or never created: remove the container and start it again`);
    }
    return lsp;
  }

  /** GET /NetworkDriver.Database: what the driver sees (connections, networks, endpoints here). */
  describe(): Record<string, unknown> {
    return describeState(this.view(), {
      northbound: { database: this.nb.client.database, remotes: this.nb.remotes, state: this.nb.client.state, connectedTo: this.nb.client.currentRemote ?? null },
      local: { database: this.ovs.client.database, remotes: this.ovs.remotes, state: this.ovs.client.state, connectedTo: this.ovs.client.currentRemote ?? null },
    }, { bridge: this.config.bridge, requestsInFlight: this.endpoints.activeKeys + this.networks.activeKeys });
  }

  /**
   * Runs `fn` holding the endpoint's lock. It is keyed by the host veth name: two endpoints whose
   * ids share the first 12 hex digits share a veth (and OVS port) name, so they take turns too.
   */
  withEndpointLock<T>(endpointId: string, fn: () => Promise<T>): Promise<T> {
    return this.endpoints.run(hostLinkName(endpointId), fn);
  }

  /** The same locks, for background work (the reconciler) that knows names, not requests. */
  reconcileLocks(): ReconcileLocks {
    return {
      hostLink: (hostName, fn) => this.endpoints.run(hostName, fn),
      network: (networkId, fn) => this.networks.run(networkId, fn),
    };
  }

  // ---- helpers -------------------------------------------------------------------------------

  private view(): StateView {
    return { nb: this.nb.client.replica, ovs: this.ovs.client.replica, chassis: this.chassis() };
  }

  private chassis(): string | undefined {
    return localChassis(this.ovs.client.replica);
  }

  /**
   * `err` as it goes to Docker, saying plainly when the transaction was sent and its reply lost:
   * then `what` says what may have been done and what finds or cleans it.
   */
  private unknownOutcome(err: DriverError, what: string): DriverError {
    if (!outcomeUnknown(err)) return err;
    return new DriverError('OUTCOME_UNKNOWN', `${err.message}; the outcome is unknown: ${what}`, err.cause ?? err);
  }

  private installed(endpointId: string, hostName: string): boolean {
    return this.ovs.client.replica.lookup('Interface', BY_IFACE_ID, endpointId).some((r) => {
      const ids = r['external_ids'];
      return r['name'] === hostName && ids instanceof Map && ids.get(OVN_INSTALLED_KEY) === 'true';
    });
  }

  /** A VRF's router and its ports in the replica (NO ports when it has no router). */
  private replicaRouter(name: string): RouterState {
    const replica = this.nb.client.replica;
    const row = replica.lookup('Logical_Router', BY_NAME, name)[0];
    if (!row) return { router: undefined, ports: [] };
    const router = logicalRouterFromRow(row);
    const ports = router.ports.flatMap((u) => {
      const r = replica.get('Logical_Router_Port', u.value);
      return r ? [logicalRouterPortFromRow(r)] : [];
    });
    const nat = router.nat.flatMap((u) => {
      const r = replica.get('NAT', u.value);
      return r ? [natFromRow(r)] : [];
    });
    return { router, ports: ports.map((port) => ({ port, network: this.describeSwitchOf(port.external_ids.get(SWITCH_KEY)) })), nat, externalSwitchPort: this.externalSwitchPort(name) };
  }

  /** The external switch's router-type port facing the VRF's router (router-type ports are all in the replica). */
  private externalSwitchPort(routerNameText: string): Uuid | undefined {
    const vrf = vrfOfRouter(routerNameText);
    return vrf === undefined ? undefined : this.nb.client.replica.lookup('Logical_Switch_Port', BY_NAME, externalSwitchPortName(vrf))[0]?._uuid;
  }

  /**
   * The cluster's way out, when a gateway host has set it up (plan-external.ts): the external
   * switch, the gateway hosts' group, and the pool addresses VRFs hold. From the replica.
   */
  externalContext(): ExternalContext | undefined {
    const replica = this.nb.client.replica;
    const swRow = replica.lookup('Logical_Switch', BY_NAME, EXTERNAL_SWITCH)[0];
    const groupRow = replica.lookup('HA_Chassis_Group', BY_NAME, GATEWAY_GROUP)[0];
    if (!swRow || !groupRow) return undefined;
    const sw = logicalSwitchFromRow(swRow);
    const network = ownedByDriver(sw) ? externalNetworkOf(sw) : undefined;
    if (!network) return undefined;
    const taken = new Set<string>();
    for (const r of replica.table('Logical_Router_Port').values()) {
      const lrp = logicalRouterPortFromRow(r);
      if (lrp.external_ids.get(SWITCH_KEY) !== EXTERNAL_SWITCH) continue;
      const a = externalAddressOf(lrp.networks);
      if (a !== undefined) taken.add(a);
    }
    return { network, switchUuid: sw._uuid, groupUuid: haChassisGroupFromRow(groupRow)._uuid, taken };
  }

  /** The same from the server (after a failed wait: the replica may lag). */
  private async serverRouter(name: string): Promise<RouterState> {
    const t = this.config.dbTimeoutMs;
    const row = (await selectRows(this.nb, 'Logical_Router', 'name', name, t, 'logical router'))[0];
    if (!row) return { router: undefined, ports: [] };
    const router = logicalRouterFromRow(row);
    const rows = await selectEach(this.nb, 'Logical_Router_Port', router.ports.map((u) => [cond('_uuid', '==', u)]), t, 'logical router port', name);
    const ports = rows.flat().map(logicalRouterPortFromRow);
    const nat = (await selectEach(this.nb, 'NAT', router.nat.map((u) => [cond('_uuid', '==', u)]), t, 'NAT rule', name)).flat().map(natFromRow);
    const vrf = vrfOfRouter(name);
    const facing = vrf === undefined ? undefined : (await selectRows(this.nb, 'Logical_Switch_Port', 'name', externalSwitchPortName(vrf), t, 'logical switch port'))[0]?._uuid;
    return { router, ports: ports.map((port) => ({ port, network: this.describeSwitchOf(port.external_ids.get(SWITCH_KEY)) })), nat, externalSwitchPort: facing };
  }

  /** "network "S" (Docker network N on host H)" for a router port's switch, for messages. */
  private describeSwitchOf(switchName: string | undefined): string {
    if (switchName === undefined) return 'a router port the driver did not make';
    if (switchName === EXTERNAL_SWITCH) return 'the external network (the VRF\'s way out)';
    const sw = this.replicaSwitch(switchName);
    return sw ? `network "${switchName}" (${describeRefs(sw).replace(/^no host$/, 'a network of the previous release')})` : `network "${switchName}"`;
  }

  private replicaSwitch(networkId: string): LogicalSwitch | undefined {
    const row = this.nb.client.replica.lookup('Logical_Switch', BY_NAME, networkId)[0];
    return row ? logicalSwitchFromRow(row) : undefined;
  }

  /**
   * The switch of this host's Docker network in the replica: a switch of the previous release
   * named by the network id, or the shared switch whose ref for this chassis is the network id.
   */
  private replicaNetworkSwitch(networkId: string): LogicalSwitch | undefined {
    const legacy = this.replicaSwitch(networkId);
    if (legacy) return legacy;
    const chassis = this.chassis();
    const row = this.nb.client.replica.lookup('Logical_Switch', BY_NETWORK_REF, networkId).find((r) => chassis !== undefined && networkRefs(logicalSwitchFromRow(r)).get(chassis) === networkId);
    return row ? logicalSwitchFromRow(row) : undefined;
  }

  /** The same, from the server on a replica miss or when `fresh`. */
  private async findNetworkSwitch(networkId: string, fresh = false): Promise<LogicalSwitch | undefined> {
    if (!fresh) {
      const cached = this.replicaNetworkSwitch(networkId);
      if (cached) return cached;
    }
    const chassis = this.chassis();
    const wheres = [[cond('name', '==', networkId)], ...(chassis === undefined ? [] : [[cond('external_ids', 'includes', strMap({ [refKey(chassis)]: networkId }))]])];
    const [legacy, shared] = await selectEach(this.nb, 'Logical_Switch', wheres, this.config.dbTimeoutMs, 'logical switch', networkId);
    const row = legacy?.[0] ?? shared?.[0];
    return row ? logicalSwitchFromRow(row) : undefined;
  }

  /** The ports of a shared switch, on any host, that hold the endpoint's addresses (from the server). */
  private async addressHolders(switchName: string, req: CreateEndpointRequest): Promise<LogicalSwitchPort[]> {
    const wheres = requestedAddresses(req).map(([family, ip]) => [cond('external_ids', 'includes', strMap(addressKeys(switchName, family, ip)))]);
    const rows = await selectEach(this.nb, 'Logical_Switch_Port', wheres, this.config.dbTimeoutMs, 'logical switch port', req.endpointId);
    return rows.flat().map(logicalSwitchPortFromRow);
  }

  private replicaPort(endpointId: string): LogicalSwitchPort | undefined {
    const row = this.nb.client.replica.lookup('Logical_Switch_Port', BY_NAME, endpointId)[0];
    return row ? logicalSwitchPortFromRow(row) : undefined;
  }

  /** The switch, from the replica or, on a miss (or when `fresh`), from the server. */
  private async findSwitch(networkId: string, fresh = false): Promise<LogicalSwitch | undefined> {
    const t = this.config.dbTimeoutMs;
    const rows = fresh
      ? await selectRows(this.nb, 'Logical_Switch', 'name', networkId, t, 'logical switch')
      : await findRows(this.nb, 'Logical_Switch', BY_NAME, 'name', networkId, t, 'logical switch');
    return rows[0] ? logicalSwitchFromRow(rows[0]) : undefined;
  }

  private async findPort(endpointId: string, fresh = false): Promise<LogicalSwitchPort | undefined> {
    const t = this.config.dbTimeoutMs;
    const rows = fresh
      ? await selectRows(this.nb, 'Logical_Switch_Port', 'name', endpointId, t, 'logical switch port')
      : await findRows(this.nb, 'Logical_Switch_Port', BY_NAME, 'name', endpointId, t, 'logical switch port');
    return rows[0] ? logicalSwitchPortFromRow(rows[0]) : undefined;
  }

  private async transact(db: DbRef, ops: Operation[]): Promise<void> {
    await db.client.transact(ops, { timeoutMs: this.config.dbTimeoutMs });
  }

  private async getLink(req: EndpointRequest, name: string): Promise<LinkInfo | undefined> {
    try {
      return await this.links.getLink(name);
    } catch (e) {
      throw new DriverError('LINK_ERROR', `failed to read link "${name}" for endpoint "${req.endpointId}": ${errorMessage(e)}`, e);
    }
  }

  private async runLinkSteps(req: EndpointRequest, steps: readonly LinkStep[], verb: string): Promise<void> {
    let created: string | undefined;
    for (const step of steps) {
      try {
        if (step.kind === 'delete') await this.links.deleteLink(step.name);
        else if (step.kind === 'tx-checksum-off') await this.links.setLinkTxChecksumOff(step.name);
        // The container end stays down, as Docker's bridge driver leaves its own: Docker sets it
        // up once it has moved and renamed it in the sandbox (libnetwork osl AddInterface).
        else {
          await this.links.createVethPair({ name: step.name, peerName: step.peerName, peerMac: step.peerMac, mtu: step.mtu, peerUp: false });
          created = step.name;
        }
      } catch (e) {
        // A pair made by an earlier step is removed again: the container gets it complete or not at all.
        if (created !== undefined) await this.undoLinks(req, created);
        const why = step.kind === 'tx-checksum-off' ? '; the integration bridge uses the userspace (netdev) datapath, on which TCP and UDP need it off (ovn-driver doctor checks this kernel)' : '';
        throw new DriverError('LINK_ERROR', `failed to ${verb} "${req.endpointId}": step "${linkStepText(step)}" failed: ${errorMessage(e)}${why}${created !== undefined ? '; the veth was removed again' : ''}`, e);
      }
    }
  }

  private async undoLinks(req: EndpointRequest, hostName: string): Promise<void> {
    try {
      await this.links.deleteLink(hostName);
    } catch (e) {
      this.logger.error(`failed to undo veth "${hostName}" of endpoint ${req.endpointId}: ${errorMessage(e)}; remove it with ip link del ${hostName}`, { endpointId: req.endpointId });
    }
  }
}

function linkStepText(step: LinkStep): string {
  switch (step.kind) {
    case 'delete':
      return `delete link ${step.name}`;
    case 'create':
      return `create veth pair ${step.name}/${step.peerName}`;
    case 'tx-checksum-off':
      return `turn off TX checksum offload of ${step.name}`;
  }
}
