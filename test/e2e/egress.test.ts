// Egress and published ports (issue 12, README "Reaching the outside") end to end on one host:
// the real Docker engine, the real OVN, and an "outside" network namespace (test/helpers/outside.ts:
// 198.18.250.0/24 on a Linux bridge, reached through an external OVS bridge of this host) holding
// the external gateway address and servers that record the source address of what reaches them.
// The driver runs first with no gateway host in the cluster, then as a gateway host
// (--external-bridge and the external network's options), then killed and restarted.
//   - with no way out, -p publishes nothing and the log says so, naming --external-bridge (the
//     driver behaves as before the way out existed); bad --external-* values exit 2 in one
//     line, another external network than the Northbound's exits 1;
//   - a container on a routed network reaches the outside (ping, TCP, UDP with byte counts); the
//     outside sees the VRF's external address, never the container's; the Northbound rows are the
//     README's (external switch and localnet port, gateway group, ext/V port, route, SNAT); the
//     host's other bridge mappings are kept; a VRF made before the gateway host gets its way out
//     when it starts; two routed networks of a VRF get a SNAT row each; three networks of a new
//     VRF made at once share one way out, three new VRFs made at once get three addresses;
//   - docker run -p (TCP, UDP, HostIP 0.0.0.0, :: and the VRF's address; SCTP rows) reaches the
//     container from the outside on the first attempt right after docker run returns; load
//     balancers pm/<endpoint>/<proto> on the VRF's router; `ovn-driver status` and its JSON;
//   - port ranges, -P (the chosen port read from `ovn-driver status` and the log);
//   - refusals (a HostPort held on the VRF, a HostIP not the VRF's) name the holder and change no
//     load balancer; four containers racing for one HostPort: one wins; four -P at once: four
//     ports; the same port on another protocol or another VRF is accepted; -p on --internal: nothing;
//   - kill -9 and a restart (another priority) keep what is published; docker stop revokes and
//     docker start publishes again; docker rm -f removes the container's load balancers; at the
//     end nothing of the driver's is left. The gateway driver reconciles every second meanwhile.
// Cleanup (pass or fail): containers, networks, the driver (its log kept), the external network's
// Northbound rows when no VRF uses them, ovn-bridge-mappings restored, the outside and the bridge.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { withCleanup } from '../helpers/cleanup';
import { docker, DOCKER, DockerScope } from '../helpers/docker';
import * as outside from '../helpers/outside';
import { randomSuffix, run, runResult, waitFor } from '../helpers/run';
import { DriverProcess, listKernelLinks, listLogicalSwitches, listLogicalSwitchPorts, MAIN_JS, NOTHING, objectsFor, startDriver } from '../helpers/stack';
import { assertConnected } from '../helpers/traffic';
import { getOverUnixSocket } from '../../src/docker/client';

const SUFFIX = randomSuffix();
const DRIVER = `ovntest-eg-${SUFFIX}`;
const SOCKET = `/run/docker/plugins/${DRIVER}.sock`;
const DRIVER_LOG = `/var/log/ovn-driver-stack/e2e-${DRIVER}.log`;
// Docker networks only in 198.18.176.0/24 .. 198.18.183.0/24 (the two-host file takes 184..186).
const OCTET = 176;
const SUBNET = `198.18.${OCTET}.0/24`;
const SUBNET2 = `198.18.${OCTET + 1}.0/24`;
const SUBNET_INTERNAL = `198.18.${OCTET + 2}.0/24`;
const SUBNET_A2 = `198.18.${OCTET + 3}.0/24`;
const SUBNET_EARLY = `198.18.${OCTET + 4}.0/24`;
const SUBNETS_PARALLEL = [5, 6, 7].map((i) => `198.18.${OCTET + i}.0/24`);
const VRF = `eg-${SUFFIX}`;
const VRF2 = `eg2-${SUFFIX}`;
const VRF3 = `eg3-${SUFFIX}`;
const VRF4 = `eg4-${SUFFIX}`;
// This run's host ports (HP .. HP+29), distinct per run so that nothing a failed earlier run left on
// a reused pool address can answer for this one.
const HP = 10_000 + (parseInt(SUFFIX, 16) % 1000) * 30;
const SERVER_HTTP = 8080;
const SERVER_UDP = 9090;
const BLOB = 1024 * 1024;
const UDP_SIZES = Array.from({ length: 10 }, () => [64, 512, 1000]).flat();
const OWNER = { key: 'ovn-driver:owner', value: 'ovn-driver' };
const RECONCILE_OFTEN = ['--reconcile-interval', '1'];

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

async function status(): Promise<string> {
  const r = await runResult(process.execPath, [MAIN_JS, 'status', '--socket', SOCKET], 30_000);
  assert.equal(r.code, 0, `ovn-driver status failed: ${r.stdout}${r.stderr}`);
  return r.stdout;
}

test('egress and published ports through a gateway host (one host)', { timeout: 240_000 }, async (t) => {
  const busybox = await outside.md5OfFile('/bin/busybox');
  let externalLeft: string | undefined;
  await withCleanup(async (cleanup) => {
    // A previous run that could not clean up may have left the external network: unused, it goes.
    await outside.takeExternalLock(cleanup);
    await outside.checkRestoredAtEnd(cleanup, () => externalLeft === '');
    const stale = await outside.removeExternalNetworkIfUnused();
    if (stale !== '') say(`egress: ${stale} (another user of the external network?); the checks that need no gateway host are skipped`);
    const world = await outside.createOutside(cleanup, SUFFIX);
    const server = await world.startServer(SERVER_HTTP, SERVER_UDP, BLOB);
    const mappingsAtKeep = await outside.keepBridgeMappings(cleanup);
    // Another mapping the driver must keep (a physnet of this run's, on its bridge; no localnet port uses it).
    const mappingsBefore = [...mappingsAtKeep.split(',').filter((m) => m !== ''), `ovntest-${SUFFIX}:${world.bridge}`].join(',');
    await run('ovs-vsctl', ['--timeout=10', 'set', 'Open_vSwitch', '.', `external_ids:ovn-bridge-mappings="${mappingsBefore}"`]);
    // Registered before the driver starts, so it runs after the driver stopped.
    cleanup.add('remove the external network if no VRF uses it', async () => {
      externalLeft = await outside.removeExternalNetworkIfUnused();
      if (externalLeft !== '') say(`egress: ${externalLeft}`);
    });
    const scope = new DockerScope();
    const endpoints: string[] = [];
    let address = '';
    let address2 = '';
    let address3 = '';
    // After the drivers stopped (registered before them): the load balancers a VRF router left
    // behind are free once the router went.
    cleanup.add('remove load balancers a failure left', async () => {
      const leaked = await outside.removeLeakedLoadBalancers(endpoints, [address, address2, address3].filter((a) => a !== ''));
      if (leaked.length > 0) say(`egress: removed load balancers the driver left: ${leaked.join(' ')}`);
    });
    cleanup.add('remove what a failure left of this run\'s VRFs', async () => {
      const left = await outside.removeLeftVrfs(SUFFIX);
      if (left.length > 0) say(`egress: removed what the driver left: ${left.join(' ')}`);
    });
    // One driver at a time on SOCKET: plain first, then a gateway host, restarted once.
    let driver: DriverProcess | undefined;
    let driverArgs: readonly string[] = [];
    const driverLogs: string[] = [];
    const startAs = async (args: readonly string[]): Promise<DriverProcess> => {
      await stopDriver('stop');
      driverArgs = args;
      driver = await startDriver({ socketPath: SOCKET, extraArgs: args });
      return driver;
    };
    const stopDriver = async (how: 'stop' | 'kill'): Promise<void> => {
      const d = driver;
      if (d === undefined) return;
      driver = undefined;
      await (how === 'stop' ? d.stop() : d.kill());
      driverLogs.push(`---- ${how === 'stop' ? 'stopped' : 'killed'}: ovn-driver ${driverArgs.join(' ')}\n${d.output()}`);
    };
    cleanup.add('stop the driver (its log kept)', async () => {
      await stopDriver('stop');
      await fs.writeFile(DRIVER_LOG, driverLogs.join('\n'));
    });
    // Docker removes networks through the driver: one runs for the removals whatever failed.
    cleanup.add('remove docker objects', async () => {
      if (driver === undefined) await startAs(driverArgs);
      await scope.cleanup();
    });
    const driverOutput = (): string => driver?.output() ?? '';
    const evidence = async (): Promise<string> =>
      `\n(driver log: ${DRIVER_LOG})\n${driverOutput().slice(-4000)}\n${(await outside.ovnPicture([`vrf/${VRF}`, `vrf/${VRF2}`, `vrf/${VRF3}`, outside.EXTERNAL_SWITCH])).slice(0, 8000)}`;
    const check = async <T>(what: string, body: () => Promise<T>): Promise<T> => {
      try {
        return await body();
      } catch (e) {
        throw new Error(`${what}: ${e instanceof Error ? e.message : String(e)}${await evidence()}`);
      }
    };

    // A network and a container made while the cluster has no way out: kept, to see them get one.
    let early = { name: '', endpointId: '' };
    if (stale === '') {
      // With no way out in the cluster the driver behaves as before the way out existed: -p
      // publishes nothing, and the log says so. This checks that promise.
      await t.test('without a gateway host in the cluster, -p publishes nothing and the log says why (--external-bridge)', async () => {
        const plain = await startAs([]);
        const net = await scope.createNetwork('early', { driver: DRIVER, subnets: [SUBNET_EARLY], options: { vrf: VRF3 } });
        const before = await outside.loadBalancerSnapshot();
        const r = await scope.tryRunContainer('early', { network: net.name, publish: [`${HP + 28}:80`], command: outside.servingCommand(80) });
        assert.equal(r.code, 0, `docker run -p with no gateway host in the cluster: ${r.stderr}${await evidence()}`);
        const at = await scope.attachment(scope.name('early'), net.name);
        early = { name: scope.name('early'), endpointId: at.endpointId };
        endpoints.push(at.endpointId);
        assert.deepEqual((await outside.endpointLoadBalancers(at.endpointId)).map((l) => l.name), [], 'a load balancer with no way out');
        assert.equal(await outside.loadBalancerSnapshot(), before, 'the load balancers changed');
        assert.equal(await outside.vrfAddress(VRF3), undefined, 'a VRF address with no gateway host');
        const warned = plain.output().split('\n').filter((l) => l.includes(at.endpointId) && /publishes nothing/.test(l) && /--external-bridge/.test(l));
        assert.equal(warned.length, 1, `the log does not say that -p published nothing and what to do:\n${plain.output().slice(-3000)}`);
        assert.deepEqual(outside.publishedInStatus(await status(), at.endpointId), [], 'status lists a published port');
        await stopDriver('stop');
      });
    }

    // The reconciler every second (default 60 s), so that its passes run between and during this
    // file's requests: it must never take what a live endpoint published.
    await startAs([...outside.externalArgs(world.bridge), ...RECONCILE_OFTEN]);
    const chassis = (await run('ovs-vsctl', ['--timeout=10', 'get', 'Open_vSwitch', '.', 'external_ids:system-id'])).trim().replace(/^"|"$/g, '');

    // The host's bridge mapping: added, the others kept. The daemon sets up the way out once it
    // serves (and the Northbound is there): waited for.
    await waitFor('the gateway set-up (the mapping, this host in the group)', async () => {
      const now = (await outside.bridgeMappings()).split(',');
      const group = (await outside.listHaChassisGroups()).find((g) => g.name === outside.GATEWAY_GROUP);
      return now.includes(`ovn-driver-external:${world.bridge}`) && group?.chassis[chassis] !== undefined ? true : undefined;
    }, 10_000, 50).catch(async (e: unknown) => assert.fail(`${String(e)}${await evidence()}`));
    const mappings = (await outside.bridgeMappings()).split(',').filter((m) => m !== '');
    assert.ok(mappings.includes(`ovn-driver-external:${world.bridge}`), `ovn-bridge-mappings lacks ovn-driver-external:${world.bridge}: ${mappings.join(',')}`);
    for (const m of mappingsBefore.split(',').filter((x) => x !== '')) assert.ok(mappings.includes(m), `the mapping ${m} that was there before is gone`);

    await t.test('bad external options are refused at start-up: exit 2 for a bad value, exit 1 for another external network', async () => {
      // Daemons of their own beside the running one (another socket, no reconciler), each run to its exit.
      const daemon = (args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> =>
        runResult(process.execPath, [MAIN_JS, '--socket', `/run/docker/plugins/${DRIVER}-x.sock`, '--reconcile-interval', '0', ...args], 30_000);
      const lines = (r: { stdout: string; stderr: string }): string[] => `${r.stdout}${r.stderr}`.split('\n').filter((l) => l.trim() !== '');
      const bad: Array<[string, readonly string[]]> = [
        ['--external-priority 0', [...outside.externalArgs(world.bridge, 0)]],
        ['--external-priority 32768', [...outside.externalArgs(world.bridge, 32768)]],
        ['--external-cidr alone', ['--external-bridge', world.bridge, '--external-cidr', outside.EXTERNAL_CIDR]],
        ['a pool outside the CIDR', ['--external-bridge', world.bridge, '--external-cidr', outside.EXTERNAL_CIDR, '--external-gateway', outside.EXTERNAL_GATEWAY, '--external-pool', '198.18.251.10-198.18.251.20']],
      ];
      for (const [what, args] of bad) {
        const r = await daemon(args);
        assert.equal(r.code, 2, `${what}: exit ${r.code}:\n${r.stdout}${r.stderr}`);
        assert.equal(lines(r).length, 1, `${what}: one line expected:\n${r.stdout}${r.stderr}`);
        assert.match(lines(r)[0] ?? '', /external/, what);
      }
      const groupBefore = JSON.stringify(await outside.listHaChassisGroups());
      const other = await daemon(['--external-bridge', world.bridge, '--external-cidr', outside.EXTERNAL_CIDR, '--external-gateway', outside.EXTERNAL_GATEWAY, '--external-pool', '198.18.250.60-198.18.250.70']);
      assert.equal(other.code, 1, `another --external-pool than the Northbound's: exit ${other.code}:\n${other.stdout}${other.stderr}`);
      assert.ok(lines(other).some((l) => /external/.test(l) && /pool|198\.18\.250\.60/.test(l)), `no line names the external pool:\n${other.stdout}${other.stderr}`);
      assert.equal(JSON.stringify(await outside.listHaChassisGroups()), groupBefore, 'the refused start changed the gateway group');
    });

    const net = await scope.createNetwork('a', { driver: DRIVER, subnets: [SUBNET], options: { vrf: VRF } });

    await t.test('egress: a routed network\'s container reaches the outside (ping, TCP, UDP); the outside sees the VRF\'s address', async () => {
      const c1 = await scope.runContainer('c1', { network: net.name });
      const at1 = await scope.attachment(c1.name, net.name);
      endpoints.push(at1.endpointId);
      address = (await outside.vrfAddress(VRF)) ?? '';
      assert.ok(outside.inExternalPool(address), `the VRF's ext/${VRF} port has no address of the pool ${outside.EXTERNAL_POOL}: "${address}"${await evidence()}`);

      // The Northbound rows the README names.
      const eg = await outside.vrfEgress(VRF);
      assert.ok(eg.router && eg.extPort, `no router vrf/${VRF} or port ext/${VRF}`);
      assert.deepEqual(eg.extPort.networks, [`${address}/24`]);
      assert.equal(eg.extPort.mac, outside.externalMac(address));
      const group = (await outside.listHaChassisGroups()).find((g) => g.name === outside.GATEWAY_GROUP);
      assert.ok(group, `no HA_Chassis_Group ${outside.GATEWAY_GROUP}`);
      assert.equal(eg.extPort.haChassisGroup, group.uuid, `ext/${VRF} is not in the gateway group`);
      assert.deepEqual(group.chassis, { [chassis]: 100 }, 'this host is the one gateway host, priority 100 by default');
      assert.ok(eg.routes.some((r) => r.ipPrefix === '0.0.0.0/0' && r.nexthop === outside.EXTERNAL_GATEWAY), `no default route via ${outside.EXTERNAL_GATEWAY}: ${JSON.stringify(eg.routes)}`);
      assert.deepEqual(eg.nats.map((n) => [n.type, n.externalIp, n.logicalIp]), [['snat', address, SUBNET]]);
      const ext = (await listLogicalSwitches()).find((s) => s.name === outside.EXTERNAL_SWITCH);
      assert.ok(ext, `no logical switch ${outside.EXTERNAL_SWITCH}`);
      assert.equal(ext.externalIds[OWNER.key], OWNER.value);
      assert.equal(ext.externalIds['ovn-driver:external-cidr'], outside.EXTERNAL_CIDR);
      assert.equal(ext.externalIds['ovn-driver:external-gateway'], outside.EXTERNAL_GATEWAY);
      assert.equal(ext.externalIds['ovn-driver:external-pool'], outside.EXTERNAL_POOL);
      const lsps = await listLogicalSwitchPorts();
      const localnet = lsps.find((p) => p.name === 'ovn-driver-external-localnet');
      assert.ok(localnet && ext.ports.includes(localnet.uuid), 'no localnet port on the external switch');
      assert.equal(localnet.type, 'localnet');
      assert.equal(localnet.options['network_name'], 'ovn-driver-external');
      const rtrExt = lsps.find((p) => p.name === `rtr-ext/${VRF}`);
      assert.ok(rtrExt && ext.ports.includes(rtrExt.uuid), `no port rtr-ext/${VRF} on the external switch`);
      assert.equal(rtrExt.type, 'router');

      // Data, first attempt: ping, 1 MiB over TCP, UDP up to the MTU, to the outside's address.
      const end = scope.trafficEnd(c1.name);
      await check('container -> outside', () => assertConnected(end, world.end, outside.EXTERNAL_GATEWAY));
      // Who the outside sees: the VRF's address, for TCP and UDP; echoes come back through the NAT.
      const mark = server.events().length;
      const got = await outside.wget(end, `http://${outside.EXTERNAL_GATEWAY}:${SERVER_HTTP}/blob`);
      assert.ok(got.code === 0 && got.bytes === BLOB && got.md5 === server.md5, `${got.detail} (served ${server.md5})${await evidence()}`);
      const echo = await outside.udpEcho(end, outside.EXTERNAL_GATEWAY, SERVER_UDP, UDP_SIZES);
      assert.deepEqual({ echoed: echo.echoed, damaged: echo.damaged, from: echo.from }, { echoed: UDP_SIZES.length, damaged: 0, from: [`${outside.EXTERNAL_GATEWAY}:${SERVER_UDP}`] }, `UDP echoes to ${c1.name}`);
      const seen = server.events().slice(mark);
      assert.deepEqual([...new Set(seen.filter((e) => e.proto === 'tcp').map((e) => e.peer))], [address], `TCP sources the outside saw (the container is ${at1.ipv4})`);
      const udp = seen.filter((e) => e.proto === 'udp');
      assert.deepEqual([...new Set(udp.map((e) => e.peer))], [address], `UDP sources the outside saw (the container is ${at1.ipv4})`);
      assert.equal(udp.length, UDP_SIZES.length, 'datagrams the outside received');
      assert.equal(udp.reduce((n, e) => n + e.bytes, 0), UDP_SIZES.reduce((n, b) => n + b, 0), 'bytes the outside received');
    });

    await t.test('a VRF made before any gateway host gets its way out when one starts; its container reaches the outside, and publishes once restarted', async () => {
      if (early.name === '') {
        say('egress: skipped: the external network was in use at the start, so there was no time without a way out');
        return;
      }
      address3 = await waitFor(`ext/${VRF3}: the gateway host gives every VRF a way out`, () => outside.vrfAddress(VRF3), 10_000, 50)
        .catch(async (e: unknown) => assert.fail(`${String(e)}${await evidence()}`));
      assert.ok(outside.inExternalPool(address3) && address3 !== address, `${VRF3}'s address "${address3}" (${VRF}'s is ${address})`);
      const eg = await outside.vrfEgress(VRF3);
      assert.deepEqual(eg.nats.map((n) => [n.type, n.externalIp, n.logicalIp]), [['snat', address3, SUBNET_EARLY]]);
      assert.ok(eg.routes.some((r) => r.ipPrefix === '0.0.0.0/0' && r.nexthop === outside.EXTERNAL_GATEWAY), `no default route: ${JSON.stringify(eg.routes)}`);
      const mark = server.events().length;
      const got = await outside.wget(scope.trafficEnd(early.name), `http://${outside.EXTERNAL_GATEWAY}:${SERVER_HTTP}/blob`);
      assert.ok(got.code === 0 && got.md5 === server.md5, `the early container, after the gateway host started: ${got.detail}${await evidence()}`);
      assert.deepEqual([...new Set(server.events().slice(mark).map((e) => e.peer))], [address3], 'the sources the outside saw');
      // Its -p asked when there was no way out: nothing then; a restart asks again (a new endpoint).
      assert.deepEqual((await outside.endpointLoadBalancers(early.endpointId)).map((l) => l.name), [], 'published without a restart');
      await docker(['restart', '-t', '1', early.name]);
      const at = await scope.attachment(early.name, scope.name('early'));
      endpoints.push(at.endpointId);
      const again = await outside.wget(world.end, `http://${address3}:${HP + 28}/busybox`);
      assert.ok(again.code === 0 && again.md5 === busybox.md5, `${address3}:${HP + 28} after docker restart: ${again.detail}${await evidence()}`);
      assert.deepEqual((await outside.endpointLoadBalancers(at.endpointId)).map((l) => l.vips), [{ [`${address3}:${HP + 28}`]: `${at.ipv4}:80` }]);
    });

    await t.test('two routed networks of one VRF: a SNAT row each, both leave with the VRF\'s address; one removed, the other\'s row stays', async () => {
      assert.ok(address !== '', 'the egress test found no VRF address');
      const a2 = await scope.createNetwork('a2', { driver: DRIVER, subnets: [SUBNET_A2], options: { vrf: VRF } });
      const c = await scope.runContainer('c-a2', { network: a2.name });
      endpoints.push((await scope.attachment(c.name, a2.name)).endpointId);
      const nats = async (): Promise<string[]> => (await outside.vrfEgress(VRF)).nats.map((n) => `${n.type} ${n.externalIp} ${n.logicalIp}`).sort();
      assert.deepEqual(await nats(), [`snat ${address} ${SUBNET}`, `snat ${address} ${SUBNET_A2}`].sort());
      const mark = server.events().length;
      const got = await outside.wget(scope.trafficEnd(c.name), `http://${outside.EXTERNAL_GATEWAY}:${SERVER_HTTP}/blob`);
      assert.ok(got.code === 0 && got.md5 === server.md5, `${SUBNET_A2}: ${got.detail}${await evidence()}`);
      assert.deepEqual([...new Set(server.events().slice(mark).map((e) => e.peer))], [address]);
      await scope.removeContainer(c.name);
      await scope.removeNetwork(a2.name);
      assert.deepEqual(await nats(), [`snat ${address} ${SUBNET}`], 'the removed network\'s SNAT row went, the other stayed');
      const still = await outside.wget(scope.trafficEnd(scope.name('c1')), `http://${outside.EXTERNAL_GATEWAY}:${SERVER_HTTP}/blob`);
      assert.ok(still.code === 0 && still.md5 === server.md5, `${SUBNET} after the other network went: ${still.detail}`);
    });

    await t.test('three networks of a new VRF created at once, then removed at once: one way out, a SNAT row each, then nothing', async () => {
      const made = await Promise.all(SUBNETS_PARALLEL.map((sub, i) => scope.tryCreateNetwork(`par${i}`, { driver: DRIVER, subnets: [sub], options: { vrf: VRF4 } })));
      assert.deepEqual(made.map((r) => r.code), [0, 0, 0], `parallel network create: ${made.map((r) => r.stderr.trim()).join(' | ')}${await evidence()}`);
      const eg = await outside.vrfEgress(VRF4);
      const address4 = await outside.vrfAddress(VRF4);
      assert.ok(eg.router && address4 !== undefined && outside.inExternalPool(address4), `${VRF4}: router ${String(eg.router?.name)}, address ${String(address4)}`);
      assert.equal((await outside.listRouterPorts()).filter((p) => p.name === `ext/${VRF4}`).length, 1, 'one ext port');
      assert.deepEqual(eg.nats.map((n) => `${n.type} ${n.externalIp} ${n.logicalIp}`).sort(), SUBNETS_PARALLEL.map((sub) => `snat ${address4} ${sub}`).sort(), 'a SNAT row per network');
      const c = await scope.runContainer('par', { network: scope.name('par2') });
      endpoints.push((await scope.attachment(c.name, scope.name('par2'))).endpointId);
      const got = await outside.wget(scope.trafficEnd(c.name), `http://${outside.EXTERNAL_GATEWAY}:${SERVER_HTTP}/blob`);
      assert.ok(got.code === 0 && got.md5 === server.md5, `${SUBNETS_PARALLEL[2] ?? ''}: ${got.detail}${await evidence()}`);
      await scope.removeContainer(c.name);
      await Promise.all(SUBNETS_PARALLEL.map((_, i) => scope.removeNetwork(scope.name(`par${i}`))));
      const after = await outside.vrfEgress(VRF4);
      assert.equal(after.router, undefined, `vrf/${VRF4} left after its networks went`);
      assert.equal(after.extPort, undefined, `ext/${VRF4} left`);
      assert.deepEqual((await outside.listNats()).filter((n) => n.externalIp === address4).map((n) => n.logicalIp), [], 'SNAT rows left');
      assert.deepEqual((await listLogicalSwitchPorts()).filter((p) => p.name === `rtr-ext/${VRF4}`).map((p) => p.name), [], `rtr-ext/${VRF4} left`);
    });

    await t.test('three new VRFs made at once: three different addresses of the pool', async () => {
      // The same subnets as before (those networks are gone), each in a VRF of its own.
      const vrfs = SUBNETS_PARALLEL.map((_, i) => `eg5${i}-${SUFFIX}`);
      const made = await Promise.all(SUBNETS_PARALLEL.map((sub, i) => scope.tryCreateNetwork(`vrf${i}`, { driver: DRIVER, subnets: [sub], options: { vrf: vrfs[i] ?? '' } })));
      assert.deepEqual(made.map((r) => r.code), [0, 0, 0], `parallel network create in three VRFs: ${made.map((r) => r.stderr.trim()).join(' | ')}${await evidence()}`);
      const addresses = await Promise.all(vrfs.map((v) => outside.vrfAddress(v)));
      assert.ok(addresses.every((a) => a !== undefined && outside.inExternalPool(a)), `addresses: ${addresses.join(' ')}`);
      assert.equal(new Set(addresses).size, 3, `one address for two VRFs: ${vrfs.map((v, i) => `${v} ${String(addresses[i])}`).join(', ')}`);
      const inUse = (await outside.listRouterPorts()).filter((p) => p.name.startsWith('ext/')).map((p) => p.networks[0] ?? '');
      assert.equal(new Set(inUse).size, inUse.length, `an external address held by two router ports: ${inUse.join(' ')}`);
      await Promise.all(SUBNETS_PARALLEL.map((_, i) => scope.removeNetwork(scope.name(`vrf${i}`))));
      assert.deepEqual((await outside.listRouters()).filter((r) => vrfs.some((v) => r.name === `vrf/${v}`)).map((r) => r.name), [], 'routers left');
    });

    let web = { name: '', endpointId: '', ipv4: '' };
    await t.test('published ports: -p TCP and UDP reach the container from the outside on the first attempt after docker run', async () => {
      assert.ok(address !== '', 'the egress test found no VRF address');
      const started = Date.now();
      const c = await scope.runContainer('web', {
        network: net.name,
        publish: [`${HP}:80`, `${address}:${HP + 1}:80`, `0.0.0.0:${HP + 2}:5353/udp`, `[::]:${HP + 11}:80`, `${HP + 12}:7/sctp`],
        volumes: outside.nodeVolumes(),
        command: outside.servingCommand(80, 5353),
      });
      const runMs = Date.now() - started;
      // The very first connection, no retry: the load balancer is in place when docker run returns.
      const first = await outside.wget(world.end, `http://${address}:${HP}/busybox`);
      const firstMs = Date.now() - started - runMs;
      assert.ok(first.code === 0 && first.md5 === busybox.md5 && first.bytes === busybox.bytes, `the first fetch from the outside: ${first.detail}${await evidence()}`);
      const second = await outside.wget(world.end, `http://${address}:${HP + 1}/busybox`);
      assert.ok(second.code === 0 && second.md5 === busybox.md5, `HostIP = the VRF's address: ${second.detail}`);
      const third = await outside.wget(world.end, `http://${address}:${HP + 11}/busybox`);
      assert.ok(third.code === 0 && third.md5 === busybox.md5, `HostIP :: (the VRF's address): ${third.detail}`);
      const echo = await outside.udpEcho(world.end, address, HP + 2, UDP_SIZES);
      assert.deepEqual({ echoed: echo.echoed, damaged: echo.damaged, from: echo.from }, { echoed: UDP_SIZES.length, damaged: 0, from: [`${address}:${HP + 2}`] }, `UDP to ${address}:${HP + 2}${await evidence()}`);
      say(`egress: docker run -p in ${runMs} ms; the first fetch from the outside (${busybox.bytes} bytes) ${firstMs} ms after it returned`);
      // A figure: datagrams that fill the outside's MTU (1500) against the container's (the driver's
      // default 1442), sent to the published UDP port, and whether the way out says anything
      // (options:gateway_mtu on ext/V makes OVN answer "fragmentation needed").
      const mtu = await outside.pathMtu(scope.trafficEnd(c.name), outside.EXTERNAL_GATEWAY);
      const fits = mtu - 28;
      const big = await outside.udpEcho(world.end, address, HP + 2, [fits, fits + 1, 1472], 2_000);
      const extOptions = (await runResult('ovn-nbctl', ['--timeout=10', 'get', 'Logical_Router_Port', `ext/${VRF}`, 'options'])).stdout.trim();
      say(`FIGURE egress: UDP from the outside to ${address}:${HP + 2}, payloads ${fits}/${fits + 1}/1472 (the container's MTU is ${mtu}): ${big.echoed} of 3 echoed; ext/${VRF} options ${extOptions}`);

      const at = await scope.attachment(c.name, net.name);
      web = { name: c.name, endpointId: at.endpointId, ipv4: at.ipv4 };
      endpoints.push(at.endpointId);
      const lbs = await outside.endpointLoadBalancers(at.endpointId);
      const names = [`pm/${at.endpointId}/sctp`, `pm/${at.endpointId}/tcp`, `pm/${at.endpointId}/udp`];
      assert.deepEqual(lbs.map((l) => l.name).sort(), names);
      const tcp = lbs.find((l) => l.name.endsWith('/tcp'));
      const udp = lbs.find((l) => l.name.endsWith('/udp'));
      const sctp = lbs.find((l) => l.name.endsWith('/sctp'));
      assert.deepEqual(tcp?.vips, { [`${address}:${HP}`]: `${at.ipv4}:80`, [`${address}:${HP + 1}`]: `${at.ipv4}:80`, [`${address}:${HP + 11}`]: `${at.ipv4}:80` });
      assert.deepEqual(udp?.vips, { [`${address}:${HP + 2}`]: `${at.ipv4}:5353` });
      // SCTP: the row only (nothing here speaks SCTP).
      assert.deepEqual(sctp?.vips, { [`${address}:${HP + 12}`]: `${at.ipv4}:7` });
      assert.deepEqual([tcp?.protocol, udp?.protocol, sctp?.protocol], ['tcp', 'udp', 'sctp']);
      const eg = await outside.vrfEgress(VRF);
      assert.deepEqual(eg.loadBalancers.map((l) => l.name).sort(), names, 'on the VRF\'s router');

      const st = await status();
      const published = outside.publishedInStatus(st, at.endpointId).map((p) => `${p.proto} ${p.address}:${p.hostPort}->${p.port}`).sort();
      const want = [`tcp ${address}:${HP}->80`, `tcp ${address}:${HP + 1}->80`, `tcp ${address}:${HP + 11}->80`, `udp ${address}:${HP + 2}->5353`, `sctp ${address}:${HP + 12}->7`].sort();
      assert.deepEqual(published, want, `ovn-driver status:\n${st}`);
      // The same in the JSON status is made from (NetworkDriver.Database).
      const db = await getOverUnixSocket(SOCKET, '/NetworkDriver.Database', 10_000);
      const doc: unknown = JSON.parse(db.body);
      const eps: unknown = typeof doc === 'object' && doc !== null ? Reflect.get(doc, 'endpoints') : undefined;
      const mine: unknown = Array.isArray(eps) ? eps.find((e: unknown) => typeof e === 'object' && e !== null && Reflect.get(e, 'endpointId') === at.endpointId) : undefined;
      const pubJson: unknown = typeof mine === 'object' && mine !== null ? Reflect.get(mine, 'published') : undefined;
      const vrfs: unknown = typeof doc === 'object' && doc !== null ? Reflect.get(doc, 'vrfs') : undefined;
      const myVrf: unknown = Array.isArray(vrfs) ? vrfs.find((v: unknown) => typeof v === 'object' && v !== null && Reflect.get(v, 'vrf') === VRF) : undefined;
      assert.equal(typeof myVrf === 'object' && myVrf !== null ? Reflect.get(myVrf, 'externalAddress') : undefined, address, `NetworkDriver.Database vrfs[].externalAddress of ${VRF}`);
      assert.deepEqual(Array.isArray(pubJson) ? pubJson.map(String).sort() : pubJson, want, `NetworkDriver.Database endpoints[].published: ${db.body.slice(0, 2000)}`);
      assert.ok(st.split('\n').some((l) => l.includes(VRF) && l.includes(`externalAddress: ${address}`)), `status does not show ${VRF}'s external address ${address}:\n${st}`);
    });

    await t.test('port ranges and -P: each host port reaches its container port; the port -P chose is in status and works', async () => {
      // -p HP+3-HP+5:80-82 (one to one) and -p HP+6-HP+9:80 (one port of the range).
      const c = await scope.runContainer('range', {
        network: net.name,
        publish: [`${HP + 3}-${HP + 5}:80-82`, `${HP + 6}-${HP + 9}:80`],
        command: ['sh', '-c', 'mkdir -p /w81 /w82 && echo eighty-one > /w81/id && echo eighty-two > /w82/id && httpd -p 81 -h /w81 && httpd -p 82 -h /w82 && exec httpd -f -p 80 -h /bin'],
      });
      const at = await scope.attachment(c.name, net.name);
      endpoints.push(at.endpointId);
      // Not a first-attempt check: three servers start one after the other in the container.
      await waitFor('the range container\'s three servers', async () => {
        const r = await scope.exec(c.name, ['sh', '-c', 'netstat -ltn | grep -cE ":8[012] "']);
        return r.stdout.trim() === '3' ? true : undefined;
      }, 10_000, 50);
      const f80 = await outside.wget(world.end, `http://${address}:${HP + 3}/busybox`);
      assert.ok(f80.code === 0 && f80.md5 === busybox.md5, `${HP + 3} -> 80: ${f80.detail}${await evidence()}`);
      for (const [hp, word] of [[HP + 4, 'eighty-one'], [HP + 5, 'eighty-two']] as const) {
        const r = await runResult('ip', ['netns', 'exec', world.netns, 'busybox', 'timeout', '10', 'busybox', 'wget', '-q', '-O', '-', `http://${address}:${hp}/id`]);
        assert.equal(r.stdout.trim(), word, `${hp} -> ${hp - HP - 4 + 81}: ${r.stdout}${r.stderr}`);
      }
      const st = await status();
      const pub = outside.publishedInStatus(st, at.endpointId);
      const one = pub.filter((p) => p.proto === 'tcp' && p.port === 80 && p.hostPort >= HP + 6 && p.hostPort <= HP + 9);
      assert.equal(one.length, 1, `one port of ${HP + 6}-${HP + 9} for -p ${HP + 6}-${HP + 9}:80 in status:\n${st}`);
      assert.deepEqual(pub.map((p) => `${p.proto} ${p.address}:${p.hostPort}->${p.port}`).sort(),
        [`tcp ${address}:${HP + 3}->80`, `tcp ${address}:${HP + 4}->81`, `tcp ${address}:${HP + 5}->82`, `tcp ${address}:${one[0]?.hostPort ?? 0}->80`].sort(), `status:\n${st}`);
      const fr = await outside.wget(world.end, `http://${address}:${one[0]?.hostPort ?? 0}/busybox`);
      assert.ok(fr.code === 0 && fr.md5 === busybox.md5, `the port picked from the range: ${fr.detail}`);

      // -P: HostPort 0 for each exposed port, the driver picks from 49153-60999.
      const any = await scope.runContainer('any', { network: net.name, publishAll: true, expose: ['80'], command: outside.servingCommand(80) });
      const atAny = await scope.attachment(any.name, net.name);
      endpoints.push(atAny.endpointId);
      const st2 = await status();
      const picked = outside.publishedInStatus(st2, atAny.endpointId);
      assert.equal(picked.length, 1, `-P --expose 80: one published port in status:\n${st2}`);
      const p = picked[0];
      assert.ok(p && p.proto === 'tcp' && p.address === address && p.port === 80 && p.hostPort >= 49153 && p.hostPort <= 60999, `-P picked ${JSON.stringify(p)}`);
      assert.ok(driverOutput().split('\n').some((l) => l.includes(atAny.endpointId) && l.includes(`${address}:${p.hostPort}->80`)), `the log does not say which port -P picked (${p.hostPort})`);
      const fa = await outside.wget(world.end, `http://${address}:${p.hostPort}/busybox`);
      assert.ok(fa.code === 0 && fa.md5 === busybox.md5, `the port -P picked: ${fa.detail}${await evidence()}`);
      say(`egress: -P picked ${address}:${p.hostPort}; docker port says: ${(await runResult(DOCKER, ['port', any.name])).stdout.trim() || '(nothing)'}`);
    });

    await t.test('refusals name the holder and change nothing; the same port on another protocol or another VRF is accepted', async () => {
      assert.ok(web.endpointId !== '', 'the published-ports test made no container');
      const before = await outside.loadBalancerSnapshot([address]);
      const dup = await scope.tryRunContainer('dup', { network: net.name, publish: [`${HP}:80`], command: outside.servingCommand(80) });
      assert.notEqual(dup.code, 0, `${address}:${HP} published twice on one VRF${await evidence()}`);
      assert.ok(dup.stderr.includes(web.endpointId.slice(0, 12)), `the refusal does not name the endpoint holding ${address}:${HP} (${web.endpointId}): ${dup.stderr}`);
      assert.match(dup.stderr, new RegExp(`${address.replace(/\./g, '\\.')}:${HP}\\b|\\b${HP}\\b`), dup.stderr);
      say(`egress: a HostPort held: ${dup.stderr.trim()}`);
      const bad = await scope.tryRunContainer('badip', { network: net.name, publish: [`198.18.99.99:${HP + 20}:80`], command: outside.servingCommand(80) });
      assert.notEqual(bad.code, 0, `HostIP 198.18.99.99 (not the VRF's ${address}) was accepted${await evidence()}`);
      assert.match(bad.stderr, /198\.18\.99\.99/, bad.stderr);
      say(`egress: a HostIP not the VRF's: ${bad.stderr.trim()}`);
      assert.equal(await outside.loadBalancerSnapshot([address]), before, 'a refusal changed the load balancers');
      assert.equal((await outside.wget(world.end, `http://${address}:${HP}/busybox`)).md5, busybox.md5, 'the holder still serves');
      for (const base of ['dup', 'badip']) await scope.removeContainer(scope.name(base));

      // Four containers ask for one HostPort at once: exactly one gets it, the others are told who has it.
      const racers = ['race1', 'race2', 'race3', 'race4'];
      const raced = await Promise.all(racers.map((b) => scope.tryRunContainer(b, { network: net.name, publish: [`${HP + 25}:80`], command: outside.servingCommand(80) })));
      const won = racers.filter((_, i) => raced[i]?.code === 0);
      assert.equal(won.length, 1, `${won.length} of 4 containers got ${address}:${HP + 25} at once: ${raced.map((r) => r.stderr.trim()).join(' | ')}${await evidence()}`);
      for (const r of raced.filter((x) => x.code !== 0)) assert.match(r.stderr, /already published by endpoint [0-9a-f]{64}/, r.stderr);
      const holders = (await outside.listLoadBalancers()).filter((l) => Object.keys(l.vips).includes(`${address}:${HP + 25}`));
      assert.equal(holders.length, 1, `load balancers with ${address}:${HP + 25}: ${holders.map((l) => l.name).join(' ')}`);
      const winner = await scope.attachment(scope.name(won[0] ?? ''), net.name);
      assert.equal(holders[0]?.name, `pm/${winner.endpointId}/tcp`, 'the load balancer is the winner\'s');
      assert.equal((await outside.wget(world.end, `http://${address}:${HP + 25}/busybox`)).md5, busybox.md5, 'the winner serves');
      endpoints.push(winner.endpointId);
      for (const b of racers) await scope.removeContainer(scope.name(b));
      // Four -P at once: four different ports, each reaching its container.
      const autos = ['auto1', 'auto2', 'auto3', 'auto4'];
      const started = await Promise.all(autos.map((b) => scope.tryRunContainer(b, { network: net.name, publishAll: true, expose: ['80'], command: ['httpd', '-f', '-p', '80', '-h', '/etc'] })));
      assert.deepEqual(started.map((r) => r.code), [0, 0, 0, 0], `-P four at once: ${started.map((r) => r.stderr.trim()).join(' | ')}`);
      const st = await status();
      const ports: number[] = [];
      for (const b of autos) {
        const a = await scope.attachment(scope.name(b), net.name);
        endpoints.push(a.endpointId);
        const pub = outside.publishedInStatus(st, a.endpointId);
        assert.equal(pub.length, 1, `${b}: ${JSON.stringify(pub)}\n${st}`);
        ports.push(pub[0]?.hostPort ?? 0);
        const r = await runResult('ip', ['netns', 'exec', world.netns, 'busybox', 'timeout', '10', 'busybox', 'wget', '-q', '-O', '-', `http://${address}:${pub[0]?.hostPort ?? 0}/hostname`]);
        assert.equal(r.stdout.trim(), (await scope.exec(scope.name(b), ['cat', '/etc/hostname'])).stdout.trim(), `${address}:${pub[0]?.hostPort ?? 0} reaches ${b}`);
      }
      assert.equal(new Set(ports).size, 4, `-P gave one port twice: ${ports.join(' ')}`);
      for (const b of autos) await scope.removeContainer(scope.name(b));

      // The same HostPort for UDP: another protocol, accepted.
      const u = await scope.runContainer('udpsame', { network: net.name, publish: [`${HP}:5353/udp`], volumes: outside.nodeVolumes(), command: outside.servingCommand(80, 5353) });
      endpoints.push((await scope.attachment(u.name, net.name)).endpointId);
      const echo = await outside.udpEcho(world.end, address, HP, UDP_SIZES);
      assert.equal(echo.echoed, UDP_SIZES.length, `UDP to ${address}:${HP} (TCP ${HP} is another container's)${await evidence()}`);

      // An --internal network has no way out: Docker does not ask to publish; nothing is.
      const beforeInternal = await outside.loadBalancerSnapshot([address]);
      const internal = await scope.createNetwork('int', { driver: DRIVER, subnets: [SUBNET_INTERNAL], options: { vrf: VRF }, internal: true });
      const ic = await scope.tryRunContainer('internal', { network: internal.name, publish: [`${HP + 21}:80`], command: outside.servingCommand(80) });
      if (ic.code === 0) {
        const iat = await scope.attachment(scope.name('internal'), internal.name);
        endpoints.push(iat.endpointId);
        assert.deepEqual((await outside.endpointLoadBalancers(iat.endpointId)).map((l) => l.name), [], 'an --internal network\'s container published a port');
      } else {
        assert.match(ic.stderr, /internal|not routed/, `-p on an --internal network: ${ic.stderr}`);
      }
      assert.equal(await outside.loadBalancerSnapshot([address]), beforeInternal, 'the --internal container changed the load balancers');
      say(`egress: -p on an --internal network: ${ic.code === 0 ? 'the container runs, nothing published' : ic.stderr.trim()}`);
      await scope.removeContainer(scope.name('internal'));
      await scope.removeNetwork(internal.name);

      // The same HostPort on another VRF: another address, accepted; each reaches its own container.
      const net2 = await scope.createNetwork('b', { driver: DRIVER, subnets: [SUBNET2], options: { vrf: VRF2 } });
      const other = await scope.runContainer('other', { network: net2.name, publish: [`${HP}:80`], command: ['httpd', '-f', '-p', '80', '-h', '/etc'] });
      endpoints.push((await scope.attachment(other.name, net2.name)).endpointId);
      address2 = (await outside.vrfAddress(VRF2)) ?? '';
      assert.ok(outside.inExternalPool(address2) && address2 !== address, `${VRF2}'s address "${address2}" (${VRF}'s is ${address}): one per VRF`);
      const passwd = await runResult('ip', ['netns', 'exec', world.netns, 'busybox', 'timeout', '10', 'busybox', 'wget', '-q', '-O', '-', `http://${address2}:${HP}/passwd`]);
      assert.equal(passwd.stdout, 'root:x:0:0:root:/root:/bin/sh\n', `${address2}:${HP}: ${passwd.stderr}${await evidence()}`);
      assert.equal((await outside.wget(world.end, `http://${address}:${HP}/busybox`)).md5, busybox.md5, `${address}:${HP} still reaches ${web.name}`);
      // Figures, not promises of the README: a published port from a container of another VRF (its
      // way out and the holder's meet on the external switch) and from one of the same VRF (NAT loopback).
      const fromOther = await outside.wget(scope.trafficEnd(other.name), `http://${address}:${HP}/busybox`, 5);
      const fromSame = await outside.wget(scope.trafficEnd(scope.name('c1')), `http://${address}:${HP}/busybox`, 5);
      say(`FIGURE egress: ${address}:${HP} from a container of another VRF: ${fromOther.md5 === busybox.md5 ? 'reached' : `not reached (exit ${fromOther.code})`}; from one of the same VRF: ${fromSame.md5 === busybox.md5 ? 'reached' : `not reached (exit ${fromSame.code})`}`);
    });

    await t.test('a driver killed (kill -9) and restarted keeps what is published; docker rm -f then removes the container\'s load balancers; at the end nothing is left', async () => {
      assert.ok(web.endpointId !== '', 'the published-ports test made no container');
      const before = await outside.loadBalancerSnapshot([address, address2, address3]);
      await stopDriver('kill');
      // Restarted with another priority and without the external network's options (in the Northbound now).
      const restarted = await startAs([...outside.externalArgs(world.bridge, 150, false), ...RECONCILE_OFTEN]);
      await waitFor('the restarted gateway host\'s priority 150', async () => ((await outside.listHaChassisGroups()).find((g) => g.name === outside.GATEWAY_GROUP)?.chassis[chassis] === 150 ? true : undefined), 10_000, 50)
        .catch(async (e: unknown) => assert.fail(`${String(e)}${await evidence()}`));
      assert.deepEqual((await outside.listHaChassisGroups()).find((g) => g.name === outside.GATEWAY_GROUP)?.chassis, { [chassis]: 150 }, 'one HA_Chassis for this host, its priority updated');
      // Its start-up reconcile pass has run (or is running): give it its time, then compare.
      await waitFor('the restarted driver\'s first reconcile pass', async () => (/reconcile/.test(restarted.output()) ? true : undefined), 10_000, 50).catch(() => undefined);
      assert.equal(await outside.loadBalancerSnapshot([address, address2, address3]), before, 'the restart changed the load balancers');
      const st = await status();
      assert.equal(outside.publishedInStatus(st, web.endpointId).length, 5, `the restarted driver's status:\n${st}`);
      const again = await outside.wget(world.end, `http://${address}:${HP}/busybox`);
      assert.equal(again.md5, busybox.md5, `after the restart: ${again.detail}`);

      // docker stop revokes what a container published, docker start publishes it again (a new endpoint).
      const stopper = await scope.runContainer('stopper', { network: net.name, publish: [`${HP + 26}:80`], command: outside.servingCommand(80) });
      const before1 = await scope.attachment(stopper.name, net.name);
      endpoints.push(before1.endpointId);
      assert.equal((await outside.endpointLoadBalancers(before1.endpointId)).length, 1, 'published when it started');
      await scope.stopContainer(stopper.name);
      assert.deepEqual((await outside.endpointLoadBalancers(before1.endpointId)).map((l) => l.name), [], 'docker stop left its load balancer');
      assert.notEqual((await outside.wget(world.end, `http://${address}:${HP + 26}/busybox`, 3)).code, 0, `${address}:${HP + 26} answers while its container is stopped`);
      await docker(['start', stopper.name]);
      const after1 = await scope.attachment(stopper.name, net.name);
      endpoints.push(after1.endpointId);
      const back = await outside.wget(world.end, `http://${address}:${HP + 26}/busybox`);
      assert.ok(back.code === 0 && back.md5 === busybox.md5, `${address}:${HP + 26} right after docker start: ${back.detail}${await evidence()}`);
      assert.deepEqual((await outside.endpointLoadBalancers(after1.endpointId)).map((l) => l.vips), [{ [`${address}:${HP + 26}`]: `${after1.ipv4}:80` }]);

      await scope.removeContainer(web.name);
      assert.deepEqual((await outside.endpointLoadBalancers(web.endpointId)).map((l) => l.name), [], 'docker rm -f left load balancers');
      const eg = await outside.vrfEgress(VRF);
      assert.ok(!eg.loadBalancers.some((l) => l.name.includes(web.endpointId)), 'the VRF\'s router still refers to them');
      const gone = await outside.wget(world.end, `http://${address}:${HP + 1}/busybox`, 3);
      assert.notEqual(gone.code, 0, `${address}:${HP + 1} still answers after docker rm -f: ${gone.detail}`);

      const networkIds = [net.id];
      for (const base of ['b', 'early']) {
        const r = await runResult(DOCKER, ['network', 'inspect', '-f', '{{.Id}}', scope.name(base)]);
        if (r.code === 0) networkIds.push(r.stdout.trim());
      }
      await scope.cleanup();
      assert.deepEqual(await objectsFor({ endpointIds: endpoints, networkIds }), NOTHING, 'switches, ports, veths left');
      const addresses = [address, address2, address3].filter((a) => a !== '');
      const lbs = (await outside.listLoadBalancers()).filter((l) => endpoints.some((e) => l.name.includes(e)) || Object.keys(l.vips).some((v) => addresses.some((a) => v.startsWith(`${a}:`))));
      assert.deepEqual(lbs.map((l) => l.name), [], 'load balancers left');
      const nats = (await outside.listNats()).filter((n) => addresses.includes(n.externalIp));
      assert.deepEqual(nats.map((n) => `${n.type} ${n.externalIp} ${n.logicalIp}`), [], 'NAT rows left');
      const routers = (await outside.listRouters()).filter((r) => r.name.includes(SUFFIX));
      assert.deepEqual(routers.map((r) => r.name), [], 'VRF routers left');
      const rports = (await outside.listRouterPorts()).filter((p) => p.name.includes(SUFFIX));
      assert.deepEqual(rports.map((p) => p.name), [], 'router ports left');
      const sports = (await listLogicalSwitchPorts()).filter((p) => p.name.includes(SUFFIX));
      assert.deepEqual(sports.map((p) => p.name), [], 'switch ports left (rtr-ext/...)');
    });
  });

  // Cleanup ran (and checked the mapping and the external network, under the lock): this run's outside and bridge are gone.
  assert.deepEqual((await listKernelLinks()).filter((l) => l.name.includes(SUFFIX)).map((l) => l.name), []);
  assert.deepEqual((await run('ip', ['netns', 'list'])).split('\n').filter((l) => l.includes(SUFFIX)), []);
  assert.deepEqual((await run('ovs-vsctl', ['--timeout=10', 'list-br'])).split('\n').filter((l) => l.includes(SUFFIX)), []);
});
