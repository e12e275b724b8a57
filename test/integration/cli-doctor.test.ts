// `ovn-driver doctor` against real servers made for the test: a local Open_vSwitch database, a
// Northbound database, and a real ovn-controller process writing its pid file. Each broken
// prerequisite shows up as FAIL with a fix, and the others still pass.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { ChildProcess, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { parseConfig } from '../../src/config';
import { CheckResult, renderChecks, runChecks } from '../../src/cli';
import { openLinks } from '../../src/netlink';
import { withCleanup, Cleanup } from '../helpers/cleanup';
import { makeTempDir, NB_SCHEMA, startStandalone, StandaloneServer, VSWITCH_SCHEMA } from '../helpers/ovsdb-server';
import { run, runResult, waitFor } from '../helpers/run';

interface Host {
  dir: string;
  local: StandaloneServer;
  nb: StandaloneServer;
  pidFile: string;
  controller: ChildProcess;
  socketDir: string;
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  process.kill(child.pid, 'SIGTERM');
  await exited;
}

/** A host as ovn-driver expects it: OVS database configured for OVN, NB up, ovn-controller running. */
async function makeHost(cleanup: Cleanup, opts: { ovnNb: boolean }): Promise<Host> {
  const dir = await makeTempDir('ovn-doc-');
  cleanup.add(`remove ${dir}`, () => fs.rm(dir, { recursive: true, force: true }));
  const local = await startStandalone(VSWITCH_SCHEMA);
  cleanup.add('stop local ovsdb-server', () => local.close());
  const nb = await startStandalone(NB_SCHEMA);
  cleanup.add('stop NB ovsdb-server', () => nb.close());
  const db = `--db=${local.remote}`;
  await run('ovs-vsctl', [db, '--no-wait', 'init']);
  const ids = ['external_ids:system-id=doctor-test-chassis', 'external_ids:ovn-encap-type=geneve', 'external_ids:ovn-encap-ip=127.0.0.1',
    // An SB that is not there: ovn-controller keeps running and retrying, which is all doctor needs.
    `external_ids:ovn-remote=unix:${path.join(dir, 'no-sb.sock')}`];
  if (opts.ovnNb) ids.push(`external_ids:ovn-nb=${nb.remote}`);
  await run('ovs-vsctl', [db, '--no-wait', 'set', 'Open_vSwitch', '.', ...ids]);

  const pidFile = path.join(dir, 'ovn-controller.pid');
  // OVN_RUNDIR keeps its control socket in the test's directory, away from the host's OVN.
  const controller = spawn('ovn-controller', [local.remote, `--pidfile=${pidFile}`, `--log-file=${path.join(dir, 'ovn-controller.log')}`, '-vconsole:off'],
    { stdio: 'ignore', env: { ...process.env, OVN_RUNDIR: dir } });
  cleanup.add('stop ovn-controller', () => stopChild(controller));
  await waitFor('ovn-controller pid file', async () => (await fs.readFile(pidFile, 'utf8').catch(() => '')).trim() || undefined);
  // ovn-controller creates the integration bridge in the local database when it starts.
  await waitFor('br-int created by ovn-controller', async () => ((await runResult('ovs-vsctl', [db, '--no-wait', 'br-exists', 'br-int'])).code === 0 ? true : undefined));

  const socketDir = path.join(dir, 'plugins');
  await fs.mkdir(socketDir, { mode: 0o755 });
  return { dir, local, nb, pidFile, controller, socketDir };
}

function byName(results: readonly CheckResult[]): Map<string, CheckResult> {
  return new Map(results.map((r) => [r.name, r]));
}

function configFor(host: Host, extra: string[] = []): ReturnType<typeof parseConfig> {
  return parseConfig(['doctor', '--ovsdb', host.local.remote, '--socket', path.join(host.socketDir, 'ovn.sock'),
    '--docker-socket', path.join(host.dir, 'no-docker.sock'), '--db-timeout', '2', ...extra], {});
}

test('doctor passes every prerequisite of a configured host', async () => {
  await withCleanup(async (cleanup) => {
    const host = await makeHost(cleanup, { ovnNb: true });
    const results = await runChecks(configFor(host), { pidFiles: [host.pidFile] });
    const r = byName(results);
    assert.deepEqual(results.map((x) => x.name), [
      'local OVSDB reachable', 'external_ids:ovn-nb set', 'Northbound database reachable', 'integration bridge present',
      'datapath and TX checksum offload', 'ovn-controller running and registered as a chassis', 'plugin socket directory usable', 'Docker reachable',
    ]);
    for (const name of results.map((x) => x.name).filter((n) => n !== 'Docker reachable')) {
      assert.equal(r.get(name)?.ok, true, `${name}: ${r.get(name)?.detail ?? ''}`);
    }
    assert.equal(r.get('external_ids:ovn-nb set')?.detail, host.nb.remote);
    assert.match(r.get('ovn-controller running and registered as a chassis')?.detail ?? '', new RegExp(`pid ${host.controller.pid ?? -1}, chassis doctor-test-chassis; note: external_ids:ovn-monitor-all is not true, .*ovn-monitor-all=true avoids that$`));
    // This test's Docker socket does not exist: that check fails, with the fix.
    const docker = r.get('Docker reachable');
    assert.equal(docker?.ok, false);
    assert.match(docker?.detail ?? '', /ENOENT/);
    assert.match(renderChecks(results), /FAIL {2}Docker reachable: .*\n {6}fix: start Docker/);
  });
});

test('doctor notes nothing about ovn-monitor-all once it is true', async () => {
  await withCleanup(async (cleanup) => {
    const host = await makeHost(cleanup, { ovnNb: true });
    await run('ovs-vsctl', [`--db=${host.local.remote}`, '--no-wait', 'set', 'Open_vSwitch', '.', 'external_ids:ovn-monitor-all=true']);
    const r = byName(await runChecks(configFor(host), { pidFiles: [host.pidFile] }));
    const chassis = r.get('ovn-controller running and registered as a chassis');
    assert.equal(chassis?.ok, true);
    assert.equal(chassis?.detail, `pid ${host.controller.pid ?? -1}, chassis doctor-test-chassis, ovn-monitor-all`);
  });
});

test('doctor says which datapath case the host is in: kernel defaults kept, or TX checksum offload turned off per veth', async () => {
  await withCleanup(async (cleanup) => {
    const host = await makeHost(cleanup, { ovnNb: true });
    const check = async (opts: Parameters<typeof runChecks>[1] = {}): Promise<CheckResult | undefined> =>
      byName(await runChecks(configFor(host), { pidFiles: [host.pidFile], ...opts })).get('datapath and TX checksum offload');
    const kernel = await check();
    assert.equal(kernel?.ok, true);
    assert.match(kernel?.detail ?? '', /^br-int uses the kernel datapath \(datapath_type "(system)?"\): container veths keep the kernel's checksum offload defaults$/);

    // This private database has no ovs-vswitchd, so its bridge can be marked netdev freely.
    await run('ovs-vsctl', [`--db=${host.local.remote}`, '--no-wait', 'set', 'Bridge', 'br-int', 'datapath_type=netdev']);
    const userspace = await check();
    assert.equal(userspace?.ok, true, userspace?.detail);
    const join = 'br-int uses the userspace datapath (datapath_type "netdev"), which does not complete partial checksums: Join turns TX checksum offload off on each container veth';
    assert.equal(userspace?.detail, `${join}, through the kernel's ethtool netlink family`);

    // A kernel before 5.6 (not this one) goes through the SIOCETHTOOL addon: a real gateway
    // forced onto that path, with the addon `make build` compiled, and then with none.
    const ioctl = openLinks({ ethtool: 'ioctl' });
    const missing = openLinks({ ethtool: 'ioctl', ethtoolAddonPath: `/nonexistent/ovn-doctor-${process.pid}/ethtool.node` });
    cleanup.add('close the gateways', async () => { ioctl.close(); missing.close(); });
    const old = await check({ links: ioctl });
    assert.equal(old?.ok, true, old?.detail);
    assert.equal(old?.detail, `${join}, through the SIOCETHTOOL ioctl of the ethtool.node addon (the kernel's ethtool netlink family is not available or not used)`);
    const neither = await check({ links: missing });
    assert.equal(neither?.ok, false);
    assert.equal(neither?.detail, `${join}, but this kernel has no ethtool netlink family and the SIOCETHTOOL addon that replaces it could not be loaded from /nonexistent/ovn-doctor-${process.pid}/ethtool.node, so every Join fails`);
    assert.match(neither?.fix ?? '', /^reinstall ovn-driver \(it ships ethtool\.node beside netlink\.node\), or run Linux 5\.6 or newer .*ovn-bridge-datapath-type=system/);
  });
});

test('doctor against the real Docker socket passes when dockerd answers /_ping', async (t) => {
  const ping = await runResult('curl', ['-s', '--max-time', '5', '--unix-socket', '/var/run/docker.sock', 'http://localhost/_ping']);
  if (ping.stdout !== 'OK') {
    t.skip('dockerd is not running on /var/run/docker.sock (make test-e2e starts it)');
    return;
  }
  const results = await runChecks(parseConfig(['doctor', '--ovsdb', 'unix:/nonexistent/db.sock', '--db-timeout', '1'], {}), { pidFiles: [] });
  assert.equal(byName(results).get('Docker reachable')?.ok, true);
});

test('doctor names each broken prerequisite with its fix', async () => {
  await withCleanup(async (cleanup) => {
    const host = await makeHost(cleanup, { ovnNb: false });
    await fs.chmod(host.socketDir, 0o777);
    await stopChild(host.controller); // it removes its pid file on SIGTERM
    const results = await runChecks(configFor(host, ['--bridge', 'br-missing']), { pidFiles: [host.pidFile] });
    const r = byName(results);
    assert.equal(r.get('local OVSDB reachable')?.ok, true);
    const nbSet = r.get('external_ids:ovn-nb set');
    assert.equal(nbSet?.ok, false);
    assert.match(nbSet?.fix ?? '', /ovs-vsctl set Open_vSwitch \. external_ids:ovn-nb=/);
    assert.equal(r.get('Northbound database reachable')?.ok, false);
    assert.equal(r.get('integration bridge present')?.ok, false);
    assert.match(r.get('integration bridge present')?.detail ?? '', /no bridge "br-missing"/);
    assert.equal(r.get('ovn-controller running and registered as a chassis')?.ok, false);
    assert.match(r.get('ovn-controller running and registered as a chassis')?.fix ?? '', /systemctl start ovn-controller/);
    const dir = r.get('plugin socket directory usable');
    assert.equal(dir?.ok, false);
    assert.match(dir?.detail ?? '', /writable by others \(mode 777\)/);
    assert.match(dir?.fix ?? '', /chmod o-w/);
    for (const x of results.filter((y) => !y.ok)) assert.ok((x.fix ?? '') !== '', `${x.name} has a fix`);
    assert.match(r.get('datapath and TX checksum offload')?.detail ?? '', /^no bridge "br-missing"$/);
    assert.match(renderChecks(results), /7 of 8 checks failed\n$/);
  });
});

test('doctor with --nb skips external_ids:ovn-nb and reaches the given Northbound', async () => {
  await withCleanup(async (cleanup) => {
    const host = await makeHost(cleanup, { ovnNb: false });
    const r = byName(await runChecks(configFor(host, ['--nb', host.nb.remote]), { pidFiles: [host.pidFile] }));
    assert.equal(r.get('external_ids:ovn-nb set')?.ok, true);
    assert.equal(r.get('Northbound database reachable')?.ok, true);
  });
});

test('doctor with no local database fails what depends on it, and still checks the rest', async () => {
  await withCleanup(async (cleanup) => {
    const dir = await makeTempDir('ovn-doc-');
    cleanup.add(`remove ${dir}`, () => fs.rm(dir, { recursive: true, force: true }));
    const config = parseConfig(['doctor', '--ovsdb', `unix:${path.join(dir, 'db.sock')}`, '--socket', path.join(dir, 'p', 'ovn.sock'),
      '--docker-socket', path.join(dir, 'docker.sock'), '--db-timeout', '1'], {});
    const results = await runChecks(config, { pidFiles: [path.join(dir, 'none.pid')] });
    const r = byName(results);
    assert.equal(r.get('local OVSDB reachable')?.ok, false);
    assert.match(r.get('local OVSDB reachable')?.fix ?? '', /start Open vSwitch/);
    assert.equal(r.get('integration bridge present')?.detail, 'local database unreachable');
    // The socket directory does not exist but its parent is writable: the daemon will create it.
    assert.equal(r.get('plugin socket directory usable')?.ok, true);
    assert.equal(results.filter((x) => x.ok).length, 1);
  });
});
