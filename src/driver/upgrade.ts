// Networks created before routing: their switches record neither whether the network is
// --internal nor a router (plan-network.ts needsRouting). When the daemon starts, it asks Docker
// which of this host's networks are internal, and routes the others as CreateNetwork now does:
// the gateway port on the VRF's router and the switch's router-type port, in one transaction
// per network, under the network's lock. It tries again every `retryMs` while Docker or the
// Northbound cannot be asked, and stops once nothing is left (a network another host still runs
// with the previous release is routed by whichever host upgrades first).

import { logicalSwitchFromRow } from '../ovn/tables.generated';
import type { Logger } from '../util/logger';
import { localChassis } from './chassis';
import type { DbClient } from './db';
import type { DockerNetworks } from './docker-endpoints';
import { errorMessage } from './errors';
import { needsRouting } from './plan-network';
import type { Schedule } from './reconcile';
import { networkRefs } from './records';
import { isDockerId } from '../util/docker-id';

export interface NetworkRouting {
  routeExistingNetwork(networkId: string, internal: boolean): Promise<'routed' | 'done' | 'gone'>;
}

export interface UpgradeOptions {
  readonly nb: Pick<DbClient, 'replica' | 'state'>;
  readonly ovs: Pick<DbClient, 'replica'>;
  readonly driver: NetworkRouting;
  readonly docker: DockerNetworks;
  readonly logger: Logger;
  /** Between attempts while something is left (default 10 s). */
  readonly retryMs?: number;
  readonly schedule?: Schedule;
}

export interface UpgradeReport {
  readonly routed: string[];
  /** Left for the next attempt (Docker or the Northbound did not answer), with why. */
  readonly errors: string[];
}

const defaultSchedule: Schedule = (fn, ms) => {
  const t = setTimeout(fn, ms);
  t.unref();
  return () => clearTimeout(t);
};

export class NetworkUpgrader {
  private cancel: (() => void) | undefined;
  private running: Promise<unknown> | undefined;
  private stopped = false;

  constructor(private readonly opts: UpgradeOptions) {}

  /** This host's Docker network ids whose switches need routing (from the replica). */
  candidates(): string[] {
    const chassis = localChassis(this.opts.ovs.replica);
    const ids: string[] = [];
    for (const row of this.opts.nb.replica.table('Logical_Switch').values()) {
      const sw = logicalSwitchFromRow(row);
      if (!needsRouting(sw)) continue;
      const refs = networkRefs(sw);
      // A shared switch records this host's network; one named by a network id may be any host's
      // (Docker says whether it is this one's).
      const mine = refs.size === 0 ? (isDockerId(sw.name) ? sw.name : undefined) : chassis === undefined ? undefined : refs.get(chassis);
      if (mine !== undefined) ids.push(mine);
    }
    return ids;
  }

  /** One attempt over every candidate. */
  async pass(): Promise<UpgradeReport> {
    const routed: string[] = [];
    const errors: string[] = [];
    if (this.opts.nb.state !== 'connected') return { routed, errors: ['the Northbound database is not connected'] };
    for (const networkId of this.candidates()) {
      try {
        const net = await this.opts.docker.inspectNetwork(networkId);
        // Not a network of this host's Docker (a switch named by another host's network id).
        if (!net) continue;
        if ((await this.opts.driver.routeExistingNetwork(networkId, net.internal)) === 'routed') routed.push(networkId);
      } catch (e) {
        errors.push(`network ${networkId}: ${errorMessage(e)}`);
      }
    }
    return { routed, errors };
  }

  start(): void {
    const schedule = this.opts.schedule ?? defaultSchedule;
    const attempt = (): void => {
      this.cancel = undefined;
      if (this.stopped) return;
      this.running = this.pass().then((r) => {
        for (const e of r.errors) this.opts.logger.warn(`failed to route a network of the previous release: ${e}; trying again in ${(this.opts.retryMs ?? 10_000) / 1000} s`);
        if (r.errors.length > 0 && !this.stopped) this.cancel = schedule(attempt, this.opts.retryMs ?? 10_000);
      });
    };
    attempt();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.cancel?.();
    await this.running;
  }
}
