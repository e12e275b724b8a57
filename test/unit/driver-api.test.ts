// Request validation for every libnetwork call: Docker's real requests pass and come out
// normalised; malformed bodies, wrong types, bad ids, CIDRs, MACs, SandboxKeys and unknown
// options fail with INVALID_REQUEST and a message naming the field.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  parseCreateEndpoint, parseCreateNetwork, parseDiscovery, parseEmpty, parseEndpointRequest, parseJoin, parseNetworkRequest, sandboxDirOf,
} from '../../src/driver/api';
import { DriverError } from '../../src/driver/errors';

const NET = '6b63829edffa437a9f4522de66e549225b3d34cfd8683bc66bee62678e10309e';
const EP = '96d2fd1f3902b1d39fdf0a90588eb25b1035733437e6491fc4fc22b3c7124709';

function rejects(fn: () => unknown, field: RegExp): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof DriverError, `expected a DriverError, got ${String(e)}`);
    assert.equal(e.code, 'INVALID_REQUEST');
    assert.match(e.message, /^failed to parse \w+ request: /);
    assert.match(e.message, field);
    return true;
  });
}

const network = (over: Record<string, unknown> = {}): Record<string, unknown> => ({
  NetworkID: NET,
  Options: { 'com.docker.network.enable_ipv6': false, 'com.docker.network.generic': { 'com.docker.network.driver.mtu': '1400', vrf: 'default' } },
  IPv4Data: [{ AddressSpace: 'LocalDefault', Gateway: '198.18.50.1/24', Pool: '198.18.50.0/24' }],
  IPv6Data: [],
  ...over,
});

test('CreateNetwork: Docker 20.10 request with -o options', () => {
  const r = parseCreateNetwork(network());
  assert.equal(r.networkId, NET);
  assert.equal(r.options.mtu, 1400);
  assert.equal(r.options.vrf, 'default');
  assert.deepEqual(r.options.generic, { 'com.docker.network.driver.mtu': '1400', vrf: 'default' });
  assert.deepEqual(r.ipv4, [{ pool: { family: 4, ip: '198.18.50.0', prefix: 24 }, gateway: { family: 4, ip: '198.18.50.1', prefix: 24 }, addressSpace: 'LocalDefault' }]);
  assert.deepEqual(r.ipv6, []);
});

test('CreateNetwork: dual stack, IPv6 normalised, pool with host bits reduced to its network', () => {
  const r = parseCreateNetwork(network({
    Options: { 'com.docker.network.enable_ipv6': true, 'com.docker.network.generic': {}, 'com.docker.network.internal': true },
    IPv4Data: [{ Pool: '198.18.51.7/24', Gateway: '198.18.51.1/24' }],
    IPv6Data: [{ AddressSpace: 'LocalDefault', Gateway: 'FD00:0051:0:0::1/64', Pool: 'fd00:51::/64' }],
  }));
  assert.equal(r.ipv4[0]?.pool.ip, '198.18.51.0');
  assert.equal(r.ipv6[0]?.gateway?.ip, 'fd00:51::1');
  assert.equal(r.options.ipv6, true);
  assert.equal(r.options.internal, true);
  assert.equal(r.options.mtu, undefined);
});

test('CreateNetwork: `mtu` is accepted as well; null IPv6Data reads as none', () => {
  const r = parseCreateNetwork(network({ Options: { 'com.docker.network.generic': { mtu: '9000' } }, IPv6Data: null }));
  assert.equal(r.options.mtu, 9000);
  assert.deepEqual(r.ipv6, []);
});

test('CreateNetwork: bad input names the field', () => {
  rejects(() => parseCreateNetwork('x'), /body must be a JSON object/);
  rejects(() => parseCreateNetwork([]), /body must be a JSON object/);
  rejects(() => parseCreateNetwork(network({ NetworkID: undefined })), /"NetworkID".*missing/);
  rejects(() => parseCreateNetwork(network({ NetworkID: NET.toUpperCase() })), /"NetworkID" must be a Docker id/);
  rejects(() => parseCreateNetwork(network({ NetworkID: `${NET}0` })), /"NetworkID"/);
  rejects(() => parseCreateNetwork(network({ NetworkID: '../../etc/passwd' })), /"NetworkID"/);
  rejects(() => parseCreateNetwork(network({ NetworkID: 42 })), /"NetworkID"/);
  rejects(() => parseCreateNetwork(network({ IPv4Data: {} })), /"IPv4Data" must be a list/);
  rejects(() => parseCreateNetwork(network({ IPv4Data: ['198.18.0.0/16'] })), /"IPv4Data\[0\]" must be an object/);
  rejects(() => parseCreateNetwork(network({ IPv4Data: [{ Pool: '198.18.300.0/24' }] })), /"IPv4Data\[0\]\.Pool" must be an IPv4 subnet/);
  rejects(() => parseCreateNetwork(network({ IPv4Data: [{ Pool: '198.18.0.0/33' }] })), /"IPv4Data\[0\]\.Pool"/);
  rejects(() => parseCreateNetwork(network({ IPv4Data: [{ Pool: '198.18.0.0' }] })), /"IPv4Data\[0\]\.Pool"/);
  rejects(() => parseCreateNetwork(network({ IPv4Data: [{ Pool: 'fd00::/64' }] })), /"IPv4Data\[0\]\.Pool" must be an IPv4/);
  rejects(() => parseCreateNetwork(network({ IPv4Data: [{ Pool: '198.18.50.0/24', Gateway: '198.18.51.1/24' }] })), /"IPv4Data\[0\]\.Gateway" must be .* inside the pool/);
  rejects(() => parseCreateNetwork(network({ IPv6Data: [{ Pool: 'fd00:51::/129' }] })), /"IPv6Data\[0\]\.Pool" must be an IPv6/);
  rejects(() => parseCreateNetwork(network({ Options: 'x' })), /"Options" must be an object/);
});

test('CreateNetwork: options are checked, an unknown one lists the known ones', () => {
  const opts = (generic: unknown): Record<string, unknown> => network({ Options: { 'com.docker.network.generic': generic } });
  rejects(() => parseCreateNetwork(opts({ foo: 'bar' })), /unknown network option "foo"; the ovn driver knows -o vrf=\.\.\., -o com\.docker\.network\.driver\.mtu=\.\.\., -o mtu=\.\.\./);
  rejects(() => parseCreateNetwork(opts({ mtu: 'big' })), /option "mtu" must be an MTU between 68 and 65535/);
  rejects(() => parseCreateNetwork(opts({ mtu: '67' })), /MTU between 68/);
  rejects(() => parseCreateNetwork(opts({ mtu: '65536' })), /MTU between 68/);
  rejects(() => parseCreateNetwork(opts({ mtu: '1400', 'com.docker.network.driver.mtu': '1500' })), /disagree/);
  rejects(() => parseCreateNetwork(opts({ vrf: 'a b;rm -rf' })), /option "vrf" must be/);
  rejects(() => parseCreateNetwork(opts({ vrf: {} })), /option "vrf" must be a string/);
  rejects(() => parseCreateNetwork(opts('mtu=1400')), /"Options\.com\.docker\.network\.generic" must be an object/);
  rejects(() => parseCreateNetwork(network({ Options: { 'com.docker.network.generic': { mtu: '1000' } }, IPv6Data: [{ Pool: 'fd00:51::/64' }] })), /IPv6 network needs an MTU of at least 1280/);
});

test('CreateEndpoint: Docker leaves the MAC to the driver, or gives one (normalised)', () => {
  const r = parseCreateEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: '198.18.50.32/24', AddressIPv6: '', MacAddress: '' }, Options: { 'com.docker.network.portmap': [] } });
  assert.deepEqual(r, { networkId: NET, endpointId: EP, address: { family: 4, ip: '198.18.50.32', prefix: 24 }, addressIPv6: undefined, mac: undefined });
  const m = parseCreateEndpoint({ NetworkID: NET, EndpointID: EP, Interface: { Address: '198.18.50.40/24', AddressIPv6: 'fd00:51:0::0002/64', MacAddress: '02:42:C6:12:32:28' } });
  assert.equal(m.mac, '02:42:c6:12:32:28');
  assert.equal(m.addressIPv6?.ip, 'fd00:51::2');
  const none = parseCreateEndpoint({ NetworkID: NET, EndpointID: EP, Interface: null });
  assert.equal(none.address, undefined);
});

test('CreateEndpoint: bad ids, addresses and MACs', () => {
  const ep = (iface: Record<string, unknown>, over: Record<string, unknown> = {}): Record<string, unknown> => ({ NetworkID: NET, EndpointID: EP, Interface: { Address: '198.18.50.2/24', ...iface }, ...over });
  rejects(() => parseCreateEndpoint(ep({}, { EndpointID: 'abc' })), /"EndpointID" must be a Docker id/);
  rejects(() => parseCreateEndpoint(ep({}, { EndpointID: null })), /"EndpointID"/);
  rejects(() => parseCreateEndpoint(ep({}, { Interface: 'eth0' })), /"Interface" must be an object/);
  rejects(() => parseCreateEndpoint(ep({ Address: '198.18.50.2' })), /"Interface\.Address" must be empty or an IPv4 address with prefix length/);
  rejects(() => parseCreateEndpoint(ep({ Address: 'fd00::2/64' })), /"Interface\.Address"/);
  rejects(() => parseCreateEndpoint(ep({ Address: 7 })), /"Interface\.Address" must be a string/);
  rejects(() => parseCreateEndpoint(ep({ AddressIPv6: '198.18.50.2/24' })), /"Interface\.AddressIPv6" must be empty or an IPv6/);
  rejects(() => parseCreateEndpoint(ep({ AddressIPv6: 'fe80::1%eth0/64' })), /"Interface\.AddressIPv6"/);
  rejects(() => parseCreateEndpoint(ep({ MacAddress: '02:42:c6:12:32' })), /"Interface\.MacAddress" must be empty or a unicast MAC/);
  rejects(() => parseCreateEndpoint(ep({ MacAddress: '01:00:5e:00:00:01' })), /unicast MAC/);
  rejects(() => parseCreateEndpoint(ep({ MacAddress: '00:00:00:00:00:00' })), /unicast MAC/);
  rejects(() => parseCreateEndpoint(ep({ MacAddress: '02-42-c6-12-32-28' })), /unicast MAC/);
  rejects(() => parseCreateEndpoint(ep({}, { Options: [] })), /"Options" must be an object/);
});

test('Join: SandboxKey only directly under Docker\'s netns directory', () => {
  const join = (key: unknown): Record<string, unknown> => ({ NetworkID: NET, EndpointID: EP, SandboxKey: key, Options: {} });
  assert.equal(parseJoin(join('/var/run/docker/netns/04713b6cf809')).sandboxKey, '/var/run/docker/netns/04713b6cf809');
  assert.equal(parseJoin(join('/run/docker/netns/default')).sandboxKey, '/run/docker/netns/default');
  for (const bad of ['/var/run/docker/netns/../../../etc/passwd', '/var/run/docker/netns/..', '/var/run/docker/netns/', '/tmp/ns', '/var/run/docker/netns/a/b', '/var/run/docker/netns/a;rm', 'var/run/docker/netns/x', '/var/run/docker/netnsx/a']) {
    rejects(() => parseJoin(join(bad)), /"SandboxKey" must be a namespace file directly under \/var\/run\/docker\/netns\/ or \/run\/docker\/netns\//);
  }
  rejects(() => parseJoin(join(undefined)), /"SandboxKey" must be a string; it is missing/);
  rejects(() => parseJoin({ NetworkID: NET, SandboxKey: '/run/docker/netns/x' }), /"EndpointID"/);
});

test('the other calls: ids checked, extra fields ignored', () => {
  assert.deepEqual(parseEndpointRequest('Leave', { NetworkID: NET, EndpointID: EP, Extra: 1 }), { networkId: NET, endpointId: EP });
  assert.deepEqual(parseNetworkRequest('DeleteNetwork', { NetworkID: NET }), { networkId: NET });
  rejects(() => parseEndpointRequest('Leave', { NetworkID: NET }), /failed to parse Leave request: field "EndpointID"/);
  rejects(() => parseEndpointRequest('EndpointOperInfo', { NetworkID: 'x', EndpointID: EP }), /EndpointOperInfo.*"NetworkID"/);
  rejects(() => parseNetworkRequest('DeleteNetwork', {}), /"NetworkID".*missing/);
  assert.deepEqual(parseDiscovery('DiscoverNew', { DiscoveryType: 1, DiscoveryData: { Address: '198.18.0.1' } }), { discoveryType: 1 });
  rejects(() => parseDiscovery('DiscoverNew', { DiscoveryType: '1' }), /"DiscoveryType" must be an integer/);
  parseEmpty('Activate', undefined);
  parseEmpty('Activate', {});
  rejects(() => parseEmpty('Activate', [1]), /body must be empty or a JSON object/);
});

test('a huge bad value is not echoed whole', () => {
  assert.throws(() => parseNetworkRequest('DeleteNetwork', { NetworkID: 'x'.repeat(100000) }), (e: unknown) => e instanceof Error && e.message.length < 300);
});

test('CreateNetwork: no address pool at all is refused, it would make a switch with no subnet', () => {
  rejects(() => parseCreateNetwork({ NetworkID: NET }), /no address pool \(IPv4Data and IPv6Data are both empty\).*--subnet/);
  rejects(() => parseCreateNetwork(network({ IPv4Data: [], IPv6Data: [] })), /no address pool/);
});

test('CreateNetwork: Docker 28\'s IPv6-only network (enable_ipv4 false, empty IPv4Data)', () => {
  const v6 = [{ AddressSpace: 'LocalDefault', Gateway: 'fd00:198:18:52::1/64', Pool: 'fd00:198:18:52::/64' }];
  const top = parseCreateNetwork(network({ Options: { 'com.docker.network.enable_ipv4': false, 'com.docker.network.enable_ipv6': true, 'com.docker.network.generic': {} }, IPv4Data: [], IPv6Data: v6 }));
  assert.equal(top.options.ipv4, false);
  assert.equal(top.options.ipv6, true);
  assert.deepEqual(top.ipv4, []);
  assert.equal(top.ipv6[0]?.pool.ip, 'fd00:198:18:52::');
  const generic = parseCreateNetwork(network({ Options: { 'com.docker.network.generic': { 'com.docker.network.enable_ipv4': 'false' } }, IPv4Data: [], IPv6Data: v6 }));
  assert.equal(generic.options.ipv4, false);
  assert.equal(parseCreateNetwork(network()).options.ipv4, true);
  rejects(() => parseCreateNetwork(network({ Options: { 'com.docker.network.enable_ipv4': false } })), /IPv4 is disabled \(com.docker.network.enable_ipv4=false\) but IPv4Data has 1 pool/);
  rejects(() => parseCreateNetwork(network({ Options: { 'com.docker.network.enable_ipv4': 'no' } })), /"Options.com.docker.network.enable_ipv4" must be true or false/);
  rejects(() => parseCreateNetwork(network({ Options: { 'com.docker.network.generic': { 'com.docker.network.enable_ipv4': 'off' } } })), /option "com.docker.network.enable_ipv4" must be true or false/);
  rejects(() => parseCreateNetwork(network({ Options: { 'com.docker.network.enable_ipv4': true, 'com.docker.network.generic': { 'com.docker.network.enable_ipv4': 'false' } } })), /disagree/);
});

test('Join: SandboxKey under another exec root only when the daemon was given it', () => {
  const join = (key: string): Record<string, unknown> => ({ NetworkID: NET, EndpointID: EP, SandboxKey: key, Options: {} });
  const dirs = [sandboxDirOf('/var/snap/docker/common/run/docker/')];
  assert.deepEqual(dirs, ['/var/snap/docker/common/run/docker/netns/']);
  assert.equal(parseJoin(join('/var/snap/docker/common/run/docker/netns/0d1e2f3a4b5c'), dirs).sandboxKey, '/var/snap/docker/common/run/docker/netns/0d1e2f3a4b5c');
  assert.equal(parseJoin(join('/run/docker/netns/default'), dirs).sandboxKey, '/run/docker/netns/default');
  rejects(() => parseJoin(join('/var/snap/docker/common/run/docker/netns/0d1e2f3a4b5c')), /directly under \/var\/run\/docker\/netns\/ or \/run\/docker\/netns\/; a dockerd with another --exec-root needs the driver's --docker-exec-root/);
  for (const bad of ['/var/snap/docker/common/run/docker/netns/../x', '/var/snap/docker/common/run/docker/netns/a/b', '/var/snap/docker/common/run/docker/x', '/tmp/ns']) {
    rejects(() => parseJoin(join(bad), dirs), /directly under \/var\/run\/docker\/netns\/ or \/run\/docker\/netns\/ or \/var\/snap\/docker\/common\/run\/docker\/netns\//);
  }
});
