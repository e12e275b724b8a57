// ovn-driver end to end through the real Docker engine (/usr/bin/docker, 20.10) and a real OVN.
// The driver runs as a child process on its own socket name under /run/docker/plugins, so the
// Docker driver name is unique to this run (`ovntest-<hex>`) and other e2e files that start a
// driver of their own never collide with it. Needs `scripts/stack.sh start` (make test-e2e).

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { withCleanup } from '../helpers/cleanup';
import { DockerScope } from '../helpers/docker';
import { randomSuffix } from '../helpers/run';
import { listLogicalSwitches, listLogicalSwitchPorts, NOTHING, objectsFor, ovnInstalled, startDriver, switchOfNetwork } from '../helpers/stack';

const DRIVER = `ovntest-${randomSuffix()}`;
const SOCKET = `/run/docker/plugins/${DRIVER}.sock`;
const DRIVER_LOG = `/var/log/ovn-driver-stack/e2e-${DRIVER}.log`;
const OWNER = { key: 'ovn-driver:owner', value: 'ovn-driver' };

function explain(r: { stdout: string; stderr: string }): string {
  return `\n${r.stdout}${r.stderr}\n(driver log: ${DRIVER_LOG})`;
}

/** Ping, TCP and UDP from one container to another (helpers/traffic.ts), the driver's log named on failure. */
async function connected(scope: DockerScope, from: string, to: string, address: string): Promise<void> {
  try {
    await scope.assertConnected(from, to, address);
  } catch (e) {
    assert.fail(`${e instanceof Error ? e.message : String(e)}\n(driver log: ${DRIVER_LOG})`);
  }
}

/** The logical port of an endpoint: its `addresses` must be "MAC IPv4 [IPv6]" as Docker sees it. */
async function assertLogicalPort(endpointId: string, mac: string, ips: readonly string[]): Promise<void> {
  const port = (await listLogicalSwitchPorts()).find((p) => p.name === endpointId);
  assert.ok(port, `no Logical_Switch_Port named ${endpointId}`);
  assert.equal(port.externalIds[OWNER.key], OWNER.value);
  assert.equal(port.addresses.length, 1, `addresses: ${JSON.stringify(port.addresses)}`);
  const words = (port.addresses[0] ?? '').split(' ');
  assert.equal(words[0], mac, 'logical port MAC differs from the container MAC');
  for (const ip of ips) assert.ok(words.includes(ip), `logical port addresses ${port.addresses[0]} lack ${ip}`);
}

test('docker runs containers on ovn networks', { timeout: 600_000 }, async (t) => {
  await withCleanup(async (cleanup) => {
    const driver = await startDriver({ socketPath: SOCKET });
    cleanup.add('stop the driver', async () => {
      await driver.stop();
      await fs.writeFile(DRIVER_LOG, driver.output());
    });
    const runTimes: number[] = [];
    const noneTimes: number[] = [];

    await t.test('IPv4: each container reaches another (ping, TCP, UDP) right after docker run; stop, rm, network rm leave nothing', async () => {
      await withCleanup(async (c) => {
        const scope = new DockerScope();
        c.add('remove docker objects', () => scope.cleanup());
        const net = await scope.createNetwork('v4', { driver: DRIVER, subnets: ['198.18.10.0/24'], gateways: ['198.18.10.1'] });
        assert.equal(await scope.networkDriver(net.name), DRIVER);
        const ls = await switchOfNetwork(net.id);
        assert.ok(ls, `no Logical_Switch records network id ${net.id}`);
        assert.equal(ls.name, 'default/198.18.10.0/24', 'named by its VRF and subnet');
        assert.equal(ls.externalIds[OWNER.key], OWNER.value);

        const running: Array<{ name: string; endpointId: string; mac: string; ipv4: string }> = [];
        for (const base of ['c1', 'c2', 'c3']) {
          const started = Date.now();
          const ctr = await scope.runContainer(base, { network: net.name });
          runTimes.push(Date.now() - started);
          // Its very first packets: Join promised the port is wired before docker run returned.
          for (const peer of running) await connected(scope, ctr.name, peer.name, peer.ipv4);
          const att = await scope.attachment(ctr.name, net.name);
          assert.match(att.ipv4, /^198\.18\.10\.\d+$/);
          running.push({ name: ctr.name, ...att });
        }
        // For comparison only (a figure, not an assertion): the same image with --net=none.
        for (const base of ['none1', 'none2', 'none3']) {
          const started = Date.now();
          await scope.runContainer(base, { network: 'none' });
          noneTimes.push(Date.now() - started);
        }
        const [first, , last] = running;
        assert.ok(first && last);
        await connected(scope, first.name, last.name, last.ipv4);

        for (const r of running) {
          await assertLogicalPort(r.endpointId, r.mac, [r.ipv4]);
          assert.equal(await ovnInstalled(`ovn${r.endpointId.slice(0, 12)}`), true, `ovn-installed not set for ${r.name}`);
        }

        const endpointIds = running.map((r) => r.endpointId);
        for (const r of running) await scope.stopContainer(r.name);
        assert.deepEqual(await objectsFor({ endpointIds, networkIds: [] }), NOTHING, 'docker stop left objects behind');
        for (const r of running) await scope.removeContainer(r.name);
        await scope.removeNetwork(net.name);
        assert.deepEqual(await objectsFor({ endpointIds, networkIds: [net.id] }), NOTHING, 'network rm left objects behind');
      });
    });

    await t.test('dual stack: traffic over IPv6 (and IPv4), --ip6 honoured', async () => {
      await withCleanup(async (c) => {
        const scope = new DockerScope();
        c.add('remove docker objects', () => scope.cleanup());
        const net = await scope.createNetwork('v6', {
          driver: DRIVER,
          ipv6: true,
          subnets: ['198.18.20.0/24', 'fd00:198:18:20::/64'],
          gateways: ['198.18.20.1', 'fd00:198:18:20::1'],
        });
        const c1 = await scope.runContainer('c1', { network: net.name });
        const a1 = await scope.attachment(c1.name, net.name);
        assert.match(a1.ipv6, /^fd00:198:18:20:/);

        const c2 = await scope.runContainer('c2', { network: net.name, ip6: 'fd00:198:18:20::50' });
        await connected(scope, c2.name, c1.name, a1.ipv6);
        await connected(scope, c2.name, c1.name, a1.ipv4);

        const a2 = await scope.attachment(c2.name, net.name);
        assert.equal(a2.ipv6, 'fd00:198:18:20::50');
        const inside = await scope.exec(c2.name, ['ip', '-o', 'addr', 'show', 'dev', 'eth0']);
        assert.match(inside.stdout, /inet6 fd00:198:18:20::50\/64/);
        await assertLogicalPort(a1.endpointId, a1.mac, [a1.ipv4, a1.ipv6]);
        await assertLogicalPort(a2.endpointId, a2.mac, [a2.ipv4, a2.ipv6]);

        await scope.cleanup();
        assert.deepEqual(await objectsFor({ endpointIds: [a1.endpointId, a2.endpointId], networkIds: [net.id] }), NOTHING);
      });
    });

    await t.test('--ip and --mac-address are honoured; a MAC the driver picks is the one in use', async () => {
      await withCleanup(async (c) => {
        const scope = new DockerScope();
        c.add('remove docker objects', () => scope.cleanup());
        const net = await scope.createNetwork('ipmac', { driver: DRIVER, subnets: ['198.18.30.0/24'], gateways: ['198.18.30.1'] });
        const mac = '02:42:c6:12:1e:32';
        const c1 = await scope.runContainer('c1', { network: net.name, ip: '198.18.30.50', mac });
        const c2 = await scope.runContainer('c2', { network: net.name });
        await connected(scope, c2.name, c1.name, '198.18.30.50');

        const addr = await scope.exec(c1.name, ['ip', '-o', '-4', 'addr', 'show', 'dev', 'eth0']);
        assert.match(addr.stdout, /inet 198\.18\.30\.50\/24/);
        const link = await scope.exec(c1.name, ['ip', '-o', 'link', 'show', 'dev', 'eth0']);
        assert.ok(link.stdout.includes(`link/ether ${mac}`), `eth0 of ${c1.name}: ${link.stdout}`);
        const a1 = await scope.attachment(c1.name, net.name);
        assert.equal(a1.mac, mac);
        assert.equal(a1.ipv4, '198.18.30.50');
        await assertLogicalPort(a1.endpointId, mac, ['198.18.30.50']);

        // No --mac-address: whatever MAC the container got is the one OVN knows.
        const a2 = await scope.attachment(c2.name, net.name);
        const link2 = await scope.exec(c2.name, ['ip', '-o', 'link', 'show', 'dev', 'eth0']);
        assert.ok(link2.stdout.includes(`link/ether ${a2.mac}`), `eth0 of ${c2.name}: ${link2.stdout} (inspect says ${a2.mac})`);
        await assertLogicalPort(a2.endpointId, a2.mac, [a2.ipv4]);

        await scope.cleanup();
        assert.deepEqual(await objectsFor({ endpointIds: [a1.endpointId, a2.endpointId], networkIds: [net.id] }), NOTHING);
      });
    });

    await t.test('an unknown -o option is refused with the list of known options', async () => {
      await withCleanup(async (c) => {
        const scope = new DockerScope();
        c.add('remove docker objects', () => scope.cleanup());
        const r = await scope.tryCreateNetwork('badopt', { driver: DRIVER, subnets: ['198.18.40.0/24'], options: { foo: 'bar' } });
        assert.notEqual(r.code, 0, `network create -o foo=bar succeeded${explain(r)}`);
        assert.match(r.stderr, /foo/);
        for (const known of ['vrf', 'mtu', 'com.docker.network.driver.mtu']) {
          assert.ok(r.stderr.includes(known), `error does not list known option ${known}: ${r.stderr}`);
        }
        const switches = await listLogicalSwitches();
        assert.deepEqual(switches.filter((s) => (s.externalIds['docker:subnets'] ?? '').includes('198.18.40.')).map((s) => s.name), []);
      });
    });

    const ms = (xs: number[]): string => xs.map((x) => `${x} ms`).join(', ');
    process.stdout.write(`docker run -d: ovn network ${ms(runTimes)}; --net=none ${ms(noneTimes)}\n`);
    // A healthy stack never drops the driver's database connections; each drop stalls the
    // requests behind it (docker run waits for the reconnect).
    const drops = driver.output().split('\n').filter((l) => /lost connection/.test(l));
    assert.deepEqual(drops, [], `the driver lost a database connection during the scenarios (log: ${DRIVER_LOG})`);
  });
});
