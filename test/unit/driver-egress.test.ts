// The way out and published ports through OvnDriver and setUpGateway on an in-memory
// Northbound (real schema, replica, garbage collection): the external network kept once, a
// conflicting host refused, the gateway group, each VRF's external port with SNAT and default
// route, published ports as load balancers (-p, ranges, -P, conflicts, a retry, Revoke,
// DeleteEndpoint), and what a VRF's last network takes with it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCreateNetwork, parseProgramExternalConnectivity } from '../../src/driver/api';
import { isDriverError } from '../../src/driver/errors';
import { setUpGateway, withMapping } from '../../src/driver/gateway';
import { Reconciler } from '../../src/driver/reconcile';
import { ExternalNetwork, externalNetworkFromConfig } from '../../src/driver/plan-external';
import { namedUuid } from '../../src/ovsdb/data';
import { insert, mutate } from '../../src/ovsdb/operations';
import { CHASSIS, EP, epReq, NET, rig, Rig } from '../helpers/driver-rig';

const EXT: ExternalNetwork = externalNetworkFromConfig({ cidr: '198.18.250.0/24', gateway: '198.18.250.1', poolFirst: '198.18.250.10', poolLast: '198.18.250.11' }) ?? assert.fail('config');
const NET_B = 'b'.repeat(64);
const EP_B = '2' + 'b'.repeat(63);
const quiet = { error(): void {}, warn(): void {}, info(): void {}, debug(): void {} };

async function gateway(r: Rig, opts: { bridge?: string | undefined; network?: ExternalNetwork | undefined; priority?: number } = {}): Promise<void> {
  await setUpGateway({
    nb: r.nb, nbRemotes: 'unix:nb', ovs: r.ovs, ovsRemotes: 'unix:db', bridge: 'bridge' in opts ? opts.bridge : 'br-ext', network: 'network' in opts ? opts.network : EXT,
    priority: opts.priority ?? 100, externalContext: () => r.driver.externalContext(), logger: quiet, dbTimeoutMs: 1000,
  });
}

async function withBridge(r: Rig, name = 'br-ext'): Promise<void> {
  // Bridge is a non-root table: the Open_vSwitch row must hold it.
  await r.ovs.transact([insert('Bridge', { name }, 'ext'), mutate('Open_vSwitch', [], [['bridges', 'insert', [namedUuid('ext')]]])]);
}

function net(networkId: string, subnet: string, vrf = 'blue'): ReturnType<typeof parseCreateNetwork> {
  return parseCreateNetwork({ NetworkID: networkId, Options: { 'com.docker.network.generic': { vrf } }, IPv4Data: [{ Pool: `${subnet}.0/24`, Gateway: `${subnet}.1/24` }] });
}

function program(endpointId: string, networkId: string, map: unknown[]): ReturnType<typeof parseProgramExternalConnectivity> {
  return parseProgramExternalConnectivity({ NetworkID: networkId, EndpointID: endpointId, Options: { 'com.docker.network.portmap': map } });
}

const tcp = (hostPort: number, port = 80, hostIp = '', hostPortEnd = hostPort): Record<string, unknown> => ({ Proto: 6, IP: '', Port: port, HostIP: hostIp, HostPort: hostPort, HostPortEnd: hostPortEnd });

function rows(r: Rig, table: string): Record<string, unknown>[] {
  return r.nb.rows(table);
}

function names(r: Rig, table: string): string[] {
  return rows(r, table).map((x) => String(x['name'])).sort();
}

function vips(r: Rig): Record<string, string> {
  const out: Record<string, string> = {};
  for (const lb of rows(r, 'Load_Balancer')) for (const [k, v] of lb['vips'] as Map<string, string>) out[`${String(lb['protocol'])} ${k}`] = v;
  return out;
}

async function rejectsWith(p: Promise<unknown>, code: string, re: RegExp): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(isDriverError(e), String(e));
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    return true;
  });
}

test('withMapping: the physnet is mapped to the bridge, other mappings kept', () => {
  assert.equal(withMapping(undefined, 'ovn-driver-external', 'br-ext'), 'ovn-driver-external:br-ext');
  assert.equal(withMapping('physnet1:br-eth1, ovn-driver-external:br-old', 'ovn-driver-external', 'br-ext'), 'physnet1:br-eth1,ovn-driver-external:br-ext');
});

test('a gateway host sets up the external network once, joins the gateway group, maps its bridge; a second start changes nothing', async () => {
  const r = await rig();
  await withBridge(r);
  await gateway(r);
  assert.deepEqual(names(r, 'Logical_Switch'), ['ovn-driver-external']);
  const sw = rows(r, 'Logical_Switch')[0];
  assert.deepEqual(Object.fromEntries([...(sw?.['external_ids'] as Map<string, string>)].filter(([k]) => k.startsWith('ovn-driver:external'))), {
    'ovn-driver:external-cidr': '198.18.250.0/24', 'ovn-driver:external-gateway': '198.18.250.1', 'ovn-driver:external-pool': '198.18.250.10-198.18.250.11',
  });
  const localnet = rows(r, 'Logical_Switch_Port')[0];
  assert.equal(localnet?.['type'], 'localnet');
  assert.equal((localnet?.['options'] as Map<string, string>).get('network_name'), 'ovn-driver-external');
  assert.deepEqual(names(r, 'HA_Chassis_Group'), ['ovn-driver-gateways']);
  assert.deepEqual(rows(r, 'HA_Chassis').map((c) => [c['chassis_name'], c['priority']]), [[CHASSIS, 100]]);
  const ovsRoot = r.ovs.rows('Open_vSwitch')[0];
  assert.equal((ovsRoot?.['external_ids'] as Map<string, string>).get('ovn-bridge-mappings'), 'ovn-driver-external:br-ext');
  const sent = r.nb.sent.length;
  await gateway(r);
  assert.equal(r.nb.sent.length, sent, 'nothing sent on the second start');
  // A new priority is an update of this host's row only.
  await gateway(r, { priority: 200, network: undefined });
  assert.deepEqual(rows(r, 'HA_Chassis').map((c) => [c['chassis_name'], c['priority']]), [[CHASSIS, 200]]);
});

test('a host whose values differ from the cluster\'s is refused in one line; a first gateway host without values is told what to give; a missing bridge is named', async () => {
  const r = await rig();
  await withBridge(r);
  await rejectsWith(gateway(r, { network: undefined }), 'HOST_NOT_READY', /no external network yet .*give the first gateway host --external-cidr, --external-gateway and --external-pool/);
  await gateway(r);
  const h2 = await rig({ nb: r.nb, chassis: 'chassis-two' });
  await withBridge(h2);
  const other = externalNetworkFromConfig({ cidr: '198.18.250.0/24', gateway: '198.18.250.1', poolFirst: '198.18.250.20', poolLast: '198.18.250.30' });
  await assert.rejects(gateway(h2, { network: other }), (e: unknown) => isDriverError(e, 'CONFLICT') && /this host gives .*--external-pool 198\.18\.250\.20-198\.18\.250\.30, but the cluster's external network \(in the Northbound\) is .*--external-pool 198\.18\.250\.10-198\.18\.250\.11/.test(e.message) && !e.message.includes('\n'));
  assert.equal(rows(r, 'HA_Chassis').length, 1, 'the refused host did not join the gateway group');
  await rejectsWith(gateway(h2, { bridge: 'br-missing', network: undefined }), 'HOST_NOT_READY', /external bridge "br-missing" does not exist; create it/);
  // Without values, a second gateway host joins with the cluster's.
  await gateway(h2, { network: undefined, priority: 50 });
  assert.deepEqual(rows(r, 'HA_Chassis').map((c) => [c['chassis_name'], c['priority']]).sort(), [['chassis-two', 50], [CHASSIS, 100]]);
});

test('a VRF router gets its way out: an external port with a pool address bound to the gateway group, a default route, SNAT per routed subnet; the last network removes it all', async () => {
  const r = await rig();
  await withBridge(r);
  // A VRF made before the way out existed is given one by the gateway host's start.
  await r.driver.createNetwork(net(NET, '198.18.70'));
  assert.equal(names(r, 'Logical_Router_Port').includes('ext/blue'), false);
  await gateway(r);
  const ext = rows(r, 'Logical_Router_Port').find((p) => p['name'] === 'ext/blue');
  assert.ok(ext, names(r, 'Logical_Router_Port').join(' '));
  assert.deepEqual(ext['networks'], ['198.18.250.10/24']);
  assert.equal(ext['mac'], '0a:58:c6:12:fa:0a');
  assert.equal((ext['ha_chassis_group'] as unknown[]).length, 1);
  assert.deepEqual(rows(r, 'Logical_Router_Static_Route').map((x) => [x['ip_prefix'], x['nexthop']]), [['0.0.0.0/0', '198.18.250.1']]);
  assert.deepEqual(rows(r, 'NAT').map((x) => [x['type'], x['external_ip'], x['logical_ip']]), [['snat', '198.18.250.10', '198.18.70.0/24']]);
  assert.ok(names(r, 'Logical_Switch_Port').includes('rtr-ext/blue'));

  // A second network of the VRF: its SNAT rule; a new VRF: the next pool address, with its router.
  await r.driver.createNetwork(net(NET_B, '198.18.71'));
  assert.deepEqual(rows(r, 'NAT').map((x) => x['logical_ip']).sort(), ['198.18.70.0/24', '198.18.71.0/24']);
  await r.driver.createNetwork(net('c'.repeat(64), '198.18.72', 'red'));
  assert.deepEqual(rows(r, 'Logical_Router_Port').find((p) => p['name'] === 'ext/red')?.['networks'], ['198.18.250.11/24']);
  // The pool is spent: a third VRF's router cannot get a way out.
  await rejectsWith(r.driver.createNetwork(net('d'.repeat(64), '198.18.73', 'green')), 'CONFLICT', /every address of the external pool 198\.18\.250\.10-198\.18\.250\.11 is held by a VRF; widen --external-pool/);
  assert.equal(names(r, 'Logical_Switch').includes('green/198.18.73.0/24'), false, 'nothing created');

  await r.driver.deleteNetwork({ networkId: NET_B });
  assert.deepEqual(rows(r, 'NAT').map((x) => x['logical_ip']).sort(), ['198.18.70.0/24', '198.18.72.0/24']);
  await r.driver.deleteNetwork({ networkId: NET });
  await r.driver.deleteNetwork({ networkId: 'c'.repeat(64) });
  assert.deepEqual(names(r, 'Logical_Router'), []);
  assert.deepEqual(rows(r, 'NAT'), []);
  assert.deepEqual(rows(r, 'Logical_Router_Static_Route'), []);
  assert.deepEqual(names(r, 'Logical_Switch_Port'), ['ovn-driver-external-localnet'], 'the external switch keeps only its localnet port');
});

test('published ports: -p, a range, -P, UDP; the same map again changes nothing; conflicts name the holder and change nothing; Revoke and DeleteEndpoint remove them', async () => {
  const r = await rig();
  await withBridge(r);
  await gateway(r);
  await r.driver.createNetwork(net(NET, '198.18.70'));
  await r.driver.createEndpoint(epReq(EP, 2));
  await r.driver.programExternalConnectivity(program(EP, NET, [tcp(8080), { ...tcp(9000, 9000), Proto: 17 }, tcp(8100, 81, '', 8110), tcp(0, 82), tcp(8080, 80, '::')]));
  assert.deepEqual(vips(r), {
    'tcp 198.18.250.10:8080': '198.18.70.2:80', 'tcp 198.18.250.10:8100': '198.18.70.2:81', 'tcp 198.18.250.10:49153': '198.18.70.2:82', 'udp 198.18.250.10:9000': '198.18.70.2:9000',
  });
  assert.deepEqual(names(r, 'Load_Balancer'), [`pm/${EP}/tcp`, `pm/${EP}/udp`]);
  const view = r.driver.describe() as { endpoints: { published: string[] }[]; vrfs: { externalAddress: string }[] };
  assert.ok(view.endpoints[0]?.published.includes('tcp 198.18.250.10:49153->82'), JSON.stringify(view.endpoints));
  assert.equal(view.vrfs[0]?.externalAddress, '198.18.250.10');
  const sent = r.nb.sent.length;
  await r.driver.programExternalConnectivity(program(EP, NET, [tcp(8080), { ...tcp(9000, 9000), Proto: 17 }, tcp(8100, 81, '', 8110), tcp(0, 82)]));
  assert.deepEqual(r.nb.sent.slice(sent).flat().filter((o) => o.op !== 'select'), [], 'the same map again writes nothing');

  await r.driver.createEndpoint({ ...epReq(EP_B, 3) });
  const before = JSON.stringify(vips(r));
  await rejectsWith(r.driver.programExternalConnectivity(program(EP_B, NET, [tcp(8080)])), 'CONFLICT', new RegExp(`198\\.18\\.250\\.10:8080/tcp is already published by endpoint ${EP} on host ${CHASSIS} \\(container address 198\\.18\\.70\\.2`));
  await rejectsWith(r.driver.programExternalConnectivity(program(EP_B, NET, [tcp(8081, 80, '198.18.99.99')])), 'CONFLICT', /host address 198\.18\.99\.99 is not VRF "blue"'s external address 198\.18\.250\.10/);
  assert.equal(JSON.stringify(vips(r)), before);
  // The range and -P skip ports others hold: the next free ones.
  await r.driver.programExternalConnectivity(program(EP_B, NET, [tcp(8100, 80, '', 8110), tcp(0, 81), { ...tcp(8080), Proto: 132 }]));
  assert.equal(vips(r)['tcp 198.18.250.10:8101'], '198.18.70.3:80');
  assert.equal(vips(r)['tcp 198.18.250.10:49154'], '198.18.70.3:81');
  assert.equal(vips(r)['sctp 198.18.250.10:8080'], '198.18.70.3:80', 'another protocol may use the same port');

  await r.driver.revokeExternalConnectivity({ networkId: NET, endpointId: EP });
  assert.deepEqual(names(r, 'Load_Balancer'), [`pm/${EP_B}/sctp`, `pm/${EP_B}/tcp`]);
  // DeleteEndpoint without Revoke (a crash in between): its load balancers go with its port.
  await r.driver.deleteEndpoint({ networkId: NET, endpointId: EP_B });
  assert.deepEqual(names(r, 'Load_Balancer'), []);
  const router = rows(r, 'Logical_Router')[0];
  assert.deepEqual(router?.['load_balancer'], []);
});

test('a cluster with no way out publishes nothing and says so in the log (as before the way out existed); an --internal network refuses -p', async () => {
  const r = await rig();
  await r.driver.createNetwork(net(NET, '198.18.70'));
  await r.driver.createEndpoint(epReq(EP, 2));
  assert.deepEqual(await r.driver.programExternalConnectivity(program(EP, NET, [tcp(8080)])), {});
  assert.match(r.warnings.join('\n'), /-p publishes nothing, since the cluster has no way out \(no gateway host: start one driver with --external-bridge/);
  assert.deepEqual(rows(r, 'Load_Balancer'), []);
  await withBridge(r);
  await gateway(r);
  // Docker's call without a port map (every gateway endpoint gets one) is fine.
  assert.deepEqual(await r.driver.programExternalConnectivity(program(EP, NET, [])), {});
  const internal = parseCreateNetwork({ NetworkID: NET_B, Options: { 'com.docker.network.internal': true }, IPv4Data: [{ Pool: '198.18.71.0/24', Gateway: '198.18.71.1/24' }] });
  await r.driver.createNetwork(internal);
  await r.driver.createEndpoint({ networkId: NET_B, endpointId: EP_B, address: { family: 4, ip: '198.18.71.2', prefix: 24 }, addressIPv6: undefined, mac: undefined });
  await rejectsWith(r.driver.programExternalConnectivity(program(EP_B, NET_B, [tcp(8080)])), 'CONFLICT', /not routed \(--internal/);
  assert.deepEqual(rows(r, 'Load_Balancer'), []);
});

test('a port map that is not what libnetwork sends is INVALID_REQUEST, naming the field', () => {
  const bad = (map: unknown[], re: RegExp): void => {
    assert.throws(() => program(EP, NET, map), (e: unknown) => isDriverError(e, 'INVALID_REQUEST') && re.test(e.message));
  };
  bad([{ ...tcp(80), Proto: 1 }], /Proto.*6 \(tcp\), 17 \(udp\) or 132 \(sctp\)/);
  bad([{ ...tcp(80), HostPort: 70000 }], /HostPort.*0\.\.65535/);
  bad([{ ...tcp(80), Port: 0 }], /Port.*1\.\.65535/);
  bad([{ ...tcp(80), HostIP: 'nowhere' }], /HostIP.*IP address/);
  bad([{ ...tcp(8080), HostPortEnd: 8000 }], /HostPortEnd.*at least HostPort/);
  bad(['8080:80'], /portmap\[0\]" must be an object/);
});

test('a published endpoint a crash left (Docker no longer has it, Revoke never came) is removed by a reconcile pass with its load balancers', async () => {
  const r = await rig();
  await withBridge(r);
  await gateway(r);
  await r.driver.createNetwork(net(NET, '198.18.70'));
  await r.driver.createEndpoint(epReq(EP, 2));
  await r.driver.programExternalConnectivity(program(EP, NET, [tcp(8080), { ...tcp(9000, 9000), Proto: 17 }]));
  assert.equal(rows(r, 'Load_Balancer').length, 2);
  const pass = new Reconciler({
    nb: r.nb, ovs: r.ovs, links: r.links, docker: { endpointIds: async () => new Set<string>() }, logger: quiet,
    locks: r.driver.reconcileLocks(), graceMs: 0, intervalMs: 60_000, schedule: () => () => undefined,
  });
  const report = await pass.runOnce();
  assert.deepEqual(report.removed.logicalPorts, [EP]);
  assert.deepEqual(rows(r, 'Load_Balancer'), []);
  assert.deepEqual(rows(r, 'Logical_Router')[0]?.['load_balancer'], []);
  assert.deepEqual(report.errors, []);
});
