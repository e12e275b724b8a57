// Reconciliation, carried out: at start-up and then periodically, read the replicas, the
// kernel's links and Docker's endpoints, let planReconcile decide, and remove what it names: the
// logical ports in one Northbound transaction, the OVS ports in one local transaction, then the
// veths. When Docker cannot be asked, no logical port is removed (it may still be in use).

import type { Links } from '../netlink/types';
import type { Row } from '../ovsdb/schema';
import { Uuid } from '../ovsdb/data';
import type { Logger } from '../util/logger';
import type { DbClient } from './db';
import type { DockerEndpoints } from './docker-endpoints';
import { errorMessage } from './errors';
import { CHASSIS_KEY, IFACE_ID_KEY, OWNER, OWNER_KEY } from './names';
import { LinkView, LogicalPortView, OvsPortView, planReconcile, ReconcilePlan } from './plan-reconcile';

/** Runs `fn` after `ms`; returns how to cancel it. Injected so tests control time. */
export type Schedule = (fn: () => void, ms: number) => () => void;

export interface ReconcilerOptions {
  readonly nb: DbClient;
  readonly ovs: DbClient;
  readonly links: Links;
  readonly docker: DockerEndpoints;
  readonly logger: Logger;
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

  private chassis(): string | undefined {
    for (const row of this.opts.ovs.replica.table('Open_vSwitch').values()) {
      const id = stringId(row, 'system-id');
      if (id !== undefined && id !== '') return id;
    }
    return undefined;
  }

  private ovsPorts(): OvsPortView[] {
    const replica = this.opts.ovs.replica;
    const out: OvsPortView[] = [];
    for (const port of replica.table('Port').values()) {
      const name = port['name'];
      if (typeof name !== 'string') continue;
      const ifaces = uuids(port, 'interfaces').flatMap((u) => {
        const r = replica.get('Interface', u.value);
        return r ? [r] : [];
      });
      const owned = stringId(port, OWNER_KEY) === OWNER || ifaces.some((i) => stringId(i, OWNER_KEY) === OWNER);
      const ifaceId = ifaces.map((i) => stringId(i, IFACE_ID_KEY)).find((x) => x !== undefined);
      out.push({ uuid: port._uuid, name, owned, ifaceId });
    }
    return out;
  }

  private logicalPorts(): LogicalPortView[] {
    const out: LogicalPortView[] = [];
    for (const lsp of this.opts.nb.replica.table('Logical_Switch_Port').values()) {
      const name = lsp['name'];
      if (typeof name !== 'string') continue;
      out.push({ uuid: lsp._uuid, name, owned: stringId(lsp, OWNER_KEY) === OWNER, chassis: stringId(lsp, CHASSIS_KEY) });
    }
    return out;
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
    const plan = planReconcile({
      chassis: this.chassis(),
      ovsPorts: this.ovsPorts(),
      // Without a connected Northbound replica, no logical port is judged.
      logicalPorts: this.opts.nb.state === 'connected' ? this.logicalPorts() : [],
      links,
      dockerEndpoints,
      since: this.since,
      now: this.now(),
      graceMs: this.graceMs,
    });
    this.since = plan.since;

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
    const removed: { logicalPorts: string[]; ovsPorts: string[]; links: string[] } = { logicalPorts: [], ovsPorts: [], links: [] };
    if (plan.nb.length > 0 && (await step(`remove logical switch ports ${plan.removed.logicalPorts.join(', ')}`, () => this.opts.nb.transact(plan.nb, { timeoutMs: this.dbTimeoutMs })))) {
      removed.logicalPorts.push(...plan.removed.logicalPorts);
    }
    // After the OVS port, so vswitchd never holds a port whose device vanished.
    if (plan.ovs.length > 0 && (await step(`remove OVS ports ${plan.removed.ovsPorts.join(', ')}`, () => this.opts.ovs.transact(plan.ovs, { timeoutMs: this.dbTimeoutMs })))) {
      removed.ovsPorts.push(...plan.removed.ovsPorts);
    }
    for (const name of plan.links) {
      if (await step(`delete link ${name}`, () => this.opts.links.deleteLink(name))) removed.links.push(name);
    }
    if (removed.logicalPorts.length + removed.ovsPorts.length + removed.links.length > 0) {
      logger.info('reconcile removed what nothing owns any more', removed);
    } else logger.debug('reconcile: nothing to remove', { candidates: plan.since.size });
    return { removed, dockerKnown: dockerEndpoints !== 'unknown', errors };
  }
}
