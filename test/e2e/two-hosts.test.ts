// Two hosts on one machine (test/helpers/second-host.ts): host 1 is the shared stack, host 2 a
// pair of namespaces with its own OVS, ovn-controller, dockerd and driver, joined by Geneve over
// a veth underlay. One Docker network of the same subnet on both is one logical switch; their
// containers talk on the first packet (ping, TCP, UDP); 2 x 25 containers started in parallel
// get no IP or MAC twice (distinct --ip-range per host); Docker's default IPAM handing out an
// address twice is refused; host 1 leaves while host 2 keeps talking; host 2's driver killed
// during starts and restarted leaves nothing behind; and once both hosts removed everything,
// nothing of the network is in the Northbound. Everything is removed in cleanup, pass or fail.

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { withCleanup } from '../helpers/cleanup';
import { DOCKER, DockerScope } from '../helpers/docker';
import { HOST_LINK_RE } from '../../src/driver/names';
import { randomSuffix, run, runResult, waitFor } from '../helpers/run';
import { startSecondHost } from '../helpers/second-host';
import { DriverProcess, listLogicalSwitchPorts, startDriver, switchNetworkIds, switchOfNetwork } from '../helpers/stack';
import { assertConnected } from '../helpers/traffic';

const SUFFIX = randomSuffix();
const DRIVER = `ovntest-2h-${SUFFIX}`;
const OCTET = 200 + (parseInt(SUFFIX, 16) % 50);
const SUBNET = `198.18.${OCTET}.0/24`;
const GATEWAY = `198.18.${OCTET}.1`;
const PARALLEL = 25;

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

    // 2 x 25 containers started in parallel on the two hosts: all run, no IP or MAC twice.
    const started0 = Date.now();
    const batch = [
      ...Array.from({ length: PARALLEL }, (_, i) => ({ scope: scope1, net: net1.name, base: `p1-${i}` })),
      ...Array.from({ length: PARALLEL }, (_, i) => ({ scope: scope2, net: net2.name, base: `p2-${i}` })),
    ];
    const runs = await Promise.all(batch.map((x) => x.scope.tryRunContainer(x.base, { network: x.net })));
    const startMs = Date.now() - started0;
    assert.deepEqual(runs.flatMap((r, i) => (r.code === 0 ? [] : [`${batch[i]?.base}: ${r.stderr.trim()}`])), [], 'every parallel start succeeded');
    const attached = [atA, atB, ...(await Promise.all(batch.map((x) => x.scope.attachment(x.scope.name(x.base), x.net))))];
    assert.equal(new Set(attached.map((x) => x.ipv4)).size, attached.length, `an IPv4 address twice: ${attached.map((x) => x.ipv4).join(' ')}`);
    assert.equal(new Set(attached.map((x) => x.mac)).size, attached.length, `a MAC address twice: ${attached.map((x) => x.mac).join(' ')}`);
    // One of host 2's reaches one of host 1's, the last ones started.
    await assertConnected(scope2.trafficEnd(scope2.name(`p2-${PARALLEL - 1}`)), scope1.trafficEnd(scope1.name(`p1-${PARALLEL - 1}`)), attached[PARALLEL + 1]?.ipv4 ?? '');
    await Promise.all(batch.map((x) => x.scope.removeContainer(x.scope.name(x.base))));
    process.stdout.write(`two hosts: ${2 * PARALLEL} containers started in parallel on two hosts in ${startMs} ms\n`);

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
