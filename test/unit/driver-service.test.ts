// OvnDriver against in-memory databases (test/helpers/fake-db: real schemas, real replicas) and
// an in-memory netlink gateway: every retry and undo branch of service.ts, with the failures
// injected where a real server or kernel would produce them.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCreateEndpoint, parseCreateNetwork } from '../../src/driver/api';
import { isDriverError } from '../../src/driver/errors';
import { namedUuid } from '../../src/ovsdb/data';
import { cond, del, insert, mutate, strMap, update } from '../../src/ovsdb/operations';
import { EP, endpointReady, epReq, HOST, joinReq, NET, netReq, PEER, req, rig, TWIN } from '../helpers/driver-rig';
import type { FakeDb } from '../helpers/fake-db';

const SW = 'default/198.18.70.0/24';

/** The rows' names; of Logical_Switch_Port, the endpoints' (a routed switch's router-type port is the routing tests'). */
function names(db: FakeDb, table: string): string[] {
  return db.rows(table).filter((r) => table !== 'Logical_Switch_Port' || r['type'] !== 'router').map((r) => String(r['name'])).sort();
}

async function rejectsWith(p: Promise<unknown>, code: string, re: RegExp): Promise<Error> {
  try {
    await p;
  } catch (e) {
    assert.ok(isDriverError(e), `not a DriverError: ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    return e;
  }
  assert.fail(`did not fail (expected ${code})`);
}

// ---- CreateNetwork ----------------------------------------------------------------------------

test('CreateNetwork creates a marked switch; a retry sends nothing', async () => {
  const r = await rig();
  await r.driver.createNetwork(netReq());
  assert.deepEqual(names(r.nb, 'Logical_Switch'), [SW]);
  const sent = r.nb.sent.length;
  await r.driver.createNetwork(netReq());
  assert.equal(r.nb.sent.length, sent, 'the replica answered the retry');
});

test('CreateNetwork: a failed wait with the switch absent on the server runs the new plan', async () => {
  const r = await rig();
  // The wait fails (a switch of that name existed for a moment), but none is there now.
  r.nb.failNext({ code: 'OVSDB_TIMED_OUT', when: 'before', rfcError: 'timed out' });
  await r.driver.createNetwork(netReq());
  assert.deepEqual(names(r.nb, 'Logical_Switch'), [SW], 'the switch exists after success');
});

test('CreateNetwork: a failed wait with the same network of the previous release on the server is success, a different one CONFLICT', async () => {
  const r = await rig();
  // The switch committed, but the replica has not seen it yet: the plan's wait fails, the server decides.
  r.nb.lag(true);
  await r.nb.transact([insert('Logical_Switch', { name: NET, external_ids: strMap({ 'ovn-driver:owner': 'ovn-driver', 'docker:subnets': '198.18.70.0/24' }) })]);
  await r.driver.createNetwork(netReq());
  assert.equal(r.nb.rows('Logical_Switch').length, 1, 'no second switch');
  await rejectsWith(r.driver.createNetwork(netReq('198.18.71')), 'CONFLICT', /already exists with subnets "198.18.70.0\/24", not "198.18.71.0\/24"/);
  assert.equal(r.nb.rows('Logical_Switch').length, 1);
});

test('CreateNetwork: an unknown outcome says so, and the same request again succeeds', async () => {
  const r = await rig();
  r.nb.failNext({ code: 'OVSDB_UNKNOWN_OUTCOME', when: 'after' });
  const e = await rejectsWith(r.driver.createNetwork(netReq()), 'OUTCOME_UNKNOWN', /outcome is unknown: the logical switch may have been created/);
  assert.doesNotMatch(e.message, /nothing (was )?changed/);
  await r.driver.createNetwork(netReq());
  assert.deepEqual(names(r.nb, 'Logical_Switch'), [SW]);
});

test('DeleteNetwork removes the switch; gone is success; a foreign switch is CONFLICT', async () => {
  const r = await rig();
  await r.driver.createNetwork(netReq());
  await r.driver.deleteNetwork({ networkId: NET });
  assert.deepEqual(names(r.nb, 'Logical_Switch'), []);
  await r.driver.deleteNetwork({ networkId: NET });
  await r.nb.transact([insert('Logical_Switch', { name: NET })]);
  await rejectsWith(r.driver.deleteNetwork({ networkId: NET }), 'CONFLICT', /not created by the ovn driver/);
});

// ---- CreateEndpoint ---------------------------------------------------------------------------

test('CreateEndpoint: a port with a chosen MAC; a retry answers the same and sends nothing', async () => {
  const r = await rig();
  await r.driver.createNetwork(netReq());
  const first = await r.driver.createEndpoint(epReq());
  assert.equal(first.Interface?.MacAddress, '0a:58:c6:12:46:02');
  const sent = r.nb.sent.length;
  assert.deepEqual(await r.driver.createEndpoint(epReq()), first);
  assert.equal(r.nb.sent.length, sent + 1, 'one read of the switch from the server, no transaction');
});

test('CreateEndpoint: the port already on the server but not in the replica is a retry, not a failure', async () => {
  const r = await rig();
  await r.driver.createNetwork(netReq());
  r.nb.lag(true);
  const first = await r.driver.createEndpoint(epReq());
  // The replica still lacks it: the insert hits the unique name, and the server's copy decides.
  assert.deepEqual(await r.driver.createEndpoint(epReq()), first);
  assert.deepEqual(names(r.nb, 'Logical_Switch_Port'), [EP]);
});

test('CreateEndpoint: the switch gone from the server is NOT_FOUND', async () => {
  const r = await rig();
  await r.driver.createNetwork(netReq());
  r.nb.lag(true);
  await r.nb.transact([del('Logical_Switch', [cond('name', '==', SW)])]);
  await rejectsWith(r.driver.createEndpoint(epReq()), 'NOT_FOUND', /has no logical switch in OVN/);
  assert.deepEqual(names(r.nb, 'Logical_Switch_Port'), []);
});

test('CreateEndpoint: an unknown outcome says so; the same request again finds the port', async () => {
  const r = await rig();
  await r.driver.createNetwork(netReq());
  r.nb.failNext({ code: 'OVSDB_UNKNOWN_OUTCOME', when: 'after' });
  await rejectsWith(r.driver.createEndpoint(epReq()), 'OUTCOME_UNKNOWN', /outcome is unknown: the logical switch port may have been created; Docker's retry/);
  const again = await r.driver.createEndpoint(epReq());
  assert.equal(again.Interface?.MacAddress, '0a:58:c6:12:46:02');
  assert.deepEqual(names(r.nb, 'Logical_Switch_Port'), [EP]);
});

// ---- Join / Leave ------------------------------------------------------------------------------

test('Join makes the veth pair and the OVS port; without ovn-installed it answers after the wait and warns', async () => {
  const r = await rig();
  await endpointReady(r);
  const j = await r.driver.join(joinReq());
  // The network is routed: its gateway is the container's default route.
  assert.deepEqual(j.response, { InterfaceName: { SrcName: PEER, DstPrefix: 'eth' }, Gateway: '198.18.70.1', DisableGatewayService: true });
  assert.equal(j.ready, false);
  assert.match(r.warnings.join('\n'), /did not set ovn-installed/);
  assert.equal(r.links.links.get(PEER)?.mac, '0a:58:c6:12:46:02');
  assert.deepEqual(names(r.ovs, 'Port'), [HOST]);
  assert.equal(r.ovs.rows('Interface')[0]?.['external_ids'] instanceof Map, true);
});

test('Join waits for ovn-installed and reports it', async () => {
  const r = await rig({ readyTimeoutMs: 5000 });
  await endpointReady(r);
  // Plays ovn-controller: marks the interface installed once it appears.
  const installed = new Promise<void>((resolve) => {
    const tick = (): void => {
      if (r.ovs.rows('Interface').some((i) => i['name'] === HOST)) {
        void r.ovs.transact([update('Interface', [cond('name', '==', HOST)], { external_ids: strMap({ 'iface-id': EP, 'ovn-installed': 'true' }) })]).then(() => resolve());
      } else setImmediate(tick);
    };
    tick();
  });
  const j = await r.driver.join(joinReq());
  await installed;
  assert.equal(j.ready, true);
});

test('Join: a veth left by a crash (EEXIST) is read and replaced', async () => {
  const r = await rig();
  await endpointReady(r);
  r.links.add(HOST, { mac: '02:00:00:00:00:09' }, PEER);
  r.links.add(PEER, { mac: '02:00:00:00:00:09' }, HOST);
  await r.driver.join(joinReq());
  assert.deepEqual(r.links.calls.filter((c) => !c.startsWith('getLink')), [`createVethPair ${HOST}`, `deleteLink ${HOST}`, `deleteLink ${PEER}`, `createVethPair ${HOST}`]);
  assert.equal(r.links.links.get(PEER)?.mac, '0a:58:c6:12:46:02');
  assert.deepEqual(names(r.ovs, 'Port'), [HOST]);
});

test('Join: the port on the server but not in the replica: the insert clashes, the veth is undone, the retry reuses the port', async () => {
  const r = await rig();
  await endpointReady(r);
  // What an earlier attempt committed and the replica has not seen yet: the endpoint's own port.
  r.ovs.lag(true);
  await r.ovs.transact([
    insert('Interface', { name: HOST, external_ids: strMap({ 'iface-id': EP, 'attached-mac': '0a:58:c6:12:46:02', 'ovn-driver:owner': 'ovn-driver' }) }, 'i'),
    insert('Port', { name: HOST, interfaces: [namedUuid('i')], external_ids: strMap({ 'ovn-driver:owner': 'ovn-driver', 'docker:endpoint-id': EP }) }, 'p'),
    mutate('Bridge', [cond('name', '==', 'br-int')], [['ports', 'insert', [namedUuid('p')]]]),
  ]);
  const portUuid = String(r.ovs.rows('Port')[0]?.['_uuid']);
  await r.driver.join(joinReq());
  assert.deepEqual(r.ovs.rows('Port').map((p) => String(p['_uuid'])), [portUuid], 'the right port was reused');
  assert.deepEqual(r.links.calls.filter((c) => !c.startsWith('getLink')), [`createVethPair ${HOST}`, `deleteLink ${HOST}`, `createVethPair ${HOST}`]);
  assert.ok(r.links.links.has(HOST) && r.links.links.has(PEER));
});

test('Join: an OVS transaction the server refused undoes the veth and says nothing changed', async () => {
  const r = await rig();
  await endpointReady(r);
  r.ovs.failNext({ code: 'OVSDB_REFERENTIAL_INTEGRITY', when: 'before', rfcError: 'referential integrity violation' });
  await rejectsWith(r.driver.join(joinReq()), 'DATABASE_ERROR', /the veth was removed again, the database changed nothing/);
  assert.equal(r.links.links.size, 0);
  assert.deepEqual(names(r.ovs, 'Port'), []);
});

test('Join: an OVS transaction whose reply was lost says the outcome is unknown; the same Join then succeeds', async () => {
  const r = await rig();
  await endpointReady(r);
  r.ovs.failNext({ code: 'OVSDB_UNKNOWN_OUTCOME', when: 'after', table: 'Port' });
  const e = await rejectsWith(r.driver.join(joinReq()), 'OUTCOME_UNKNOWN', /outcome is unknown: the OVS port ovn1b2c3d4e5f60 may have been added \(the veth was removed again\)/);
  assert.doesNotMatch(e.message, /changed nothing|nothing was changed/);
  assert.deepEqual(names(r.ovs, 'Port'), [HOST], 'it was in fact committed: a port without its veth');
  assert.equal(r.links.links.size, 0);
  await r.driver.join(joinReq());
  assert.deepEqual(names(r.ovs, 'Port'), [HOST]);
  assert.ok(r.links.links.has(HOST) && r.links.links.has(PEER));
});

test('Join: a link step that fails other than EEXIST is LINK_ERROR', async () => {
  const r = await rig();
  await endpointReady(r);
  r.links.fail(`createVethPair ${HOST}`, 'EPERM');
  await rejectsWith(r.driver.join(joinReq()), 'LINK_ERROR', /step "create veth pair ovn1b2c3d4e5f60\/ovc1b2c3d4e5f60" failed/);
  assert.deepEqual(names(r.ovs, 'Port'), []);
});

test('Join: no logical port is NOT_FOUND, no integration bridge HOST_NOT_READY', async () => {
  const r = await rig();
  await r.driver.createNetwork(netReq());
  await rejectsWith(r.driver.join(joinReq()), 'NOT_FOUND', /has no logical switch port/);
  await r.driver.createEndpoint(epReq());
  await r.ovs.transact([del('Bridge', [])]);
  await rejectsWith(r.driver.join(joinReq()), 'HOST_NOT_READY', /integration bridge "br-int" does not exist/);
  assert.equal(r.links.links.size, 0);
});

test('Leave removes the OVS port, then the veth; a second Leave has nothing to do', async () => {
  const r = await rig();
  await endpointReady(r);
  await r.driver.join(joinReq());
  await r.driver.leave(req());
  assert.deepEqual(names(r.ovs, 'Port'), []);
  assert.equal(r.links.links.size, 0);
  const sent = r.ovs.sent.length;
  await r.driver.leave(req());
  assert.equal(r.ovs.sent.length, sent + 1, 'only the server read that confirms the miss');
});

test('DeleteEndpoint after a crash that skipped Leave removes the port, the veth and the logical port', async () => {
  const r = await rig();
  await endpointReady(r);
  await r.driver.join(joinReq());
  await r.driver.deleteEndpoint(req());
  assert.deepEqual(names(r.ovs, 'Port'), []);
  assert.equal(r.links.links.size, 0);
  assert.deepEqual(names(r.nb, 'Logical_Switch_Port'), []);
  await r.driver.deleteEndpoint(req());
});

// ---- veth name clashes ---------------------------------------------------------------------

test('two endpoints whose ids share 12 hex digits: the second Join is CONFLICT and the first keeps its port and veth', async () => {
  const r = await rig();
  await endpointReady(r);
  await r.driver.join(joinReq());
  const port = String(r.ovs.rows('Port')[0]?.['_uuid']);
  const veth = r.links.links.get(HOST)?.index;
  await r.driver.createEndpoint(epReq(TWIN, 3));
  await rejectsWith(r.driver.join(joinReq(TWIN)), 'CONFLICT', new RegExp(`taken by the OVS port of endpoint "${EP}", whose id starts with the same 12 hex digits`));
  await rejectsWith(r.driver.leave(req(TWIN)), 'CONFLICT', new RegExp(`belongs to the OVS port of endpoint "${EP}"`));
  await r.driver.deleteEndpoint(req(TWIN));
  assert.deepEqual(r.ovs.rows('Port').map((p) => String(p['_uuid'])), [port]);
  assert.equal(r.links.links.get(HOST)?.index, veth, 'the same veth, never deleted');
  assert.deepEqual(names(r.nb, 'Logical_Switch_Port'), [EP]);
});

test('a clash is found also when the replica has not seen the other endpoint\'s port yet', async () => {
  const r = await rig();
  await endpointReady(r);
  r.ovs.lag(true);
  await r.driver.join(joinReq());
  await r.driver.createEndpoint(epReq(TWIN, 3));
  const veth = r.links.links.get(HOST)?.index;
  await rejectsWith(r.driver.join(joinReq(TWIN)), 'CONFLICT', /whose id starts with the same 12 hex digits/);
  await r.driver.deleteEndpoint(req(TWIN));
  assert.equal(r.links.links.get(HOST)?.index, veth);
  assert.deepEqual(names(r.ovs, 'Port'), [HOST]);
});

// ---- external connectivity, oper info --------------------------------------------------------

test('Program/RevokeExternalConnectivity and EndpointOperInfo: NOT_FOUND for an endpoint that does not exist', async () => {
  const r = await rig();
  await r.driver.createNetwork(netReq());
  await rejectsWith(r.driver.programExternalConnectivity({ ...req(), portMap: [] }), 'NOT_FOUND', /failed to program external connectivity for endpoint "1b2c.*": it has no logical switch port/);
  await rejectsWith(r.driver.revokeExternalConnectivity(req()), 'NOT_FOUND', /failed to revoke external connectivity of endpoint/);
  await rejectsWith(r.driver.endpointOperInfo(req()), 'NOT_FOUND', /failed to read endpoint/);
  await r.driver.createEndpoint(epReq());
  assert.deepEqual(await r.driver.programExternalConnectivity({ ...req(), portMap: [] }), {});
  assert.deepEqual(await r.driver.revokeExternalConnectivity(req()), {});
  assert.equal((await r.driver.endpointOperInfo(req())).Value['ovn.logical_port'], EP);
});

// ---- IPv6 only ----------------------------------------------------------------------------

test('Docker 28 IPv6-only network: CreateNetwork, CreateEndpoint without IPv4 and Join work', async () => {
  const r = await rig();
  await r.driver.createNetwork(parseCreateNetwork({
    NetworkID: NET,
    Options: { 'com.docker.network.enable_ipv4': false, 'com.docker.network.enable_ipv6': true, 'com.docker.network.generic': {} },
    IPv4Data: [],
    IPv6Data: [{ Pool: 'fd00:198:18:72::/64', Gateway: 'fd00:198:18:72::1/64' }],
  }));
  const sw = r.nb.rows('Logical_Switch')[0];
  assert.equal((sw?.['external_ids'] as Map<string, string>).get('docker:subnets'), 'fd00:198:18:72::/64');
  const ep = await r.driver.createEndpoint(parseCreateEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: '', AddressIPv6: 'fd00:198:18:72::2/64' } }));
  const mac = ep.Interface?.MacAddress ?? '';
  assert.match(mac, /^02:1b:2c:3d:4e:5f$/);
  assert.deepEqual(r.nb.rows('Logical_Switch_Port').find((p) => p['name'] === EP)?.['addresses'], [`${mac} fd00:198:18:72::2`]);
  await r.driver.join(joinReq());
  assert.equal(r.links.links.get(PEER)?.mac, mac);
});
