// Host 2 of a two-host cluster on one machine (issue 10, README "Several hosts"). Host 1 is the
// shared stack. Host 2 is a network namespace plus a private mount namespace with tmpfs over
// /run/docker, /run/containerd, /run/openvswitch and /run/ovn, holding its own ovsdb-server,
// ovs-vswitchd (userspace datapath), ovn-controller on host 1's Southbound, dockerd (which starts
// its own containerd, as no socket is at /run/containerd) and the driver. The underlay is a veth
// between the namespaces, each end on a netdev bridge whose kernel interface carries the host's
// tunnel address; Geneve runs over it. For the test's length, host 1's Northbound and Southbound
// also listen on TCP on its underlay address and its ovn-encap-ip is that address; both are
// undone after, as is everything else (by pid, netns del, OVS bridge, host 2's chassis row).
// Processes enter the namespaces with nsenter (not `ip netns exec`, which remounts /sys and
// hides the cgroup mounts dockerd needs).

import { ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Cleanup } from './cleanup';
import { DOCKER, importImage } from './docker';
import { takeMachineLock } from './machine-lock';
import { run, runResult, RunResult, sleep, waitFor } from './run';
import { refKey } from '../../src/driver/names';
import { DriverProcess, listLogicalSwitches, MAIN_JS, startDriver, switchNetworkIds } from './stack';

export const HOST1_UNDERLAY = '198.18.254.1';
export const HOST2_UNDERLAY = '198.18.254.2';
const UNDERLAY_PREFIX = 24;
const NB_PORT = 6641;
const SB_PORT = 6642;
const NB_CTL = '/var/run/ovn/ovnnb_db.ctl';
const SB_CTL = '/var/run/ovn/ovnsb_db.ctl';
export const HOST1_NB = `tcp:${HOST1_UNDERLAY}:${NB_PORT}`;
const HOST1_SB = `tcp:${HOST1_UNDERLAY}:${SB_PORT}`;

export interface SecondHost {
  /** Its chassis name (Open_vSwitch external_ids:system-id). */
  readonly chassis: string;
  readonly dir: string;
  /** Its network namespace's name (`ip netns`), where links are moved to reach its OVS. */
  readonly netns: string;
  /** Its dockerd's API, for `docker -H` and DockerScope. */
  readonly dockerHost: string;
  /** argv prefix that runs a program in its mount and network namespaces. */
  readonly enter: readonly string[];
  /** ovs-vsctl on its local database. */
  vsctl(args: readonly string[]): Promise<string>;
  /** Starts its driver, serving Docker as `driverName`, with `extraArgs` after its own. */
  startDriver(driverName: string, extraArgs?: readonly string[]): Promise<DriverProcess>;
  /**
   * Runs its driver daemon until it exits by itself (a start-up refusal), killed after
   * `timeoutMs` (then code -1): its exit code and what it wrote. No reconciler (it would act on
   * the running driver's ports).
   */
  runDriverToExit(driverName: string, extraArgs: readonly string[], timeoutMs?: number): Promise<RunResult>;
  /**
   * Stops its ovn-controller as `systemctl stop ovn-controller` does (`ovn-appctl exit`, which
   * removes its Chassis from the Southbound), SIGTERM if it does not exit in time.
   */
  stopController(): Promise<void>;
}

/**
 * Only one host 2 may exist on this machine at a time: it uses fixed TCP ports (6641, 6642) and
 * 198.18.254.0/24. A machine lock guards starts of this helper (a second start waits up to 150 s);
 * the underlay address already on an interface also tells of a host 2 of another copy of this
 * helper (another worktree's).
 */
function takeLock(cleanup: Cleanup): Promise<void> {
  return takeMachineLock(cleanup, 'ovn-driver-second-host', 'the second host', {
    waitMs: 150_000,
    say: (line) => process.stdout.write(`${line}\n`),
    busy: async () => {
      const inUse = (await run('ip', ['-o', '-4', 'addr', 'show'])).split('\n').find((l) => l.includes(` ${HOST1_UNDERLAY}/`));
      return inUse === undefined ? undefined : `${HOST1_UNDERLAY} is on ${inUse.split(/\s+/)[1] ?? '?'}`;
    },
  });
}

function exited(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/** SIGTERM by pid, SIGKILL after `graceMs`; resolves once it has exited. */
async function stopChild(child: ChildProcess, graceMs: number): Promise<void> {
  const pid = child.pid;
  if (pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  process.kill(pid, 'SIGTERM');
  if ((await Promise.race([exited(child).then(() => 'done'), sleep(graceMs).then(() => 'late')])) === 'late') {
    process.kill(pid, 'SIGKILL');
    await exited(child);
  }
}

/** The pids whose mount namespace is `holder`'s (what host 2 still runs), holder excluded. */
async function pidsInMountNs(holder: number): Promise<number[]> {
  const ns = await fs.readlink(`/proc/${holder}/ns/mnt`).catch(() => undefined);
  if (ns === undefined) return [];
  const pids: number[] = [];
  for (const entry of await fs.readdir('/proc')) {
    if (!/^[0-9]+$/.test(entry) || Number(entry) === holder) continue;
    if ((await fs.readlink(`/proc/${entry}/ns/mnt`).catch(() => '')) === ns) pids.push(Number(entry));
  }
  return pids;
}

async function vsctl1(args: readonly string[]): Promise<string> {
  return run('ovs-vsctl', ['--timeout=10', ...args]);
}

/** Brings host 2 up; every step registers its undo in `cleanup` first. `suffix`: 6 hex digits. */
export async function startSecondHost(cleanup: Cleanup, suffix: string): Promise<SecondHost> {
  await takeLock(cleanup);
  const netns = `ovnh2-${suffix}`;
  const chassis = `ovntest-h2-${suffix}`;
  const bridge1 = `brphy-${suffix}`;
  const veth1 = `u1-${suffix}`;
  const veth2 = `u2-${suffix}`;
  const dir = await fs.mkdtemp(`/tmp/ovn-h2-${suffix}-`);
  cleanup.add(`remove ${dir}`, () => fs.rm(dir, { recursive: true, force: true }));
  const log = (name: string): number => openSync(path.join(dir, `${name}.log`), 'a');
  const children: ChildProcess[] = [];

  // ---- the namespaces -------------------------------------------------------------------------
  await run('ip', ['netns', 'add', netns]);
  cleanup.add(`delete netns ${netns}`, () => run('ip', ['netns', 'del', netns]));
  const script = [
    'set -e',
    ...['/run/docker', '/run/containerd', '/run/openvswitch', '/run/ovn'].map((d) => `mkdir -p ${d} && mount -t tmpfs tmpfs ${d}`),
    'mkdir -p /run/docker/plugins',
    'ip link set lo up',
    'echo ready',
    'exec sleep 100000',
  ].join('\n');
  const holder = spawn('unshare', ['--mount', '--propagation', 'private', '--', 'nsenter', `--net=/run/netns/${netns}`, '--', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const holderPid = holder.pid;
  if (holderPid === undefined) throw new Error('failed to start host 2\'s namespace holder');
  cleanup.add('stop host 2\'s remaining processes and its namespace holder, by pid', async () => {
    for (const pid of await pidsInMountNs(holderPid)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
    await stopChild(holder, 2_000);
  });
  let said = '';
  holder.stdout?.on('data', (c: Buffer) => (said += c.toString()));
  holder.stderr?.on('data', (c: Buffer) => (said += c.toString()));
  await waitFor('host 2\'s namespaces', async () => {
    if (holder.exitCode !== null) throw new Error(`host 2's namespace holder exited: ${said}`);
    return said.includes('ready') ? true : undefined;
  }, 10_000, 20);
  const enter = ['nsenter', '--target', String(holderPid), '--mount', '--net', '--'];
  const inHost2 = (args: readonly string[]): Promise<string> => run(enter[0] ?? 'nsenter', [...enter.slice(1), ...args]);
  const spawnIn = (name: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): ChildProcess => {
    const out = log(name);
    const child = spawn(enter[0] ?? 'nsenter', [...enter.slice(1), ...args], { env: { ...process.env, ...env }, stdio: ['ignore', out, out] });
    closeSync(out);
    children.push(child);
    return child;
  };

  // ---- host 1's side of the underlay ----------------------------------------------------------
  cleanup.add(`delete OVS bridge ${bridge1}`, () => vsctl1(['--if-exists', 'del-br', bridge1]));
  await vsctl1(['add-br', bridge1, '--', 'set', 'Bridge', bridge1, 'datapath_type=netdev']);
  cleanup.add(`delete veth ${veth1}`, async () => {
    await runResult('ip', ['link', 'del', veth1]);
  });
  await run('ip', ['link', 'add', veth1, 'type', 'veth', 'peer', 'name', veth2, 'netns', netns]);
  await run('ip', ['link', 'set', veth1, 'up']);
  await vsctl1(['add-port', bridge1, veth1]);
  await waitFor(`the kernel interface of ${bridge1}`, async () => ((await runResult('ip', ['link', 'show', bridge1])).code === 0 ? true : undefined), 10_000, 50);
  await run('ip', ['addr', 'add', `${HOST1_UNDERLAY}/${UNDERLAY_PREFIX}`, 'dev', bridge1]);
  await run('ip', ['link', 'set', bridge1, 'up']);

  // Host 1's Northbound and Southbound on TCP on its underlay address, its tunnels from it.
  for (const [ctl, remote] of [[NB_CTL, `ptcp:${NB_PORT}:${HOST1_UNDERLAY}`], [SB_CTL, `ptcp:${SB_PORT}:${HOST1_UNDERLAY}`]] as const) {
    cleanup.add(`remove remote ${remote}`, () => run('ovs-appctl', ['-t', ctl, 'ovsdb-server/remove-remote', remote]));
    await run('ovs-appctl', ['-t', ctl, 'ovsdb-server/add-remote', remote]);
  }
  const encap = (await vsctl1(['get', 'Open_vSwitch', '.', 'external_ids:ovn-encap-ip'])).trim();
  cleanup.add(`restore host 1's ovn-encap-ip ${encap}`, () => vsctl1(['set', 'Open_vSwitch', '.', `external_ids:ovn-encap-ip=${encap}`]));
  await vsctl1(['set', 'Open_vSwitch', '.', `external_ids:ovn-encap-ip="${HOST1_UNDERLAY}"`]);

  // ---- host 2's OVS -------------------------------------------------------------------------------
  const db = `unix:${path.join(dir, 'db.sock')}`;
  const ovsEnv = { OVS_RUNDIR: dir, OVS_LOGDIR: dir, OVN_RUNDIR: dir, OVN_LOGDIR: dir };
  const vsctl = (args: readonly string[]): Promise<string> => run('ovs-vsctl', ['--timeout=10', `--db=${db}`, ...args]);
  await run('ovsdb-tool', ['create', path.join(dir, 'conf.db'), '/usr/share/openvswitch/vswitch.ovsschema']);
  const ovsdb = spawnIn('ovsdb-server', ['ovsdb-server', path.join(dir, 'conf.db'), `--remote=p${db}`, `--unixctl=${path.join(dir, 'ovsdb-server.ctl')}`, `--pidfile=${path.join(dir, 'ovsdb-server.pid')}`, '-vconsole:off', `--log-file=${path.join(dir, 'ovsdb-server.log')}`], ovsEnv);
  cleanup.add('stop host 2\'s ovsdb-server', () => stopChild(ovsdb, 5_000));
  await waitFor('host 2\'s ovsdb-server', async () => ((await runResult('ovs-vsctl', ['--timeout=2', `--db=${db}`, '--no-wait', 'init'])).code === 0 ? true : undefined), 20_000, 100);
  const vswitchd = spawnIn('ovs-vswitchd', ['ovs-vswitchd', db, `--unixctl=${path.join(dir, 'ovs-vswitchd.ctl')}`, `--pidfile=${path.join(dir, 'ovs-vswitchd.pid')}`, '-vconsole:off', `--log-file=${path.join(dir, 'ovs-vswitchd.log')}`], ovsEnv);
  cleanup.add('stop host 2\'s ovs-vswitchd', () => stopChild(vswitchd, 5_000));
  await vsctl(['set', 'Open_vSwitch', '.',
    `external_ids:system-id=${chassis}`, `external_ids:ovn-remote="${HOST1_SB}"`, `external_ids:ovn-nb="${HOST1_NB}"`,
    'external_ids:ovn-encap-type=geneve', `external_ids:ovn-encap-ip="${HOST2_UNDERLAY}"`, 'external_ids:ovn-bridge-datapath-type=netdev',
    'external_ids:ovn-monitor-all=true']);
  await vsctl(['add-br', 'br-phy', '--', 'set', 'Bridge', 'br-phy', 'datapath_type=netdev', '--', 'add-port', 'br-phy', veth2]);
  await inHost2(['ip', 'link', 'set', veth2, 'up']);
  await waitFor('host 2\'s br-phy interface', async () => ((await runResult(enter[0] ?? 'nsenter', [...enter.slice(1), 'ip', 'link', 'show', 'br-phy'])).code === 0 ? true : undefined), 20_000, 50);
  await inHost2(['ip', 'addr', 'add', `${HOST2_UNDERLAY}/${UNDERLAY_PREFIX}`, 'dev', 'br-phy']);
  await inHost2(['ip', 'link', 'set', 'br-phy', 'up']);
  // The tunnels' next hops, known before the first packet (OVS's userspace tunnels drop a packet
  // whose next hop they still have to resolve by ARP: a container's first ping would be lost).
  // (Read with ip: host 2's /sys is host 1's, as nsenter does not remount it.)
  const macOf = (text: string, dev: string): string => {
    const mac = /link\/ether ([0-9a-f:]{17})/.exec(text)?.[1];
    if (mac === undefined) throw new Error(`no MAC address for ${dev} in: ${text}`);
    return mac;
  };
  const mac1 = macOf(await run('ip', ['-o', 'link', 'show', bridge1]), bridge1);
  const mac2 = macOf(await inHost2(['ip', '-o', 'link', 'show', 'br-phy']), 'br-phy');
  await run('ovs-appctl', ['tnl/neigh/set', bridge1, HOST2_UNDERLAY, mac2]);
  await inHost2(['ovs-appctl', '-t', path.join(dir, 'ovs-vswitchd.ctl'), 'tnl/neigh/set', 'br-phy', HOST1_UNDERLAY, mac1]);
  await waitFor('the underlay (host 2 pings host 1)', async () => ((await runResult(enter[0] ?? 'nsenter', [...enter.slice(1), 'busybox', 'ping', '-c', '1', '-W', '1', HOST1_UNDERLAY])).code === 0 ? true : undefined), 20_000, 200);

  // ---- host 2's ovn-controller, on host 1's Southbound ----------------------------------------
  // Its control socket goes to OVN_RUNDIR (this ovn-controller has no --unixctl).
  const controller = spawnIn('ovn-controller', ['ovn-controller', db, `--pidfile=${path.join(dir, 'ovn-controller.pid')}`, '-vconsole:off', `--log-file=${path.join(dir, 'ovn-controller.log')}`], ovsEnv);
  cleanup.add(`delete chassis ${chassis} from the Southbound`, async () => {
    await runResult('ovn-sbctl', ['--timeout=10', '--if-exists', 'chassis-del', chassis]);
  });
  cleanup.add('stop host 2\'s ovn-controller', () => stopChild(controller, 5_000));
  await waitFor(`chassis ${chassis} in the Southbound and host 2's br-int`, async () => {
    if (controller.exitCode !== null) throw new Error(`host 2's ovn-controller exited with code ${controller.exitCode}`);
    const found = (await runResult('ovn-sbctl', ['--timeout=5', '--bare', '--columns=name', 'find', 'Chassis', `name=${chassis}`])).stdout.trim();
    const brInt = (await runResult('ovs-vsctl', ['--timeout=5', `--db=${db}`, 'br-exists', 'br-int'])).code === 0;
    return found === chassis && brInt ? true : undefined;
  }, 60_000, 200).catch(async (e: unknown) => {
    throw new Error(`${String(e)}\n${await fs.readFile(path.join(dir, 'ovn-controller.log'), 'utf8').catch(() => '')}`);
  });

  // ---- host 2's dockerd ---------------------------------------------------------------------------
  const dockerSock = path.join(dir, 'docker.sock');
  const dockerHost = `unix://${dockerSock}`;
  await fs.mkdir(path.join(dir, 'data'));
  await fs.writeFile(path.join(dir, 'daemon.json'), '{}\n'); // not /etc/docker/daemon.json
  const dockerd = spawnIn('dockerd', ['dockerd', '--config-file', path.join(dir, 'daemon.json'), '--data-root', path.join(dir, 'data'),
    '--pidfile', path.join(dir, 'docker.pid'), '-H', dockerHost, '--storage-driver=vfs', '--bridge=none',
    '--iptables=false', '--ip6tables=false', '--ip-forward=false', '--ip-masq=false']);
  // After dockerd: the logical ports host 2's containers had, if a failed test left any.
  cleanup.add(`delete the Northbound ports bound to ${chassis}`, async () => {
    const ports = (await run('ovn-nbctl', ['--timeout=10', '--bare', '--columns=name', 'find', 'Logical_Switch_Port', `external_ids:"ovn-driver:chassis"="${chassis}"`])).split('\n').filter((l) => l !== '');
    for (const p of ports) await run('ovn-nbctl', ['--timeout=10', '--if-exists', 'lsp-del', p]);
    // And host 2's refs on shared switches; a switch no host refers to any more goes.
    for (const sw of await listLogicalSwitches()) {
      if (sw.externalIds[refKey(chassis)] === undefined) continue;
      await run('ovn-nbctl', ['--timeout=10', 'remove', 'Logical_Switch', sw.uuid, 'external_ids', `"${refKey(chassis)}"`]);
      if (switchNetworkIds(sw).length === 1) await run('ovn-nbctl', ['--timeout=10', '--if-exists', 'ls-del', sw.uuid]);
    }
  });
  cleanup.add('stop host 2\'s dockerd', () => stopChild(dockerd, 20_000));
  await waitFor('host 2\'s dockerd to answer', async () => {
    if (dockerd.exitCode !== null) throw new Error(`host 2's dockerd exited with code ${dockerd.exitCode}:\n${await fs.readFile(path.join(dir, 'dockerd.log'), 'utf8').catch(() => '')}`);
    return (await runResult(DOCKER, ['-H', dockerHost, 'version', '--format', '{{.Server.Version}}'], 10_000)).code === 0 ? true : undefined;
  }, 60_000, 200);
  await importImage(dockerHost, path.join(dir, 'image'));

  const stopController = async (): Promise<void> => {
    if (controller.exitCode !== null || controller.signalCode !== null) return;
    const ctl = path.join(dir, `ovn-controller.${String(controller.pid)}.ctl`);
    await runResult('ovn-appctl', ['-t', ctl, 'exit'], 10_000);
    if ((await Promise.race([exited(controller).then(() => 'done'), sleep(10_000).then(() => 'late')])) === 'late') await stopChild(controller, 5_000);
  };

  return {
    chassis,
    dir,
    netns,
    dockerHost,
    enter,
    vsctl,
    stopController,
    runDriverToExit: (driverName, extraArgs, timeoutMs = 30_000) => runResult(enter[0] ?? 'nsenter', [...enter.slice(1), process.execPath, MAIN_JS,
      '--socket', `/run/docker/plugins/${driverName}.sock`, '--log-level', 'debug', '--reconcile-interval', '0',
      '--ovsdb', db, '--nb', HOST1_NB, '--docker-socket', dockerSock, ...extraArgs], timeoutMs),
    startDriver: (driverName: string, extraArgs: readonly string[] = []): Promise<DriverProcess> => startDriver({
      socketPath: `/run/docker/plugins/${driverName}.sock`,
      probeSocketPath: `/proc/${holderPid}/root/run/docker/plugins/${driverName}.sock`,
      prefix: enter,
      extraArgs: ['--ovsdb', db, '--nb', HOST1_NB, '--docker-socket', dockerSock, ...extraArgs],
    }),
  };
}
