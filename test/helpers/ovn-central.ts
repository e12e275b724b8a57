// A private OVN central for one e2e test, beside the stack's: a three-member RAFT Northbound,
// a standalone Southbound and an ovn-northd between them (a child process, killed by pid), and
// the running ovn-controller pointed at that Southbound for the test's duration. Everything is
// registered with a Cleanup; the controller goes back to the stack's Southbound first.

import { ChildProcess, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Cleanup } from './cleanup';
import { Cluster, makeTempDir, NB_SCHEMA, SB_SCHEMA, startCluster, startStandalone, StandaloneServer } from './ovsdb-server';
import { run, runResult, sleep, waitFor } from './run';

export interface PrivateCentral {
  readonly nb: Cluster;
  readonly sb: StandaloneServer;
  readonly northdLog: string;
  /** `ovn-nbctl --db=<running members> ARGS` (ovn-nbctl talks to the leader only). */
  nbctl(args: readonly string[]): Promise<string>;
  sbctl(args: readonly string[]): Promise<string>;
}

/**
 * ovn-nbctl gives up at once when the member it tries first refuses the connection, so it is
 * given the running members only, and tried again while an election is under way.
 */
async function nbctl(nb: Cluster, args: readonly string[]): Promise<string> {
  let last = '';
  for (let attempt = 0; attempt < 10; attempt++) {
    const remotes = nb.members.filter((m) => m.running).map((m) => m.remote).join(',');
    const r = await runResult('ovn-nbctl', [`--db=${remotes}`, '--timeout=30', ...args], 40_000);
    if (r.code === 0) return r.stdout;
    last = r.stderr.trim();
    await sleep(1_000);
  }
  throw new Error(`failed to run ovn-nbctl ${args.join(' ')} on the NB cluster: ${last}`);
}

function exitOf(child: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
}

/** Starts the NB cluster, the SB and ovn-northd; waits until northd is active. */
export async function startPrivateCentral(cleanup: Cleanup): Promise<PrivateCentral> {
  const nb = await startCluster(NB_SCHEMA);
  cleanup.add('stop the NB cluster', () => nb.close());
  const sb = await startStandalone(SB_SCHEMA);
  cleanup.add('stop the SB', () => sb.close());
  const dir = await makeTempDir('ovn-northd-');
  cleanup.add('remove the northd dir', () => fs.rm(dir, { recursive: true, force: true }));
  const ctl = path.join(dir, 'northd.ctl');
  const northdLog = path.join(dir, 'northd.log');
  const northd = spawn('ovn-northd', [`--ovnnb-db=${nb.remotes}`, `--ovnsb-db=${sb.remote}`, `--unixctl=${ctl}`, `--log-file=${northdLog}`, '-vconsole:off'], { stdio: 'ignore' });
  const exited = exitOf(northd);
  cleanup.add('stop ovn-northd', async () => {
    if (northd.pid !== undefined && northd.exitCode === null && northd.signalCode === null) process.kill(northd.pid, 'SIGTERM');
    await exited;
  });
  await waitFor('the private ovn-northd to be active', async () => {
    if (northd.exitCode !== null || northd.signalCode !== null) throw new Error(`ovn-northd exited; see ${northdLog}`);
    const r = await runResult('ovn-appctl', ['-t', ctl, 'status']);
    return r.code === 0 && /active/.test(r.stdout) ? true : undefined;
  }, 30_000, 100);
  return {
    nb,
    sb,
    northdLog,
    nbctl: (args) => nbctl(nb, args),
    sbctl: (args) => run('ovn-sbctl', [`--db=${sb.remote}`, '--timeout=30', ...args], 40_000),
  };
}

async function systemId(): Promise<string> {
  return (await run('ovs-vsctl', ['--timeout=10', 'get', 'Open_vSwitch', '.', 'external_ids:system-id'])).trim().replace(/^"|"$/g, '');
}

/** ovn-controller is connected, and its chassis is registered in the Southbound at `sbRemote`. */
async function controllerOn(sbRemote: string, id: string): Promise<true | undefined> {
  const status = await runResult('ovn-appctl', ['-t', 'ovn-controller', 'connection-status']);
  if (status.stdout.trim() !== 'connected') return undefined;
  const chassis = await runResult('ovn-sbctl', [`--db=${sbRemote}`, '--timeout=5', '--bare', '--columns=name', 'find', 'Chassis', `name=${id}`]);
  return chassis.code === 0 && chassis.stdout.trim() === id ? true : undefined;
}

/**
 * Points the running ovn-controller at `sbRemote` (external_ids:ovn-remote) until cleanup, which
 * restores the previous value and waits until the controller is back on that Southbound.
 */
export async function pointControllerAt(sbRemote: string, cleanup: Cleanup): Promise<void> {
  const before = await runResult('ovs-vsctl', ['--timeout=10', 'get', 'Open_vSwitch', '.', 'external_ids:ovn-remote']);
  if (before.code !== 0) throw new Error(`failed to read external_ids:ovn-remote: ${before.stderr.trim()}; is the stack started?`);
  const original = before.stdout.trim(); // quoted as ovs-vsctl prints it, and parses it back
  const id = await systemId();
  cleanup.add('point ovn-controller back at the stack Southbound', async () => {
    await run('ovs-vsctl', ['--timeout=10', 'set', 'Open_vSwitch', '.', `external_ids:ovn-remote=${original}`]);
    await waitFor('ovn-controller to be back on the stack Southbound', () => controllerOn(original.replace(/^"|"$/g, ''), id), 60_000, 200);
    // Its chassis row outlived the switch; a round trip through the stack's NB/SB proves it is back.
    await run('ovn-nbctl', ['--timeout=60', '--wait=hv', 'sync'], 70_000);
  });
  await run('ovs-vsctl', ['--timeout=10', 'set', 'Open_vSwitch', '.', `external_ids:ovn-remote="${sbRemote}"`]);
  await waitFor(`ovn-controller to register in ${sbRemote}`, () => controllerOn(sbRemote, id), 60_000, 200);
}
