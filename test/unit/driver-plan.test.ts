// The planners without servers: which OVSDB operations and link steps each request becomes,
// given what the databases hold. The operations are checked as the wire JSON they will be.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCreateEndpoint, parseCreateNetwork, parseEndpointRequest } from '../../src/driver/api';
import { DriverError } from '../../src/driver/errors';
import { planCreateEndpoint, planDeleteEndpoint } from '../../src/driver/plan-endpoint';
import { JoinState, planJoin, planLeave } from '../../src/driver/plan-join';
import { networkSwitchName, planCreateNetwork, planDeleteNetwork } from '../../src/driver/plan-network';
import { sharedSwitchName } from '../../src/driver/names';
import type { LinkInfo } from '../../src/netlink/types';
import { bridgeFromRow, interfaceFromRow, logicalSwitchFromRow, logicalSwitchPortFromRow, portFromRow } from '../../src/ovn/tables.generated';
import { Uuid } from '../../src/ovsdb/data';

const NET = '6b63829edffa437a9f4522de66e549225b3d34cfd8683bc66bee62678e10309e';
const EP = '96d2fd1f3902b1d39fdf0a90588eb25b1035733437e6491fc4fc22b3c7124709';
const U = (n: number): Uuid => new Uuid(`00000000-0000-0000-0000-${n.toString(16).padStart(12, '0')}`);
const ids = (o: Record<string, string>): Map<string, string> => new Map(Object.entries(o));
const OURS = { 'ovn-driver:owner': 'ovn-driver' };

const createNet = parseCreateNetwork({
  NetworkID: NET,
  Options: { 'com.docker.network.generic': { mtu: '1400', vrf: 'blue' } },
  IPv4Data: [{ Pool: '198.18.50.0/24', Gateway: '198.18.50.1/24' }],
  IPv6Data: [{ Pool: 'fd00:51::/64', Gateway: 'fd00:51::1/64' }],
});

const ourSwitch = (ports: Uuid[] = []): ReturnType<typeof logicalSwitchFromRow> =>
  logicalSwitchFromRow({ _uuid: U(1), name: NET, ports, external_ids: ids({ ...OURS, 'docker:subnets': '198.18.50.0/24,fd00:51::/64', 'docker:mtu': '1400' }) });

function expectError(fn: () => unknown, code: string, msg: RegExp): void {
  assert.throws(fn, (e: unknown) => e instanceof DriverError && e.code === code && msg.test(e.message));
}

const SHARED = 'blue/198.18.50.0/24';
const sharedSwitch = (refs: Record<string, string>, extra: Record<string, string> = {}, ports: Uuid[] = []): ReturnType<typeof logicalSwitchFromRow> =>
  logicalSwitchFromRow({
    _uuid: U(2), name: SHARED, ports,
    external_ids: ids({
      ...OURS, 'docker:vrf': 'blue', 'docker:subnets': '198.18.50.0/24,fd00:51::/64', 'docker:gateways': '198.18.50.1/24,fd00:51::1/64', 'docker:mtu': '1400',
      ...Object.fromEntries(Object.entries(refs).map(([c, n]) => [`ovn-driver:network-id:${c}`, n])), ...extra,
    }),
  });
const OTHER_NET = 'f'.repeat(64);

test('sharedSwitchName: VRF and the subnets\' network addresses, sorted, whatever the order or host bits given', () => {
  assert.equal(sharedSwitchName('default', [{ family: 4, ip: '198.18.10.7', prefix: 24 }]), 'default/198.18.10.0/24');
  assert.equal(
    sharedSwitchName('v', [{ family: 6, ip: 'fd00::1', prefix: 64 }, { family: 4, ip: '198.18.20.0', prefix: 24 }]),
    sharedSwitchName('v', [{ family: 4, ip: '198.18.20.0', prefix: 24 }, { family: 6, ip: 'fd00::', prefix: 64 }]),
  );
  // IPv4 subnets name a dual-stack network (its IPv6 pool is an attribute), IPv6 an IPv6-only one.
  assert.equal(networkSwitchName(createNet), SHARED);
  assert.equal(networkSwitchName(parseCreateNetwork({ NetworkID: NET, Options: {}, IPv6Data: [{ Pool: 'fd00:52::/64' }] })), 'default/fd00:52::/64');
});

test('CreateNetwork: wait for no switch of its (VRF, subnets) name, then insert it with this host\'s ref, its gateway port on a new VRF router and the port facing it', () => {
  const ops = planCreateNetwork(createNet, 'chassis-1', { legacy: undefined, shared: undefined });
  assert.deepEqual(JSON.parse(JSON.stringify(ops)), [
    { op: 'wait', table: 'Logical_Switch', where: [['name', '==', SHARED]], columns: ['name'], until: '==', rows: [], timeout: 0 },
    { op: 'wait', table: 'Logical_Switch', where: [['name', '==', NET]], columns: ['name'], until: '==', rows: [], timeout: 0 },
    { op: 'wait', table: 'Logical_Router', where: [['name', '==', 'vrf/blue']], columns: ['name'], until: '==', rows: [], timeout: 0 },
    {
      op: 'insert', table: 'Logical_Router_Port', 'uuid-name': 'gateway_port',
      row: {
        name: `gw/${SHARED}`, mac: '0a:58:c6:12:32:01', networks: ['set', ['198.18.50.1/24', 'fd00:51::1/64']],
        external_ids: ['map', [['ovn-driver:owner', 'ovn-driver'], ['ovn-driver:switch', SHARED]]],
      },
    },
    {
      op: 'insert', table: 'Logical_Router',
      row: { name: 'vrf/blue', ports: ['set', [['named-uuid', 'gateway_port']]], external_ids: ['map', [['ovn-driver:owner', 'ovn-driver'], ['docker:vrf', 'blue']]] },
    },
    {
      op: 'insert', table: 'Logical_Switch_Port', 'uuid-name': 'router_facing_port',
      row: {
        name: `rtr/${SHARED}`, type: 'router', addresses: ['set', ['router']], options: ['map', [['router-port', `gw/${SHARED}`]]],
        external_ids: ['map', [['ovn-driver:owner', 'ovn-driver'], ['ovn-driver:switch', SHARED]]],
      },
    },
    {
      op: 'insert',
      table: 'Logical_Switch',
      row: {
        name: SHARED,
        external_ids: ['map', [
          ['ovn-driver:owner', 'ovn-driver'], ['ovn-driver:network-id:chassis-1', NET], ['docker:vrf', 'blue'], ['docker:subnets', '198.18.50.0/24,fd00:51::/64'],
          ['docker:gateways', '198.18.50.1/24,fd00:51::1/64'], ['docker:options', '{"mtu":"1400","vrf":"blue"}'], ['docker:mtu', '1400'],
          ['docker:internal', 'false'], ['ovn-driver:router', 'vrf/blue'],
        ]],
        ports: ['set', [['named-uuid', 'router_facing_port']]],
      },
    },
  ]);
  expectError(() => planCreateNetwork(createNet, undefined, { legacy: undefined, shared: undefined }), 'HOST_NOT_READY', /system-id/);
});

test('CreateNetwork on a second host: adds its ref, waiting that the refs read are still there', () => {
  const sw = sharedSwitch({ 'chassis-2': OTHER_NET });
  const wire = JSON.parse(JSON.stringify(planCreateNetwork(createNet, 'chassis-1', { legacy: undefined, shared: sw })));
  assert.equal(wire.length, 2);
  assert.deepEqual(wire[0].where, [['_uuid', '==', ['uuid', U(2).value]]]);
  assert.deepEqual(wire[0].columns, ['external_ids']);
  assert.deepEqual(wire[0].rows[0].external_ids, ['map', [...sw.external_ids]]);
  assert.deepEqual(wire[1], { op: 'mutate', table: 'Logical_Switch', where: [['_uuid', '==', ['uuid', U(2).value]]], mutations: [['external_ids', 'insert', ['map', [['ovn-driver:network-id:chassis-1', NET]]]]] });
  // Retried (or replayed by Docker): the ref is there, nothing to do.
  assert.deepEqual(planCreateNetwork(createNet, 'chassis-1', { legacy: undefined, shared: sharedSwitch({ 'chassis-2': OTHER_NET, 'chassis-1': NET }) }), []);
});

test('CreateNetwork: another gateway, MTU or IPv6 pool than the existing network is refused naming it; a second network per host too', () => {
  const sw = sharedSwitch({ 'chassis-2': OTHER_NET });
  const variant = (mtu: string, gw: string, v6: string): ReturnType<typeof parseCreateNetwork> => parseCreateNetwork({
    NetworkID: NET, Options: { 'com.docker.network.generic': { mtu, vrf: 'blue' } },
    IPv4Data: [{ Pool: '198.18.50.0/24', Gateway: gw }], IPv6Data: [{ Pool: v6, Gateway: `${v6.split('/')[0]}1/64` }],
  });
  const named = new RegExp(`logical switch "blue/198\\.18\\.50\\.0/24" \\(Docker network ${OTHER_NET} on host chassis-2\\)`);
  expectError(() => planCreateNetwork(variant('1400', '198.18.50.254/24', 'fd00:51::/64'), 'chassis-1', { legacy: undefined, shared: sw }), 'CONFLICT', named);
  expectError(() => planCreateNetwork(variant('1300', '198.18.50.1/24', 'fd00:51::/64'), 'chassis-1', { legacy: undefined, shared: sw }), 'CONFLICT', /MTU 1400, not .*MTU 1300/);
  expectError(() => planCreateNetwork(variant('1400', '198.18.50.1/24', 'fd00:99::/64'), 'chassis-1', { legacy: undefined, shared: sw }), 'CONFLICT', /not subnets 198\.18\.50\.0\/24,fd00:99::\/64/);
  expectError(() => planCreateNetwork(createNet, 'chassis-2', { legacy: undefined, shared: sw }), 'CONFLICT', new RegExp(`already has Docker network ${OTHER_NET}`));
  expectError(() => planCreateNetwork(createNet, 'chassis-1', { legacy: undefined, shared: logicalSwitchFromRow({ _uuid: U(2), name: SHARED }) }), 'CONFLICT', /did not create/);
});

test('CreateNetwork of a network of the previous release (switch named by its id): nothing to do; a foreign or different one is a conflict', () => {
  assert.deepEqual(planCreateNetwork(createNet, 'chassis-1', { legacy: ourSwitch(), shared: undefined }), []);
  expectError(() => planCreateNetwork(createNet, 'chassis-1', { legacy: logicalSwitchFromRow({ _uuid: U(1), name: NET }), shared: undefined }), 'CONFLICT', /did not create/);
  const other = logicalSwitchFromRow({ _uuid: U(1), name: NET, external_ids: ids({ ...OURS, 'docker:subnets': '198.18.60.0/24' }) });
  expectError(() => planCreateNetwork(createNet, 'chassis-1', { legacy: other, shared: undefined }), 'CONFLICT', /already exists with subnets "198\.18\.60\.0\/24"/);
});

test('DeleteNetwork: gone is success; a legacy switch is deleted with its ports; foreign is refused', () => {
  assert.deepEqual(planDeleteNetwork(NET, 'chassis-1', undefined), []);
  assert.deepEqual(JSON.parse(JSON.stringify(planDeleteNetwork(NET, 'chassis-1', ourSwitch([U(7)])))), [
    { op: 'delete', table: 'Logical_Switch', where: [['_uuid', '==', ['uuid', U(1).value]]] },
    { op: 'delete', table: 'Logical_Switch_Port', where: [['_uuid', '==', ['uuid', U(7).value]]] },
  ]);
  expectError(() => planDeleteNetwork(NET, 'chassis-1', logicalSwitchFromRow({ _uuid: U(1), name: NET })), 'CONFLICT', /not created by the ovn driver/);
});

test('DeleteNetwork of a shared switch: only this host\'s ref while others remain; the last ref deletes it, waiting on the refs read', () => {
  const two = sharedSwitch({ 'chassis-1': NET, 'chassis-2': OTHER_NET }, {}, [U(8)]);
  const wireTwo = JSON.parse(JSON.stringify(planDeleteNetwork(NET, 'chassis-1', two)));
  assert.equal(wireTwo[0].op, 'wait', 'waits on the refs read: another host removing its own at once is planned again');
  assert.deepEqual(wireTwo[0].rows[0].external_ids, ['map', [...two.external_ids]]);
  assert.deepEqual(wireTwo.slice(1), [
    { op: 'mutate', table: 'Logical_Switch', where: [['_uuid', '==', ['uuid', U(2).value]]], mutations: [['external_ids', 'delete', ['map', [['ovn-driver:network-id:chassis-1', NET]]]]] },
  ]);
  const last = sharedSwitch({ 'chassis-1': NET }, {}, [U(8)]);
  const wire = JSON.parse(JSON.stringify(planDeleteNetwork(NET, 'chassis-1', last)));
  assert.equal(wire[0].op, 'wait');
  assert.deepEqual(wire[0].rows[0].external_ids, ['map', [...last.external_ids]]);
  assert.deepEqual(wire.slice(1), [
    { op: 'delete', table: 'Logical_Switch', where: [['_uuid', '==', ['uuid', U(2).value]]] },
    { op: 'delete', table: 'Logical_Switch_Port', where: [['_uuid', '==', ['uuid', U(8).value]]] },
  ]);
  // This host's ref already gone: success, the other host's network is left alone.
  assert.deepEqual(planDeleteNetwork(NET, 'chassis-1', sharedSwitch({ 'chassis-2': OTHER_NET })), []);
});

const createEp = (iface: Record<string, string>): ReturnType<typeof parseCreateEndpoint> =>
  parseCreateEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: '198.18.50.32/24', AddressIPv6: '', MacAddress: '', ...iface } });

test('CreateEndpoint: one port with addresses and port_security, added to its switch; the chosen MAC is returned', () => {
  const plan = planCreateEndpoint(createEp({ AddressIPv6: 'fd00:51::20/64' }), ourSwitch(), undefined, { chassis: 'chassis-1' });
  assert.deepEqual(plan.response, { Interface: { MacAddress: '0a:58:c6:12:32:20' } });
  const wire = JSON.parse(JSON.stringify(plan.nb));
  assert.equal(wire.length, 3);
  assert.deepEqual(wire[0], { op: 'wait', table: 'Logical_Switch', where: [['_uuid', '==', ['uuid', U(1).value]]], columns: ['name'], until: '==', rows: [{ name: NET }], timeout: 0 });
  assert.equal(wire[1].op, 'insert');
  assert.equal(wire[1].row.name, EP);
  assert.deepEqual(wire[1].row.addresses, ['set', ['0a:58:c6:12:32:20 198.18.50.32 fd00:51::20']]);
  assert.deepEqual(wire[1].row.port_security, ['set', ['0a:58:c6:12:32:20 198.18.50.32 fd00:51::20']]);
  assert.deepEqual(wire[1].row.external_ids, ['map', [['ovn-driver:owner', 'ovn-driver'], ['docker:endpoint-id', EP], ['docker:network-id', NET], ['ovn-driver:chassis', 'chassis-1']]]);
  assert.deepEqual(wire[1].row.options, ['map', [['requested-chassis', 'chassis-1']]]);
  assert.deepEqual(wire[2], { op: 'mutate', table: 'Logical_Switch', where: [['_uuid', '==', ['uuid', U(1).value]]], mutations: [['ports', 'insert', ['set', [['named-uuid', wire[1]['uuid-name']]]]]] });
});

test('CreateEndpoint: a MAC Docker gave is used and not returned', () => {
  const plan = planCreateEndpoint(createEp({ MacAddress: '02:42:c6:12:32:28' }), ourSwitch(), undefined, { chassis: undefined });
  assert.deepEqual(plan.response, {});
  assert.equal(plan.addresses, '02:42:c6:12:32:28 198.18.50.32');
});

test('CreateEndpoint: unknown network, address outside the subnets', () => {
  expectError(() => planCreateEndpoint(createEp({}), undefined, undefined, { chassis: undefined }), 'NOT_FOUND', /network "6b63.*" has no logical switch/);
  expectError(() => planCreateEndpoint(createEp({ Address: '198.18.99.2/24' }), ourSwitch(), undefined, { chassis: undefined }), 'INVALID_REQUEST', /198\.18\.99\.2\/24 is outside the network's subnets/);
});

test('CreateEndpoint twice: the same answer and no operations; different parameters conflict', () => {
  const existing = logicalSwitchPortFromRow({ _uuid: U(7), name: EP, addresses: ['0a:58:c6:12:32:20 198.18.50.32'], external_ids: ids(OURS) });
  const again = planCreateEndpoint(createEp({}), ourSwitch([U(7)]), existing, { chassis: undefined });
  assert.deepEqual(again.nb, []);
  assert.deepEqual(again.response, { Interface: { MacAddress: '0a:58:c6:12:32:20' } });
  expectError(() => planCreateEndpoint(createEp({ Address: '198.18.50.33/24' }), ourSwitch([U(7)]), existing, { chassis: undefined }), 'CONFLICT', /already exists with addresses/);
  expectError(() => planCreateEndpoint(createEp({}), ourSwitch([]), existing, { chassis: undefined }), 'CONFLICT', /already exists/);
});

test('DeleteEndpoint: gone is success; ours is removed from its switch', () => {
  const req = parseEndpointRequest('DeleteEndpoint', { NetworkID: NET, EndpointID: EP });
  assert.deepEqual(planDeleteEndpoint(req, undefined), []);
  const lsp = logicalSwitchPortFromRow({ _uuid: U(7), name: EP, external_ids: ids(OURS) });
  assert.deepEqual(JSON.parse(JSON.stringify(planDeleteEndpoint(req, lsp))), [
    { op: 'mutate', table: 'Logical_Switch', where: [['ports', 'includes', ['set', [['uuid', U(7).value]]]]], mutations: [['ports', 'delete', ['set', [['uuid', U(7).value]]]]] },
    { op: 'delete', table: 'Logical_Switch_Port', where: [['_uuid', '==', ['uuid', U(7).value]]] },
  ]);
  expectError(() => planDeleteEndpoint(req, logicalSwitchPortFromRow({ _uuid: U(7), name: EP })), 'CONFLICT', /not created by the ovn driver/);
});

// ---- Join / Leave ----

const HOST = 'ovn96d2fd1f3902';
const PEER = 'ovc96d2fd1f3902';
const MAC = '0a:58:c6:12:32:20';
const joinReq = parseEndpointRequest('Join', { NetworkID: NET, EndpointID: EP });
const lsp = logicalSwitchPortFromRow({ _uuid: U(7), name: EP, addresses: [`${MAC} 198.18.50.32`], external_ids: ids(OURS) });
const bridge = (ports: Uuid[] = []): ReturnType<typeof bridgeFromRow> => bridgeFromRow({ _uuid: U(20), name: 'br-int', ports });
const link = (name: string, over: Partial<LinkInfo> = {}): LinkInfo => ({ index: 5, name, mac: MAC, mtu: 1400, up: true, kind: 'veth', ...over });
const state = (over: Partial<JoinState> = {}): JoinState => ({
  lsp, bridgeName: 'br-int', bridge: bridge(), port: undefined, iface: undefined, hostLink: undefined, containerLink: undefined, mtu: 1400, ...over,
});

test('Join, fresh: create the veth pair, then Port+Interface on the bridge in one transaction', () => {
  const plan = planJoin(joinReq, state());
  assert.deepEqual(plan.links, [{ kind: 'create', name: HOST, peerName: PEER, peerMac: MAC, mtu: 1400 }]);
  assert.equal(plan.createsLinks, true);
  assert.deepEqual(plan.response, { InterfaceName: { SrcName: PEER, DstPrefix: 'eth' }, DisableGatewayService: true });
  const wire = JSON.parse(JSON.stringify(plan.ovs));
  assert.deepEqual(wire.map((o: { op: string; table: string }) => `${o.op} ${o.table}`), ['wait Bridge', 'insert Interface', 'insert Port', 'mutate Bridge']);
  assert.deepEqual(wire[1].row, {
    name: HOST,
    external_ids: ['map', [['iface-id', EP], ['attached-mac', MAC], ['iface-status', 'active'], ['ovn-driver:owner', 'ovn-driver']]],
  });
  assert.deepEqual(wire[2].row.interfaces, ['set', [['named-uuid', wire[1]['uuid-name']]]]);
  assert.deepEqual(wire[3].mutations, [['ports', 'insert', ['set', [['named-uuid', wire[2]['uuid-name']]]]]]);
});

test('Join after a crash: right leftovers are reused, wrong ones replaced', () => {
  const port = portFromRow({ _uuid: U(30), name: HOST, interfaces: [U(31)], external_ids: ids({ ...OURS, 'docker:endpoint-id': EP }) });
  const iface = interfaceFromRow({ _uuid: U(31), name: HOST, external_ids: ids({ ...OURS, 'iface-id': EP, 'attached-mac': MAC }) });
  // Everything in place: nothing to do but answer (and wait for ovn-installed).
  const done = planJoin(joinReq, state({ bridge: bridge([U(30)]), port, iface, hostLink: link(HOST), containerLink: link(PEER) }));
  assert.deepEqual(done.links, []);
  assert.equal(done.createsLinks, false);
  assert.deepEqual(done.ovs, []);
  // Veth with the wrong MAC and a port not on the bridge: recreate both.
  const redo = planJoin(joinReq, state({ port, iface, hostLink: link(HOST), containerLink: link(PEER, { mac: '02:00:00:00:00:01' }) }));
  assert.deepEqual(redo.links.map((s) => s.kind), ['delete', 'delete', 'create']);
  assert.deepEqual(JSON.parse(JSON.stringify(redo.ovs)).map((o: { op: string; table: string }) => `${o.op} ${o.table}`), ['mutate Bridge', 'wait Bridge', 'insert Interface', 'insert Port', 'mutate Bridge']);
  // Only the host end left (the container end went with a dead sandbox): recreate.
  assert.deepEqual(planJoin(joinReq, state({ hostLink: link(HOST) })).links.map((s) => s.kind), ['delete', 'create']);
});

test('Join on a userspace (netdev) bridge turns TX checksum offload off on the container end; system or default keeps it', () => {
  const onBridge = (datapathType: string): ReturnType<typeof bridgeFromRow> => bridgeFromRow({ _uuid: U(20), name: 'br-int', ports: [], datapath_type: datapathType });
  const fresh = planJoin(joinReq, state({ bridge: onBridge('netdev') }));
  assert.deepEqual(fresh.links, [
    { kind: 'create', name: HOST, peerName: PEER, peerMac: MAC, mtu: 1400 },
    { kind: 'tx-checksum-off', name: PEER },
  ]);
  assert.equal(fresh.createsLinks, true);
  // A reused pair gets it too: a crash may have come between its creation and this step.
  const reused = planJoin(joinReq, state({ bridge: onBridge('netdev'), hostLink: link(HOST), containerLink: link(PEER) }));
  assert.deepEqual(reused.links, [{ kind: 'tx-checksum-off', name: PEER }]);
  assert.equal(reused.createsLinks, false);
  for (const datapathType of ['system', '']) {
    assert.deepEqual(planJoin(joinReq, state({ bridge: onBridge(datapathType) })).links.map((s) => s.kind), ['create'], `datapath_type "${datapathType}"`);
  }
});

test('Join: no logical port, no MAC, or no integration bridge', () => {
  expectError(() => planJoin(joinReq, state({ lsp: undefined })), 'NOT_FOUND', /has no logical switch port/);
  expectError(() => planJoin(joinReq, state({ lsp: logicalSwitchPortFromRow({ _uuid: U(7), name: EP, addresses: ['dynamic'] }) })), 'CONFLICT', /no MAC/);
  expectError(() => planJoin(joinReq, state({ bridge: undefined })), 'HOST_NOT_READY', /integration bridge "br-int" does not exist; is ovn-controller running/);
});

test('Leave: our port off the bridge, then the veth; gone is nothing to do; a foreign port is kept', () => {
  assert.deepEqual(planLeave(joinReq, undefined, undefined, undefined, 'refuse'), { ovs: [], links: [] });
  const port = portFromRow({ _uuid: U(30), name: HOST, external_ids: ids({ ...OURS, 'docker:endpoint-id': EP }) });
  const plan = planLeave(joinReq, port, undefined, link(HOST), 'refuse');
  assert.deepEqual(JSON.parse(JSON.stringify(plan.ovs)), [
    { op: 'mutate', table: 'Bridge', where: [['ports', 'includes', ['set', [['uuid', U(30).value]]]]], mutations: [['ports', 'delete', ['set', [['uuid', U(30).value]]]]] },
  ]);
  assert.deepEqual(plan.links, [{ kind: 'delete', name: HOST }]);
  const foreign = portFromRow({ _uuid: U(30), name: HOST });
  assert.deepEqual(planLeave(joinReq, foreign, undefined, undefined, 'refuse').ovs, []);
});

test('CreateEndpoint on a switch other hosts share: waits that no port of the switch holds its addresses, keyed by the external_ids it writes', () => {
  const sw = sharedSwitch({ 'chassis-1': NET, 'chassis-2': OTHER_NET });
  const plan = planCreateEndpoint(createEp({ AddressIPv6: 'fd00:51::20/64' }), sw, undefined, { chassis: 'chassis-1' });
  const wire = JSON.parse(JSON.stringify(plan.nb));
  assert.deepEqual(wire.slice(1, 3), [
    { op: 'wait', table: 'Logical_Switch_Port', where: [['external_ids', 'includes', ['map', [['ovn-driver:switch', SHARED], ['ovn-driver:ipv4', '198.18.50.32']]]]], columns: ['name'], until: '==', rows: [], timeout: 0 },
    { op: 'wait', table: 'Logical_Switch_Port', where: [['external_ids', 'includes', ['map', [['ovn-driver:switch', SHARED], ['ovn-driver:ipv6', 'fd00:51::20']]]]], columns: ['name'], until: '==', rows: [], timeout: 0 },
  ]);
  const row = wire.find((o: { op: string; table: string }) => o.op === 'insert' && o.table === 'Logical_Switch_Port').row;
  const extIds = new Map(row.external_ids[1]);
  assert.equal(extIds.get('ovn-driver:switch'), SHARED);
  assert.equal(extIds.get('ovn-driver:ipv4'), '198.18.50.32');
  assert.equal(extIds.get('ovn-driver:ipv6'), 'fd00:51::20');
  // A legacy switch serves one host, whose IPAM hands out each address once: no wait there.
  assert.deepEqual(JSON.parse(JSON.stringify(planCreateEndpoint(createEp({}), ourSwitch(), undefined, { chassis: 'chassis-1' }).nb)).map((o: { op: string }) => o.op), ['wait', 'insert', 'mutate']);
});

test('CreateEndpoint on a switch of this host alone: no scan of the ports, but a wait that its refs are still the ones read', () => {
  const sw = sharedSwitch({ 'chassis-1': NET });
  const wire = JSON.parse(JSON.stringify(planCreateEndpoint(createEp({ AddressIPv6: 'fd00:51::20/64' }), sw, undefined, { chassis: 'chassis-1' }).nb));
  assert.deepEqual(wire.map((o: { op: string; table: string }) => `${o.op} ${o.table}`), ['wait Logical_Switch', 'insert Logical_Switch_Port', 'mutate Logical_Switch']);
  assert.deepEqual(wire[0].columns, ['external_ids']);
  assert.deepEqual(new Map(wire[0].rows[0].external_ids[1]).get('ovn-driver:network-id:chassis-1'), NET);
  // Its addresses are still recorded, for the checks of hosts that join later.
  const extIds = new Map(wire[1].row.external_ids[1]);
  assert.equal(extIds.get('ovn-driver:ipv4'), '198.18.50.32');
  // Without a chassis name the driver cannot tell whose refs they are: the full check.
  assert.ok(JSON.parse(JSON.stringify(planCreateEndpoint(createEp({}), sw, undefined, { chassis: undefined }).nb)).some((o: { op: string; table: string }) => o.op === 'wait' && o.table === 'Logical_Switch_Port'));
});

test('CreateEndpoint on a shared switch: an address another host\'s port holds is refused naming the host and --ipam-driver ovn', () => {
  const sw = sharedSwitch({ 'chassis-1': NET, 'chassis-2': OTHER_NET });
  const holder = logicalSwitchPortFromRow({
    _uuid: U(9), name: 'e'.repeat(64), addresses: ['0a:58:c6:12:32:20 198.18.50.32'],
    external_ids: ids({ ...OURS, 'ovn-driver:chassis': 'chassis-2', 'ovn-driver:switch': SHARED, 'ovn-driver:ipv4': '198.18.50.32' }),
  });
  expectError(() => planCreateEndpoint(createEp({}), sw, undefined, { chassis: 'chassis-1', holders: [holder] }), 'CONFLICT',
    /address 198\.18\.50\.32 is already taken on network "blue\/198\.18\.50\.0\/24" by endpoint e{64} on host chassis-2; .*--ipam-driver ovn.*--ip-range/);
});

test('--ipam-driver ovn: the switch records it, hosts must agree on it, and its endpoints need no scan for duplicates (the IPAM keeps addresses unique)', () => {
  const viaOvnIpam = parseCreateNetwork({
    NetworkID: NET, Options: { 'com.docker.network.generic': { mtu: '1400', vrf: 'blue' } },
    IPv4Data: [{ AddressSpace: 'ovn-local', Pool: '198.18.50.0/24', Gateway: '198.18.50.1/24' }],
    IPv6Data: [{ AddressSpace: 'ovn-local', Pool: 'fd00:51::/64', Gateway: 'fd00:51::1/64' }],
  });
  const insert = JSON.parse(JSON.stringify(planCreateNetwork(viaOvnIpam, 'chassis-1', { legacy: undefined, shared: undefined }))).find((o: { op: string; table: string }) => o.op === 'insert' && o.table === 'Logical_Switch');
  assert.equal(new Map(insert.row.external_ids[1]).get('ovn-driver:ipam'), 'ovn');
  // Another host asking for the same network with Docker's own IPAM, or the reverse: refused.
  const ovnSwitch = sharedSwitch({ 'chassis-2': OTHER_NET }, { 'ovn-driver:ipam': 'ovn' });
  expectError(() => planCreateNetwork(createNet, 'chassis-1', { legacy: undefined, shared: ovnSwitch }), 'CONFLICT', /addresses from --ipam-driver ovn, not .*MTU 1400; /);
  expectError(() => planCreateNetwork(viaOvnIpam, 'chassis-1', { legacy: undefined, shared: sharedSwitch({ 'chassis-2': OTHER_NET }) }), 'CONFLICT', /not .*addresses from --ipam-driver ovn/);
  assert.equal(planCreateNetwork(viaOvnIpam, 'chassis-1', { legacy: undefined, shared: ovnSwitch }).length, 2, 'the ref is added');
  // Two hosts on it: no wait on the ports.
  const both = sharedSwitch({ 'chassis-1': NET, 'chassis-2': OTHER_NET }, { 'ovn-driver:ipam': 'ovn' });
  const ops = JSON.parse(JSON.stringify(planCreateEndpoint(createEp({}), both, undefined, { chassis: 'chassis-1' }).nb)).map((o: { op: string; table: string }) => `${o.op} ${o.table}`);
  assert.deepEqual(ops, ['wait Logical_Switch', 'insert Logical_Switch_Port', 'mutate Logical_Switch']);
});
