// `ovn-driver doctor`: checks each prerequisite of the daemon and prints PASS/FAIL with the fix.
// Exit code 0 when every check passes, 1 otherwise. It reads; it never changes anything.

import { promises as fs, constants as fsc } from 'node:fs';
import * as path from 'node:path';
import type { Writable } from 'node:stream';
import type { Config } from '../config';
import { USERSPACE_DATAPATH } from '../driver/plan-join';
import { EthtoolAddonError, openLinks } from '../netlink';
import type { Links } from '../netlink';
import { OvsdbClient, parseRemotes } from '../ovsdb';
import { getOverUnixSocket } from '../docker/client';
import { LocalSettings, readLocalSettings } from '../discovery';
import { errorMessageWithCode as why } from '../util/error-message';

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  /** What to do about a failure. */
  readonly fix?: string;
}

export interface DoctorOptions {
  /** ovn-controller pid files, first existing one wins (OVN >= 2.13, then older OVS-bundled OVN). */
  readonly pidFiles?: readonly string[];
  /** Per-check time limit for a database or Docker to answer. */
  readonly timeoutMs?: number;
  /** The netlink gateway to probe TX checksum offload with; one opened for the check by default. */
  readonly links?: Pick<Links, 'txChecksumMechanism' | 'getLinkTxChecksum'>;
}

export const DEFAULT_PID_FILES = ['/var/run/ovn/ovn-controller.pid', '/var/run/openvswitch/ovn-controller.pid'];

function pass(name: string, detail: string): CheckResult {
  return { name, ok: true, detail };
}

function fail(name: string, detail: string, fix: string): CheckResult {
  return { name, ok: false, detail, fix };
}

/** A client that tries once quickly and then gives up with the request's timeout. */
function probeClient(remotes: string, database: string, tls: Config['tls'], timeoutMs: number): OvsdbClient {
  const full = tls.privateKey && tls.certificate && tls.caCert ? { privateKey: tls.privateKey, certificate: tls.certificate, caCert: tls.caCert } : undefined;
  return new OvsdbClient({
    remotes,
    database,
    ...(full ? { tls: full } : {}),
    requestTimeoutMs: timeoutMs,
    connectTimeoutMs: timeoutMs,
    backoff: { minMs: 200, maxMs: 1000 },
  });
}

async function checkNorthbound(config: Config, local: LocalSettings | undefined, timeoutMs: number): Promise<CheckResult> {
  const name = 'Northbound database reachable';
  const remote = config.nbRemote ?? local?.externalIds.get('ovn-nb');
  if (remote === undefined) return fail(name, 'no Northbound remote known', 'set external_ids:ovn-nb (see above) or pass --nb');
  const tls = {
    privateKey: config.tls.privateKey ?? local?.ssl.privateKey,
    certificate: config.tls.certificate ?? local?.ssl.certificate,
    caCert: config.tls.caCert ?? local?.ssl.caCert,
  };
  let client: OvsdbClient;
  try {
    parseRemotes(remote);
    client = probeClient(remote, 'OVN_Northbound', tls, timeoutMs);
  } catch (err) {
    return fail(name, `${remote}: ${why(err)}`, 'correct the remote (tcp:HOST:6641 or ssl:HOST:6641); ssl needs --private-key, --certificate and --ca-cert or `ovs-vsctl set-ssl`');
  }
  try {
    client.connect().catch(() => undefined);
    const dbs = await client.listDbs({ timeoutMs });
    if (!dbs.includes('OVN_Northbound')) return fail(name, `${remote} serves ${dbs.join(', ')}, not OVN_Northbound`, 'point ovn-nb/--nb at the Northbound database (port 6641 by convention)');
    return pass(name, `${client.currentRemote ?? remote}`);
  } catch (err) {
    return fail(name, `${remote}: ${why(err)}`, 'start ovn-northd/ovsdb-server for the Northbound database (ovn-ctl start_northd) and check that this host can reach it (firewall, TLS files)');
  } finally {
    await client.close();
  }
}

async function pidAlive(pidFiles: readonly string[]): Promise<{ file: string; pid: number } | { error: string }> {
  for (const file of pidFiles) {
    let text: string;
    try {
      text = await fs.readFile(file, 'utf8');
    } catch {
      continue;
    }
    const pid = Number(text.trim());
    if (!Number.isInteger(pid) || pid <= 0) return { error: `${file} holds no pid` };
    try {
      process.kill(pid, 0);
    } catch (err) {
      // EPERM: it exists but belongs to another user, which counts as running.
      if (!(err instanceof Error && 'code' in err && err.code === 'EPERM')) return { error: `${file} names pid ${pid}, which is not running` };
    }
    const comm = await fs.readFile(`/proc/${pid}/comm`, 'utf8').catch(() => '');
    if (!comm.startsWith('ovn-controller')) return { error: `${file} names pid ${pid}, which is "${comm.trim()}", not ovn-controller` };
    return { file, pid };
  }
  return { error: `no pid file (${pidFiles.join(', ')})` };
}

async function checkController(local: LocalSettings | undefined, pidFiles: readonly string[]): Promise<CheckResult> {
  const name = 'ovn-controller running and registered as a chassis';
  const proc = await pidAlive(pidFiles);
  if ('error' in proc) return fail(name, proc.error, 'start ovn-controller: systemctl start ovn-controller');
  if (local === undefined) return fail(name, `pid ${proc.pid} running, but the local database is unreachable`, 'fix the local database first');
  const missing = ['system-id', 'ovn-encap-type', 'ovn-encap-ip'].filter((k) => (local.externalIds.get(k) ?? '') === '');
  if (missing.length > 0) {
    return fail(name, `pid ${proc.pid} running, but Open_vSwitch external_ids lacks ${missing.join(', ')}`, 'ovs-vsctl set Open_vSwitch . external_ids:system-id=$(uuidgen) external_ids:ovn-encap-type=geneve external_ids:ovn-encap-ip=THIS_HOST_IP');
  }
  const chassis = `pid ${proc.pid}, chassis ${local.externalIds.get('system-id') ?? ''}`;
  // Not a failure, a cost: without it ovn-controller changes its Southbound monitor condition for
  // every port this host adds or removes, and the Southbound ovsdb-server scans its Port_Binding
  // table each time (README, "Measured figures").
  if (local.externalIds.get('ovn-monitor-all') !== 'true') {
    return pass(name, `${chassis}; note: external_ids:ovn-monitor-all is not true, so each container start and stop makes the Southbound ovsdb-server scan every Port_Binding (tens of ms of its CPU at 30,000 ports); ovs-vsctl set Open_vSwitch . external_ids:ovn-monitor-all=true avoids that`);
  }
  return pass(name, `${chassis}, ovn-monitor-all`);
}

/**
 * Which case the host is in for checksum offload: on OVS's userspace datapath the driver turns TX
 * checksum offload off on each container veth (plan-join.ts), through the kernel's ethtool netlink
 * family or, on kernels without it, the SIOCETHTOOL ioctl of the ethtool.node addon; on the kernel
 * datapath the kernel's defaults are kept.
 */
async function checkDatapath(bridge: string, local: LocalSettings | undefined, links: DoctorOptions['links']): Promise<CheckResult> {
  const name = 'datapath and TX checksum offload';
  if (local === undefined) return fail(name, 'local database unreachable', 'fix the local database first');
  const type = local.bridgeDatapathType;
  if (type === undefined) return fail(name, `no bridge "${bridge}"`, 'fix the integration bridge first');
  if (type !== USERSPACE_DATAPATH) {
    return pass(name, `${bridge} uses the kernel datapath (datapath_type "${type}"): container veths keep the kernel's checksum offload defaults`);
  }
  const what = `${bridge} uses the userspace datapath (datapath_type "netdev"), which does not complete partial checksums: Join turns TX checksum offload off on each container veth`;
  if (links !== undefined) return probeTxChecksum(name, what, links);
  const own = openLinks();
  try {
    return await probeTxChecksum(name, what, own);
  } finally {
    own.close();
  }
}

/** Which mechanism Join will use to turn TX checksum offload off here, and whether it answers. */
async function probeTxChecksum(name: string, what: string, links: NonNullable<DoctorOptions['links']>): Promise<CheckResult> {
  const fallback = 'run Linux 5.6 or newer (built with CONFIG_ETHTOOL_NETLINK), or put the integration bridge on the kernel datapath (ovs-vsctl set Open_vSwitch . external_ids:ovn-bridge-datapath-type=system, with the openvswitch kernel module loaded)';
  try {
    const mechanism = await links.txChecksumMechanism();
    // Reading loopback's TX checksumming goes the same way as turning a veth's off: it proves the
    // mechanism answers on this host, and changes nothing.
    await links.getLinkTxChecksum('lo');
    const how = mechanism === 'genetlink'
      ? 'through the kernel\'s ethtool netlink family'
      : 'through the SIOCETHTOOL ioctl of the ethtool.node addon (the kernel\'s ethtool netlink family is not available or not used)';
    return pass(name, `${what}, ${how}`);
  } catch (err) {
    if (err instanceof EthtoolAddonError) {
      return fail(name, `${what}, but this kernel has no ethtool netlink family and the SIOCETHTOOL addon that replaces it could not be loaded from ${err.path}, so every Join fails`, `reinstall ovn-driver (it ships ethtool.node beside netlink.node), or ${fallback}`);
    }
    return fail(name, `${what}, but probing it on lo failed: ${why(err)}`, `run doctor as root; or ${fallback}`);
  }
}

async function checkSocketDir(socketPath: string): Promise<CheckResult> {
  const name = 'plugin socket directory usable';
  const dir = path.dirname(socketPath);
  let st;
  try {
    st = await fs.stat(dir);
  } catch {
    try {
      await fs.access(path.dirname(dir), fsc.W_OK | fsc.X_OK);
      return pass(name, `${dir} absent; the daemon creates it`);
    } catch (err) {
      return fail(name, `${dir} absent and its parent is not writable: ${why(err)}`, `mkdir -p ${dir} && chmod 0755 ${dir}`);
    }
  }
  if (!st.isDirectory()) return fail(name, `${dir} is not a directory`, `remove ${dir}, or choose another --socket`);
  if ((st.mode & 0o002) !== 0) return fail(name, `${dir} is writable by others (mode ${(st.mode & 0o7777).toString(8)}): anyone could replace the socket`, `chmod o-w ${dir}`);
  try {
    await fs.access(dir, fsc.W_OK | fsc.X_OK);
  } catch (err) {
    return fail(name, `${dir} is not writable: ${why(err)}`, `run as root, or choose another --socket`);
  }
  return pass(name, `${dir} (mode ${(st.mode & 0o7777).toString(8)})`);
}

async function checkDocker(dockerSocket: string, timeoutMs: number): Promise<CheckResult> {
  const name = 'Docker reachable';
  try {
    const res = await getOverUnixSocket(dockerSocket, '/_ping', timeoutMs);
    if (res.status === 200) return pass(name, `${dockerSocket} answered ${res.body.trim() || 'OK'}`);
    return fail(name, `${dockerSocket} answered HTTP ${res.status}`, 'check `journalctl -u docker`');
  } catch (err) {
    return fail(name, why(err), 'start Docker: systemctl start docker (or pass --docker-socket)');
  }
}

export async function runChecks(config: Config, opts: DoctorOptions = {}): Promise<CheckResult[]> {
  const timeoutMs = opts.timeoutMs ?? Math.min(config.dbTimeoutMs, 5000);
  const results: CheckResult[] = [];
  let local: LocalSettings | undefined;
  const localClient = probeClient(config.ovsdbRemote, 'Open_vSwitch', config.tls, timeoutMs);
  try {
    localClient.connect().catch(() => undefined);
    local = await readLocalSettings(localClient, config.bridge, timeoutMs);
    results.push(pass('local OVSDB reachable', config.ovsdbRemote));
  } catch (err) {
    results.push(fail('local OVSDB reachable', `${config.ovsdbRemote}: ${why(err)}`, 'start Open vSwitch (systemctl start openvswitch), or pass --ovsdb'));
  } finally {
    await localClient.close();
  }

  const nb = local?.externalIds.get('ovn-nb');
  if (config.nbRemote !== undefined) results.push(pass('external_ids:ovn-nb set', `not needed: --nb ${config.nbRemote}`));
  else if (local === undefined) results.push(fail('external_ids:ovn-nb set', 'local database unreachable', 'fix the local database first'));
  else if (nb === undefined || nb === '') results.push(fail('external_ids:ovn-nb set', 'Open_vSwitch external_ids:ovn-nb is not set', 'ovs-vsctl set Open_vSwitch . external_ids:ovn-nb=tcp:NB_HOST:6641 (or pass --nb)'));
  else results.push(pass('external_ids:ovn-nb set', nb));

  results.push(await checkNorthbound(config, local, timeoutMs));

  if (local === undefined) results.push(fail('integration bridge present', 'local database unreachable', 'fix the local database first'));
  else if (!local.bridgePresent) results.push(fail('integration bridge present', `no bridge "${config.bridge}"`, 'ovn-controller creates br-int when it starts; or pass --bridge'));
  else results.push(pass('integration bridge present', config.bridge));
  results.push(await checkDatapath(config.bridge, local, opts.links));

  results.push(await checkController(local, opts.pidFiles ?? DEFAULT_PID_FILES));
  results.push(await checkSocketDir(config.socketPath));
  results.push(await checkDocker(config.dockerSocket, timeoutMs));
  return results;
}

export function renderChecks(results: readonly CheckResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    lines.push(`${r.ok ? 'PASS' : 'FAIL'}  ${r.name}: ${r.detail}`);
    if (!r.ok && r.fix !== undefined) lines.push(`      fix: ${r.fix}`);
  }
  const failed = results.filter((r) => !r.ok).length;
  lines.push(failed === 0 ? `all ${results.length} checks passed` : `${failed} of ${results.length} checks failed`);
  return `${lines.join('\n')}\n`;
}

export async function runDoctor(config: Config, out: Writable, opts: DoctorOptions = {}): Promise<number> {
  const results = await runChecks(config, opts);
  out.write(renderChecks(results));
  return results.every((r) => r.ok) ? 0 : 1;
}
