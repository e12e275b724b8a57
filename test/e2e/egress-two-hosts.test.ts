// Egress with two hosts (issue 12): host 1 is the shared stack, host 2 the namespaces of
// test/helpers/second-host.ts (own OVS, ovn-controller, dockerd, driver; Geneve between them).
// Both reach one outside segment (test/helpers/outside.ts): host 1 through its external bridge,
// host 2 through one of its own once it becomes a gateway host.
//   1. Host 1 is the only gateway host (priority 100): host 2's container, on a routed network of
//      the same VRF, reaches the outside through host 1 (the Southbound binds cr-ext/V to host 1;
//      TCP and UDP counted, the source the outside sees is the VRF's address); a container on each
//      host publishes a port, both reached from the outside through host 1. Both hosts make two new
//      VRFs each at once: four different addresses of the pool.
//   2. Host 2 offering another external network is refused at start-up (exit 1, a line naming the
//      pool). Host 2 restarts its driver as a gateway host, priority 200 (no external network
//      options: they are in the Northbound): the group holds both, the way out moves to host 2 (the
//      segment learns the VRF's MAC on host 2's uplink); egress from both hosts' containers and
//      both published ports work through it.
//   3. Host 2's ovn-controller stops (as `systemctl stop ovn-controller` does): the way out moves
//      back to host 1 and host 1's container's egress works again (polled up to 30 s).
// Everything is removed in cleanup, pass or fail, and nothing of the VRF is left.
// Not tested here (tried by hand on this machine): kill -9 of the active gateway's ovn-controller
// alone moves nothing and egress keeps working (its ovs-vswitchd keeps the flows and answers BFD);
// a crash of the whole host (ovs-vswitchd too) moves nothing either with only two chassis: the
// survivor's BFD to its one peer is down, and OVN keeps an HA group member that has no live
// tunnel at all passive (split brain): egress was still down after 30 s, the dead chassis still
// in the Southbound (a graceful stop removes it, which is the case tested here).

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { withCleanup } from '../helpers/cleanup';
import { DockerScope } from '../helpers/docker';
import * as outside from '../helpers/outside';
import { randomSuffix, run, waitFor } from '../helpers/run';
import { startSecondHost } from '../helpers/second-host';
import { DriverProcess, listKernelLinks, listLogicalSwitchPorts, NOTHING, objectsFor, startDriver } from '../helpers/stack';
import type { TrafficEnd } from '../helpers/traffic';

const SUFFIX = randomSuffix();
const DRIVER = `ovntest-eg2h-${SUFFIX}`;
const SOCKET = `/run/docker/plugins/${DRIVER}.sock`;
const LOG_DIR = '/var/log/ovn-driver-stack';
// Docker networks only in 198.18.184.0/24 .. 198.18.190.0/24 (the one-host file takes 176..183).
const OCTET = 184;
const SUBNET1 = `198.18.${OCTET}.0/24`;
const SUBNET2 = `198.18.${OCTET + 1}.0/24`;
const SUBNET_B = `198.18.${OCTET + 2}.0/24`;
// Four networks of four new VRFs, two made on each host at once (198.18.187-190).
const SUBNETS_RACE = [3, 4, 5, 6].map((i) => `198.18.${OCTET + i}.0/24`);
const VRF = `eg2h-${SUFFIX}`;
// A second VRF, on host 1 only: every VRF's way out moves with the gateway.
const VRF_B = `eg2hb-${SUFFIX}`;
const HP = 10_000 + (parseInt(SUFFIX, 16) % 1000) * 30;
const SERVER_HTTP = 8080;
const SERVER_UDP = 9090;
const BLOB = 1024 * 1024;
const UDP_SIZES = Array.from({ length: 10 }, () => [64, 512, 1000]).flat();
const HOST2_BRIDGE = 'br-ext2';
const MOVE_MS = 30_000;

const say = (line: string): void => {
  process.stdout.write(`${line}\n`);
};

test('egress with two hosts: through the other host\'s gateway, the higher priority gateway, and back when its ovn-controller stops', { timeout: 300_000 }, async () => {
  let externalLeft: string | undefined;
  await withCleanup(async (cleanup) => {
    await outside.takeExternalLock(cleanup);
    await outside.checkRestoredAtEnd(cleanup, () => externalLeft === '');
    const stale = await outside.removeExternalNetworkIfUnused();
    if (stale !== '') say(`egress two hosts: ${stale}`);
    const host2 = await startSecondHost(cleanup, SUFFIX);
    const world = await outside.createOutside(cleanup, SUFFIX);
    const server = await world.startServer(SERVER_HTTP, SERVER_UDP, BLOB);
    await outside.keepBridgeMappings(cleanup);
    cleanup.add('remove the external network if no VRF uses it', async () => {
      externalLeft = await outside.removeExternalNetworkIfUnused();
      if (externalLeft !== '') say(`egress two hosts: ${externalLeft}`);
    });
    const chassis1 = (await run('ovs-vsctl', ['--timeout=10', 'get', 'Open_vSwitch', '.', 'external_ids:system-id'])).trim().replace(/^"|"$/g, '');
    const chassis2 = host2.chassis;
    const groupNow = async (): Promise<Readonly<Record<string, number>> | undefined> => (await outside.listHaChassisGroups()).find((g) => g.name === outside.GATEWAY_GROUP)?.chassis;

    let endpoints: string[] = [];
    let address = '';
    let addressB = '';
    // After the drivers stopped (registered before them): the load balancers a VRF router left
    // behind are free once the router went.
    cleanup.add('remove load balancers a failure left', async () => {
      const leaked = await outside.removeLeakedLoadBalancers(endpoints, [address, addressB].filter((a) => a !== ''));
      if (leaked.length > 0) say(`egress two hosts: removed load balancers the driver left: ${leaked.join(' ')}`);
    });
    cleanup.add('remove what a failure left of this run\'s VRFs', async () => {
      const left = await outside.removeLeftVrfs(SUFFIX);
      if (left.length > 0) say(`egress two hosts: removed what the driver left: ${left.join(' ')}`);
    });
    const driver1 = await startDriver({ socketPath: SOCKET, extraArgs: outside.externalArgs(world.bridge, 100) });
    cleanup.add('stop host 1\'s driver', async () => {
      await driver1.stop();
      await fs.writeFile(`${LOG_DIR}/e2e-${DRIVER}-host1.log`, driver1.output());
    });
    await waitFor('host 1\'s gateway set-up', async () => ((await groupNow())?.[chassis1] !== undefined ? true : undefined), 10_000, 50);
    let driver2: DriverProcess | undefined = await host2.startDriver(DRIVER);
    const driver2Logs: string[] = [];
    cleanup.add('stop host 2\'s driver', async () => {
      await driver2?.stop();
      await fs.writeFile(`${LOG_DIR}/e2e-${DRIVER}-host2.log`, [...driver2Logs, driver2?.output() ?? ''].join('\n---- restarted ----\n'));
    });
    const scope1 = new DockerScope();
    cleanup.add('remove host 1\'s containers and networks', () => scope1.cleanup());
    const scope2 = new DockerScope(host2.dockerHost);
    cleanup.add('remove host 2\'s containers and networks', () => scope2.cleanup());
    // Docker on host 2 needs its driver to remove what the test made: restarted if a failure left none.
    cleanup.add('host 2\'s driver running for the removals', async () => {
      if (driver2 === undefined) driver2 = await host2.startDriver(DRIVER);
    });
    const evidence = async (): Promise<string> => {
      const controller2 = await fs.readFile(`${host2.dir}/ovn-controller.log`, 'utf8').catch(() => '');
      return `\n(driver logs: ${LOG_DIR}/e2e-${DRIVER}-host{1,2}.log)\nhost 1 driver:\n${driver1.output().slice(-2500)}\nhost 2 driver:\n${driver2?.output().slice(-2500) ?? ''}\n` +
        `host 2 ovn-controller:\n${controller2.slice(-1500)}\ncr-ext/${VRF} on: ${String(await outside.activeGateway(VRF).catch((e: unknown) => String(e)))}\n` +
        `${(await outside.ovnPicture([`vrf/${VRF}`, `vrf/${VRF_B}`, outside.EXTERNAL_SWITCH])).slice(0, 8000)}`;
    };

    // One VRF, a network of its own on each host.
    const net1 = await scope1.createNetwork('a', { driver: DRIVER, subnets: [SUBNET1], options: { vrf: VRF } });
    const net2 = await scope2.createNetwork('b', { driver: DRIVER, subnets: [SUBNET2], options: { vrf: VRF } });
    const c1 = await scope1.runContainer('c1', { network: net1.name });
    const c2 = await scope2.runContainer('c2', { network: net2.name });
    const web = await scope1.runContainer('web', { network: net1.name, publish: [`${HP}:80`], command: outside.servingCommand(80) });
    const web2 = await scope2.runContainer('web2', { network: net2.name, publish: [`${HP + 1}:80`], command: outside.servingCommand(80) });
    const netB = await scope1.createNetwork('vrfb', { driver: DRIVER, subnets: [SUBNET_B], options: { vrf: VRF_B } });
    const cB = await scope1.runContainer('cb', { network: netB.name });
    const endB = scope1.trafficEnd(cB.name);
    const at = await Promise.all([scope1.attachment(c1.name, net1.name), scope2.attachment(c2.name, net2.name), scope1.attachment(web.name, net1.name), scope2.attachment(web2.name, net2.name), scope1.attachment(cB.name, netB.name)]);
    endpoints = at.map((a) => a.endpointId);
    const end1 = scope1.trafficEnd(c1.name);
    const end2 = scope2.trafficEnd(c2.name);
    address = (await outside.vrfAddress(VRF)) ?? '';
    assert.ok(outside.inExternalPool(address), `the VRF has no external address of the pool: "${address}"${await evidence()}`);
    addressB = (await outside.vrfAddress(VRF_B)) ?? '';
    assert.ok(outside.inExternalPool(addressB) && addressB !== address, `${VRF_B}'s external address "${addressB}" (${VRF}'s: ${address})`);
    const mac = outside.externalMac(address);
    const busybox = await outside.md5OfFile('/bin/busybox');

    /** TCP (1 MiB, MD5) and UDP (counted both ways) from `end` to the outside; the outside must see only the VRF's address. */
    const egress = async (end: TrafficEnd, what: string, source = address): Promise<void> => {
      const mark = server.events().length;
      const got = await outside.wget(end, `http://${outside.EXTERNAL_GATEWAY}:${SERVER_HTTP}/blob`);
      assert.ok(got.code === 0 && got.bytes === BLOB && got.md5 === server.md5, `${what}: TCP: ${got.detail} (served ${server.md5})${await evidence()}`);
      const echo = await outside.udpEcho(end, outside.EXTERNAL_GATEWAY, SERVER_UDP, UDP_SIZES);
      assert.deepEqual({ echoed: echo.echoed, damaged: echo.damaged }, { echoed: UDP_SIZES.length, damaged: 0 }, `${what}: UDP echoes${echo.echoed === UDP_SIZES.length ? '' : await evidence()}`);
      const seen = server.events().slice(mark);
      assert.deepEqual([...new Set(seen.map((e) => e.peer))], [source], `${what}: the sources the outside saw`);
      assert.equal(seen.filter((e) => e.proto === 'udp').length, UDP_SIZES.length, `${what}: datagrams the outside received`);
    };
    /** The published port of host 1's container (HP) or host 2's (HP+1), from the outside. */
    const ingress = async (what: string, hostPort = HP): Promise<void> => {
      const got = await outside.wget(world.end, `http://${address}:${hostPort}/busybox`);
      assert.ok(got.code === 0 && got.md5 === busybox.md5, `${what}: the published port ${address}:${hostPort} from the outside: ${got.detail}${await evidence()}`);
    };

    // ---- 1. host 1 is the only gateway host -----------------------------------------------------
    assert.deepEqual(await groupNow(), { [chassis1]: 100 }, 'the gateway group holds host 1 alone');
    for (const v of [VRF, VRF_B]) assert.equal(await waitFor(`cr-ext/${v} to be bound`, () => outside.activeGateway(v), MOVE_MS, 200), chassis1, `${v}'s way out is on host 1`);
    await egress(end2, 'host 2 -> outside through host 1');
    await egress(end1, 'host 1 -> outside');
    await egress(endB, `host 1 (${VRF_B}) -> outside`, addressB);
    await ingress('host 1\'s container through host 1');
    await ingress('host 2\'s container through host 1', HP + 1);
    assert.equal(await world.uplinkOf(mac), world.uplink1, `the segment saw the VRF's MAC ${mac} on host 1's uplink`);

    // Both hosts make new VRFs at once (two each): four different addresses of the pool.
    const raceVrfs = SUBNETS_RACE.map((_, i) => `eg2hr${i}-${SUFFIX}`);
    const raced = await Promise.all(SUBNETS_RACE.map((sub, i) => (i % 2 === 0 ? scope1 : scope2).tryCreateNetwork(`race${i}`, { driver: DRIVER, subnets: [sub], options: { vrf: raceVrfs[i] ?? '' } })));
    assert.deepEqual(raced.map((r) => r.code), [0, 0, 0, 0], `four VRFs made at once on two hosts: ${raced.map((r) => r.stderr.trim()).join(' | ')}${await evidence()}`);
    const raceAddresses = await Promise.all(raceVrfs.map((v) => outside.vrfAddress(v)));
    assert.ok(raceAddresses.every((a) => a !== undefined && outside.inExternalPool(a)), `addresses: ${raceAddresses.join(' ')}`);
    assert.equal(new Set([...raceAddresses, address, addressB]).size, 6, `one address for two VRFs: ${raceVrfs.map((v, i) => `${v} ${String(raceAddresses[i])}`).join(', ')} (and ${address}, ${addressB})`);
    await Promise.all(SUBNETS_RACE.map((_, i) => (i % 2 === 0 ? scope1 : scope2).removeNetwork((i % 2 === 0 ? scope1 : scope2).name(`race${i}`))));
    assert.deepEqual((await outside.listRouters()).filter((r) => raceVrfs.some((v) => r.name === `vrf/${v}`)).map((r) => r.name), [], 'routers of the raced VRFs left');

    // ---- 2. host 2 becomes a gateway host with a higher priority -----------------------------------
    await world.addSecondHostBridge(host2, HOST2_BRIDGE);
    // Another external network from host 2: refused at start-up, exit 1, one line about it (a
    // daemon of its own beside host 2's driver, which keeps serving; its bridge exists, so the
    // only thing wrong is the pool).
    const refused = await host2.runDriverToExit(`${DRIVER}-x`, ['--external-bridge', HOST2_BRIDGE, '--external-cidr', outside.EXTERNAL_CIDR,
      '--external-gateway', outside.EXTERNAL_GATEWAY, '--external-pool', '198.18.250.60-198.18.250.70']);
    driver2Logs.push(`(the refused start)\n${refused.stdout}${refused.stderr}`);
    assert.equal(refused.code, 1, `host 2 with another --external-pool than the Northbound's: exit ${refused.code}:\n${refused.stdout}${refused.stderr}`);
    const said = `${refused.stdout}${refused.stderr}`.split('\n').filter((l) => /external/.test(l) && /pool|198\.18\.250\.60/.test(l));
    assert.ok(said.length >= 1, `no line about the external network:\n${refused.stdout}${refused.stderr}`);
    assert.deepEqual(await groupNow(), { [chassis1]: 100 }, 'the refused start changed the gateway group');

    await driver2.stop();
    driver2Logs.push(driver2.output());
    driver2 = undefined;
    driver2 = await host2.startDriver(DRIVER, outside.externalArgs(HOST2_BRIDGE, 200, false));
    // The daemon sets up the way out once it serves (and the Northbound is there): waited for.
    await waitFor('host 2\'s gateway set-up (its mapping, its place in the group)', async () => {
      const mappings2 = await outside.bridgeMappings(host2.vsctl);
      const group = await groupNow();
      return mappings2.split(',').includes(`ovn-driver-external:${HOST2_BRIDGE}`) && group?.[chassis2] !== undefined ? true : undefined;
    }, 10_000, 50).catch(async (e: unknown) => assert.fail(`${String(e)}${await evidence()}`));
    assert.deepEqual(await groupNow(), { [chassis1]: 100, [chassis2]: 200 }, 'the gateway group holds both hosts');
    const moved = Date.now();
    await waitFor(`cr-ext/${VRF} and cr-ext/${VRF_B} to move to host 2`, async () => ((await outside.activeGateway(VRF)) === chassis2 && (await outside.activeGateway(VRF_B)) === chassis2 ? true : undefined), MOVE_MS, 200)
      .catch(async (e: unknown) => assert.fail(`${String(e)}${await evidence()}`));
    say(`egress two hosts: the way out moved to host 2 (priority 200) ${Date.now() - moved} ms after its driver started`);
    // Inbound before anything went out through host 2: whether the segment learned the move (a
    // gratuitous ARP) without waiting for traffic. A figure, not a promise of the README.
    const early = await outside.wget(world.end, `http://${address}:${HP}/busybox`, 3);
    say(`FIGURE egress two hosts: inbound to ${address}:${HP} right after the move, before any egress: ${early.code === 0 ? 'reached' : `failed (${early.detail.split('\n')[0] ?? ''})`}; the segment had the VRF's MAC on ${String(await world.uplinkOf(mac))}`);
    await egress(end2, 'host 2 -> outside through host 2');
    await egress(end1, 'host 1 -> outside through host 2');
    await egress(endB, `host 1 (${VRF_B}) -> outside through host 2`, addressB);
    assert.equal(await world.uplinkOf(mac), world.uplink2, `the segment saw the VRF's MAC ${mac} on host 2's uplink`);
    await ingress('host 1\'s container through host 2');
    await ingress('host 2\'s container through host 2', HP + 1);

    // ---- 3. host 2's ovn-controller stops: back to host 1 -----------------------------------------
    await host2.stopController();
    const stopped = Date.now();
    await waitFor(`cr-ext/${VRF} and cr-ext/${VRF_B} to move back to host 1`, async () => ((await outside.activeGateway(VRF)) === chassis1 && (await outside.activeGateway(VRF_B)) === chassis1 ? true : undefined), MOVE_MS, 200)
      .catch(async (e: unknown) => assert.fail(`${String(e)}${await evidence()}`));
    const boundMs = Date.now() - stopped;
    // Egress from host 1 works again within the bound (each try one wget of 3 s at most).
    let tries = 0;
    await waitFor('host 1\'s container to reach the outside again', async () => {
      tries++;
      const r = await outside.wget(end1, `http://${outside.EXTERNAL_GATEWAY}:${SERVER_HTTP}/blob`, 3);
      return r.code === 0 && r.md5 === server.md5 ? true : undefined;
    }, MOVE_MS, 500).catch(async (e: unknown) => assert.fail(`${String(e)}${await evidence()}`));
    say(`FIGURE egress two hosts: host 2's ovn-controller stopped; cr-ext/${VRF} on host 1 after ${boundMs} ms, egress again after ${Date.now() - stopped} ms (${tries} tries)`);
    await egress(end1, 'host 1 -> outside after host 2\'s ovn-controller stopped');
    await egress(endB, `host 1 (${VRF_B}) -> outside after host 2's ovn-controller stopped`, addressB);
    assert.equal(await world.uplinkOf(mac), world.uplink1, 'the segment saw the VRF\'s MAC on host 1\'s uplink again');
    await ingress('host 1\'s container through host 1 again');

    // ---- the end: nothing of the VRF left -----------------------------------------------------------
    // Host 2's containers go first (its driver still answers; its ovn-controller is gone).
    await scope2.cleanup();
    await scope1.cleanup();
    assert.deepEqual(await objectsFor({ endpointIds: endpoints, networkIds: [net1.id, net2.id, netB.id] }), NOTHING, 'switches, ports, veths left');
    for (const v of [VRF, VRF_B]) {
      const eg = await outside.vrfEgress(v);
      assert.equal(eg.router, undefined, `router vrf/${v} left`);
      assert.equal(eg.extPort, undefined, `port ext/${v} left`);
    }
    assert.deepEqual((await outside.listNats()).filter((n) => [address, addressB].includes(n.externalIp)).map((n) => `${n.type} ${n.externalIp} ${n.logicalIp}`), [], 'NAT rows left');
    assert.deepEqual((await outside.listLoadBalancers()).filter((l) => endpoints.some((e) => l.name.includes(e)) || Object.keys(l.vips).some((v) => v.startsWith(`${address}:`))).map((l) => l.name), [], 'load balancers left');
    assert.deepEqual((await listLogicalSwitchPorts()).filter((p) => p.name.includes(SUFFIX)).map((p) => p.name), [], 'switch ports of the VRFs left (rtr-ext/...)');
  });

  assert.deepEqual((await listKernelLinks()).filter((l) => l.name.includes(SUFFIX)).map((l) => l.name), []);
  assert.deepEqual((await run('ip', ['netns', 'list'])).split('\n').filter((l) => l.includes(SUFFIX)), []);
});
