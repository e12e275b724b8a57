// OvnDriver in-process against real, private ovsdb-servers (an OVN Northbound and an
// Open_vSwitch database made for the test) and real kernel links: the lifecycle, idempotent
// retries, leftovers from a crashed attempt, the wait for ovn-installed, undo when the OVS
// transaction fails, and an unreachable Northbound. ovn-controller's part (setting
// ovn-installed) is played by the test through the same database, which is what it watches.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { parseCreateEndpoint, parseCreateNetwork, parseEndpointRequest, parseJoin } from '../../src/driver/api';
import { DriverError } from '../../src/driver/errors';
import { nbMonitor, OVS_MONITOR } from '../../src/driver/monitors';
import { OvnDriver } from '../../src/driver/service';
import { openLinks } from '../../src/netlink';
import type { Links } from '../../src/netlink';
import { OvsdbClient } from '../../src/ovsdb/client';
import { namedUuid } from '../../src/ovsdb/data';
import { cond, insert, mutate, select, strMap, update } from '../../src/ovsdb/operations';
import { NB_SCHEMA, startStandalone, StandaloneServer, VSWITCH_SCHEMA, withCleanup, Defer } from '../helpers/ovsdb-server';

const CHASSIS = 'chassis-under-test';

interface Rig {
  nbServer: StandaloneServer;
  ovsServer: StandaloneServer;
  nb: OvsdbClient;
  ovs: OvsdbClient;
  links: Links;
  driver: OvnDriver;
  warnings: string[];
}

const hex = (): string => randomBytes(32).toString('hex');
/** The switch of netReq's network (VRF default, 198.18.70.0/24), whatever its network id. */
const SW = 'default/198.18.70.0/24';

async function rig(defer: Defer, opts: { readyTimeoutMs?: number; dbTimeoutMs?: number; datapathType?: string; wrapLinks?: (real: Links) => Links } = {}): Promise<Rig> {
  const nbServer = await startStandalone(NB_SCHEMA);
  defer(() => nbServer.close());
  const ovsServer = await startStandalone(VSWITCH_SCHEMA);
  defer(() => ovsServer.close());
  const fast = { backoff: { minMs: 50, maxMs: 200 }, requestTimeoutMs: opts.dbTimeoutMs ?? 5000 };
  const nb = new OvsdbClient({ remotes: nbServer.remote, database: 'OVN_Northbound', monitor: nbMonitor(CHASSIS), ...fast });
  defer(() => nb.close());
  const ovs = new OvsdbClient({ remotes: ovsServer.remote, database: 'Open_vSwitch', monitor: OVS_MONITOR, ...fast });
  defer(() => ovs.close());
  await Promise.all([nb.connect(), ovs.connect()]);
  await ovs.transact([
    insert('Bridge', { name: 'br-int', ...(opts.datapathType === undefined ? {} : { datapath_type: opts.datapathType }) }, 'br'),
    insert('Open_vSwitch', { bridges: [namedUuid('br')], external_ids: strMap({ 'system-id': CHASSIS }) }),
  ]);
  const links = openLinks();
  defer(() => links.close());
  const warnings: string[] = [];
  const logger = { error: (m: string): number => warnings.push(m), warn: (m: string): number => warnings.push(m), info(): void {}, debug(): void {} };
  const driver = new OvnDriver({
    nb, nbRemotes: nbServer.remote, ovs, ovsRemotes: ovsServer.remote, links: opts.wrapLinks ? opts.wrapLinks(links) : links, logger,
    config: { bridge: 'br-int', mtu: 1442, readyTimeoutMs: opts.readyTimeoutMs ?? 10_000, dbTimeoutMs: opts.dbTimeoutMs ?? 5000 },
  });
  return { nbServer, ovsServer, nb, ovs, links, driver, warnings };
}

function netReq(networkId: string, mtu?: string): ReturnType<typeof parseCreateNetwork> {
  return parseCreateNetwork({
    NetworkID: networkId,
    Options: { 'com.docker.network.generic': mtu === undefined ? {} : { mtu } },
    IPv4Data: [{ Pool: '198.18.70.0/24', Gateway: '198.18.70.1/24' }],
    IPv6Data: [{ Pool: 'fd00:198:18:70::/64', Gateway: 'fd00:198:18:70::1/64' }],
  });
}

const epReq = (networkId: string, endpointId: string, n: number, mac = ''): ReturnType<typeof parseCreateEndpoint> =>
  parseCreateEndpoint({ NetworkID: networkId, EndpointID: endpointId, Interface: { Address: `198.18.70.${n}/24`, AddressIPv6: `fd00:198:18:70::${n}/64`, MacAddress: mac } });
const joinReq = (networkId: string, endpointId: string): ReturnType<typeof parseJoin> =>
  parseJoin({ NetworkID: networkId, EndpointID: endpointId, SandboxKey: '/var/run/docker/netns/0123456789ab', Options: {} });
const req = (networkId: string, endpointId: string): ReturnType<typeof parseEndpointRequest> => parseEndpointRequest('Leave', { NetworkID: networkId, EndpointID: endpointId });

async function count(client: OvsdbClient, table: string, column: string, value: string): Promise<number> {
  const [r] = await client.transact([select(table, [cond(column, '==', value)], ['name'])]);
  return r?.rows?.length ?? 0;
}

/** Plays ovn-controller: marks the endpoint's Interface installed once it appears. */
async function markInstalled(r: Rig, ifaceName: string): Promise<void> {
  for (let i = 0; i < 500; i++) {
    const [res] = await r.ovs.transact([mutate('Interface', [cond('name', '==', ifaceName)], [['external_ids', 'insert', strMap({ 'ovn-installed': 'true' })]])]);
    if ((res?.count ?? 0) > 0) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`interface ${ifaceName} never appeared`);
}

test('lifecycle: every call twice succeeds, nothing is duplicated, nothing is left', async () => {
  await withCleanup(async (defer) => {
    const r = await rig(defer);
    const net = hex();
    const ep = hex();
    const host = `ovn${ep.slice(0, 12)}`;
    const peer = `ovc${ep.slice(0, 12)}`;
    defer(() => r.links.deleteLink(host));

    await r.driver.createNetwork(netReq(net, '1400'));
    await r.driver.createNetwork(netReq(net, '1400'));
    assert.equal(await count(r.nb, 'Logical_Switch', 'name', SW), 1);

    const first = await r.driver.createEndpoint(epReq(net, ep, 5));
    const second = await r.driver.createEndpoint(epReq(net, ep, 5));
    assert.deepEqual(first, { Interface: { MacAddress: '0a:58:c6:12:46:05' } });
    assert.deepEqual(second, first);
    assert.equal(await count(r.nb, 'Logical_Switch_Port', 'name', ep), 1);
    const [lsp] = await r.nb.transact([select('Logical_Switch_Port', [cond('name', '==', ep)])]);
    assert.deepEqual(lsp?.rows?.[0]?.['addresses'], '0a:58:c6:12:46:05 198.18.70.5 fd00:198:18:70::5');
    assert.equal(lsp?.rows?.[0]?.['options'] instanceof Map && lsp.rows[0]['options'].get('requested-chassis'), CHASSIS);

    // Join returns only once "ovn-controller" has set ovn-installed.
    let joined = false;
    const joining = r.driver.join(joinReq(net, ep)).then((res) => {
      joined = true;
      return res;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    assert.equal(joined, false, 'Join answered before ovn-installed');
    await markInstalled(r, host);
    const j = await joining;
    assert.equal(j.ready, true);
    // Routed by its VRF's router: the gateways are the container's default routes.
    assert.deepEqual(j.response, { InterfaceName: { SrcName: peer, DstPrefix: 'eth' }, Gateway: '198.18.70.1', GatewayIPv6: 'fd00:198:18:70::1', DisableGatewayService: true });
    const hostLink = await r.links.getLink(host);
    const peerLink = await r.links.getLink(peer);
    assert.equal(peerLink?.mac, '0a:58:c6:12:46:05');
    assert.equal(peerLink?.mtu, 1400);
    assert.equal(hostLink?.mtu, 1400);

    // Join again (Docker retried): the same veth and port are reused.
    const again = await r.driver.join(joinReq(net, ep));
    assert.equal(again.ready, true);
    assert.equal((await r.links.getLink(host))?.index, hostLink?.index);
    assert.equal(await count(r.ovs, 'Port', 'name', host), 1);

    const info = await r.driver.endpointOperInfo(req(net, ep));
    assert.equal(info.Value['ovn.logical_port'], ep);
    assert.equal(info.Value['ovn.host_interface'], host);
    assert.equal(info.Value['ovn.mac_address'], '0a:58:c6:12:46:05');
    assert.equal(info.Value['ovn.addresses'], '198.18.70.5,fd00:198:18:70::5');
    assert.equal(info.Value['ovn.chassis'], CHASSIS);
    assert.equal(info.Value['ovn.installed'], true);
    const view = r.driver.describe();
    assert.equal(JSON.stringify(view).includes(ep), true);

    await r.driver.leave(req(net, ep));
    await r.driver.leave(req(net, ep));
    assert.equal(await r.links.getLink(host), undefined);
    assert.equal(await count(r.ovs, 'Port', 'name', host), 0);
    assert.equal(await count(r.ovs, 'Interface', 'name', host), 0);
    await r.driver.deleteEndpoint(req(net, ep));
    await r.driver.deleteEndpoint(req(net, ep));
    assert.equal(await count(r.nb, 'Logical_Switch_Port', 'name', ep), 0);
    await r.driver.deleteNetwork({ networkId: net });
    await r.driver.deleteNetwork({ networkId: net });
    assert.equal(await count(r.nb, 'Logical_Switch', 'name', SW), 0);
    await assert.rejects(r.driver.endpointOperInfo(req(net, ep)), (e: unknown) => e instanceof DriverError && e.code === 'NOT_FOUND');
    assert.deepEqual(r.warnings, []);
  });
});

test('Join past the readiness timeout answers anyway and warns', async () => {
  await withCleanup(async (defer) => {
    const r = await rig(defer, { readyTimeoutMs: 200 });
    const net = hex();
    const ep = hex();
    defer(() => r.links.deleteLink(`ovn${ep.slice(0, 12)}`));
    await r.driver.createNetwork(netReq(net));
    await r.driver.createEndpoint(epReq(net, ep, 6));
    const j = await r.driver.join(joinReq(net, ep));
    assert.equal(j.ready, false);
    assert.ok(j.readyWaitMs >= 200);
    assert.match(r.warnings.join('\n'), /did not set ovn-installed on ovn[0-9a-f]{12} within 200 ms/);
    // Default MTU when the network sets none.
    assert.equal((await r.links.getLink(`ovc${ep.slice(0, 12)}`))?.mtu, 1442);
    await r.driver.leave(req(net, ep));
    await r.driver.deleteEndpoint(req(net, ep));
    await r.driver.deleteNetwork({ networkId: net });
  });
});

/**
 * What a Join cut short by a crash leaves: a network, an endpoint (MAC `mac`, address number
 * `n`) and the endpoint's veth pair, its container end carrying `leftMac`.
 */
async function crashedJoin(defer: Defer, n: number, mac: string, leftMac: string): Promise<{ r: Rig; net: string; ep: string; host: string; peer: string }> {
  const r = await rig(defer, { readyTimeoutMs: 5000 });
  const net = hex();
  const ep = hex();
  const host = `ovn${ep.slice(0, 12)}`;
  const peer = `ovc${ep.slice(0, 12)}`;
  defer(() => r.links.deleteLink(host));
  await r.driver.createNetwork(netReq(net));
  await r.driver.createEndpoint(epReq(net, ep, n, mac));
  await r.links.createVethPair({ name: host, peerName: peer, peerMac: leftMac, mtu: 1442 });
  return { r, net, ep, host, peer };
}

test('Join after a crash: a veth left with the wrong MAC is replaced; an OVS port left behind is reused', async () => {
  await withCleanup(async (defer) => {
    const { r, net, ep, host, peer } = await crashedJoin(defer, 7, '02:42:c6:12:46:07', '02:00:00:00:00:01');
    const ready = markInstalled(r, host);
    const j = await r.driver.join(joinReq(net, ep));
    await ready;
    assert.equal((await r.links.getLink(peer))?.mac, '02:42:c6:12:46:07');
    // The daemon died after the OVS transaction: the veth is gone, the port stays. Join again.
    await r.links.deleteLink(host);
    const j2 = await r.driver.join(joinReq(net, ep));
    assert.deepEqual(j2.response, j.response);
    assert.equal(await count(r.ovs, 'Port', 'name', host), 1);
    assert.equal((await r.links.getLink(peer))?.mac, '02:42:c6:12:46:07');
    // DeleteEndpoint without Leave (Docker crashed too) still removes the local port and veth.
    await r.driver.deleteEndpoint(req(net, ep));
    assert.equal(await r.links.getLink(host), undefined);
    assert.equal(await count(r.ovs, 'Port', 'name', host), 0);
    await r.driver.deleteNetwork({ networkId: net });
  });
});

test('Join after a crash between the veth and the OVS transaction: a veth left as needed is reused, not recreated', async () => {
  await withCleanup(async (defer) => {
    // No OVS port, so Join takes the veth as absent; its create meets EEXIST and Join reads the links.
    const { r, net, ep, host } = await crashedJoin(defer, 9, '02:42:c6:12:46:09', '02:42:c6:12:46:09');
    const before = await r.links.getLink(host);
    const ready = markInstalled(r, host);
    const j = await r.driver.join(joinReq(net, ep));
    await ready;
    assert.equal(j.ready, true);
    assert.equal((await r.links.getLink(host))?.index, before?.index);
    assert.equal(await count(r.ovs, 'Port', 'name', host), 1);
    await r.driver.leave(req(net, ep));
    assert.equal(await r.links.getLink(host), undefined);
    await r.driver.deleteEndpoint(req(net, ep));
    await r.driver.deleteNetwork({ networkId: net });
  });
});

test('an OVS transaction that gets no reply undoes the veth, and the error says which step failed and that its outcome is unknown', async () => {
  await withCleanup(async (defer) => {
    const r = await rig(defer, { dbTimeoutMs: 400 });
    const net = hex();
    const ep = hex();
    const host = `ovn${ep.slice(0, 12)}`;
    defer(() => r.links.deleteLink(host));
    await r.driver.createNetwork(netReq(net));
    await r.driver.createEndpoint(epReq(net, ep, 8));
    // The local ovsdb-server hangs: the transaction gets no answer within --db-timeout.
    r.ovsServer.server.pause();
    defer(() => r.ovsServer.server.resume());
    await assert.rejects(r.driver.join(joinReq(net, ep)), (e: unknown) => {
      assert.ok(e instanceof DriverError);
      // Sent and unanswered: it may have been applied, so the error never says "nothing changed".
      assert.equal(e.code, 'OUTCOME_UNKNOWN');
      assert.match(e.message, /^failed to join endpoint "[0-9a-f]{64}": failed to add OVS port "ovn[0-9a-f]{12}": /);
      assert.match(e.message, /the outcome is unknown: the OVS port ovn[0-9a-f]{12} may have been added \(the veth was removed again\)/);
      assert.doesNotMatch(e.message, /nothing (was )?changed/);
      return true;
    });
    assert.equal(await r.links.getLink(host), undefined);
    assert.equal(await r.links.getLink(`ovc${ep.slice(0, 12)}`), undefined);
  });
});

/** Joins `ep` on `net` as "ovn-controller" marks it installed. */
async function joinInstalled(r: Rig, net: string, ep: string): Promise<void> {
  const joining = r.driver.join(joinReq(net, ep));
  await markInstalled(r, `ovn${ep.slice(0, 12)}`);
  assert.equal((await joining).ready, true);
}

test('Join turns TX checksum offload off on the container end once the bridge uses the userspace (netdev) datapath', async () => {
  await withCleanup(async (defer) => {
    const r = await rig(defer);
    const net = hex();
    const [kernelEp, userspaceEp] = [hex(), hex()];
    for (const ep of [kernelEp, userspaceEp]) defer(() => r.links.deleteLink(`ovn${ep.slice(0, 12)}`));
    await r.driver.createNetwork(netReq(net));
    await r.driver.createEndpoint(epReq(net, kernelEp, 10));
    await r.driver.createEndpoint(epReq(net, userspaceEp, 11));

    // datapath_type empty (the kernel datapath): the kernel's defaults are kept.
    await joinInstalled(r, net, kernelEp);
    assert.ok((await r.links.getLinkFeatures(`ovc${kernelEp.slice(0, 12)}`)).has('tx-checksum-ip-generic'));

    // Changed in the database: the driver's replica sees it, the next Join acts on it.
    await r.ovs.transact([update('Bridge', [cond('name', '==', 'br-int')], { datapath_type: 'netdev' })]);
    await joinInstalled(r, net, userspaceEp);
    const features = await r.links.getLinkFeatures(`ovc${userspaceEp.slice(0, 12)}`);
    for (const feature of ['tx-checksum-ip-generic', 'tx-checksum-sctp', 'tx-tcp-segmentation']) assert.ok(!features.has(feature), `${feature} still on`);
    assert.ok((await r.links.getLinkFeatures(`ovn${userspaceEp.slice(0, 12)}`)).has('tx-checksum-ip-generic'), 'the host end keeps its offload');
  });
});

test('Join on netdev where TX checksum offload cannot be turned off: LINK_ERROR, the veth removed, no OVS port', async () => {
  await withCleanup(async (defer) => {
    // A kernel without the ethtool netlink family (before 5.6) whose SIOCETHTOOL addon is missing:
    // a real gateway forced onto the ioctl path, with an addon file that does not exist.
    const missingAddon = openLinks({ ethtool: 'ioctl', ethtoolAddonPath: `/nonexistent/ovn-driver-${hex().slice(0, 8)}/ethtool.node` });
    defer(async () => missingAddon.close());
    const r = await rig(defer, {
      datapathType: 'netdev',
      wrapLinks: (real) => ({
        createVethPair: (o) => real.createVethPair(o), deleteLink: (n) => real.deleteLink(n), getLink: (n) => real.getLink(n),
        listLinks: () => real.listLinks(), setLinkNetns: (n, t) => real.setLinkNetns(n, t), setLinkUp: (n) => real.setLinkUp(n),
        setLinkMtu: (n, m) => real.setLinkMtu(n, m), setLinkMac: (n, m) => real.setLinkMac(n, m), getLinkFeatures: (n) => real.getLinkFeatures(n),
        getLinkTxChecksum: (n) => real.getLinkTxChecksum(n), txChecksumMechanism: () => real.txChecksumMechanism(),
        setLinkTxChecksumOff: (n) => missingAddon.setLinkTxChecksumOff(n),
        close: () => real.close(),
      }),
    });
    const net = hex();
    const ep = hex();
    const host = `ovn${ep.slice(0, 12)}`;
    defer(() => r.links.deleteLink(host));
    await r.driver.createNetwork(netReq(net));
    await r.driver.createEndpoint(epReq(net, ep, 12));
    await assert.rejects(r.driver.join(joinReq(net, ep)), (e: unknown) => {
      assert.ok(e instanceof DriverError);
      assert.equal(e.code, 'LINK_ERROR');
      assert.match(e.message, /^failed to join endpoint "[0-9a-f]{64}": step "turn off TX checksum offload of ovc[0-9a-f]{12}" failed: .*SIOCETHTOOL addon.*could not be loaded from \/nonexistent\/.*reinstall ovn-driver, or run Linux 5\.6 or newer.*userspace \(netdev\) datapath.*ovn-driver doctor.*; the veth was removed again$/);
      return true;
    });
    assert.equal(await r.links.getLink(host), undefined);
    assert.equal(await r.links.getLink(`ovc${ep.slice(0, 12)}`), undefined);
    assert.equal(await count(r.ovs, 'Port', 'name', host), 0);
  });
});

test('an unreachable Northbound: the call fails after --db-timeout naming the database, and nothing changes', async () => {
  await withCleanup(async (defer) => {
    const r = await rig(defer, { dbTimeoutMs: 300 });
    const net = hex();
    await r.nbServer.server.kill();
    await assert.rejects(r.driver.createNetwork(netReq(net)), (e: unknown) => {
      assert.ok(e instanceof DriverError);
      assert.equal(e.code, 'DATABASE_UNAVAILABLE');
      assert.match(e.message, /the Northbound database \(unix:[^)]*\) is unreachable/);
      assert.match(e.message, /ovn-northd are running and that Open_vSwitch external_ids:ovn-nb points at it \(ovn-driver doctor\)/);
      return true;
    });
    await r.nbServer.server.start();
    await r.nb.connect();
    assert.equal(await count(r.nb, 'Logical_Switch', 'name', SW), 0);
    // And once it is back, the same call succeeds.
    await r.driver.createNetwork(netReq(net));
    assert.equal(await count(r.nb, 'Logical_Switch', 'name', SW), 1);
  });
});

test('unknown network or endpoint, foreign switches: clear errors, nothing touched', async () => {
  await withCleanup(async (defer) => {
    const r = await rig(defer, { readyTimeoutMs: 100 });
    const net = hex();
    const ep = hex();
    await assert.rejects(r.driver.createEndpoint(epReq(net, ep, 9)), (e: unknown) => e instanceof DriverError && e.code === 'NOT_FOUND' && /has no logical switch in OVN/.test(e.message));
    await assert.rejects(r.driver.join(joinReq(net, ep)), (e: unknown) => e instanceof DriverError && e.code === 'NOT_FOUND');
    assert.equal(await r.links.getLink(`ovn${ep.slice(0, 12)}`), undefined);
    // A switch another tool made under that name is never deleted or adopted.
    await r.nb.transact([insert('Logical_Switch', { name: net })]);
    await assert.rejects(r.driver.deleteNetwork({ networkId: net }), (e: unknown) => e instanceof DriverError && e.code === 'CONFLICT');
    await assert.rejects(r.driver.createNetwork(netReq(net)), (e: unknown) => e instanceof DriverError && e.code === 'CONFLICT');
    await assert.rejects(r.driver.createEndpoint(epReq(net, ep, 9)), (e: unknown) => e instanceof DriverError && e.code === 'NOT_FOUND');
    assert.equal(await count(r.nb, 'Logical_Switch', 'name', net), 1);
    assert.equal(await count(r.nb, 'Logical_Switch_Port', 'name', ep), 0);
  });
});

test('20 endpoints started in parallel: all succeed with their own veth and port', async () => {
  await withCleanup(async (defer) => {
    const r = await rig(defer, { readyTimeoutMs: 5000 });
    const net = hex();
    await r.driver.createNetwork(netReq(net));
    const eps = Array.from({ length: 20 }, hex);
    for (const ep of eps) defer(() => r.links.deleteLink(`ovn${ep.slice(0, 12)}`));
    await Promise.all(eps.map(async (ep, i) => {
      await r.driver.createEndpoint(epReq(net, ep, 10 + i));
      const ready = markInstalled(r, `ovn${ep.slice(0, 12)}`);
      const j = await r.driver.join(joinReq(net, ep));
      await ready;
      assert.equal(j.ready, true);
    }));
    const [sw] = await r.nb.transact([select('Logical_Switch', [cond('name', '==', SW)], ['ports'])]);
    const ports = sw?.rows?.[0]?.['ports'];
    // The 20 endpoints' and the router-type port facing the VRF's router.
    assert.equal(Array.isArray(ports) ? ports.length : -1, 21);
    const macs = await Promise.all(eps.map(async (ep) => (await r.links.getLink(`ovc${ep.slice(0, 12)}`))?.mac));
    assert.equal(new Set(macs).size, 20);
    await Promise.all(eps.map(async (ep) => {
      await r.driver.leave(req(net, ep));
      await r.driver.deleteEndpoint(req(net, ep));
    }));
    await r.driver.deleteNetwork({ networkId: net });
    assert.equal(await count(r.nb, 'Logical_Switch', 'name', SW), 0);
  });
});
