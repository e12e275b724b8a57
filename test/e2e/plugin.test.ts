// ovn-driver as a Docker managed plugin (plugin API v2), through the real Docker 20.10 engine:
// scripts/plugin.sh install (what `make plugin` runs after tsc) builds the rootfs and creates and
// enables the plugin; DEBUG and the options are set with `docker plugin set`; a network on it
// carries TCP data between containers; a second daemon of another driver name (as the systemd
// daemon runs) works beside it with both reconcilers running, and neither touches the other's
// ports, veths or switches; a plugin whose Northbound is unreachable says so in its log and in
// Docker's errors, one whose local database is unreachable says so in its log and is not
// enabled (the daemon serves nothing before it has the local database); disable and rm remove it. The plugin is named `ovntest-plugin-<hex>` so runs
// never collide, and is disabled and removed also when the test fails.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as path from 'node:path';
import { withCleanup } from '../helpers/cleanup';
import { docker, dockerResult, DockerScope } from '../helpers/docker';
import { randomSuffix, run, sleep } from '../helpers/run';
import { NOTHING, objectsFor, startDriver } from '../helpers/stack';

const ROOT = path.resolve(__dirname, '../../..');
const PLUGIN = `ovntest-plugin-${randomSuffix()}`;
const DRIVER = `${PLUGIN}:latest`;
const PLUGIN_DIR = path.join(ROOT, 'build', `plugin-${PLUGIN}`);
const PLUGIN_LOG = `/var/log/openvswitch/${PLUGIN}.log`;
const DOCKERD_LOG = '/var/log/ovn-driver-stack/dockerd.log'; // where scripts/stack.sh runs dockerd's output
// The other daemon, standing in for the systemd one: a legacy plugin of another driver name.
const LEGACY = `ovntest-${randomSuffix()}`;
const LEGACY_SOCKET = `/run/docker/plugins/${LEGACY}.sock`;
const LEGACY_LOG = `/var/log/ovn-driver-stack/e2e-${LEGACY}.log`;
// Longer than the reconciler's 30 s grace: by then each daemon has judged the other's objects.
const RECONCILE_WAIT_MS = 36_000;

async function pluginEnabled(): Promise<string | undefined> {
  const r = await dockerResult(['plugin', 'ls', '--format', '{{.Name}} {{.Enabled}}']);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout.split('\n').find((l) => l.startsWith(`${DRIVER} `))?.split(' ')[1];
}

async function pluginSet(settings: readonly string[]): Promise<void> {
  await docker(['plugin', 'disable', '-f', PLUGIN]);
  await docker(['plugin', 'set', PLUGIN, ...settings]);
  await docker(['plugin', 'enable', PLUGIN]);
}

test('the managed plugin: make plugin, set DEBUG, a network, TCP, its IPAM, beside another daemon, unreachable databases, disable, rm', { timeout: 240_000 }, async () => {
  await withCleanup(async (cleanup) => {
    cleanup.add(`remove ${PLUGIN_DIR}`, () => fs.rm(PLUGIN_DIR, { recursive: true, force: true }));
    cleanup.add(`remove plugin ${PLUGIN}`, async () => {
      await dockerResult(['plugin', 'disable', '-f', PLUGIN]);
      const r = await dockerResult(['plugin', 'rm', '-f', PLUGIN]);
      if (r.code !== 0 && !/not found|no such plugin/i.test(r.stderr)) throw new Error(`failed to remove plugin ${PLUGIN}: ${r.stderr}`);
    });
    cleanup.add(`remove ${PLUGIN_LOG}`, () => fs.rm(PLUGIN_LOG, { force: true }));

    // ---- make plugin (its steps after tsc), enabled --------------------------------------------
    // Its log file is this test's own from the first start (the default file may be a real plugin's).
    await run('bash', [path.join(ROOT, 'scripts/plugin.sh'), 'install', PLUGIN, PLUGIN_DIR, `OVN_DRIVER_LOG_FILE=${PLUGIN_LOG}`], 180_000);
    assert.equal(await pluginEnabled(), 'true', `docker plugin ls does not show ${DRIVER} enabled`);
    const pluginId = await docker(['plugin', 'inspect', '--format', '{{.Id}}', PLUGIN]);
    const config: unknown = JSON.parse(await fs.readFile(path.join(PLUGIN_DIR, 'config.json'), 'utf8'));
    assert.deepEqual(config && typeof config === 'object' && 'linux' in config ? config.linux : undefined, { capabilities: ['CAP_NET_ADMIN'] });
    const rootfsMb = Number((await run('du', ['-sm', path.join(PLUGIN_DIR, 'rootfs')])).split('\t')[0]);
    process.stdout.write(`FIGURE: plugin rootfs ${rootfsMb} MB\n`);

    assert.doesNotMatch(await fs.readFile(PLUGIN_LOG, 'utf8'), / debug /, 'debug lines before DEBUG=1');

    // ---- disable, set DEBUG=1 (and a fast reconciler), enable ----------------------------------
    await docker(['plugin', 'disable', PLUGIN]);
    assert.equal(await pluginEnabled(), 'false');
    await docker(['plugin', 'set', PLUGIN, 'DEBUG=1', 'OVN_DRIVER_RECONCILE_INTERVAL=2']);
    await docker(['plugin', 'enable', PLUGIN]);
    assert.equal(await pluginEnabled(), 'true');

    // ---- the other daemon, reconciling every 2 s too -------------------------------------------
    const legacy = await startDriver({ socketPath: LEGACY_SOCKET, extraArgs: ['--reconcile-interval', '2'] });
    cleanup.add('stop the other daemon', async () => {
      await legacy.stop();
      await fs.writeFile(LEGACY_LOG, legacy.output());
    });

    const scope = new DockerScope();
    cleanup.add('remove docker objects', () => scope.cleanup());
    // Runs before the Docker objects are removed: a failure in the unreachable-NB phase must not
    // leave the plugin unable to delete its networks.
    const restore = (): Promise<void> => pluginSet(['OVN_DRIVER_NB=', 'OVN_DRIVER_DB_TIMEOUT=']);
    let broken = false;
    cleanup.add('restore the plugin settings', async () => {
      if (broken) await restore();
    });

    const pnet = await scope.createNetwork('plg', { driver: DRIVER, subnets: ['198.19.140.0/24'], gateways: ['198.19.140.1'] });
    assert.equal(await scope.networkDriver(pnet.name), DRIVER);
    const lnet = await scope.createNetwork('leg', { driver: LEGACY, subnets: ['198.19.141.0/24'], gateways: ['198.19.141.1'] });
    const endpoints: string[] = [];
    const attach = async (base: string, network: string): Promise<{ name: string; ipv4: string }> => {
      const c = await scope.runContainer(base, { network });
      const att = await scope.attachment(c.name, network);
      endpoints.push(att.endpointId);
      return { name: c.name, ipv4: att.ipv4 };
    };
    const [p1, p2, l1, l2] = [await attach('p1', pnet.name), await attach('p2', pnet.name), await attach('l1', lnet.name), await attach('l2', lnet.name)];
    // On the first attempt, with data (ping, TCP, UDP): the plugin's Join turns TX checksum offload
    // off on the userspace datapath, as the daemon's does.
    for (const [a, b] of [[p1, p2], [l1, l2]] as const) await scope.assertConnected(a.name, b.name, b.ipv4);

    // ---- both reconcilers run past their grace period: nothing of either is removed ------------
    await sleep(RECONCILE_WAIT_MS);
    const present = await objectsFor({ endpointIds: endpoints, networkIds: [pnet.id, lnet.id] });
    assert.equal(present.logicalSwitches.length, 2, `switches: ${JSON.stringify(present)}`);
    assert.equal(present.logicalSwitchPorts.length, 4, `logical ports: ${JSON.stringify(present)}`);
    assert.equal(present.ovsInterfaces.length, 4, `OVS ports: ${JSON.stringify(present)}`);
    assert.equal(present.veths.length, 4, `host veths: ${JSON.stringify(present)}`); // container ends are in the containers
    for (const [a, b] of [[p1, p2], [p2, p1], [l1, l2]] as const) await scope.assertConnected(a.name, b.name, b.ipv4);

    const pluginLog = await fs.readFile(PLUGIN_LOG, 'utf8');
    assert.match(pluginLog, / debug /, 'DEBUG=1 gave no debug lines in the plugin log file');
    assert.match(pluginLog, /reconcile: nothing to remove/, 'the plugin reconciler never ran');
    assert.doesNotMatch(pluginLog, /reconcile removed/, 'the plugin reconciler removed something');
    assert.doesNotMatch(pluginLog, /cannot ask Docker/, 'the plugin cannot reach Docker through its docker-sock mount');
    assert.match(legacy.output(), /reconcile: nothing to remove/, 'the other daemon reconciler never ran');
    assert.doesNotMatch(legacy.output(), /reconcile removed/, 'the other daemon removed something');
    // stdout goes to dockerd's log, tagged with the plugin id.
    assert.match(await fs.readFile(DOCKERD_LOG, 'utf8'), new RegExp(`ovn-driver listening on /run/docker/plugins/ovn.sock.*plugin=${pluginId}`));

    // ---- the plugin is the IPAM driver too: addresses from the Northbound ----------------------
    const ipamVrf = `plg${randomSuffix()}`;
    const inet = await scope.createNetwork('pip', { driver: DRIVER, ipamDriver: DRIVER, subnets: ['198.19.143.0/24'], options: { vrf: ipamVrf }, ipamOptions: { vrf: ipamVrf } });
    const [i1, i2] = [await scope.runContainer('i1', { network: inet.name }), await scope.runContainer('i2', { network: inet.name })];
    const [a1, a2] = [await scope.attachment(i1.name, inet.name), await scope.attachment(i2.name, inet.name)];
    const ipamRows = async (): Promise<string[]> =>
      (await run('ovn-nbctl', ['--bare', '--columns=name', 'list', 'Copp'])).split('\n').map((l) => l.trim()).filter((l) => l.startsWith(`ovn-driver-ipam:${ipamVrf}/`)).sort();
    for (const a of [a1, a2]) {
      assert.match(a.ipv4, /^198\.19\.143\.\d+$/, `an address outside the pool: ${a.ipv4}`);
      assert.notEqual(a.ipv4, '198.19.143.1', 'a container was given the gateway');
    }
    assert.notEqual(a1.ipv4, a2.ipv4);
    assert.deepEqual(await ipamRows(), [`ovn-driver-ipam:${ipamVrf}/198.19.143.0/24/198.19.143.1`, `ovn-driver-ipam:${ipamVrf}/198.19.143.0/24/${a1.ipv4}`, `ovn-driver-ipam:${ipamVrf}/198.19.143.0/24/${a2.ipv4}`].sort());
    await scope.assertConnected(i1.name, i2.name, a2.ipv4);
    for (const c of [i1, i2]) await scope.removeContainer(c.name);
    await scope.removeNetwork(inet.name);
    assert.deepEqual(await ipamRows(), [], 'IPAM rows outlived their network');
    assert.deepEqual(await objectsFor({ endpointIds: [a1.endpointId, a2.endpointId], networkIds: [inet.id] }), NOTHING);

    // ---- teardown leaves no port, veth or switch of either -------------------------------------
    for (const c of [p1, p2, l1, l2]) await scope.removeContainer(c.name);
    await scope.removeNetwork(lnet.name);
    await legacy.stop();

    // ---- a Northbound it cannot reach: its log and every call that needs it say so -------------
    const absent = `unix:/var/run/ovn/${PLUGIN}-absent.sock`;
    broken = true;
    await pluginSet([`OVN_DRIVER_NB=${absent}`, 'OVN_DRIVER_DB_TIMEOUT=2']);
    const created = await scope.tryCreateNetwork('nb-down', { driver: DRIVER, subnets: ['198.19.142.0/24'] });
    assert.notEqual(created.code, 0, 'a network was created with the Northbound unreachable');
    assert.match(created.stderr, /failed to .*the Northbound database .*ovn-driver doctor/, created.stderr);
    const started = await dockerResult(['run', '-d', '--net', pnet.name, '--name', scope.name('nb-down'), 'ovn-driver-busybox', 'sleep', '60']);
    await dockerResult(['rm', '-f', scope.name('nb-down')]);
    assert.notEqual(started.code, 0, 'a container started with the Northbound unreachable');
    assert.match(started.stderr, /failed to .*the Northbound database .*ovn-driver doctor/, started.stderr);
    const nbLog = await fs.readFile(PLUGIN_LOG, 'utf8');
    assert.ok(nbLog.includes(`OVN_Northbound: failed to connect to "${absent}"`), `the plugin log does not say it cannot reach ${absent}`);
    await restore();
    broken = false;

    await scope.removeNetwork(pnet.name);
    assert.deepEqual(await objectsFor({ endpointIds: endpoints, networkIds: [pnet.id, lnet.id] }), NOTHING);

    // ---- a local database it cannot reach: as the daemon, it serves at once, waits and says so in
    // its log and in the Err of every call that needs the databases ----------------------------
    const absentOvs = `unix:/var/run/openvswitch/${PLUGIN}-absent.sock`;
    await docker(['plugin', 'disable', PLUGIN]);
    await docker(['plugin', 'set', PLUGIN, `OVN_DRIVER_OVSDB=${absentOvs}`, 'OVN_DRIVER_DB_TIMEOUT=1']);
    await docker(['plugin', 'enable', PLUGIN]);
    assert.equal(await pluginEnabled(), 'true');
    const refused = await dockerResult(['network', 'create', '-d', DRIVER, '--subnet', '198.19.142.0/24', `${PLUGIN}-nolocal`]);
    if (refused.code === 0) await dockerResult(['network', 'rm', `${PLUGIN}-nolocal`]);
    assert.notEqual(refused.code, 0, 'a network was created with the local database unreachable');
    assert.ok(refused.stderr.includes(`still waiting for the local Open_vSwitch database at ${absentOvs}`), refused.stderr);
    assert.ok((await fs.readFile(PLUGIN_LOG, 'utf8')).includes(`still waiting for the local Open_vSwitch database at ${absentOvs}`), 'the plugin log does not say it waits for its local database');
    await docker(['plugin', 'disable', PLUGIN]);
    await docker(['plugin', 'set', PLUGIN, 'OVN_DRIVER_OVSDB=', 'OVN_DRIVER_DB_TIMEOUT=']);
    await docker(['plugin', 'enable', PLUGIN]);

    // ---- disable, rm --------------------------------------------------------------------------
    await docker(['plugin', 'disable', PLUGIN]);
    assert.equal(await pluginEnabled(), 'false');
    await docker(['plugin', 'rm', PLUGIN]);
    assert.equal(await pluginEnabled(), undefined, `${DRIVER} is still listed after docker plugin rm`);
  });
});
