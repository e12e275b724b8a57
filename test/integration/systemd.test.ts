// The unit, sysconfig and logrotate files as el7 will read them: every directive is one that
// systemd 219 understands, `systemd-analyze verify` prints nothing, and rotation with the
// package's logrotate file plus a SIGHUP loses no line.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { promises as fs } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { withCleanup } from '../helpers/cleanup';

const ROOT = path.join(__dirname, '..', '..', '..');
const UNIT = path.join(ROOT, 'systemd', 'ovn-driver.service');
const LOGROTATE = path.join(ROOT, 'systemd', 'ovn-driver.logrotate');

// Directives of systemd 219 (src/core/load-fragment-gperf.gperf.m4 and src/shared/install.c at
// v219; man systemd.unit, systemd.service, systemd.exec, systemd.kill, systemd.resource-control
// of v219). RHEL 7 backported a few later ones (PassEnvironment, AmbientCapabilities, TasksMax);
// they are left out so the unit works on every el7 minor release.
const UNIT_219 = [
  'Description', 'Documentation', 'SourcePath', 'Requires', 'RequiresOverridable', 'Requisite',
  'RequisiteOverridable', 'Wants', 'BindsTo', 'BindTo', 'Conflicts', 'Before', 'After', 'OnFailure',
  'PropagatesReloadTo', 'PropagateReloadTo', 'ReloadPropagatedFrom', 'PropagateReloadFrom', 'PartOf',
  'JoinsNamespaceOf', 'RequiresMountsFor', 'StopWhenUnneeded', 'RefuseManualStart', 'RefuseManualStop',
  'AllowIsolate', 'DefaultDependencies', 'OnFailureJobMode', 'OnFailureIsolate', 'IgnoreOnIsolate',
  'IgnoreOnSnapshot', 'JobTimeoutSec', 'ConditionPathExists', 'ConditionPathExistsGlob',
  'ConditionPathIsDirectory', 'ConditionPathIsSymbolicLink', 'ConditionPathIsMountPoint',
  'ConditionPathIsReadWrite', 'ConditionDirectoryNotEmpty', 'ConditionFileNotEmpty',
  'ConditionFileIsExecutable', 'ConditionNeedsUpdate', 'ConditionFirstBoot', 'ConditionKernelCommandLine',
  'ConditionArchitecture', 'ConditionVirtualization', 'ConditionSecurity', 'ConditionCapability',
  'ConditionHost', 'ConditionACPower', 'ConditionNull', 'AssertPathExists', 'AssertPathIsDirectory',
  'AssertFileIsExecutable', 'AssertVirtualization', 'AssertHost', 'AssertNull',
];
const EXEC_219 = [
  'WorkingDirectory', 'RootDirectory', 'User', 'Group', 'SupplementaryGroups', 'Nice', 'OOMScoreAdjust',
  'IOSchedulingClass', 'IOSchedulingPriority', 'CPUSchedulingPolicy', 'CPUSchedulingPriority',
  'CPUSchedulingResetOnFork', 'CPUAffinity', 'UMask', 'Environment', 'EnvironmentFile', 'StandardInput',
  'StandardOutput', 'StandardError', 'TTYPath', 'TTYReset', 'TTYVHangup', 'TTYVTDisallocate',
  'SyslogIdentifier', 'SyslogFacility', 'SyslogLevel', 'SyslogLevelPrefix', 'Capabilities', 'SecureBits',
  'CapabilityBoundingSet', 'TimerSlackNSec', 'NoNewPrivileges', 'SystemCallFilter',
  'SystemCallArchitectures', 'SystemCallErrorNumber', 'RestrictAddressFamilies', 'LimitCPU', 'LimitFSIZE',
  'LimitDATA', 'LimitSTACK', 'LimitCORE', 'LimitRSS', 'LimitNOFILE', 'LimitAS', 'LimitNPROC',
  'LimitMEMLOCK', 'LimitLOCKS', 'LimitSIGPENDING', 'LimitMSGQUEUE', 'LimitNICE', 'LimitRTPRIO',
  'LimitRTTIME', 'ReadWriteDirectories', 'ReadOnlyDirectories', 'InaccessibleDirectories', 'PrivateTmp',
  'PrivateNetwork', 'PrivateDevices', 'ProtectSystem', 'ProtectHome', 'MountFlags', 'Personality',
  'RuntimeDirectoryMode', 'RuntimeDirectory', 'PAMName', 'IgnoreSIGPIPE', 'UtmpIdentifier',
  'SELinuxContext', 'AppArmorProfile', 'SmackProcessLabel',
];
const KILL_219 = ['SendSIGKILL', 'SendSIGHUP', 'KillMode', 'KillSignal'];
const CGROUP_219 = [
  'Slice', 'CPUAccounting', 'CPUShares', 'StartupCPUShares', 'CPUQuota', 'MemoryAccounting', 'MemoryLimit',
  'DeviceAllow', 'DevicePolicy', 'BlockIOAccounting', 'BlockIOWeight', 'StartupBlockIOWeight',
  'BlockIODeviceWeight', 'BlockIOReadBandwidth', 'BlockIOWriteBandwidth', 'Delegate',
];
const SERVICE_219 = [
  'PIDFile', 'ExecStartPre', 'ExecStart', 'ExecStartPost', 'ExecReload', 'ExecStop', 'ExecStopPost',
  'RestartSec', 'TimeoutSec', 'TimeoutStartSec', 'TimeoutStopSec', 'WatchdogSec', 'StartLimitInterval',
  'StartLimitBurst', 'StartLimitAction', 'RebootArgument', 'FailureAction', 'Type', 'Restart',
  'PermissionsStartOnly', 'RootDirectoryStartOnly', 'RemainAfterExit', 'GuessMainPID',
  'RestartPreventExitStatus', 'RestartForceExitStatus', 'SuccessExitStatus', 'NonBlocking', 'BusName',
  'FileDescriptorStoreMax', 'NotifyAccess', 'Sockets', ...EXEC_219, ...KILL_219, ...CGROUP_219,
];
const INSTALL_219 = ['WantedBy', 'RequiredBy', 'Alias', 'Also', 'DefaultInstance'];
const SECTIONS_219: Record<string, readonly string[]> = { Unit: UNIT_219, Service: SERVICE_219, Install: INSTALL_219 };

// Values whose accepted set grew after 219.
const VALUES_219: Record<string, RegExp> = {
  ProtectSystem: /^(yes|no|full|true|false)$/,
  ProtectHome: /^(yes|no|read-only|true|false)$/,
  KillMode: /^(control-group|process|mixed|none)$/,
  Restart: /^(no|on-success|on-failure|on-abnormal|on-watchdog|on-abort|always)$/,
  Type: /^(simple|forking|oneshot|dbus|notify|idle)$/,
  NoNewPrivileges: /^(yes|no|true|false)$/,
  PrivateTmp: /^(yes|no|true|false)$/,
};

function parseUnit(text: string): Array<{ section: string; key: string; value: string; line: number }> {
  const out: Array<{ section: string; key: string; value: string; line: number }> = [];
  let section = '';
  text.split('\n').forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) return;
    const header = /^\[([A-Za-z]+)\]$/.exec(line);
    if (header) {
      section = header[1] ?? '';
      return;
    }
    const kv = /^([A-Za-z0-9]+)=(.*)$/.exec(line);
    assert.ok(kv, `line ${i + 1} is not KEY=VALUE: ${raw}`);
    assert.ok(!line.endsWith('\\'), `line ${i + 1}: no continuation lines`);
    out.push({ section, key: kv[1] ?? '', value: kv[2] ?? '', line: i + 1 });
  });
  return out;
}

function execResult(cmd: string, args: string[], cwd: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: 60000 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/**
 * `systemd-analyze verify` of a unit inside a scratch root holding the system's units (for
 * dependencies such as sysinit.target) and executables at the unit's ExecStart/ExecReload paths,
 * so the file is checked exactly as shipped.
 */
async function verifyInRoot(unitText: string, dir: string): Promise<{ code: number; output: string }> {
  const root = path.join(dir, 'root');
  await fs.mkdir(path.join(root, 'usr', 'lib', 'systemd'), { recursive: true });
  await fs.cp('/lib/systemd/system', path.join(root, 'usr', 'lib', 'systemd', 'system'), { recursive: true });
  for (const exe of ['/usr/bin/ovn-driver', '/bin/kill']) {
    await fs.mkdir(path.join(root, path.dirname(exe)), { recursive: true });
    await fs.writeFile(path.join(root, exe), '#!/bin/sh\n', { mode: 0o755 });
  }
  const unit = path.join(root, 'usr', 'lib', 'systemd', 'system', 'ovn-driver.service');
  await fs.writeFile(unit, unitText);
  const r = await execResult('systemd-analyze', ['verify', `--root=${root}`, unit], dir);
  return { code: r.code, output: `${r.stdout}${r.stderr}` };
}

test('the unit uses only directives and values systemd 219 understands', async () => {
  const entries = parseUnit(await fs.readFile(UNIT, 'utf8'));
  assert.deepEqual([...new Set(entries.map((e) => e.section))], ['Unit', 'Service', 'Install']);
  for (const e of entries) {
    const known = SECTIONS_219[e.section];
    assert.ok(known?.includes(e.key), `line ${e.line}: ${e.key}= is not a systemd 219 directive of [${e.section}]`);
    const values = VALUES_219[e.key];
    if (values) assert.match(e.value, values, `line ${e.line}: ${e.key}=${e.value} not accepted by systemd 219`);
  }
});

test('the unit orders the driver after OVS and ovn-controller, before Docker, and hardens it', async () => {
  const entries = parseUnit(await fs.readFile(UNIT, 'utf8'));
  const all = (key: string): string[] => entries.filter((e) => e.key === key).flatMap((e) => e.value.split(/\s+/));
  const one = (key: string): string | undefined => entries.find((e) => e.key === key)?.value;
  for (const dep of ['openvswitch.service', 'ovn-controller.service']) {
    assert.ok(all('After').includes(dep), `After=${dep}`);
    assert.ok(all('Wants').includes(dep), `Wants=${dep}`);
  }
  assert.ok(all('Before').includes('docker.service'));
  assert.equal(one('Restart'), 'on-failure');
  assert.equal(one('EnvironmentFile'), '-/etc/sysconfig/ovn-driver');
  assert.equal(one('ExecStart'), '/usr/bin/ovn-driver');
  assert.equal(one('KillSignal'), 'SIGTERM');
  assert.ok(one('TimeoutStopSec') !== undefined);
  assert.equal(one('NoNewPrivileges'), 'yes');
  assert.equal(one('PrivateTmp'), 'yes');
  assert.deepEqual(all('CapabilityBoundingSet').sort(), ['CAP_CHOWN', 'CAP_DAC_OVERRIDE', 'CAP_NET_ADMIN']);
  assert.ok(all('WantedBy').includes('multi-user.target'));
});

test('systemd-analyze verify prints nothing for the unit, and does complain about a bad copy', async () => {
  await withCleanup(async (cleanup) => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ovn-unit-'));
    cleanup.add(`remove ${dir}`, () => fs.rm(dir, { recursive: true, force: true }));
    const text = await fs.readFile(UNIT, 'utf8');
    const good = await verifyInRoot(text, path.join(dir, 'good'));
    assert.equal(good.output, '');
    assert.equal(good.code, 0);
    // The same check on a broken copy must fail, or the assertion above proves nothing.
    const bad = await verifyInRoot(text.replace('ProtectSystem=full', 'ProtectSystem=fully'), path.join(dir, 'bad'));
    assert.match(bad.output, /ProtectSystem|protect system/i);
  });
});

test('logrotate accepts the file, and rotation plus SIGHUP reopens the log losing no line', async () => {
  await withCleanup(async (cleanup) => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ovn-rot-'));
    cleanup.add(`remove ${dir}`, () => fs.rm(dir, { recursive: true, force: true }));
    const shipped = await fs.readFile(LOGROTATE, 'utf8');
    const check = await execResult('logrotate', ['-d', '-s', path.join(dir, 'state0'), LOGROTATE], dir);
    assert.equal(check.code, 0, check.stderr);
    assert.ok(!/error/i.test(check.stderr), check.stderr);
    assert.match(shipped, /systemctl kill --kill-who=main --signal=HUP ovn-driver\.service/);

    // A logger process that reopens on SIGHUP, as main.ts does, writing numbered lines.
    const logFile = path.join(dir, 'ovn-driver.log');
    const script = path.join(dir, 'writer.js');
    const logModule = path.join(ROOT, 'dist', 'src', 'log.js');
    await fs.writeFile(script, `
      const { createLogger } = require(${JSON.stringify(logModule)});
      const log = createLogger({ level: 'info', file: ${JSON.stringify(logFile)}, stdout: false, env: {} });
      process.on('SIGHUP', () => log.reopen());
      let i = 0;
      const timer = setInterval(() => { for (let k = 0; k < 20; k++) log.info('line ' + i++); }, 1);
      process.on('SIGTERM', () => { clearInterval(timer); log.close().then(() => { process.stdout.write(String(i)); process.exit(0); }); });
      process.stdout.write('ready\\n');
    `);
    const child = spawn(process.execPath, [script], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    cleanup.add('stop writer', async () => {
      if (child.exitCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
      await exited;
    });
    while (!out.includes('ready\n')) await new Promise((r) => child.stdout.once('data', r));

    // The shipped file with the test's path and the test's process as the one to signal.
    const conf = shipped
      .replace('/var/log/openvswitch/ovn-driver.log', logFile)
      .replace(/su root root\n/, '')
      .replace(/create 0640 root root/, 'create 0640')
      .replace(/systemctl kill .*$/m, `kill -HUP ${child.pid ?? 0}`);
    const confFile = path.join(dir, 'rotate.conf');
    await fs.writeFile(confFile, conf);
    for (let round = 0; round < 3; round++) {
      await new Promise((r) => setTimeout(r, 50)); // let lines accumulate: notifempty
      const r = await execResult('logrotate', ['-f', '-s', path.join(dir, 'state'), confFile], dir);
      assert.equal(r.code, 0, r.stderr);
    }
    await new Promise((r) => setTimeout(r, 50));
    if (child.pid !== undefined) process.kill(child.pid, 'SIGTERM');
    await exited;
    const written = Number(out.replace('ready\n', ''));
    assert.ok(written > 0);

    // Every numbered line is in exactly one of the files (current, .1 plain, .2.gz ... compressed).
    const files = (await fs.readdir(dir)).filter((f) => f.startsWith('ovn-driver.log'));
    assert.ok(files.length >= 3, `rotated files: ${files.join(' ')}`);
    const seen = new Map<number, number>();
    for (const f of files) {
      const p = path.join(dir, f);
      const text = f.endsWith('.gz') ? (await execResult('gzip', ['-dc', p], dir)).stdout : await fs.readFile(p, 'utf8');
      for (const m of text.matchAll(/ line (\d+)$/gm)) seen.set(Number(m[1]), (seen.get(Number(m[1])) ?? 0) + 1);
    }
    assert.equal(seen.size, written, 'every line written is in some file');
    assert.ok([...seen.values()].every((n) => n === 1), 'no line twice');
  });
});
