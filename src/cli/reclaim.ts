// `ovn-driver ipam-reclaim CHASSIS [--force]`: frees the `--ipam-driver ovn` allocations of a
// host that is gone for good (OvnIpam.reclaim), from any host that reaches the Northbound. The
// Northbound is found as the daemon finds it: --nb, else the local database's external_ids:ovn-nb.
// Prints what it removed and exits 0; any refusal or failure is one line on stderr and exit 1.

import type { Writable } from 'node:stream';
import type { Config } from '../config';
import { discoverNorthbound, tlsFor } from '../discovery';
import type { Northbound } from '../discovery';
import { OvnIpam, ReclaimResult } from '../driver/ipam';
import { OvsdbClient } from '../ovsdb';
import type { Logger } from '../util/logger';
import { errorMessage } from '../util/error-message';

/** A command waits this long at most for a database, whatever --db-timeout says. */
const COMMAND_TIMEOUT_MS = 10_000;

function client(remotes: string, database: string, tls: Northbound['tls'], config: Config, timeoutMs: number): OvsdbClient {
  return new OvsdbClient({
    remotes,
    database,
    ...(tls ? { tls } : {}),
    requestTimeoutMs: timeoutMs,
    connectTimeoutMs: timeoutMs,
    backoff: { minMs: 200, maxMs: 1000 },
    maxMessageBytes: config.maxMessageBytes,
  });
}

/** --nb as given (TLS files from the options), else read from the local database. */
async function northbound(config: Config, timeoutMs: number): Promise<Pick<Northbound, 'remotes' | 'tls'>> {
  if (config.nbRemote !== undefined) return { remotes: config.nbRemote, tls: tlsFor(config.nbRemote, config.tls, {}) };
  const local = client(config.ovsdbRemote, 'Open_vSwitch', tlsFor(config.ovsdbRemote, config.tls, {}), config, timeoutMs);
  try {
    local.connect().catch(() => undefined);
    return await discoverNorthbound(local, { ...config, dbTimeoutMs: timeoutMs });
  } catch (e) {
    throw new Error(`failed to read the Northbound address from the local Open_vSwitch database at ${config.ovsdbRemote}: ${errorMessage(e)}; pass --nb tcp:HOST:6641, or start ovsdb-server (ovn-driver doctor)`);
  } finally {
    await local.close();
  }
}

export function renderReclaim(chassis: string, remotes: string, r: ReclaimResult): string {
  const lines = [
    `reclaimed chassis "${chassis}" in the Northbound (${remotes}): ${r.released} container address(es) released, ` +
      `${r.unheld} hold(s) on gateway and aux addresses dropped, ${r.deleted} of those row(s) deleted (no host held them any more)`,
  ];
  if (r.portsLeft > 0) {
    lines.push(`left: ${r.portsLeft} logical port(s) of chassis "${chassis}"; remove them with ovn-nbctl lsp-del (README, "Several hosts")`);
  }
  return `${lines.join('\n')}\n`;
}

export async function runReclaim(config: Config, out: Writable, err: Writable, logger: Logger): Promise<number> {
  const what = config.reclaim;
  if (what === undefined) throw new Error('ipam-reclaim run without a chassis; this is a bug in ovn-driver');
  const timeoutMs = Math.min(config.dbTimeoutMs, COMMAND_TIMEOUT_MS);
  let nb: OvsdbClient | undefined;
  try {
    const found = await northbound(config, timeoutMs);
    nb = client(found.remotes, 'OVN_Northbound', found.tls, config, timeoutMs);
    nb.connect().catch(() => undefined);
    // No local chassis: the command only reclaims, it never allocates. Its info line is the
    // summary printed below, so it goes to debug.
    const quieter: Logger = { error: (m, f) => logger.error(m, f), warn: (m, f) => logger.warn(m, f), info: (m, f) => logger.debug(m, f), debug: (m, f) => logger.debug(m, f) };
    const ipam = new OvnIpam({ nb, nbRemotes: found.remotes, chassis: () => undefined, logger: quieter, dbTimeoutMs: timeoutMs });
    const r = await ipam.reclaim(what.chassis, what.force);
    out.write(renderReclaim(what.chassis, found.remotes, r));
    return 0;
  } catch (e) {
    err.write(`ovn-driver: ${errorMessage(e)}\n`);
    return 1;
  } finally {
    await nb?.close();
  }
}
