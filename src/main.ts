// The composition root: config, logger, the two OVSDB clients, the netlink gateway, the driver
// and its server on the plugin socket; signals. The only module that may exit the process.

import { promises as fs } from 'node:fs';
import { runCommand } from './cli';
import { Config, ConfigError, parseConfig } from './config';
import { discoverNorthbound, tlsFor } from './discovery';
import { DockerApi } from './docker/client';
import { sandboxDirOf } from './driver/api';
import { localChassis } from './driver/chassis';
import { followChassis, nbMonitor, OVS_MONITOR } from './driver/monitors';
import { Reconciler } from './driver/reconcile';
import { NetworkUpgrader } from './driver/upgrade';
import { setUpGateway } from './driver/gateway';
import { externalNetworkFromConfig } from './driver/plan-external';
import { IPAM_STATELESS_CALLS, OvnIpam } from './driver/ipam';
import { PendingDriver, PendingIpam } from './driver/pending';
import { OvnDriver, STATELESS_CALLS } from './driver/service';
import { createLogger, DaemonLogger } from './log';
import { openLinks } from './netlink';
import type { Links } from './netlink';
import { OvsdbClient } from './ovsdb';
import { trackConnections } from './server/drain';
import { buildServer } from './server/server';
import { prepareSocketPath, secureSocket } from './server/socket';
import { errorMessage } from './util/error-message';

const DRAIN_MS = 10_000;

class StartupError extends Error {}

/** Resolves when connected; logs while it waits; rejects when `stopped` fires first. */
async function connectLogged(client: OvsdbClient, what: string, logger: DaemonLogger, everyMs: number, stopped: Promise<void>): Promise<void> {
  const timer = setInterval(() => logger.warn(`still waiting for ${what}; is its ovsdb-server running? (ovn-driver doctor)`), everyMs);
  try {
    await Promise.race([client.connect(), stopped.then(() => Promise.reject(new StartupError('stopped by a signal while connecting')))]);
  } finally {
    clearInterval(timer);
  }
}

async function runDaemon(config: Config, logger: DaemonLogger): Promise<number> {
  let signalled: (sig: string) => void = () => undefined;
  const stopSignal = new Promise<string>((resolve) => (signalled = resolve));
  const onSignal = (sig: NodeJS.Signals): void => signalled(sig);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  process.on('SIGHUP', () => logger.reopen());

  await prepareSocketPath(config.socketPath);

  const ovs = new OvsdbClient({ remotes: config.ovsdbRemote, database: 'Open_vSwitch', monitor: OVS_MONITOR, requestTimeoutMs: config.dbTimeoutMs, maxMessageBytes: config.maxMessageBytes, logger, tls: tlsFor(config.ovsdbRemote, config.tls, {}) });
  const localDb = `the local Open_vSwitch database at ${config.ovsdbRemote}`;
  // The socket is served before the databases are reached: Docker finds the plugin at once, and
  // until the driver is ready each call says what the daemon is waiting for.
  const waiting = { waitingFor: (): string => `${localDb}${ovs.lastErrorText ? ` (last error: ${ovs.lastErrorText})` : ''}`, waitMs: config.dbTimeoutMs };
  const pending = new PendingDriver({ ...waiting, constant: STATELESS_CALLS });
  const pendingIpam = new PendingIpam({ ...waiting, constant: IPAM_STATELESS_CALLS });
  const sandboxDirs = config.dockerExecRoot === undefined ? [] : [sandboxDirOf(config.dockerExecRoot)];
  const serverOptions = { driver: pending, ipam: pendingIpam, logger, timingHeaders: config.timingHeaders, sandboxDirs };
  const apps = [buildServer(serverOptions)];
  if (config.tcpListen !== undefined) apps.push(buildServer(serverOptions));
  const drainers = apps.map((a) => trackConnections(a.server));
  let nb: OvsdbClient | undefined;
  let links: Links | undefined;
  let stopFollowing: (() => void) | undefined;
  try {
    const [unixApp, tcpApp] = apps;
    if (!unixApp) throw new StartupError('failed to build the server');
    await unixApp.listen({ path: config.socketPath });
    await secureSocket(config.socketPath, config.socketGroup);
    if (tcpApp && config.tcpListen !== undefined) {
      const at = config.tcpListen.lastIndexOf(':');
      await tcpApp.listen({ host: config.tcpListen.slice(0, at).replace(/^\[|\]$/g, ''), port: Number(config.tcpListen.slice(at + 1)) });
      logger.warn(`also listening on tcp ${config.tcpListen} (loopback only, no authentication)`);
    }
    await connectLogged(ovs, localDb, logger, config.dbTimeoutMs, stopSignal.then(() => undefined));
    const found = await discoverNorthbound(ovs, config);
    const nbRemote = found.remotes;
    if (!found.bridgePresent) logger.warn(`the integration bridge ${config.bridge} does not exist yet; Join fails until ovn-controller creates it`);
    // Only this chassis's ports (monitors.ts); the condition follows a renamed system-id.
    const chassis = localChassis(ovs.replica);
    nb = new OvsdbClient({ remotes: nbRemote, database: 'OVN_Northbound', monitor: nbMonitor(chassis), requestTimeoutMs: config.dbTimeoutMs, maxMessageBytes: config.maxMessageBytes, logger, tls: found.tls });
    stopFollowing = followChassis(ovs.replica, nb, chassis, logger);
    // Not awaited: calls wait for the Northbound (up to --db-timeout) and say so if it stays away.
    nb.connect().catch((e: unknown) => logger.error(`failed to connect to the Northbound database: ${errorMessage(e)}`));
    links = openLinks({ logger });

    const driver = new OvnDriver({ nb, nbRemotes: nbRemote, ovs, ovsRemotes: config.ovsdbRemote, links, logger, config });
    pending.ready(driver);
    pendingIpam.ready(new OvnIpam({ nb, nbRemotes: nbRemote, chassis: () => localChassis(ovs.replica), logger, dbTimeoutMs: config.dbTimeoutMs }));
    logger.info(`ovn-driver listening on ${config.socketPath}`, { nb: nbRemote, ovsdb: config.ovsdbRemote, bridge: config.bridge });
    // What crashes left behind (ours only): at start-up and every minute; Docker says which endpoints
    // live. It removes under the driver's own per-endpoint and per-network locks.
    const reconciler = config.reconcileIntervalMs > 0
      ? new Reconciler({ nb, ovs, links, docker: new DockerApi({ socketPath: config.dockerSocket }), logger, locks: driver.reconcileLocks(), dbTimeoutMs: config.dbTimeoutMs, intervalMs: config.reconcileIntervalMs })
      : undefined;
    reconciler?.start();
    // A gateway host (--external-bridge), or one giving the outside network: set up the way out
    // once the Northbound is there; a value conflicting with the cluster's stops the daemon.
    if (config.external.bridge !== undefined || config.external.network !== undefined) {
      const nbClient = nb;
      await Promise.race([
        nbClient.state === 'connected' ? Promise.resolve() : new Promise<void>((resolve) => nbClient.once('connected', () => resolve())),
        stopSignal.then(() => Promise.reject(new StartupError('stopped by a signal while waiting for the Northbound'))),
      ]);
      await setUpGateway({
        nb, nbRemotes: nbRemote, ovs, ovsRemotes: config.ovsdbRemote, bridge: config.external.bridge, network: externalNetworkFromConfig(config.external.network),
        priority: config.external.priority, externalContext: () => driver.externalContext(), logger, dbTimeoutMs: config.dbTimeoutMs,
      }).catch((e: unknown) => {
        throw new StartupError(errorMessage(e));
      });
    }
    // Networks of the previous release get their router port, once the Northbound is there.
    const upgrader = new NetworkUpgrader({ nb, ovs, driver, docker: new DockerApi({ socketPath: config.dockerSocket }), logger });
    if (nb.state === 'connected') upgrader.start();
    else nb.once('connected', () => upgrader.start());

    const sig = await stopSignal;
    await Promise.all([reconciler?.stop(), upgrader.stop()]);
    logger.info(`received ${sig}: finishing requests in flight (up to ${DRAIN_MS / 1000} s), then exiting`);
    drainers.forEach((d) => d.drain());
    const closed = Promise.all(apps.map((a) => a.close()));
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([closed, new Promise((resolve) => (timer = setTimeout(resolve, DRAIN_MS)))]);
    if (timer) clearTimeout(timer);
    return 0;
  } finally {
    await fs.unlink(config.socketPath).catch(() => undefined);
    links?.close();
    stopFollowing?.();
    await Promise.all([nb?.close(), ovs.close()]);
  }
}

async function main(argv: string[]): Promise<number> {
  let config: Config;
  try {
    config = parseConfig(argv, process.env);
  } catch (e) {
    if (e instanceof ConfigError) {
      (e.exitCode === 0 ? process.stdout : process.stderr).write(e.message.endsWith('\n') ? e.message : `${e.message}\n`);
      return e.exitCode;
    }
    throw e;
  }
  const logger = createLogger({ level: config.logLevel, stdout: true, ...(config.logFile !== undefined ? { file: config.logFile } : {}) });
  process.on('unhandledRejection', (e) => logger.error(`unhandled rejection: ${errorMessage(e)}; this is a bug in ovn-driver`));
  try {
    if (config.command !== 'daemon') return await runCommand(config, config.command, logger);
    return await runDaemon(config, logger);
  } catch (e) {
    logger.error(errorMessage(e));
    return 1;
  } finally {
    await logger.close();
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`ovn-driver: ${errorMessage(e)}\n`);
    process.exit(1);
  },
);
