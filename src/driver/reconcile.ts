// Reconciliation, carried out: at start-up and then periodically, read the replicas, the
// kernel's links and Docker's endpoints, let planReconcile decide, and remove what it names,
// endpoint by endpoint: its logical port, then its OVS port, then its veth. When Docker cannot
// be asked, no logical port is removed (it may still be in use). Each endpoint's share is
// removed under the lock requests take (its host veth name, and the network of a logical port)
// and decided again with what the server and the kernel hold at that moment, so a Join that
// has just decided to reuse a port or veth keeps it.

import type { Links } from '../netlink/types';
import { cond, select, strMap } from '../ovsdb/operations';
import { normalizeRow, Row } from '../ovsdb/schema';
import { Uuid, Value } from '../ovsdb/data';
import type { Logger } from '../util/logger';
import { localChassis } from './chassis';
import type { DockerEndpoints } from './docker-endpoints';
import { errorMessage } from './errors';
import { CHASSIS_KEY, ENDPOINT_ID_KEY, hasOwnerMark, HOST_LINK_RE, hostLinkName, IFACE_ID_KEY, NETWORK_ID_KEY, PUBLISHED_KEY } from './names';
import { planUnpublish } from './plan-ports';
import { DbClient, selectEach } from './db';
import { loadBalancerFromRow } from '../ovn/tables.generated';
import { LinkView, LogicalPortView, OvsPortView, planReconcile, ReconcileInput, ReconcilePlan } from './plan-reconcile';

/** The locks requests take (OvnDriver's), so a pass never removes what a request is using. */
export interface ReconcileLocks {
  /** The lock of the endpoint whose host veth (and OVS port) is named `hostName`. */
  hostLink<T>(hostName: string, fn: () => Promise<T>): Promise<T>;
  network<T>(networkId: string, fn: () => Promise<T>): Promise<T>;
}

/** Runs `fn` after `ms`; returns how to cancel it. Injected so tests control time. */
export type Schedule = (fn: () => void, ms: number) => () => void;

export interface ReconcilerOptions {
  readonly nb: DbClient;
  readonly ovs: DbClient;
  readonly links: Links;
  readonly docker: DockerEndpoints;
  readonly logger: Logger;
  readonly locks: ReconcileLocks;
  /** Between passes (default 60 s). */
  readonly intervalMs?: number;
  /** How long something must look orphaned before it is removed (default 30 s). */
  readonly graceMs?: number;
  /** Per database transaction (default 20 s). */
  readonly dbTimeoutMs?: number;
  readonly now?: () => number;
  readonly schedule?: Schedule;
}

export interface ReconcileReport {
  readonly removed: ReconcilePlan['removed'];
  /** False when Docker could not be asked (logical ports were then left alone). */
  readonly dockerKnown: boolean;
  readonly errors: string[];
}

function externalIds(row: Row): ReadonlyMap<unknown, unknown> {
  const m = row['external_ids'];
  return m instanceof Map ? m : new Map();
}

function stringId(row: Row, key: string): string | undefined {
  const v = externalIds(row).get(key);
  return typeof v === 'string' ? v : undefined;
}

function uuids(row: Row, column: string): Uuid[] {
  const v = row[column];
  const list = Array.isArray(v) ? v : [v];
  return list.filter((x): x is Uuid => x instanceof Uuid);
}

const realSchedule: Schedule = (fn, ms) => {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
};

export class Reconciler {
  private readonly opts: ReconcilerOptions;
  private readonly intervalMs: number;
  private readonly graceMs: number;
  private readonly dbTimeoutMs: number;
  private readonly now: () => number;
  private readonly schedule: Schedule;
  private since = new Map<string, number>();
  private cancel: (() => void) | undefined;
  private stopped = true;
  private running: Promise<ReconcileReport> | undefined;

  constructor(opts: ReconcilerOptions) {
    this.opts = opts;
    this.intervalMs = opts.intervalMs ?? 60_000;
    this.graceMs = opts.graceMs ?? 30_000;
    this.dbTimeoutMs = opts.dbTimeoutMs ?? 20_000;
    if (!(this.intervalMs > 0) || !(this.graceMs >= 0) || !(this.dbTimeoutMs > 0)) {
      throw new RangeError('Reconciler: intervalMs and dbTimeoutMs must be positive, graceMs not negative');
    }
    this.now = opts.now ?? Date.now;
    this.schedule = opts.schedule ?? realSchedule;
  }

  /** A pass now, another once the grace period has passed (so start-up debris goes), then every interval. */
  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    const loop = (delay: number, next: number): void => {
      this.cancel = this.schedule(() => {
        void this.runOnce().finally(() => {
          if (!this.stopped) loop(next, next);
        });
      }, delay);
    };
    void this.runOnce().finally(() => {
      if (!this.stopped) loop(Math.min(this.graceMs + 1, this.intervalMs), this.intervalMs);
    });
  }

  /** Stops the schedule and waits for a pass in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel?.();
    if (this.running) await this.running.catch(() => undefined);
  }

  /** One pass (passes never overlap: a call during a pass gets that pass's report). */
  runOnce(): Promise<ReconcileReport> {
    if (!this.running) {
      this.running = this.pass()
        .catch((e: unknown) => {
          // A pass never takes the daemon down: it is tried again at the next interval.
          const msg = `failed to reconcile: ${errorMessage(e)}`;
          this.opts.logger.error(msg);
          return { removed: { logicalPorts: [], ovsPorts: [], links: [] }, dockerKnown: false, errors: [msg] };
        })
        .finally(() => {
          this.running = undefined;
        });
    }
    return this.running;
  }

  private ovsPorts(): OvsPortView[] {
    const replica = this.opts.ovs.replica;
    return portViews([...replica.table('Port').values()], (u) => replica.get('Interface', u.value));
  }

  /** The OVS ports of these names as the server holds them now (the replica may lag a commit). */
  private async serverPorts(names: readonly string[]): Promise<OvsPortView[]> {
    const { ovs } = this.opts;
    const res = await ovs.transact(names.map((n) => select('Port', [cond('name', '==', n)])), { timeoutMs: this.dbTimeoutMs });
    const ports = this.normalized('Port', res.flatMap((r) => r.rows ?? []));
    const ifaceIds = ports.flatMap((p) => uuids(p, 'interfaces'));
    const ifaces = ifaceIds.length === 0 ? [] : this.normalized('Interface', (await ovs.transact(ifaceIds.map((u) => select('Interface', [cond('_uuid', '==', u)])), { timeoutMs: this.dbTimeoutMs })).flatMap((r) => r.rows ?? []));
    return portViews(ports, (u) => ifaces.find((i) => i._uuid.equals(u)));
  }

  private normalized(table: string, rows: Record<string, Value>[]): Row[] {
    const ts = this.opts.ovs.schema?.tables.get(table);
    if (!ts) throw new Error(`the local database's schema has no table ${table}`);
    return rows.map((r) => normalizeRow(ts, r));
  }

  private logicalPorts(): LogicalPortView[] {
    return [...this.opts.nb.replica.table('Logical_Switch_Port').values()].flatMap(logicalPortView);
  }

  private async pass(): Promise<ReconcileReport> {
    const { logger } = this.opts;
    const errors: string[] = [];
    const nothing = { logicalPorts: [], ovsPorts: [], links: [] };
    // A replica that is not connected may be empty or stale: every veth would look unattached.
    if (this.opts.ovs.state !== 'connected') {
      logger.debug('reconcile skipped: the local Open_vSwitch database is not connected');
      return { removed: nothing, dockerKnown: false, errors: [] };
    }
    let links: LinkView[];
    try {
      links = (await this.opts.links.listLinks()).map((l) => ({ name: l.name, kind: l.kind }));
    } catch (e) {
      const msg = `failed to reconcile: could not list links: ${errorMessage(e)}`;
      logger.warn(msg);
      return { removed: nothing, dockerKnown: false, errors: [msg] };
    }
    let dockerEndpoints: ReadonlySet<string> | 'unknown';
    try {
      dockerEndpoints = await this.opts.docker.endpointIds();
    } catch (e) {
      dockerEndpoints = 'unknown';
      logger.warn(`reconcile: cannot ask Docker which endpoints it has (${errorMessage(e)}); logical ports are left alone until it answers`);
    }
    // Replicas are read after Docker answered: an endpoint created meanwhile is then in both.
    const input: ReconcileInput = {
      chassis: localChassis(this.opts.ovs.replica),
      ovsPorts: this.ovsPorts(),
      // Without a connected Northbound replica, no logical port is judged.
      logicalPorts: this.opts.nb.state === 'connected' ? this.logicalPorts() : [],
      links,
      dockerEndpoints,
      since: this.since,
      now: this.now(),
      graceMs: this.graceMs,
    };
    const plan = planReconcile(input);
    this.since = plan.since;

    const removed: { logicalPorts: string[]; ovsPorts: string[]; links: string[] } = { logicalPorts: [], ovsPorts: [], links: [] };
    for (const [key, group] of groupByHostLink(plan, input)) {
      const run = (): Promise<void> => this.opts.locks.hostLink(key, () => this.removeGroup(key, input, plan.since, group, removed, errors));
      const network = group.logicalPorts.map((l) => l.networkId).find((n) => n !== undefined);
      try {
        await (network === undefined ? run() : this.opts.locks.network(network, run));
      } catch (e) {
        const msg = `failed to reconcile ${key}: ${errorMessage(e)}`;
        errors.push(msg);
        logger.warn(msg);
      }
    }
    if (removed.logicalPorts.length + removed.ovsPorts.length + removed.links.length > 0) {
      logger.info('reconcile removed what nothing owns any more', removed);
    } else logger.debug('reconcile: nothing to remove', { candidates: plan.since.size });
    return { removed, dockerKnown: dockerEndpoints !== 'unknown', errors };
  }

  /**
   * One endpoint's share of a pass, holding its lock: decided again from the server's OVS ports,
   * the kernel's links and the replica's logical ports as they are now, then removed.
   */
  private async removeGroup(key: string, input: ReconcileInput, since: ReadonlyMap<string, number>, group: Group, removed: ReconcilePlan['removed'], errors: string[]): Promise<void> {
    const { nb, ovs, links, logger } = this.opts;
    // The lock's own name too: a logical port's removal takes its OVS port and veth with it.
    const names = [...new Set([key, ...group.ovsPorts.map((p) => p.name), ...group.links.map((l) => l.name)])];
    const fresh = await this.serverPorts(names);
    const linkNames = [...new Set([...names, ...fresh.map((p) => p.name)])];
    const present = (await Promise.all(linkNames.map((n) => links.getLink(n)))).flatMap((l) => (l ? [{ name: l.name, kind: l.kind }] : []));
    const lsps = group.logicalPorts.flatMap((l) => {
      const row = nb.replica.get('Logical_Switch_Port', l.view.uuid.value);
      return row ? logicalPortView(row) : [];
    });
    const plan = planReconcile({ ...input, ovsPorts: fresh, logicalPorts: lsps, links: present, since });
    // A removed endpoint that published ports (its Revoke never came): its load balancers go too.
    const published = plan.removed.logicalPorts.filter((name) => group.logicalPorts.some((l) => l.view.name === name && l.view.published === true));
    if (published.length > 0) {
      const rows = await selectEach({ client: nb, role: 'Northbound', remotes: '' }, 'Load_Balancer', published.map((ep) => [cond('external_ids', 'includes', strMap({ [ENDPOINT_ID_KEY]: ep }))]), this.dbTimeoutMs, 'load balancer', published.join(','));
      plan.nb.unshift(...planUnpublish(rows.flat().map(loadBalancerFromRow).filter((lb) => lb.name.startsWith('pm/')), undefined));
    }
    const step = async (what: string, fn: () => Promise<unknown>): Promise<boolean> => {
      try {
        await fn();
        return true;
      } catch (e) {
        const msg = `failed to reconcile: ${what}: ${errorMessage(e)}`;
        errors.push(msg);
        logger.warn(msg);
        return false;
      }
    };
    if (plan.nb.length > 0 && (await step(`remove logical switch ports ${plan.removed.logicalPorts.join(', ')}`, () => nb.transact(plan.nb, { timeoutMs: this.dbTimeoutMs })))) {
      removed.logicalPorts.push(...plan.removed.logicalPorts);
    }
    // After the OVS port, so vswitchd never holds a port whose device vanished.
    if (plan.ovs.length > 0 && (await step(`remove OVS ports ${plan.removed.ovsPorts.join(', ')}`, () => ovs.transact(plan.ovs, { timeoutMs: this.dbTimeoutMs })))) {
      removed.ovsPorts.push(...plan.removed.ovsPorts);
    }
    for (const name of plan.links) {
      if (await step(`delete link ${name}`, () => links.deleteLink(name))) removed.links.push(name);
    }
  }
}

interface Group {
  readonly logicalPorts: { view: LogicalPortView; networkId: string | undefined }[];
  readonly ovsPorts: OvsPortView[];
  readonly links: LinkView[];
}

/** The snapshot plan's removals by the host veth name whose lock covers them. */
function groupByHostLink(plan: ReconcilePlan, input: ReconcileInput): Map<string, Group> {
  const groups = new Map<string, Group>();
  const group = (key: string): Group => {
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { logicalPorts: [], ovsPorts: [], links: [] }));
    return g;
  };
  for (const name of plan.removed.logicalPorts) {
    const view = input.logicalPorts.find((l) => l.name === name);
    if (view) group(hostLinkName(name)).logicalPorts.push({ view, networkId: view.networkId });
  }
  for (const name of plan.removed.ovsPorts) {
    const view = input.ovsPorts.find((p) => p.name === name);
    if (!view) continue;
    const key = HOST_LINK_RE.test(name) || view.ifaceId === undefined ? name : hostLinkName(view.ifaceId);
    group(key).ovsPorts.push(view);
  }
  for (const name of plan.links) {
    const view = input.links.find((l) => l.name === name);
    if (view) group(name).links.push(view);
  }
  return groups;
}

function portViews(ports: readonly Row[], iface: (u: Uuid) => Row | undefined): OvsPortView[] {
  return ports.flatMap((port) => {
    const name = port['name'];
    if (typeof name !== 'string') return [];
    const ifaces = uuids(port, 'interfaces').flatMap((u) => {
      const r = iface(u);
      return r ? [r] : [];
    });
    const owned = hasOwnerMark(port['external_ids']) || ifaces.some((i) => hasOwnerMark(i['external_ids']));
    const ifaceId = ifaces.map((i) => stringId(i, IFACE_ID_KEY)).find((x) => x !== undefined);
    return [{ uuid: port._uuid, name, owned, ifaceId }];
  });
}

function logicalPortView(lsp: Row): LogicalPortView[] {
  const name = lsp['name'];
  if (typeof name !== 'string') return [];
  return [{ uuid: lsp._uuid, name, owned: hasOwnerMark(lsp['external_ids']), chassis: stringId(lsp, CHASSIS_KEY), networkId: stringId(lsp, NETWORK_ID_KEY), published: stringId(lsp, PUBLISHED_KEY) !== undefined }];
}
