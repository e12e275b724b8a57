// The driver daemon, isolated from everything else on the host: its own Northbound and
// Open_vSwitch ovsdb-servers (fresh files in a temp dir, no vswitchd), run inside its own
// network namespace (so its veths are only there), on a socket in a private directory. Tests
// that check "nothing changed" snapshot exactly what this daemon can touch, undisturbed by
// tests running side by side. Everything is registered with a Cleanup.

import { ChildProcess, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import type { Cleanup } from './cleanup';
import { makeTempDir, NB_SCHEMA, startStandalone, StandaloneServer, VSWITCH_SCHEMA } from './ovsdb-server';
import { randomSuffix, run, waitFor } from './run';
import { MAIN_JS, pluginActive } from './stack';

export const BRIDGE = 'br-int';

export interface IsolatedDaemon {
  readonly dir: string;
  readonly socketPath: string;
  readonly netns: string;
  readonly systemId: string;
  readonly nb: StandaloneServer;
  readonly ovs: StandaloneServer;
  /** The pid of the current daemon process (changes after restart). */
  pid(): number;
  output(): string;
  alive(): boolean;
  /** SIGKILL by pid, and wait for the exit. */
  kill(): Promise<void>;
  /** Starts the daemon again with the same databases, namespace and socket. */
  restart(): Promise<void>;
  nbctl(args: readonly string[]): Promise<string>;
  vsctl(args: readonly string[]): Promise<string>;
  ip(args: readonly string[]): Promise<string>;
}

export interface IsolatedOptions {
  readonly extraArgs?: readonly string[];
  /** Mode of the socket's directory (default 0755). */
  readonly socketDirMode?: number;
  /** False: databases and namespace only (the daemon starts on restart()). */
  readonly startDaemon?: boolean;
}

interface Running {
  readonly child: ChildProcess;
  readonly exited: Promise<void>;
}

function spawnDaemon(netns: string, args: readonly string[], sink: (s: string) => void): Running {
  // `ip netns exec` execs node in place: the child's pid is the daemon's.
  const child = spawn('ip', ['netns', 'exec', netns, process.execPath, MAIN_JS, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (c: Buffer) => sink(c.toString('utf8')));
  child.stderr?.on('data', (c: Buffer) => sink(c.toString('utf8')));
  const exited = new Promise<void>((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) resolve();
    else child.once('exit', () => resolve());
  });
  return { child, exited };
}

function isAlive(r: Running): boolean {
  return r.child.exitCode === null && r.child.signalCode === null;
}

/** Databases and a namespace only; `start` decides when the daemon runs. */
export async function startIsolatedDaemon(cleanup: Cleanup, opts: IsolatedOptions = {}): Promise<IsolatedDaemon> {
  const dir = await makeTempDir('ovn-iso-');
  cleanup.add(`remove ${dir}`, () => fs.rm(dir, { recursive: true, force: true }));
  const nb = await startStandalone(NB_SCHEMA);
  cleanup.add('stop the Northbound ovsdb-server', () => nb.close());
  const ovs = await startStandalone(VSWITCH_SCHEMA);
  cleanup.add('stop the Open_vSwitch ovsdb-server', () => ovs.close());
  const systemId = `iso-${randomSuffix(6)}`;
  const vsctl = (args: readonly string[]): Promise<string> => run('ovs-vsctl', [`--db=${ovs.remote}`, '--no-wait', '--timeout=10', ...args]);
  const nbctl = (args: readonly string[]): Promise<string> => run('ovn-nbctl', [`--db=${nb.remote}`, '--timeout=10', ...args]);
  await vsctl(['init']);
  await vsctl(['set', 'Open_vSwitch', '.', `external_ids:system-id=${systemId}`, `external_ids:ovn-nb=${nb.remote}`]);
  await vsctl(['add-br', BRIDGE]);

  const netns = `ovniso-${randomSuffix(4)}`;
  await run('ip', ['netns', 'add', netns]);
  cleanup.add(`delete netns ${netns}`, () => run('ip', ['netns', 'del', netns]));
  await run('ip', ['-n', netns, 'link', 'set', 'lo', 'up']);
  const ip = (args: readonly string[]): Promise<string> => run('ip', ['-n', netns, ...args]);

  const sockDir = path.join(dir, 'plugins');
  await fs.mkdir(sockDir, { mode: 0o755 });
  await fs.chmod(sockDir, opts.socketDirMode ?? 0o755);
  const socketPath = path.join(sockDir, 'ovn.sock');
  // Defaults, each replaced by the same option in extraArgs (an option given twice is an error).
  const extra = opts.extraArgs ?? [];
  const defaults = [['--log-level', 'debug'], ['--ready-timeout', '0.2'], ['--db-timeout', '5']].filter(([k]) => !extra.includes(k ?? '')).flat();
  const args = ['--socket', socketPath, '--ovsdb', ovs.remote, '--nb', nb.remote, ...defaults, ...extra];

  let log = '';
  let current: Running | undefined;
  const kill = async (): Promise<void> => {
    const r = current;
    if (!r || !isAlive(r) || r.child.pid === undefined) return;
    process.kill(r.child.pid, 'SIGKILL');
    await r.exited;
  };
  cleanup.add('kill the isolated daemon', kill);
  const start = async (): Promise<void> => {
    const r = spawnDaemon(netns, args, (s) => (log += s));
    current = r;
    await waitFor(`daemon to answer on ${socketPath}`, async () => {
      if (!isAlive(r)) throw new Error(`daemon exited (code ${r.child.exitCode}) before answering:\n${log}`);
      return (await pluginActive(socketPath)) ? true : undefined;
    }, 20_000, 50);
  };
  if (opts.startDaemon !== false) await start();
  return {
    dir, socketPath, netns, systemId, nb, ovs, nbctl, vsctl, ip, kill,
    pid: () => current?.child.pid ?? -1,
    output: () => log,
    alive: () => current !== undefined && isAlive(current),
    restart: async () => {
      await kill();
      await start();
    },
  };
}

/** What the isolated daemon can change: both databases' relevant tables and its namespace's links. */
export interface Snapshot {
  readonly nb: string;
  readonly ovs: string;
  readonly links: string;
}

export async function snapshot(d: IsolatedDaemon): Promise<Snapshot> {
  const [ls, lsp, iface, port, bridge, links] = await Promise.all([
    d.nbctl(['--format=json', 'list', 'Logical_Switch']),
    d.nbctl(['--format=json', 'list', 'Logical_Switch_Port']),
    run('ovs-vsctl', [`--db=${d.ovs.remote}`, '--format=json', 'list', 'Interface']),
    run('ovs-vsctl', [`--db=${d.ovs.remote}`, '--format=json', 'list', 'Port']),
    run('ovs-vsctl', [`--db=${d.ovs.remote}`, '--format=json', 'list', 'Bridge']),
    d.ip(['-j', 'link', 'show']),
  ]);
  return { nb: ls + lsp, ovs: iface + port + bridge, links };
}
