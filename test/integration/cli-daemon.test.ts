// The command line as a person meets it, through the real entry point (dist/src/main.js):
// --help/--version, bad values stopping start-up with one line and exit 2, and `status` asking
// a running daemon (started here against its own databases) what it holds.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { renderStatus } from '../../src/cli';
import { getOverUnixSocket } from '../../src/docker/client';
import { withCleanup } from '../helpers/cleanup';
import { makeTempDir, NB_SCHEMA, startStandalone, VSWITCH_SCHEMA } from '../helpers/ovsdb-server';
import { run, runResult, waitFor } from '../helpers/run';
import { postPlugin } from '../helpers/stack';

const ROOT = path.join(__dirname, '..', '..', '..');
const MAIN = path.join(ROOT, 'dist', 'src', 'main.js');
const NETWORK_ID = '6b63829edffa437a9f4522de66e549225b3d34cfd8683bc66bee62678e10309e';

function ovnDriver(args: string[], env: NodeJS.ProcessEnv = {}): ReturnType<typeof runResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MAIN, ...args], { env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.once('exit', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}

test('--help and --version print and exit 0', async () => {
  const help = await ovnDriver(['--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /Usage: ovn-driver/);
  assert.match(help.stdout, /--mtu[\s\S]*OVN_DRIVER_MTU/);
  const pkg: unknown = JSON.parse(await fs.readFile(path.join(ROOT, 'package.json'), 'utf8'));
  assert.ok(typeof pkg === 'object' && pkg !== null && 'version' in pkg);
  const version = await ovnDriver(['--version']);
  assert.equal(version.code, 0);
  assert.equal(version.stdout.trim(), pkg.version);
});

test('bad values stop start-up: one line on stderr naming the option, exit 2, nothing else', async () => {
  const cases: Array<[string[], NodeJS.ProcessEnv, string]> = [
    [['--mtu', 'abc'], {}, 'ovn-driver: invalid --mtu "abc": not a number'],
    [['--mtu', '65536'], {}, 'ovn-driver: invalid --mtu "65536": out of range 68..65535'],
    [['--nb', 'tcp:198.18.0.1:99999'], {}, 'ovn-driver: invalid --nb "tcp:198.18.0.1:99999": port 99999 out of range; use unix:PATH, tcp:HOST:PORT or ssl:HOST:PORT'],
    [['--tcp-listen', '0.0.0.0:9898'], {}, 'ovn-driver: invalid --tcp-listen "0.0.0.0:9898": not a loopback address; the plugin API has no authentication, use 127.0.0.1 or [::1]'],
    [[], { OVN_DRIVER_LOG_LEVEL: 'loud' }, 'ovn-driver: invalid --log-level "loud": unknown level; use one of error, warn, info, debug'],
    [['--bogus'], {}, 'ovn-driver: unknown option --bogus; see ovn-driver --help'],
  ];
  for (const [args, env, line] of cases) {
    const r = await ovnDriver(args, env);
    assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.equal(r.stderr, `${line}\n`);
    assert.equal(r.stdout, '');
  }
});

test('status without a daemon says so and exits 1', async () => {
  await withCleanup(async (cleanup) => {
    const dir = await makeTempDir('ovn-status-');
    cleanup.add(`remove ${dir}`, () => fs.rm(dir, { recursive: true, force: true }));
    const r = await ovnDriver(['status', '--socket', path.join(dir, 'ovn.sock')]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /failed to GET \/NetworkDriver\.Database on ".*ovn\.sock": ENOENT/);
    assert.match(r.stderr, /systemctl status ovn-driver/);
  });
});

test('status prints what the running daemon holds, as its Database call returns it', async () => {
  await withCleanup(async (cleanup) => {
    const local = await startStandalone(VSWITCH_SCHEMA);
    cleanup.add('stop local ovsdb-server', () => local.close());
    const nb = await startStandalone(NB_SCHEMA);
    cleanup.add('stop NB ovsdb-server', () => nb.close());
    const db = `--db=${local.remote}`;
    await run('ovs-vsctl', [db, '--no-wait', 'init']);
    await run('ovs-vsctl', [db, '--no-wait', 'set', 'Open_vSwitch', '.', 'external_ids:system-id=status-test', `external_ids:ovn-nb=${nb.remote}`]);
    await run('ovs-vsctl', [db, '--no-wait', 'add-br', 'br-stattest']);
    const dir = await makeTempDir('ovn-status-');
    cleanup.add(`remove ${dir}`, () => fs.rm(dir, { recursive: true, force: true }));
    const sock = path.join(dir, 'ovn.sock');

    const daemon = spawn(process.execPath, [MAIN, '--socket', sock, '--ovsdb', local.remote, '--bridge', 'br-stattest', '--reconcile-interval', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    daemon.stdout.on('data', (c: Buffer) => { output += c.toString(); });
    daemon.stderr.on('data', (c: Buffer) => { output += c.toString(); });
    const exited = new Promise<void>((resolve) => daemon.once('exit', () => resolve()));
    cleanup.add('stop daemon', async () => {
      if (daemon.exitCode === null && daemon.signalCode === null && daemon.pid !== undefined) process.kill(daemon.pid, 'SIGTERM');
      await exited;
    });
    await waitFor('the daemon socket', async () => {
      if (daemon.exitCode !== null) throw new Error(`daemon exited ${daemon.exitCode}: ${output}`);
      return (await fs.stat(sock).catch(() => undefined))?.isSocket() ? true : undefined;
    });

    const create = await postPlugin(sock, '/NetworkDriver.CreateNetwork', JSON.stringify({
      NetworkID: NETWORK_ID,
      Options: { 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': {} },
      IPv4Data: [{ AddressSpace: 'LocalDefault', Gateway: '198.18.50.1/24', Pool: '198.18.50.0/24' }],
      IPv6Data: [],
    }));
    assert.equal(create.status, 200, create.body);
    assert.deepEqual(JSON.parse(create.body), {});

    const raw = await getOverUnixSocket(sock, '/NetworkDriver.Database', 10_000);
    assert.equal(raw.status, 200);
    const doc: unknown = JSON.parse(raw.body);
    assert.ok(typeof doc === 'object' && doc !== null);
    for (const key of ['databases', 'networks', 'endpoints']) assert.ok(key in doc, `Database reply has "${key}"`);
    assert.ok(raw.body.includes(NETWORK_ID), 'the new network is listed');

    const status = await ovnDriver(['status', '--socket', sock]);
    assert.equal(status.code, 0, status.stderr);
    assert.equal(status.stdout, renderStatus(doc));
    // Readable: each database connection with its state, then one line per network.
    assert.match(status.stdout, /^Databases:\n {2}Northbound:\n(?: {4}.*\n)*? {4}State: connected$/m);
    assert.match(status.stdout, /^Networks \(1\):\n {2}- networkId: 6b63829e/m);
    assert.match(status.stdout, /^Endpoints \(0\):$/m);
    assert.ok(status.stdout.includes(NETWORK_ID));
  });
});
