// Two hosts on one machine (test/helpers/second-host.ts): host 1 is the shared stack, host 2 a
// pair of namespaces with its own OVS, ovn-controller, dockerd and driver, joined by Geneve over
// a veth underlay. One Docker network of the same subnet on both is one logical switch; their
// containers talk on the first packet (ping, TCP, UDP); on a network with --ipam-driver on both,
// 2 x 25 containers started in parallel on the two hosts at once get no IP or MAC twice and never
// the gateway's, and talk across hosts; Docker's default IPAM handing out an
// address twice is refused; host 1 leaves while host 2 keeps talking; host 2's driver killed
// during starts and restarted leaves nothing behind; and once both hosts removed everything,
// nothing of the network is in the Northbound. A network of another subnet on host 2 is routed to
// host 1's through the VRF's router. Everything is removed in cleanup, pass or fail.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { withCleanup } from '../helpers/cleanup';
import { docker, DOCKER, DockerScope } from '../helpers/docker';
import { HOST_LINK_RE } from '../../src/driver/names';
import { randomSuffix, run, runResult, waitFor } from '../helpers/run';
import { startSecondHost } from '../helpers/second-host';
import { DriverProcess, ipamAllocations, listLogicalSwitchPorts, startDriver, switchNetworkIds, switchOfNetwork } from '../helpers/stack';
import { assertConnected } from '../helpers/traffic';

const SUFFIX = randomSuffix();
const DRIVER = `ovntest-2h-${SUFFIX}`;
const OCTET = 200 + (parseInt(SUFFIX, 16) % 50);
const SUBNET = `198.18.${OCTET}.0/24`;
const GATEWAY = `198.18.${OCTET}.1`;
const PARALLEL = 25;
// A second network of the default VRF, on host 2 only: routed to the shared one.
const ROUTED_SUBNET = `198.18.${200 + ((OCTET - 200 + 12) % 50)}.0/24`;
const ROUTED_GATEWAY = ROUTED_SUBNET.replace(/0\/24$/, '1');
// The --ipam-driver network: a VRF of this run's own, so no other test shares its pool or switch.
const IPAM_VRF = `two-hosts-${SUFFIX}`;
const IPAM_PREFIX = `198.18.${200 + ((OCTET - 200 + 25) % 50)}.`;
const IPAM_SUBNET = `${IPAM_PREFIX}0/24`;

/**
 * `docker network rm`, again while dockerd still counts endpoints of containers `docker rm -f`
 * just removed (20.10 releases a killed container's network in its exit handler, after rm returns).
 */
async function removeOnceFree(scope: DockerScope, network: string): Promise<void> {
  await waitFor(`network ${network} to have no endpoints left`, async () => {
    try {
      await scope.removeNetwork(network);
      return true;
    } catch (e) {
      if (/has active endpoints/.test(String(e))) return undefined;
      throw e;
    }
  }, 30_000, 200);
}

test('two hosts: one switch per (VRF, subnet), traffic across hosts, parallel starts, refs, duplicates refused, a crashed driver, nothing left', { timeout: 300_000 }, async () => {
  await withCleanup(async (cleanup) => {
    const host2 = await startSecondHost(cleanup, SUFFIX);
    const driver1 = await startDriver({ socketPath: `/run/docker/plugins/${DRIVER}.sock` });
    cleanup.add('stop host 1\'s driver', () => driver1.stop());
    let driver2: DriverProcess | undefined = await host2.startDriver(DRIVER);
    cleanup.add('stop host 2\'s driver', async () => driver2?.stop());
    const scope1 = new DockerScope();
    cleanup.add('remove host 1\'s containers and networks', () => scope1.cleanup());
    const scope2 = new DockerScope(host2.dockerHost);
    cleanup.add('remove host 2\'s containers and networks', () => scope2.cleanup());
    const logs = async (): Promise<string> => `\nhost 1 driver:\n${driver1.output().slice(-2000)}\nhost 2 driver:\n${driver2?.output().slice(-2000) ?? ''}\n${await fs.readFile(`${host2.dir}/ovn-controller.log`, 'utf8').then((t) => t.slice(-1500)).catch(() => '')}`;

    // Docker's default IPAM on each host: distinct --ip-range per host, as the README says.
    const net1 = await scope1.createNetwork('net', { driver: DRIVER, subnets: [SUBNET], gateways: [GATEWAY], ipRanges: [`198.18.${OCTET}.0/26`] });
    // Another gateway for the same (VRF, subnet) on host 2 is refused, naming the existing network
    // (before host 2 has its own: Docker refuses overlapping pools on one host itself).
    const other = await scope2.tryCreateNetwork('othergw', { driver: DRIVER, subnets: [SUBNET], gateways: [`198.18.${OCTET}.254`] });
    assert.notEqual(other.code, 0, 'a second gateway was accepted');
    assert.match(other.stderr, new RegExp(`already the network of logical switch "default/198\\.18\\.${OCTET}\\.0/24"`));

    const net2 = await scope2.createNetwork('net', { driver: DRIVER, subnets: [SUBNET], gateways: [GATEWAY], ipRanges: [`198.18.${OCTET}.64/26`] });
    const sw = await switchOfNetwork(net1.id);
    assert.ok(sw, `no logical switch records network ${net1.id}`);
    assert.equal(sw.name, `default/${SUBNET}`);
    assert.deepEqual(switchNetworkIds(sw).sort(), [net1.id, net2.id].sort(), 'one switch records both hosts\' networks');
    assert.equal((await switchOfNetwork(net2.id))?.uuid, sw.uuid);

    const a = await scope1.runContainer('a', { network: net1.name });
    const b = await scope2.runContainer('b', { network: net2.name });
    const atA = await scope1.attachment(a.name, net1.name);
    const atB = await scope2.attachment(b.name, net2.name);
    const endA = scope1.trafficEnd(a.name);
    const endB = scope2.trafficEnd(b.name);
    await assertConnected(endB, endA, atA.ipv4).catch(async (e: unknown) => assert.fail(`${String(e)}${await logs()}`));
    await assertConnected(endA, endB, atB.ipv4);
    const lspB = (await listLogicalSwitchPorts()).find((p) => p.name === atB.endpointId);
    assert.equal(lspB?.externalIds['ovn-driver:chassis'], host2.chassis, 'host 2\'s port is bound to host 2');

    // Routed: a network of another subnet, on host 2 only, in the same VRF (default). Host 1's
    // container reaches host 2's through the VRF's router (distributed: each host routes its own
    // containers' packets), and back; each has its network's gateway as default route.
    const routed = await scope2.createNetwork('routed', { driver: DRIVER, subnets: [ROUTED_SUBNET], gateways: [ROUTED_GATEWAY] });
    const r = await scope2.runContainer('r', { network: routed.name });
    const atR = await scope2.attachment(r.name, routed.name);
    const endR = scope2.trafficEnd(r.name);
    assert.match((await scope1.exec(a.name, ['ip', 'route'])).stdout, new RegExp(`^default via ${GATEWAY.replace(/\./g, '\\.')} dev eth0`, 'm'));
    assert.match((await scope2.exec(r.name, ['ip', 'route'])).stdout, new RegExp(`^default via ${ROUTED_GATEWAY.replace(/\./g, '\\.')} dev eth0`, 'm'));
    await assertConnected(endA, endR, atR.ipv4).catch(async (e: unknown) => assert.fail(`routed, host 1 to host 2: ${String(e)}${await logs()}`));
    await assertConnected(endR, endA, atA.ipv4).catch(async (e: unknown) => assert.fail(`routed, host 2 to host 1: ${String(e)}${await logs()}`));
    const routerPorts = (await run('ovn-nbctl', ['--timeout=10', '--bare', '--columns=name', 'list', 'Logical_Router_Port'])).split('\n').filter((l) => l !== '');
    assert.ok(routerPorts.includes(`gw/default/${SUBNET}`) && routerPorts.includes(`gw/default/${ROUTED_SUBNET}`), `the VRF's router has both networks' gateway ports: ${routerPorts.join(' ')}`);
    await scope2.removeContainer(r.name);
    await removeOnceFree(scope2, routed.name);
    const after = (await run('ovn-nbctl', ['--timeout=10', '--bare', '--columns=name', 'list', 'Logical_Router_Port'])).split('\n');
    assert.ok(!after.includes(`gw/default/${ROUTED_SUBNET}`), 'its gateway port went with the network');

    // --ipam-driver: one network of its own VRF on both hosts, its addresses from the Northbound.
    // 2 x 25 containers started on the two hosts at once: all run, no IP or MAC twice, none the gateway's.
    const ipamSpec = { driver: DRIVER, ipamDriver: DRIVER, subnets: [IPAM_SUBNET], options: { vrf: IPAM_VRF }, ipamOptions: { vrf: IPAM_VRF } };
    const ipam1 = await scope1.createNetwork('ipam', ipamSpec);
    const ipam2 = await scope2.createNetwork('ipam', ipamSpec);
    const gatewayOf = async (args: readonly string[], id: string): Promise<string> => (await docker([...args, 'network', 'inspect', '-f', '{{range .IPAM.Config}}{{.Gateway}}{{end}}', id])).trim();
    const ipamGateway = await gatewayOf([], ipam1.id);
    assert.equal(await gatewayOf(['-H', host2.dockerHost], ipam2.id), ipamGateway, 'both hosts were given one gateway');
    const ipamSwitch = await switchOfNetwork(ipam1.id);
    assert.ok(ipamSwitch, `no logical switch records network ${ipam1.id}`);
    assert.deepEqual(switchNetworkIds(ipamSwitch).sort(), [ipam1.id, ipam2.id].sort(), 'one switch records both hosts\' IPAM networks');
    const started0 = Date.now();
    const batch = [
      ...Array.from({ length: PARALLEL }, (_, i) => ({ scope: scope1, net: ipam1.name, base: `p1-${i}` })),
      ...Array.from({ length: PARALLEL }, (_, i) => ({ scope: scope2, net: ipam2.name, base: `p2-${i}` })),
    ];
    const runs = await Promise.all(batch.map((x) => x.scope.tryRunContainer(x.base, { network: x.net })));
    const startMs = Date.now() - started0;
    assert.deepEqual(runs.flatMap((r, i) => (r.code === 0 ? [] : [`${batch[i]?.base}: ${r.stderr.trim()}`])), [], 'every parallel start succeeded');
    const attached = await Promise.all(batch.map((x) => x.scope.attachment(x.scope.name(x.base), x.net)));
    const ips = attached.map((x) => x.ipv4);
    assert.equal(new Set(ips).size, attached.length, `an IPv4 address twice: ${ips.join(' ')}`);
    assert.equal(new Set([...attached, atA, atB].map((x) => x.mac)).size, attached.length + 2, `a MAC address twice: ${attached.map((x) => x.mac).join(' ')}`);
    assert.ok(!ips.includes(ipamGateway), `a container has the gateway's address ${ipamGateway}`);
    assert.ok(ips.every((ip) => ip.startsWith(IPAM_PREFIX)), `an address outside ${IPAM_SUBNET}: ${ips.join(' ')}`);
    const rows = await ipamAllocations(IPAM_VRF);
    assert.deepEqual([...rows.values()].sort(), ['gateway', ...ips.map(() => 'endpoint')].sort(), 'the Northbound holds the gateway and one row per container');
    // A few pairs across the hosts, each way: data, not only ping.
    for (const [i, j] of [[0, 0], [PARALLEL - 1, PARALLEL - 1], [7, 18]] as const) {
      const one = scope1.trafficEnd(scope1.name(`p1-${i}`));
      const two = scope2.trafficEnd(scope2.name(`p2-${j}`));
      await assertConnected(two, one, attached[i]?.ipv4 ?? '').catch(async (e: unknown) => assert.fail(`${String(e)}${await logs()}`));
      await assertConnected(one, two, attached[PARALLEL + j]?.ipv4 ?? '');
    }
    // One at a time on each host (both hosts at once): 25 removals at once can leave Docker 20.10
    // counting an endpoint that is gone, and the network then cannot be removed.
    const removeAll = async (scope: DockerScope): Promise<void> => {
      for (const x of batch.filter((b) => b.scope === scope)) await scope.removeContainer(scope.name(x.base));
    };
    await Promise.all([removeAll(scope1), removeAll(scope2)]);
    await Promise.all([removeOnceFree(scope1, ipam1.name), removeOnceFree(scope2, ipam2.name)]);
    assert.deepEqual([...(await ipamAllocations(IPAM_VRF)).keys()], [], 'nothing of the IPAM network left in the Northbound');
    assert.equal(await switchOfNetwork(ipam1.id), undefined, 'its switch is gone');
    process.stdout.write(`two hosts: ${2 * PARALLEL} containers started in parallel on two hosts (--ipam-driver) in ${startMs} ms\n`);

    // Host 1's address given to a container on host 2: refused, saying where and what to use.
    const dup = await scope2.tryRunContainer('dup', { network: net2.name, ip: atA.ipv4 });
    await scope2.removeContainer(scope2.name('dup'));
    assert.notEqual(dup.code, 0, 'a duplicate address was accepted');
    assert.match(dup.stderr, new RegExp(`address ${atA.ipv4.replace(/\./g, '\\.')} is already taken .* on host [^;]+; .*--ipam-driver ovn`));

    // Host 2's driver killed with kill -9 while containers start, then restarted.
    // Killed as soon as the first CreateEndpoint is answered, so the starts are mid-way (Join to come).
    const creates = (): number => (driver2?.output().match(/NetworkDriver\.CreateEndpoint /g) ?? []).length;
    const before = creates();
    const starts = ['c1', 'c2', 'c3'].map((n) => scope2.tryRunContainer(n, { network: net2.name }));
    await waitFor('host 2\'s driver to answer a CreateEndpoint', async () => (creates() > before ? true : undefined), 60_000, 5);
    await driver2.kill();
    driver2 = await host2.startDriver(DRIVER);
    const started = await Promise.all(starts);
    const running: string[] = [];
    for (const [i, r] of started.entries()) {
      const name = scope2.name(`c${i + 1}`);
      const state = await runResult(DOCKER, ['-H', host2.dockerHost, 'inspect', '-f', '{{.State.Running}}', name]);
      if (r.code === 0 && state.stdout.trim() === 'true') running.push(name);
      else await scope2.removeContainer(name);
    }
    process.stdout.write(`two hosts: ${running.length} of 3 containers started on host 2 while its driver was killed with SIGKILL and restarted\n`);
    // Started again after the restart, whatever the crash did to the first try.
    const c = running[0] ?? (await scope2.runContainer('c4', { network: net2.name })).name;
    const atC = await scope2.attachment(c, net2.name);
    await assertConnected(scope2.trafficEnd(c), endA, atA.ipv4);
    await assertConnected(endB, scope2.trafficEnd(c), atC.ipv4);
    for (const name of running.slice(1)) await scope2.removeContainer(name);

    // Host 1 leaves: its ref goes, the switch stays for host 2, whose containers keep talking.
    await scope1.removeContainer(a.name);
    await scope1.removeNetwork(net1.name);
    const left = await switchOfNetwork(net2.id);
    assert.deepEqual(left && switchNetworkIds(left), [net2.id], 'only host 2\'s ref is left');
    await assertConnected(endB, scope2.trafficEnd(c), atC.ipv4);

    // What host 2 holds is exactly what its running containers use: the crash left nothing.
    const endpoints2 = [atB.endpointId, atC.endpointId].sort();
    await waitFor('host 2\'s leftovers of the crash to be gone', async () => {
      const ports = (await listLogicalSwitchPorts()).filter((p) => p.externalIds['ovn-driver:chassis'] === host2.chassis).map((p) => p.name).sort();
      const ifaces = (await host2.vsctl(['--bare', '--columns=name', 'list', 'Interface'])).split('\n').filter((l) => HOST_LINK_RE.test(l)).sort();
      const veths = (await run(host2.enter[0] ?? 'nsenter', [...host2.enter.slice(1), 'ip', '-o', 'link', 'show'])).split('\n').flatMap((l) => /^\d+: (ovn[0-9a-f]{12})[@:]/.exec(l)?.[1] ?? []).sort();
      const want = endpoints2.map((e) => `ovn${e.slice(0, 12)}`).sort();
      return JSON.stringify(ports) === JSON.stringify(endpoints2) && JSON.stringify(ifaces) === JSON.stringify(want) && JSON.stringify(veths) === JSON.stringify(want) ? true : undefined;
    }, 60_000, 1000).catch(async (e: unknown) => assert.fail(`${String(e)}${await logs()}`));

    // Host 2 leaves too: nothing of the network is left in the Northbound.
    await scope2.removeContainer(b.name);
    await scope2.removeContainer(c);
    await scope2.removeNetwork(net2.name);
    assert.equal(await switchOfNetwork(net2.id), undefined, 'the switch is gone');
    assert.equal((await listLogicalSwitchPorts()).filter((p) => [atA.endpointId, ...endpoints2].includes(p.name) || p.externalIds['ovn-driver:chassis'] === host2.chassis).length, 0, 'no port is left');
  });
});
