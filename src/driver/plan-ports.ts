// Published ports (`docker run -p`): Docker does no port mapping for a remote driver, it hands
// ProgramExternalConnectivity the container's port map. Each endpoint's mappings of one protocol
// become one OVN Load_Balancer on its VRF's router (portMapName): VIP = the VRF's external
// address : host port, backend = the container's address : port. The router's way out is a
// distributed gateway port, so the load balancer answers on the gateway host that carries the
// VRF. RevokeExternalConnectivity (and DeleteEndpoint, and the reconciler for what a crash left)
// removes them. What an endpoint publishes is also recorded on its logical port, for status.

import type { LoadBalancer, LogicalRouter, LogicalSwitchPort } from '../ovn/tables.generated';
import { namedUuid } from '../ovsdb/data';
import { cond, del, insert, mutate, Mutation, Operation, strMap, wait } from '../ovsdb/operations';
import type { PortBinding, PortProtocol } from './api';
import { DriverError } from './errors';
import { CHASSIS_KEY, ENDPOINT_ID_KEY, NETWORK_ID_KEY, OWNER_MARK, portMapName, PUBLISHED_KEY } from './names';
import { portAddresses } from './records';

/** Where Docker's -P (HostPort 0) picks from: its own default ephemeral range. */
export const AUTO_PORTS = { first: 49153, last: 60999 } as const;

/** The host addresses that mean "the VRF's address": any, or it. */
function hostIpAccepted(hostIp: string, address: string): boolean {
  return hostIp === '' || hostIp === '0.0.0.0' || hostIp === '::' || hostIp === address;
}

/** "198.18.250.10:8080" -> 8080, of a VIP on `address`; undefined for another address's. */
function vipPort(vip: string, address: string): number | undefined {
  const at = vip.lastIndexOf(':');
  if (at < 0 || vip.slice(0, at) !== address) return undefined;
  const port = Number(vip.slice(at + 1));
  return Number.isInteger(port) ? port : undefined;
}

export interface PublishState {
  readonly lsp: LogicalSwitchPort;
  readonly vrf: string;
  readonly router: LogicalRouter;
  /** The VRF's external address; undefined: the VRF has no way out. */
  readonly address: string | undefined;
  /** The router's load balancers, as the server holds them. */
  readonly loadBalancers: readonly LoadBalancer[];
  readonly chassis: string | undefined;
}

export interface PublishPlan {
  readonly ops: Operation[];
  /** "tcp 198.18.250.10:8080->80", one per mapping, as status shows them. */
  readonly published: string[];
}

function holder(lb: LoadBalancer): string {
  const ep = lb.external_ids.get(ENDPOINT_ID_KEY) ?? lb.name;
  const host = lb.external_ids.get(CHASSIS_KEY) ?? 'an unknown host';
  const backend = [...lb.vips.values()][0] ?? '';
  return `endpoint ${ep} on host ${host} (container address ${backend.replace(/:[0-9]+$/, '')}; docker network inspect shows its container)`;
}

/**
 * The load balancers for the endpoint's port map, replacing the ones it had (Docker sends the
 * same map again after a daemon restart: then nothing changes). CONFLICT for a host address
 * other than the VRF's, a host port another endpoint publishes, or a VRF with no way out.
 */
export function planPublish(endpointId: string, networkId: string, bindings: readonly PortBinding[], s: PublishState): PublishPlan {
  const mine = s.loadBalancers.filter((lb) => lb.external_ids.get(ENDPOINT_ID_KEY) === endpointId);
  if (bindings.length === 0 && mine.length === 0) return { ops: [], published: [] };
  if (s.address === undefined) {
    // The cluster has a way out (OvnDriver checks), but this VRF's router was made before it.
    throw new DriverError('CONFLICT', `failed to publish ports of endpoint "${endpointId}": VRF "${s.vrf}" has no way out yet: its router was made before the cluster's gateway hosts set up the external network; restart the driver of a gateway host (--external-bridge), which gives every VRF its way out, then start the container again, or run it without -p`);
  }
  const address = s.address;
  const ip = portAddresses(s.lsp).ips.find((a) => !a.includes(':'));
  if (ip === undefined && bindings.length > 0) {
    throw new DriverError('CONFLICT', `failed to publish ports of endpoint "${endpointId}": it has no IPv4 address, and ports are published on the VRF's IPv4 address ${address}; run it on a network with an IPv4 subnet`);
  }
  // Ports other endpoints publish on the address, per protocol.
  const taken = new Map<PortProtocol, Map<number, LoadBalancer>>();
  for (const lb of s.loadBalancers) {
    if (lb.external_ids.get(ENDPOINT_ID_KEY) === endpointId) continue;
    // An empty protocol is OVN's default, tcp.
    const text = lb.protocol[0] ?? 'tcp';
    const proto: PortProtocol | undefined = text === 'tcp' || text === 'udp' || text === 'sctp' ? text : undefined;
    if (proto === undefined) continue;
    let m = taken.get(proto);
    if (!m) taken.set(proto, (m = new Map()));
    for (const vip of lb.vips.keys()) {
      const p = vipPort(vip, address);
      if (p !== undefined) m.set(p, lb);
    }
  }
  const chosen = new Map<PortProtocol, Map<number, string>>();
  const published: string[] = [];
  const seen = new Set<string>();
  for (const b of bindings) {
    if (!hostIpAccepted(b.hostIp, address)) {
      throw new DriverError('CONFLICT', `failed to publish port ${b.port}/${b.proto} of endpoint "${endpointId}": host address ${b.hostIp} is not VRF "${s.vrf}"'s external address ${address}, the only one its ports are published on; use -p ${address}:${b.hostPort === 0 ? '' : `${b.hostPort}:`}${b.port} or leave the address out`);
    }
    // Docker lists a mapping once per host address family (0.0.0.0 and ::): one VIP here.
    const key = `${b.proto}/${b.port}/${b.hostPort}/${b.hostPortEnd}`;
    if (seen.has(key)) continue;
    seen.add(key);
    let m = chosen.get(b.proto);
    if (!m) chosen.set(b.proto, (m = new Map()));
    const others = taken.get(b.proto) ?? new Map<number, LoadBalancer>();
    const free = (p: number): boolean => !others.has(p) && !(m?.has(p) ?? false);
    let hostPort: number | undefined;
    if (b.hostPort === 0) {
      for (let p = AUTO_PORTS.first; p <= AUTO_PORTS.last && hostPort === undefined; p++) if (free(p)) hostPort = p;
      if (hostPort === undefined) throw new DriverError('CONFLICT', `failed to publish port ${b.port}/${b.proto} of endpoint "${endpointId}": every port of ${AUTO_PORTS.first}-${AUTO_PORTS.last} on ${address} is published; name a host port with -p`);
    } else if (b.hostPortEnd > b.hostPort) {
      for (let p = b.hostPort; p <= b.hostPortEnd && hostPort === undefined; p++) if (free(p)) hostPort = p;
      if (hostPort === undefined) throw new DriverError('CONFLICT', `failed to publish port ${b.port}/${b.proto} of endpoint "${endpointId}": every port of ${b.hostPort}-${b.hostPortEnd} on ${address} is published; choose another range`);
    } else {
      const other = others.get(b.hostPort);
      if (other) throw new DriverError('CONFLICT', `failed to publish port ${b.port}/${b.proto} of endpoint "${endpointId}": ${address}:${b.hostPort}/${b.proto} is already published by ${holder(other)}; choose another host port, or remove that container`);
      if (m.has(b.hostPort)) throw new DriverError('CONFLICT', `failed to publish port ${b.port}/${b.proto} of endpoint "${endpointId}": host port ${b.hostPort}/${b.proto} is given twice; give each mapping its own host port`);
      hostPort = b.hostPort;
    }
    m.set(hostPort, `${ip ?? ''}:${b.port}`);
    published.push(`${b.proto} ${address}:${hostPort}->${b.port}`);
  }

  // The same as the endpoint has: nothing to do (Docker's retry, or a replay).
  const wanted = [...chosen].filter(([, m]) => m.size > 0).map(([proto, m]) => ({ proto, vips: new Map([...m].map(([p, backend]) => [`${address}:${p}`, backend])) }));
  const same = wanted.length === mine.length && wanted.every((w) => {
    const lb = mine.find((x) => x.name === portMapName(endpointId, w.proto));
    return lb !== undefined && lb.vips.size === w.vips.size && [...w.vips].every(([k, v]) => lb.vips.get(k) === v);
  });
  if (same) return { ops: [], published };

  const where = [cond('_uuid', '==', s.router._uuid)];
  const ops: Operation[] = [
    // The router's load balancers as read: another endpoint publishing meanwhile fails this and the plan is made again.
    wait('Logical_Router', where, ['load_balancer'], '==', [{ load_balancer: s.router.load_balancer }], 0),
    ...mine.map((lb) => del('Load_Balancer', [cond('_uuid', '==', lb._uuid)])),
  ];
  const mutations: Mutation[] = [];
  if (mine.length > 0) mutations.push(['load_balancer', 'delete', mine.map((lb) => lb._uuid)]);
  const refs = wanted.map((w, i) => {
    ops.push(insert('Load_Balancer', {
      name: portMapName(endpointId, w.proto), protocol: w.proto, vips: strMap(Object.fromEntries(w.vips)),
      external_ids: strMap({ ...OWNER_MARK, [ENDPOINT_ID_KEY]: endpointId, [NETWORK_ID_KEY]: networkId, ...(s.chassis === undefined ? {} : { [CHASSIS_KEY]: s.chassis }) }),
    }, `lb_${i}`));
    return namedUuid(`lb_${i}`);
  });
  if (refs.length > 0) mutations.push(['load_balancer', 'insert', refs]);
  if (mutations.length > 0) ops.push(mutate('Logical_Router', where, mutations));
  ops.push(publishedMark(s.lsp, published));
  return { ops, published };
}

/** The logical port's record of what it publishes ("" = nothing). */
function publishedMark(lsp: LogicalSwitchPort, published: readonly string[]): Operation {
  const m: Mutation[] = [['external_ids', 'delete', [PUBLISHED_KEY]]];
  if (published.length > 0) m.push(['external_ids', 'insert', strMap({ [PUBLISHED_KEY]: published.join(',') })]);
  return mutate('Logical_Switch_Port', [cond('_uuid', '==', lsp._uuid)], m);
}

/** Removes an endpoint's load balancers (from every router holding them) and, if given, its logical port's record. */
export function planUnpublish(loadBalancers: readonly LoadBalancer[], lsp: LogicalSwitchPort | undefined): Operation[] {
  const ops: Operation[] = loadBalancers.flatMap((lb) => [
    // The router's reference is weak (the server would drop it); removed here, it says what happens.
    mutate('Logical_Router', [cond('load_balancer', 'includes', [lb._uuid])], [['load_balancer', 'delete', [lb._uuid]]]),
    del('Load_Balancer', [cond('_uuid', '==', lb._uuid)]),
  ]);
  if (lsp && lsp.external_ids.has(PUBLISHED_KEY)) ops.push(publishedMark(lsp, []));
  return ops;
}

/** What an endpoint publishes, from its logical port's record. */
export function publishedOf(lsp: LogicalSwitchPort): string[] {
  const text = lsp.external_ids.get(PUBLISHED_KEY) ?? '';
  return text === '' ? [] : text.split(',');
}
