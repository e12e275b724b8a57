// Reconciliation, the pure part: from what the databases and the kernel hold and the endpoints
// Docker still has, decide what this host made that nothing owns any more. Only things carrying
// our marks are candidates: OVS ports marked ovn-driver:owner, veths named `ovn` + 12 hex,
// logical ports marked ovn-driver:owner whose ovn-driver:chassis is this host. Another host's or
// another tool's rows and links are never touched. A candidate is removed only once it has been
// one for `graceMs` (a Join between its veth and its OVS port, or a container start between
// CreateEndpoint and Docker recording the endpoint, looks like debris for a moment).

import type { Uuid } from '../ovsdb/data';
import { cond, del, mutate, Operation } from '../ovsdb/operations';
import { HOST_LINK_RE, hostLinkName } from './names';

export interface OvsPortView {
  readonly uuid: Uuid;
  readonly name: string;
  /** The Port or its Interface carries ovn-driver:owner=ovn-driver. */
  readonly owned: boolean;
  /** The Interface's external_ids:iface-id. */
  readonly ifaceId: string | undefined;
}

export interface LogicalPortView {
  readonly uuid: Uuid;
  readonly name: string;
  readonly owned: boolean;
  readonly chassis: string | undefined;
  /** Its docker:network-id, whose lock covers its removal. */
  readonly networkId?: string | undefined;
  /** It records published ports (plan-ports.ts): their load balancers go with it. */
  readonly published?: boolean;
}

export interface LinkView {
  readonly name: string;
  readonly kind: string | undefined;
}

export interface ReconcileInput {
  /** This host's Open_vSwitch external_ids:system-id; undefined = logical ports are left alone. */
  readonly chassis: string | undefined;
  readonly ovsPorts: readonly OvsPortView[];
  readonly logicalPorts: readonly LogicalPortView[];
  readonly links: readonly LinkView[];
  /** Endpoint ids Docker has, or 'unknown' when Docker could not be asked. */
  readonly dockerEndpoints: ReadonlySet<string> | 'unknown';
  /** Candidate key -> when it was first seen a candidate (ms); from the previous pass. */
  readonly since: ReadonlyMap<string, number>;
  readonly now: number;
  readonly graceMs: number;
}

export interface ReconcilePlan {
  readonly nb: Operation[];
  readonly ovs: Operation[];
  /** Host-end veth names to delete (the peer goes with it). */
  readonly links: string[];
  /** What is removed, for the log. */
  readonly removed: { readonly logicalPorts: string[]; readonly ovsPorts: string[]; readonly links: string[] };
  /** The candidates of this pass, to pass as `since` next time. */
  readonly since: Map<string, number>;
}

export function planReconcile(input: ReconcileInput): ReconcilePlan {
  const since = new Map<string, number>();
  // True once `key` has been a candidate for the grace period; records it either way.
  const due = (key: string): boolean => {
    const first = input.since.get(key) ?? input.now;
    since.set(key, first);
    return input.now - first >= input.graceMs;
  };

  // Logical ports of this host whose endpoint Docker no longer has (only when Docker answered).
  const orphanEndpoints = new Set<string>();
  const nb: Operation[] = [];
  if (input.dockerEndpoints !== 'unknown' && input.chassis !== undefined) {
    const docker = input.dockerEndpoints;
    for (const lsp of input.logicalPorts) {
      if (!lsp.owned || lsp.chassis !== input.chassis || docker.has(lsp.name)) continue;
      if (!due(`lsp:${lsp.name}`)) continue;
      orphanEndpoints.add(lsp.name);
      nb.push(
        mutate('Logical_Switch', [cond('ports', 'includes', [lsp.uuid])], [['ports', 'delete', [lsp.uuid]]]),
        del('Logical_Switch_Port', [cond('_uuid', '==', lsp.uuid)]),
      );
    }
  }
  // OVS ports of endpoints Docker no longer has whose logical port is gone already (a container
  // removed while the driver was down): the port and its veth go too.
  const logicalNames = new Set(input.logicalPorts.map((l) => l.name));
  const docker = input.dockerEndpoints;
  const goneEndpoints = new Set(docker === 'unknown' ? [] : input.ovsPorts.flatMap((p) => (p.owned && p.ifaceId !== undefined && !docker.has(p.ifaceId) && !logicalNames.has(p.ifaceId) && due(`gone:${p.ifaceId}`) ? [p.ifaceId] : [])));
  const orphanHostNames = new Set([...orphanEndpoints, ...goneEndpoints].map(hostLinkName));

  const linkNames = new Set(input.links.map((l) => l.name));
  const portNames = new Set(input.ovsPorts.map((p) => p.name));
  const ovs: Operation[] = [];
  const removedPorts: string[] = [];
  for (const p of input.ovsPorts) {
    if (!p.owned) continue;
    const endpointGone = p.ifaceId !== undefined && (orphanEndpoints.has(p.ifaceId) || goneEndpoints.has(p.ifaceId));
    // A missing veth is only ours to judge for ports named like our veths.
    const vethGone = HOST_LINK_RE.test(p.name) && !linkNames.has(p.name) && due(`port:${p.name}`);
    if (!endpointGone && !vethGone) continue;
    removedPorts.push(p.name);
    // Port and Interface are non-root: unlinked from the bridge, the server deletes them.
    ovs.push(mutate('Bridge', [cond('ports', 'includes', [p.uuid])], [['ports', 'delete', [p.uuid]]]));
  }

  const links: string[] = [];
  for (const l of input.links) {
    if (l.kind !== 'veth' || !HOST_LINK_RE.test(l.name)) continue;
    const unattached = !portNames.has(l.name) && due(`link:${l.name}`);
    if (unattached || orphanHostNames.has(l.name)) links.push(l.name);
  }

  return { nb, ovs, links, removed: { logicalPorts: [...orphanEndpoints], ovsPorts: removedPorts, links: [...links] }, since };
}
