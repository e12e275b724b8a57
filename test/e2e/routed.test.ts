// Routed VRFs end to end through the real Docker engine and a real OVN: one Logical_Router per
// VRF (`vrf/V`), a gateway port per routed network (`gw/<switch>`) facing a router-type port on
// its switch (`rtr/<switch>`), so containers get `default via <gateway>` and the networks of one
// VRF reach each other while other VRFs (even with the same subnet) and --internal networks do
// not. Also: refusals that leave nothing behind, the router removed with its VRF's last network,
// the previous release's networks routed when the daemon starts again, and `ovn-driver status`.
// The driver runs as a child process on its own socket (`ovntest-<hex>`), the VRFs are unique to
// the run, and the subnets stay in 198.18.160.0/24 .. 198.18.175.0/24 (and fd00:198:18:16x::/64).

import { test } from 'node:test';
import * as assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import { withCleanup } from '../helpers/cleanup';
import { DockerScope, dockerResult } from '../helpers/docker';
import { randomSuffix, run, RunResult, waitFor } from '../helpers/run';
import {
  DriverProcess, ipamAllocations, listLogicalRouterPorts, listLogicalRouters, listLogicalSwitches, listLogicalSwitchPorts,
  LogicalRouter, LogicalRouterPort, LogicalSwitch, MAIN_JS, NOTHING, objectsFor, postPlugin, startDriver,
} from '../helpers/stack';

const DRIVER = `ovntest-${randomSuffix()}`;
const SOCKET = `/run/docker/plugins/${DRIVER}.sock`;
const DRIVER_LOG = `/var/log/ovn-driver-stack/e2e-${DRIVER}.log`;
const OWNER_KEY = 'ovn-driver:owner';
const OWNER = 'ovn-driver';
const RUN = randomSuffix();
/** r1: networks A, B (routed) and E (--internal); r2: C, A's very subnet; r3: dual stack; r4: the upgrade. */
const R1 = `r1-${RUN}`;
const R2 = `r2-${RUN}`;
const R3 = `r3-${RUN}`;
const R4 = `r4-${RUN}`;
const VRFS = [R1, R2, R3, R4];
/** Port of the busybox httpd the isolation checks aim at (one listener per target container). */
const HTTP_PORT = 18080;

function explain(r: { stdout: string; stderr: string }): string {
  return `\n${r.stdout}${r.stderr}\n(driver log: ${DRIVER_LOG})`;
}

/** Ping, TCP and UDP (helpers/traffic.ts), the driver's log named on failure. */
async function connected(scope: DockerScope, from: string, to: string, address: string): Promise<void> {
  try {
    await scope.assertConnected(from, to, address);
  } catch (e) {
    assert.fail(`${e instanceof Error ? e.message : String(e)}\n(driver log: ${DRIVER_LOG})`);
  }
}

async function switchNamed(name: string): Promise<LogicalSwitch | undefined> {
  return (await listLogicalSwitches()).find((s) => s.name === name);
}

interface RouterView {
  readonly router: LogicalRouter | undefined;
  /** Its ports, sorted by name. */
  readonly ports: LogicalRouterPort[];
}

async function routerOf(vrf: string): Promise<RouterView> {
  const [routers, lrps] = await Promise.all([listLogicalRouters(), listLogicalRouterPorts()]);
  const router = routers.find((r) => r.name === `vrf/${vrf}`);
  const ports = router === undefined ? [] : lrps.filter((p) => router.ports.includes(p.uuid)).sort((a, b) => a.name.localeCompare(b.name));
  return { router, ports };
}

/** The `default via X` routes a container has for one family. */
async function defaultRoutes(scope: DockerScope, container: string, family: 4 | 6): Promise<string[]> {
  const r = await scope.exec(container, ['ip', `-${family}`, 'route', 'show']);
  assert.equal(r.code, 0, `ip -${family} route in ${container} failed${explain(r)}`);
  return [...r.stdout.matchAll(/^default via (\S+)/gm)].map((m) => m[1] ?? '');
}

/** A full `ip route` listing, for messages. */
async function routes(scope: DockerScope, container: string, family: 4 | 6): Promise<string> {
  return (await scope.exec(container, ['ip', `-${family}`, 'route', 'show'])).stdout.trim();
}

/** busybox httpd on HTTP_PORT in `container`, serving /blob (left running: the container goes with the test). */
async function serveHttp(scope: DockerScope, container: string): Promise<void> {
  const r = await scope.exec(container, ['sh', '-c', [
    'busybox mkdir -p /tmp/www',
    'busybox head -c 4096 /dev/urandom > /tmp/www/blob',
    `busybox httpd -p ${HTTP_PORT} -h /tmp/www`,
    `for i in $(busybox seq 100); do busybox netstat -ltn | busybox grep -q ":${HTTP_PORT} " && exit 0; busybox usleep 20000; done; echo "httpd did not listen"; exit 1`,
  ].join('\n')]);
  assert.equal(r.code, 0, `busybox httpd in ${container} did not start${explain(r)}`);
}

/** One bounded TCP fetch from `container` to `address`:HTTP_PORT (busybox wget -T segfaults here: timeout instead). */
function fetchHttp(scope: DockerScope, container: string, address: string): Promise<RunResult> {
  return scope.exec(container, ['sh', '-c', `busybox timeout 3 busybox wget -q -O /dev/null http://${address}:${HTTP_PORT}/blob`]);
}

/** Everything of the driver's named by one of `vrfs`: switches, their ports, routers, router ports, IPAM rows (each sorted). */
async function leftovers(vrfs: readonly string[]): Promise<Record<string, string[]>> {
  const [switches, lsps, routers, lrps] = await Promise.all([listLogicalSwitches(), listLogicalSwitchPorts(), listLogicalRouters(), listLogicalRouterPorts()]);
  const ours = (name: string, prefix: string): boolean => vrfs.some((v) => name.startsWith(`${prefix}${v}/`) || name === `${prefix}${v}`);
  const ipam: string[] = [];
  for (const v of vrfs) ipam.push(...[...(await ipamAllocations(v)).keys()].map((a) => `${v}: ${a}`));
  return {
    switches: switches.filter((s) => ours(s.name, '')).map((s) => s.name).sort(),
    routerFacingPorts: lsps.filter((p) => ours(p.name, 'rtr/')).map((p) => p.name).sort(),
    routers: routers.filter((r) => ours(r.name, 'vrf/')).map((r) => r.name).sort(),
    routerPorts: lrps.filter((p) => ours(p.name, 'gw/')).map((p) => p.name).sort(),
    ipamRows: ipam.sort(),
  };
}

const NO_LEFTOVERS = { switches: [], routerFacingPorts: [], routers: [], routerPorts: [], ipamRows: [] };

/**
 * The routed switch `name` as CreateNetwork (or the upgrade) leaves it: marks, a router-type port
 * facing `gw/<name>`, and that port on `vrf/<vrf>` with the gateways and the derived MAC.
 */
async function assertRouted(name: string, vrf: string, networks: readonly string[], mac: string): Promise<void> {
  const sw = await switchNamed(name);
  assert.ok(sw, `no logical switch ${name}`);
  assert.equal(sw.externalIds['docker:internal'], 'false', `${name}: external_ids ${JSON.stringify(sw.externalIds)}`);
  assert.equal(sw.externalIds['ovn-driver:router'], `vrf/${vrf}`, `${name}: external_ids ${JSON.stringify(sw.externalIds)}`);
  const rtr = (await listLogicalSwitchPorts()).find((p) => p.name === `rtr/${name}`);
  assert.ok(rtr, `no logical switch port rtr/${name}`);
  assert.ok(sw.ports.includes(rtr.uuid), `rtr/${name} is not a port of switch ${name}`);
  assert.equal(rtr.type, 'router');
  assert.deepEqual(rtr.addresses, ['router']);
  assert.equal(rtr.options['router-port'], `gw/${name}`);
  assert.equal(rtr.externalIds[OWNER_KEY], OWNER);
  const { router, ports } = await routerOf(vrf);
  assert.ok(router, `no logical router vrf/${vrf}`);
  const lrp = ports.find((p) => p.name === `gw/${name}`);
  assert.ok(lrp, `router vrf/${vrf} has no port gw/${name}: ${ports.map((p) => p.name).join(', ')}`);
  assert.deepEqual([...lrp.networks].sort(), [...networks].sort(), `gw/${name} networks`);
  assert.equal(lrp.mac, mac, `gw/${name} MAC`);
  assert.equal(lrp.externalIds[OWNER_KEY], OWNER);
}

/** An --internal switch: marked so, no router named, no router-type port, no gateway port anywhere. */
async function assertUnrouted(name: string): Promise<void> {
  const sw = await switchNamed(name);
  assert.ok(sw, `no logical switch ${name}`);
  assert.equal(sw.externalIds['docker:internal'], 'true', `${name}: external_ids ${JSON.stringify(sw.externalIds)}`);
  assert.equal(sw.externalIds['ovn-driver:router'], undefined, `${name} names a router`);
  const lsps = await listLogicalSwitchPorts();
  const onSwitch = lsps.filter((p) => sw.ports.includes(p.uuid));
  assert.deepEqual(onSwitch.filter((p) => p.type === 'router').map((p) => p.name), [], `${name} has a router-type port`);
  assert.equal(lsps.some((p) => p.name === `rtr/${name}`), false, `a port rtr/${name} exists`);
  assert.equal((await listLogicalRouterPorts()).some((p) => p.name === `gw/${name}`), false, `a router port gw/${name} exists`);
}

test('routed VRFs: default routes, routing within a VRF, isolation between VRFs and of --internal, refusals, router lifecycle, upgrade, status', { timeout: 600_000 }, async (t) => {
  await withCleanup(async (cleanup) => {
    let driver: DriverProcess | undefined = await startDriver({ socketPath: SOCKET });
    const logs: string[] = [];
    const stopDriver = async (): Promise<void> => {
      const d = driver;
      driver = undefined;
      if (d === undefined) return;
      await d.stop();
      logs.push(d.output());
    };
    cleanup.add('stop the driver', async () => {
      await stopDriver();
      await fs.writeFile(DRIVER_LOG, logs.join('\n---- the driver started again ----\n'));
    });
    // Docker removes a network whose driver does not answer and forgets it: the driver must be up.
    const ensureDriver = async (): Promise<void> => {
      driver ??= await startDriver({ socketPath: SOCKET });
    };
    const scope = new DockerScope();
    const removeDockerObjects = async (): Promise<void> => {
      await ensureDriver();
      await scope.cleanup();
    };
    cleanup.add('remove docker objects', removeDockerObjects);
    const endpointIds: string[] = [];
    const networkIds: string[] = [];

    const setupStarted = Date.now();
    const [netA, netB, netC, netD1, netD2, netE, netU1, netU2] = await Promise.all([
      scope.createNetwork('a', { driver: DRIVER, subnets: ['198.18.160.0/24'], gateways: ['198.18.160.1'], options: { vrf: R1 } }),
      scope.createNetwork('b', { driver: DRIVER, subnets: ['198.18.161.0/24'], gateways: ['198.18.161.1'], options: { vrf: R1 } }),
      // A's very subnet in another VRF: Docker's own IPAM would refuse the overlap, the driver's has a pool per VRF.
      scope.createNetwork('c', { driver: DRIVER, ipamDriver: DRIVER, subnets: ['198.18.160.0/24'], options: { vrf: R2 }, ipamOptions: { vrf: R2 } }),
      scope.createNetwork('d1', { driver: DRIVER, ipv6: true, subnets: ['198.18.162.0/24', 'fd00:198:18:162::/64'], options: { vrf: R3 } }),
      scope.createNetwork('d2', { driver: DRIVER, ipv6: true, subnets: ['198.18.163.0/24', 'fd00:198:18:163::/64'], options: { vrf: R3 } }),
      scope.createNetwork('e', { driver: DRIVER, internal: true, subnets: ['198.18.164.0/24'], options: { vrf: R1 } }),
      scope.createNetwork('u1', { driver: DRIVER, subnets: ['198.18.168.0/24'], options: { vrf: R4 } }),
      scope.createNetwork('u2', { driver: DRIVER, internal: true, subnets: ['198.18.169.0/24'], options: { vrf: R4 } }),
    ]);
    const networksMs = Date.now() - setupStarted;
    networkIds.push(...[netA, netB, netC, netD1, netD2, netE, netU1, netU2].map((n) => n.id));
    const swA = `${R1}/198.18.160.0/24`;
    const swB = `${R1}/198.18.161.0/24`;
    const swC = `${R2}/198.18.160.0/24`;
    const swD1 = `${R3}/198.18.162.0/24`;
    const swE = `${R1}/198.18.164.0/24`;
    const swU1 = `${R4}/198.18.168.0/24`;
    const swU2 = `${R4}/198.18.169.0/24`;

    // Fixed addresses: A's and C's containers share a subnet and must not share an address.
    const [a, b, c, d1, d2, e] = await Promise.all([
      scope.runContainer('a', { network: netA.name, ip: '198.18.160.10' }),
      scope.runContainer('b', { network: netB.name, ip: '198.18.161.10' }),
      scope.runContainer('c', { network: netC.name, ip: '198.18.160.20' }),
      scope.runContainer('d1', { network: netD1.name }),
      scope.runContainer('d2', { network: netD2.name }),
      scope.runContainer('e', { network: netE.name, ip: '198.18.164.10' }),
    ]);
    process.stdout.write(`setup: 8 networks in ${networksMs} ms, 6 containers in ${Date.now() - setupStarted - networksMs} ms\n`);
    const attD1 = await scope.attachment(d1.name, netD1.name);
    const attD2 = await scope.attachment(d2.name, netD2.name);
    for (const [ctr, net] of [[a, netA], [b, netB], [c, netC], [d1, netD1], [d2, netD2], [e, netE]] as const) {
      endpointIds.push((await scope.attachment(ctr.name, net.name)).endpointId);
    }

    await t.test('one VRF: default via the gateway, which answers; TCP and UDP across the router to another subnet', async () => {
      assert.deepEqual(await defaultRoutes(scope, a.name, 4), ['198.18.160.1'], `ip route in ${a.name}:\n${await routes(scope, a.name, 4)}`);
      assert.deepEqual(await defaultRoutes(scope, b.name, 4), ['198.18.161.1'], `ip route in ${b.name}:\n${await routes(scope, b.name, 4)}`);
      const gw = await scope.ping(a.name, '198.18.160.1', 1, 3);
      assert.equal(gw.code, 0, `${a.name} cannot ping its gateway${explain(gw)}`);
      await connected(scope, a.name, b.name, '198.18.161.10');
      const back = await scope.ping(b.name, '198.18.160.10', 1, 3);
      assert.equal(back.code, 0, `${b.name} cannot ping ${a.name} back${explain(back)}`);
    });

    await t.test('another VRF with the same subnet: its own gateway answers, the first VRF stays out of reach (ping and TCP)', async () => {
      assert.deepEqual(await defaultRoutes(scope, c.name, 4), ['198.18.160.1'], `ip route in ${c.name}:\n${await routes(scope, c.name, 4)}`);
      const gw = await scope.ping(c.name, '198.18.160.1', 1, 3);
      assert.equal(gw.code, 0, `${c.name} cannot ping its own gateway${explain(gw)}`);
      await Promise.all([serveHttp(scope, a.name), serveHttp(scope, b.name), serveHttp(scope, c.name)]);
      // Positive controls: the same fetch succeeds where the VRF routes it, so a refusal below is isolation.
      const ab = await fetchHttp(scope, a.name, '198.18.161.10');
      assert.equal(ab.code, 0, `${a.name} cannot fetch from ${b.name}${explain(ab)}`);
      const ba = await fetchHttp(scope, b.name, '198.18.160.10');
      assert.equal(ba.code, 0, `${b.name} cannot fetch from ${a.name}${explain(ba)}`);
      const [pingB, pingA, tcpB, tcpA, aToC, bToC] = await Promise.all([
        scope.ping(c.name, '198.18.161.10', 1, 1),
        scope.ping(c.name, '198.18.160.10', 1, 1),
        fetchHttp(scope, c.name, '198.18.161.10'),
        fetchHttp(scope, c.name, '198.18.160.10'),
        fetchHttp(scope, a.name, '198.18.160.20'),
        fetchHttp(scope, b.name, '198.18.160.20'),
      ]);
      assert.notEqual(pingB.code, 0, `${c.name} (${R2}) pings ${b.name} of ${R1}${explain(pingB)}`);
      assert.notEqual(pingA.code, 0, `${c.name} (${R2}) pings ${a.name} of ${R1}${explain(pingA)}`);
      assert.notEqual(tcpB.code, 0, `${c.name} (${R2}) fetches from ${b.name} of ${R1}${explain(tcpB)}`);
      assert.notEqual(tcpA.code, 0, `${c.name} (${R2}) fetches from ${a.name} of ${R1}${explain(tcpA)}`);
      assert.notEqual(aToC.code, 0, `${a.name} (${R1}) fetches from ${c.name} of ${R2}${explain(aToC)}`);
      assert.notEqual(bToC.code, 0, `${b.name} (${R1}) fetches from ${c.name} of ${R2}${explain(bToC)}`);
    });

    await t.test('dual stack: default via the IPv6 gateway too, which answers; TCP and UDP over IPv6 across the router', async () => {
      assert.deepEqual(await defaultRoutes(scope, d1.name, 6), ['fd00:198:18:162::1'], `ip -6 route in ${d1.name}:\n${await routes(scope, d1.name, 6)}`);
      assert.deepEqual(await defaultRoutes(scope, d1.name, 4), ['198.18.162.1'], `ip route in ${d1.name}:\n${await routes(scope, d1.name, 4)}`);
      assert.deepEqual(await defaultRoutes(scope, d2.name, 6), ['fd00:198:18:163::1'], `ip -6 route in ${d2.name}:\n${await routes(scope, d2.name, 6)}`);
      const gw6 = await scope.ping(d1.name, 'fd00:198:18:162::1', 1, 3);
      assert.equal(gw6.code, 0, `${d1.name} cannot ping6 its gateway${explain(gw6)}`);
      assert.match(attD2.ipv6, /^fd00:198:18:163:/);
      await connected(scope, d1.name, d2.name, attD2.ipv6);
      const back = await scope.ping(d2.name, attD1.ipv6, 1, 3);
      assert.equal(back.code, 0, `${d2.name} cannot ping6 ${d1.name} back${explain(back)}`);
      await assertRouted(swD1, R3, ['198.18.162.1/24', 'fd00:198:18:162::1/64'], '0a:58:c6:12:a2:01');
    });

    await t.test('--internal: no default route, no way out, no router port', async () => {
      assert.deepEqual(await defaultRoutes(scope, e.name, 4), [], `ip route in ${e.name}:\n${await routes(scope, e.name, 4)}`);
      const out = await scope.ping(e.name, '198.18.161.10', 1, 1);
      assert.notEqual(out.code, 0, `${e.name} (--internal) pings ${b.name}${explain(out)}`);
      assert.match(`${out.stdout}${out.stderr}`, /Network is unreachable/);
      await assertUnrouted(swE);
    });

    await t.test('Northbound: one router per VRF holding exactly its routed networks\' gateway ports, MACs derived from the gateways', async () => {
      const r1 = await routerOf(R1);
      assert.ok(r1.router, `no logical router vrf/${R1}`);
      assert.equal(r1.router.externalIds[OWNER_KEY], OWNER);
      assert.equal(r1.router.externalIds['docker:vrf'], R1);
      assert.deepEqual(r1.ports.map((p) => p.name), [`gw/${swA}`, `gw/${swB}`], 'vrf/r1 routes A and B, not the --internal E');
      await assertRouted(swA, R1, ['198.18.160.1/24'], '0a:58:c6:12:a0:01');
      await assertRouted(swB, R1, ['198.18.161.1/24'], '0a:58:c6:12:a1:01');
      const r2 = await routerOf(R2);
      assert.equal(r2.router?.externalIds['docker:vrf'], R2);
      assert.deepEqual(r2.ports.map((p) => p.name), [`gw/${swC}`]);
      await assertRouted(swC, R2, ['198.18.160.1/24'], '0a:58:c6:12:a0:01');
    });

    await t.test('refusals leave nothing: an overlapping subnet in one VRF, a bad VRF name, a gateway outside its subnet', async () => {
      const r1Ports = (await routerOf(R1)).ports.map((p) => p.name);
      const switchesBefore = (await listLogicalSwitches()).map((s) => s.name).sort();

      // The driver's IPAM hands out A's /25 in R1 (Docker's own would refuse it); the router cannot route both.
      const overlap = await scope.tryCreateNetwork('overlap', { driver: DRIVER, ipamDriver: DRIVER, subnets: ['198.18.160.0/25'], options: { vrf: R1 }, ipamOptions: { vrf: R1 } });
      assert.notEqual(overlap.code, 0, `an overlapping subnet in ${R1} was accepted${explain(overlap)}`);
      assert.match(overlap.stderr, /overlaps/);
      assert.ok(overlap.stderr.includes(swA) && overlap.stderr.includes(netA.id), `the refusal does not name network A (${swA}, ${netA.id}): ${overlap.stderr}`);
      assert.equal(await switchNamed(`${R1}/198.18.160.0/25`), undefined, 'the refused network left a switch');
      assert.equal((await listLogicalSwitchPorts()).some((p) => p.name === `rtr/${R1}/198.18.160.0/25`), false);
      assert.deepEqual((await routerOf(R1)).ports.map((p) => p.name), r1Ports, 'the refused network changed the router');
      assert.deepEqual([...(await ipamAllocations(R1)).keys()], [], 'the refused network left rows of its pool');

      const badVrf = await scope.tryCreateNetwork('badvrf', { driver: DRIVER, subnets: ['198.18.165.0/24'], options: { vrf: 'a/b' } });
      assert.notEqual(badVrf.code, 0, `-o vrf=a/b was accepted${explain(badVrf)}`);
      assert.match(badVrf.stderr, /1 to 64 letters, digits/);
      assert.match(badVrf.stderr, /logical router/);

      const outside = await scope.tryCreateNetwork('gwout', { driver: DRIVER, subnets: ['198.18.166.0/24'], gateways: ['198.18.167.1'], options: { vrf: R1 } });
      assert.notEqual(outside.code, 0, `a gateway outside the subnet was accepted${explain(outside)}`);
      for (const r of [overlap, badVrf, outside]) assert.equal(r.stdout.trim(), '', `docker printed a network id: ${r.stdout}`);
      for (const base of ['overlap', 'badvrf', 'gwout']) {
        const inspect = await dockerResult(['network', 'inspect', scope.name(base)]);
        assert.notEqual(inspect.code, 0, `docker has a network ${scope.name(base)} after the refusal`);
      }

      // Past Docker's own check: the plugin refuses such a request itself.
      const networkId = Array.from({ length: 4 }, () => randomSuffix(8)).join('');
      cleanup.add('delete the network posted to the plugin', async () => {
        await ensureDriver();
        await postPlugin(SOCKET, '/NetworkDriver.DeleteNetwork', JSON.stringify({ NetworkID: networkId }));
      });
      const reply = await postPlugin(SOCKET, '/NetworkDriver.CreateNetwork', JSON.stringify({
        NetworkID: networkId,
        Options: { 'com.docker.network.generic': { vrf: R1 } },
        IPv4Data: [{ AddressSpace: 'LocalDefault', Pool: '198.18.166.0/24', Gateway: '198.18.167.1/24' }],
        IPv6Data: [],
      }));
      const doc: unknown = JSON.parse(reply.body);
      const err = typeof doc === 'object' && doc !== null && 'Err' in doc ? doc.Err : undefined;
      assert.equal(typeof err, 'string', `CreateNetwork with a gateway outside its pool answered ${reply.status} ${reply.body}`);
      assert.match(String(err), /Gateway.*inside the pool 198\.18\.166\.0\/24/);

      assert.deepEqual((await listLogicalSwitches()).map((s) => s.name).sort(), switchesBefore, 'a refused request changed the switches');
      assert.equal((await listLogicalSwitches()).some((s) => Object.values(s.externalIds).includes(networkId)), false);
      assert.deepEqual((await routerOf(R1)).ports.map((p) => p.name), r1Ports, 'a refused request changed the router');
      assert.equal((await listLogicalRouters()).some((r) => r.name === 'vrf/a/b'), false, 'a router of the bad VRF exists');
    });

    await t.test('ovn-driver status: a Vrfs section with each VRF\'s router, networks and gateways', async () => {
      const out = await run(process.execPath, [MAIN_JS, 'status', '--socket', SOCKET]);
      assert.match(out, /^Vrfs \(\d+\):$/m, out);
      const lines = out.split('\n').map((l) => l.trim());
      for (const want of [
        `- vrf: ${R1}, router: vrf/${R1}, networks: ${swA} ${swB}, gateways: 198.18.160.1/24 198.18.161.1/24, externalAddress: -`,
        `- vrf: ${R2}, router: vrf/${R2}, networks: ${swC}, gateways: 198.18.160.1/24, externalAddress: -`,
        `- vrf: ${R3}, router: vrf/${R3}, networks: ${swD1} ${R3}/198.18.163.0/24, gateways: 198.18.162.1/24 198.18.163.1/24 fd00:198:18:162::1/64 fd00:198:18:163::1/64, externalAddress: -`,
      ]) {
        assert.ok(lines.includes(want), `status lacks the line\n  ${want}\n${out}`);
      }
    });

    await t.test('the last network of a VRF takes its router along', async () => {
      await Promise.all([a, b, c, e].map((ctr) => scope.removeContainer(ctr.name)));
      await scope.removeNetwork(netA.name);
      assert.deepEqual((await routerOf(R1)).ports.map((p) => p.name), [`gw/${swB}`], 'A\'s gateway port went with A, B\'s stays');
      await scope.removeNetwork(netB.name);
      assert.equal((await routerOf(R1)).router, undefined, `vrf/${R1} outlived its last routed network`);
      await scope.removeNetwork(netE.name);
      await scope.removeNetwork(netC.name);
      assert.equal((await routerOf(R2)).router, undefined, `vrf/${R2} outlived its only network`);
      assert.deepEqual(await leftovers([R1, R2]), NO_LEFTOVERS);
    });

    await t.test('networks of the previous release are routed when the daemon starts (Docker says which are internal)', async () => {
      await assertRouted(swU1, R4, ['198.18.168.1/24'], '0a:58:c6:12:a8:01');
      await assertUnrouted(swU2);
      await stopDriver();

      // What the previous release left: no router, no router-type port, no routing marks.
      const [u1, u2] = await Promise.all([switchNamed(swU1), switchNamed(swU2)]);
      assert.ok(u1 && u2);
      await run('ovn-nbctl', ['--timeout=10',
        'lr-del', `vrf/${R4}`,
        '--', 'lsp-del', `rtr/${swU1}`,
        // Map keys in OVSDB's string syntax: quoted, as they hold ':'.
        '--', 'remove', 'Logical_Switch', u1.uuid, 'external_ids', '"docker:internal"', '"ovn-driver:router"',
        '--', 'remove', 'Logical_Switch', u2.uuid, 'external_ids', '"docker:internal"',
      ]);
      assert.deepEqual(await leftovers([R4]), { ...NO_LEFTOVERS, switches: [swU1, swU2].sort() }, 'the previous release\'s state');
      for (const s of [await switchNamed(swU1), await switchNamed(swU2)]) {
        assert.equal(s?.externalIds['docker:internal'], undefined);
        assert.equal(s?.externalIds['ovn-driver:router'], undefined);
      }

      const restarted = await startDriver({ socketPath: SOCKET });
      driver = restarted;
      await waitFor(`gw/${swU1} back on vrf/${R4} and ${swU2} marked --internal`, async () => {
        const [lrp, sw2] = await Promise.all([routerOf(R4), switchNamed(swU2)]);
        return lrp.ports.some((p) => p.name === `gw/${swU1}`) && sw2?.externalIds['docker:internal'] === 'true' ? true : undefined;
      }, 30_000, 200);
      // This daemon did it, not another test's driver starting meanwhile.
      const said = restarted.output().split('\n');
      assert.ok(said.some((l) => l.includes('routed a network of the previous release') && l.includes(netU1.id)), `the restarted driver did not log routing ${netU1.id}`);
      assert.ok(said.some((l) => l.includes('as --internal') && l.includes(netU2.id)), `the restarted driver did not log ${netU2.id} as --internal`);
      await assertRouted(swU1, R4, ['198.18.168.1/24'], '0a:58:c6:12:a8:01');
      assert.deepEqual((await routerOf(R4)).ports.map((p) => p.name), [`gw/${swU1}`]);
      await assertUnrouted(swU2);

      const [c1, c2] = await Promise.all([
        scope.runContainer('u1', { network: netU1.name }),
        scope.runContainer('u2', { network: netU2.name }),
      ]);
      endpointIds.push((await scope.attachment(c1.name, netU1.name)).endpointId, (await scope.attachment(c2.name, netU2.name)).endpointId);
      assert.deepEqual(await defaultRoutes(scope, c1.name, 4), ['198.18.168.1'], `ip route in ${c1.name}:\n${await routes(scope, c1.name, 4)}`);
      const gw = await scope.ping(c1.name, '198.18.168.1', 1, 3);
      assert.equal(gw.code, 0, `${c1.name} cannot ping its gateway after the upgrade${explain(gw)}`);
      assert.deepEqual(await defaultRoutes(scope, c2.name, 4), [], `ip route in ${c2.name}:\n${await routes(scope, c2.name, 4)}`);
    });

    await removeDockerObjects();
    assert.deepEqual(await leftovers(VRFS), NO_LEFTOVERS, 'the driver left objects of the test\'s VRFs');
    assert.deepEqual(await objectsFor({ endpointIds, networkIds }), NOTHING, 'the driver left objects of the test\'s endpoints or networks');
  });
});
