// The RPM as el7 will see it: contents, dependencies and scriptlets; install, upgrade and erase
// in a scratch root; the netlink and ethtool addons' symbol versions; and the installed daemon, run by
// Node 16.20.2 (el7's runtime), answering Plugin.Activate on its socket.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { promises as fs, rmSync } from 'node:fs';
import * as path from 'node:path';
import { withCleanup, Cleanup } from '../helpers/cleanup';
import { DEPLOYED_ENV, DEPLOYED_NODE_FLAGS } from '../helpers/deployed';
import { makeTempDir, startStandalone, NB_SCHEMA, VSWITCH_SCHEMA } from '../helpers/ovsdb-server';
import { run, runResult, waitFor } from '../helpers/run';
import { postPlugin } from '../helpers/stack';

const ROOT = path.join(__dirname, '..', '..', '..');
const LIB = 'usr/lib/ovn-driver';

const EXPECTED_FILES = [
  '/etc/logrotate.d/ovn-driver',
  '/etc/sysconfig/ovn-driver',
  '/usr/bin/ovn-driver',
  '/usr/lib/ovn-driver',
  '/usr/lib/ovn-driver/ethtool.node',
  '/usr/lib/ovn-driver/netlink.node',
  '/usr/lib/ovn-driver/ovn-driver.js',
  '/usr/lib/systemd/system/ovn-driver.service',
];

interface Built {
  dir: string;
  release1: string;
  release2: string;
}

let built: Promise<Built> | undefined;

/** Builds release 1 and 2 once for all tests (scripts/build-rpm.sh, as `make rpm` runs it). */
function buildRpms(): Promise<Built> {
  built ??= (async () => {
    const dir = await makeTempDir('ovn-rpm-');
    // Shared by every test of this file; node 16's runner has no after-all hook on the context.
    process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
    const script = path.join(ROOT, 'scripts', 'build-rpm.sh');
    const release1 = (await run('bash', [script, '--out', dir, '--release', '1'], 300_000)).trim();
    const release2 = (await run('bash', [script, '--out', dir, '--release', '2'], 300_000)).trim();
    return { dir, release1, release2 };
  })();
  return built;
}

async function rpmQuery(file: string, ...args: string[]): Promise<string> {
  return run('rpm', ['-qp', ...args, file]);
}

test('rpm -qpl lists the daemon, addons, launcher, unit, sysconfig and logrotate files', async () => {
  const { release1 } = await buildRpms();
  assert.deepEqual((await rpmQuery(release1, '-l')).trim().split('\n'), EXPECTED_FILES);
  const configs = (await rpmQuery(release1, '-c')).trim().split('\n');
  assert.deepEqual(configs, ['/etc/logrotate.d/ovn-driver', '/etc/sysconfig/ovn-driver']);
  // %config(noreplace): the file flags carry RPMFILE_CONFIG (1) and RPMFILE_NOREPLACE (16).
  const flags = await rpmQuery(release1, '--qf', '[%{FILENAMES} %{FILEFLAGS}\\n]');
  assert.match(flags, /^\/etc\/sysconfig\/ovn-driver 17$/m);
  assert.match(flags, /^\/etc\/logrotate\.d\/ovn-driver 17$/m);
});

test('rpm --requires: Node.js 16+, Open vSwitch, systemd, and nothing el7 lacks', async () => {
  const { release1 } = await buildRpms();
  const requires = (await rpmQuery(release1, '--requires')).trim().split('\n');
  for (const r of ['nodejs >= 16', 'openvswitch', 'systemd', '/bin/sh']) assert.ok(requires.includes(r), `requires ${r}`);
  for (const r of requires) {
    assert.ok(!/GLIBCXX|CXXABI|libstdc\+\+/.test(r), `no C++ runtime: ${r}`);
    const glibc = /GLIBC_(\d+)\.(\d+)/.exec(r);
    if (glibc) assert.ok(Number(glibc[1]) === 2 && Number(glibc[2]) <= 17, `glibc <= 2.17: ${r}`);
    assert.ok(!/PayloadIsZstd|PayloadIsLzma/.test(r), `el7 rpm 4.11 reads the payload: ${r}`);
  }
  const payload = (await rpmQuery(release1, '--qf', '%{PAYLOADCOMPRESSOR}')).trim();
  assert.ok(payload === 'gzip' || payload === 'xz', `payload ${payload}`);
});

test('rpm --scripts: daemon-reload, enable on install, try-restart on upgrade, disable+stop on erase, never --now', async () => {
  const { release1 } = await buildRpms();
  const scripts = await rpmQuery(release1, '--scripts');
  const section = (name: string): string => {
    const m = new RegExp(`${name} scriptlet \\(using /bin/sh\\):\\n([\\s\\S]*?)(?=\\n\\S+ scriptlet|$)`).exec(scripts);
    assert.ok(m, `${name} scriptlet present`);
    return m[1] ?? '';
  };
  assert.match(section('postinstall'), /systemctl daemon-reload[\s\S]*if \[ "\$1" -eq 1 \][\s\S]*systemctl enable ovn-driver\.service/);
  assert.match(section('preuninstall'), /if \[ "\$1" -eq 0 \][\s\S]*systemctl --no-reload disable ovn-driver\.service[\s\S]*systemctl stop ovn-driver\.service/);
  assert.match(section('postuninstall'), /systemctl daemon-reload[\s\S]*if \[ "\$1" -ge 1 \][\s\S]*systemctl try-restart ovn-driver\.service/);
  assert.ok(!scripts.includes('--now'), 'systemd 219 has no --now');
  assert.ok(!/%\{?systemd_/.test(scripts), 'no unexpanded macros');
});

/**
 * A scratch root where rpm can run the scriptlets: busybox as /bin/sh, and a systemctl that
 * records its arguments. systemd is not PID 1 here, so the recording stands in for it; rpm runs
 * the real scriptlets with the real $1 of install, upgrade and erase.
 */
async function scratchRoot(cleanup: Cleanup): Promise<{ root: string; rpm: (...args: string[]) => Promise<string>; calls: () => Promise<string[]> }> {
  const root = await makeTempDir('ovn-root-');
  cleanup.add(`remove ${root}`, () => fs.rm(root, { recursive: true, force: true }));
  for (const d of ['bin', 'usr/bin', 'dev', 'tmp']) await fs.mkdir(path.join(root, d), { recursive: true });
  await fs.copyFile('/bin/busybox', path.join(root, 'bin', 'sh'));
  await fs.chmod(path.join(root, 'bin', 'sh'), 0o755);
  await fs.writeFile(path.join(root, 'usr', 'bin', 'systemctl'), '#!/bin/sh\necho "$*" >> /systemctl.log\n', { mode: 0o755 });
  const rpm = (...args: string[]): Promise<string> => run('rpm', ['--root', root, '--dbpath', '/var/lib/rpm', ...args]);
  const calls = async (): Promise<string[]> => {
    const text = await fs.readFile(path.join(root, 'systemctl.log'), 'utf8').catch(() => '');
    await fs.rm(path.join(root, 'systemctl.log'), { force: true });
    return text.split('\n').filter((l) => l !== '');
  };
  return { root, rpm, calls };
}

test('install, upgrade and erase in a scratch root run the right systemctl commands and keep edited config', async () => {
  const { release1, release2 } = await buildRpms();
  await withCleanup(async (cleanup) => {
    const { root, rpm, calls } = await scratchRoot(cleanup);
    await rpm('-i', '--nodeps', release1);
    assert.deepEqual(await calls(), ['daemon-reload', 'enable ovn-driver.service']);
    for (const f of EXPECTED_FILES) await fs.access(path.join(root, f));

    const sysconfig = path.join(root, 'etc', 'sysconfig', 'ovn-driver');
    await fs.appendFile(sysconfig, 'OVN_DRIVER_MTU=1400\n');
    await rpm('-U', '--nodeps', release2);
    // new post ($1=2: no enable), old preun ($1=1: nothing), old postun ($1=1: restart if running)
    assert.deepEqual(await calls(), ['daemon-reload', 'daemon-reload', 'try-restart ovn-driver.service']);
    assert.match(await fs.readFile(sysconfig, 'utf8'), /^OVN_DRIVER_MTU=1400$/m, 'edited config kept on upgrade');
    assert.match(await rpm('-q', 'ovn-driver'), /-2\./);

    await rpm('-e', '--nodeps', 'ovn-driver');
    assert.deepEqual(await calls(), ['--no-reload disable ovn-driver.service', 'stop ovn-driver.service', 'daemon-reload']);
    await assert.rejects(fs.access(path.join(root, LIB, 'ovn-driver.js')));
    assert.match(await fs.readFile(`${sysconfig}.rpmsave`, 'utf8'), /^OVN_DRIVER_MTU=1400$/m, 'edited config saved on erase');
  });
});

/** Every versioned symbol the addon needs from the system, as `objdump -T` lists them. */
async function symbolVersions(file: string): Promise<string[]> {
  const out = await run('objdump', ['-T', file]);
  return [...new Set([...out.matchAll(/\b((?:GLIBC|GLIBCXX|CXXABI)_[0-9.]+)/g)].map((m) => m[1] ?? ''))].sort();
}

/**
 * An addon as el7 loads it: no GLIBC above 2.17, no C++ runtime, only the libraries listed, and
 * every symbol it takes from node (napi_*, uv_*) present in Node 16.20.2 (LD_BIND_NOW resolves
 * them all at load time instead of at first call). Returns the names it exports.
 */
async function checkEl7Addon(addon: string, libraries: readonly string[]): Promise<string> {
  const versions = await symbolVersions(addon);
  process.stdout.write(`# ${path.basename(addon)} symbol versions: ${versions.join(' ')}\n`);
  assert.ok(versions.length > 0);
  for (const v of versions) {
    assert.ok(!/^(GLIBCXX|CXXABI)/.test(v), `no C++ runtime symbol: ${v}`);
    const m = /^GLIBC_2\.(\d+)/.exec(v);
    assert.ok(m && Number(m[1]) <= 17, `${v} <= GLIBC_2.17`);
  }
  const needed = [...(await run('objdump', ['-p', addon])).matchAll(/NEEDED\s+(\S+)/g)].map((m) => m[1]);
  assert.deepEqual(needed.sort(), libraries);
  const node16 = (await run('bash', [path.join(ROOT, 'scripts', 'node16.sh')])).trim();
  const bound = spawnSync(node16, ['-e', `process.stdout.write(Object.keys(require(${JSON.stringify(addon)})).join(','))`], { env: { ...process.env, LD_BIND_NOW: '1' }, encoding: 'utf8' });
  assert.equal(bound.status, 0, bound.stderr);
  return bound.stdout;
}

test('the packaged netlink addon needs no GLIBC above 2.17 and no GLIBCXX/CXXABI', async () => {
  const { release1 } = await buildRpms();
  await withCleanup(async (cleanup) => {
    const { root, rpm } = await scratchRoot(cleanup);
    await rpm('-i', '--nodeps', '--noscripts', release1);
    const addon = path.join(root, LIB, 'netlink.node');
    assert.equal(await checkEl7Addon(addon, ['libc.so.6', 'libdl.so.2', 'libpthread.so.0']), 'NativeNetlink');
    // The check must be able to fail: npm's prebuilt addon needs GLIBCXX_3.4.21.
    const prebuilt = await symbolVersions(path.join(ROOT, 'node_modules', 'netlink', 'prebuilds', 'linux-x64', 'node.napi.node'));
    assert.ok(prebuilt.some((v) => v.startsWith('GLIBCXX_')));
  });
});

test('the packaged SIOCETHTOOL addon needs only glibc 2.17, loads on Node 16.20.2, and the bundle finds it beside itself', async () => {
  const { release1 } = await buildRpms();
  await withCleanup(async (cleanup) => {
    const { root, rpm } = await scratchRoot(cleanup);
    await rpm('-i', '--nodeps', '--noscripts', release1);
    const addon = path.join(root, LIB, 'ethtool.node');
    assert.equal(await checkEl7Addon(addon, ['libc.so.6', 'libpthread.so.0']), 'txChecksumOff,txChecksum');
    // The bundle's addon-location shim: a bundle of the gateway, put in the installed directory,
    // forced onto the ioctl path, loads this el7 build and reads lo's TX checksumming (no root
    // needed) under Node 16; moved elsewhere with netlink.node only, it finds no ethtool.node.
    const entry = path.join(root, 'probe-entry.js');
    await fs.writeFile(entry, `const { openLinks } = require(${JSON.stringify(path.join(ROOT, 'dist', 'src', 'netlink'))});
const links = openLinks({ ethtool: 'ioctl' });
Promise.all([links.txChecksumMechanism(), links.getLinkTxChecksum('lo')]).then(
  (r) => process.stdout.write(JSON.stringify(r)), (e) => process.stdout.write(JSON.stringify({ code: e.code, path: e.path })),
).finally(() => links.close());\n`);
    const probe = path.join(root, LIB, 'probe.js');
    await run('node', [path.join(ROOT, 'scripts', 'build-bundle.js'), entry, probe]);
    const node16 = (await run('bash', [path.join(ROOT, 'scripts', 'node16.sh')])).trim();
    assert.deepEqual(JSON.parse(await run(node16, [probe])), ['ioctl', true]);
    const elsewhere = path.join(root, 'tmp', 'probe.js');
    await fs.copyFile(probe, elsewhere);
    await fs.copyFile(path.join(root, LIB, 'netlink.node'), path.join(root, 'tmp', 'netlink.node'));
    assert.deepEqual(JSON.parse(await run(node16, [elsewhere])), { code: 'NETLINK_ETHTOOL_ADDON_UNAVAILABLE', path: path.join(root, 'tmp', 'ethtool.node') });
  });
});

test('the installed daemon runs on Node 16.20.2 and answers Plugin.Activate; SIGTERM removes its socket', async () => {
  const { release1 } = await buildRpms();
  await withCleanup(async (cleanup) => {
    const { root, rpm } = await scratchRoot(cleanup);
    await rpm('-i', '--nodeps', '--noscripts', release1);
    const node16 = (await run('bash', [path.join(ROOT, 'scripts', 'node16.sh')])).trim();
    const daemon = path.join(root, LIB, 'ovn-driver.js');
    const launcher = await fs.readFile(path.join(root, 'usr', 'bin', 'ovn-driver'), 'utf8');
    assert.match(launcher, /exec node --max-semi-space-size=1 \/usr\/lib\/ovn-driver\/ovn-driver\.js "\$@"/);
    // The settings the benchmarks start the daemon with (test/helpers/deployed.ts) are the launcher's.
    assert.ok(launcher.includes(`exec node ${DEPLOYED_NODE_FLAGS.join(' ')} /usr/lib/ovn-driver/`), launcher);
    for (const [k, v] of Object.entries(DEPLOYED_ENV)) assert.ok(launcher.includes(`${k}=\${${k}:-${v}}`), `${k}=${v} in\n${launcher}`);

    const pkg: unknown = JSON.parse(await fs.readFile(path.join(ROOT, 'package.json'), 'utf8'));
    assert.ok(typeof pkg === 'object' && pkg !== null && 'version' in pkg);
    assert.equal((await run(node16, [daemon, '--version'])).trim(), pkg.version);
    assert.match(await run(node16, [daemon, '--help']), /--socket[\s\S]*OVN_DRIVER_SOCKET/);
    const bad = await runResult(node16, [daemon, '--mtu', 'abc']);
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr, 'ovn-driver: invalid --mtu "abc": not a number\n');

    const local = await startStandalone(VSWITCH_SCHEMA);
    cleanup.add('stop local ovsdb-server', () => local.close());
    const nb = await startStandalone(NB_SCHEMA);
    cleanup.add('stop NB ovsdb-server', () => nb.close());
    await run('ovs-vsctl', [`--db=${local.remote}`, '--no-wait', 'init']);
    await run('ovs-vsctl', [`--db=${local.remote}`, '--no-wait', 'set', 'Open_vSwitch', '.', 'external_ids:system-id=rpm-test', `external_ids:ovn-nb=${nb.remote}`]);
    await run('ovs-vsctl', [`--db=${local.remote}`, '--no-wait', 'add-br', 'br-rpmtest']);

    const sockDir = await makeTempDir('ovn-rpmsock-');
    cleanup.add(`remove ${sockDir}`, () => fs.rm(sockDir, { recursive: true, force: true }));
    const sock = path.join(sockDir, 'ovn.sock');
    // The launcher's V8 flag, so Node 16 is shown to accept it.
    const child = spawn(node16, [...DEPLOYED_NODE_FLAGS, daemon, '--socket', sock, '--ovsdb', local.remote, '--bridge', 'br-rpmtest', '--log-level', 'debug', '--reconcile-interval', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // LD_BIND_NOW: every symbol the addon takes from node must resolve when the bundle loads it.
      env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', LD_BIND_NOW: '1' },
    });
    let output = '';
    child.stdout.on('data', (c: Buffer) => { output += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { output += c.toString(); });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    cleanup.add('stop daemon', async () => {
      if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      await exited;
    });
    await waitFor(`the daemon's socket (output so far: ${output})`, async () => {
      if (child.exitCode !== null) throw new Error(`daemon exited ${child.exitCode}: ${output}`);
      return (await fs.stat(sock).catch(() => undefined))?.isSocket() ? true : undefined;
    });
    assert.equal((await fs.stat(sock)).mode & 0o777, 0o600, 'root-only socket');
    const activate = await postPlugin(sock, '/Plugin.Activate', '');
    assert.equal(activate.status, 200);
    assert.deepEqual(JSON.parse(activate.body), { Implements: ['NetworkDriver', 'IpamDriver'] });

    if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    assert.equal(await exited, 0, output);
    await assert.rejects(fs.stat(sock), 'socket removed on SIGTERM');
  });
});
