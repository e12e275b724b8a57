// Bad input at the plugin socket: malformed JSON, missing and wrong-typed fields, an unknown
// network or endpoint, a SandboxKey outside Docker's directory, an oversized or truncated body.
// Each gets a 4xx (or an Err) saying what is wrong, the daemon keeps serving, and the
// databases and the kernel are unchanged. Needs the stack (scripts/stack.sh start).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { withCleanup } from '../helpers/cleanup';
import { run } from '../helpers/run';
import { DriverObjects, listLogicalSwitches, listLogicalSwitchPorts, listOvsInterfaces, objectsFor, pluginActive, postPlugin, startDriver, switchNetworkIds } from '../helpers/stack';

const REPO = path.resolve(__dirname, '../../..');
const hex = (): string => randomBytes(32).toString('hex');

interface Snapshot {
  objects: DriverObjects;
  ports: string;
  switches: string;
  ifaces: string;
}

/** What exists for these ids, in every detail a bad request could have changed. */
async function snapshot(ids: { networkIds: string[]; endpointIds: string[] }): Promise<Snapshot> {
  const mine = (s: string): boolean => ids.networkIds.includes(s) || ids.endpointIds.includes(s);
  const ports = (await listLogicalSwitchPorts()).filter((p) => mine(p.name)).map((p) => ({ ...p, up: undefined }));
  const switches = (await listLogicalSwitches()).filter((s) => mine(s.name) || switchNetworkIds(s).some(mine));
  const ifaces = (await listOvsInterfaces()).filter((i) => mine(i.externalIds['iface-id'] ?? ''));
  return { objects: await objectsFor(ids), ports: JSON.stringify(ports), switches: JSON.stringify(switches), ifaces: JSON.stringify(ifaces) };
}

/** Sends raw bytes and returns whatever comes back before the server closes or `ms` pass. */
function raw(socketPath: string, data: string, ms = 2000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(socketPath);
    let got = '';
    const done = (): void => {
      s.destroy();
      resolve(got);
    };
    s.on('data', (c: Buffer) => (got += c.toString('utf8')));
    s.on('close', done);
    s.on('error', done);
    s.setTimeout(ms, done);
    s.write(data);
  });
}

test('bad input at the socket: a clear 4xx or Err, the daemon keeps serving, nothing changes', { timeout: 120_000 }, async () => {
  await run('bash', [path.join(REPO, 'scripts/stack.sh'), 'start'], 300_000);
  await withCleanup(async (cleanup) => {
    const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ovn-bad-'));
    cleanup.add('remove the socket dir', () => fs.rm(dir, { recursive: true, force: true }));
    const driver = await startDriver({ socketPath: path.join(dir, 'ovn.sock') });
    cleanup.add('stop the driver', () => driver.stop());
    const sock = driver.socketPath;
    const post = (call: string, body: unknown): Promise<{ status: number; body: string }> =>
      postPlugin(sock, `/NetworkDriver.${call}`, typeof body === 'string' ? body : JSON.stringify(body));

    // A real network and endpoint, joined, that the bad requests must not disturb.
    const netId = hex();
    const epId = hex();
    cleanup.add('remove the network', async () => {
      await post('Leave', { NetworkID: netId, EndpointID: epId });
      await post('DeleteEndpoint', { NetworkID: netId, EndpointID: epId });
      await post('DeleteNetwork', { NetworkID: netId });
    });
    assert.equal((await post('CreateNetwork', { NetworkID: netId, Options: {}, IPv4Data: [{ Pool: '198.18.80.0/24', Gateway: '198.18.80.1/24' }], IPv6Data: [] })).status, 200);
    assert.equal((await post('CreateEndpoint', { NetworkID: netId, EndpointID: epId, Interface: { Address: '198.18.80.2/24', AddressIPv6: '', MacAddress: '' } })).status, 200);
    assert.equal((await post('Join', { NetworkID: netId, EndpointID: epId, SandboxKey: '/var/run/docker/netns/abcdef012345', Options: {} })).status, 200);
    const unknownNet = hex();
    const unknownEp = hex();
    const allIds = { networkIds: [netId, unknownNet], endpointIds: [epId, unknownEp] };
    const before = await snapshot(allIds);

    const cases: Array<[string, unknown, number, RegExp]> = [
      ['CreateNetwork', '{"NetworkID": "', 400, /not valid JSON/],
      ['CreateNetwork', '[1,2]', 400, /body must be a JSON object/],
      ['CreateNetwork', { Options: {} }, 400, /"NetworkID" must be a Docker id .* it is missing/],
      ['CreateNetwork', { NetworkID: 12 }, 400, /"NetworkID" must be a Docker id/],
      ['CreateNetwork', { NetworkID: unknownNet, IPv4Data: [{ Pool: '198.18.80.0/33' }] }, 400, /"IPv4Data\[0\]\.Pool" must be an IPv4 subnet/],
      ['CreateNetwork', { NetworkID: unknownNet, Options: { 'com.docker.network.generic': { colour: 'blue' } }, IPv4Data: [{ Pool: '198.18.81.0/24' }] }, 400, /unknown network option "colour"; the ovn driver knows -o vrf/],
      ['CreateEndpoint', { NetworkID: unknownNet, EndpointID: unknownEp, Interface: { Address: '198.18.81.2/24' } }, 400, /network "[0-9a-f]{64}" has no logical switch in OVN/],
      ['CreateEndpoint', { NetworkID: netId, EndpointID: unknownEp, Interface: { Address: '198.18.99.2/24' } }, 400, /outside the network's subnets 198\.18\.80\.0\/24/],
      ['CreateEndpoint', { NetworkID: netId, EndpointID: epId, Interface: { Address: '198.18.80.3/24' } }, 409, /already exists with addresses/],
      ['CreateEndpoint', { NetworkID: netId, EndpointID: unknownEp, Interface: { Address: '198.18.80.3/24', MacAddress: 'ff:ff:ff:ff:ff:ff' } }, 400, /"Interface\.MacAddress" must be empty or a unicast MAC/],
      ['CreateEndpoint', { NetworkID: netId, EndpointID: unknownEp, Interface: { Address: ['198.18.80.3/24'] } }, 400, /"Interface\.Address" must be a string/],
      ['Join', { NetworkID: netId, EndpointID: epId, SandboxKey: '/var/run/docker/netns/../../../etc/passwd' }, 400, /"SandboxKey" must be a namespace file directly under/],
      ['Join', { NetworkID: netId, EndpointID: unknownEp, SandboxKey: '/var/run/docker/netns/abcdef012345' }, 400, /has no logical switch port in OVN/],
      ['Join', { NetworkID: netId, EndpointID: '$(reboot)', SandboxKey: '/var/run/docker/netns/x' }, 400, /"EndpointID" must be a Docker id/],
      ['EndpointOperInfo', { NetworkID: netId, EndpointID: unknownEp }, 400, /has no logical switch port in OVN/],
      ['EndpointOperInfo', { NetworkID: netId }, 400, /"EndpointID"/],
      ['ProgramExternalConnectivity', { NetworkID: netId, EndpointID: unknownEp, Options: {} }, 400, /failed to program external connectivity for endpoint "[0-9a-f]{64}": it has no logical switch port in OVN/],
      ['RevokeExternalConnectivity', { NetworkID: netId, EndpointID: unknownEp }, 400, /failed to revoke external connectivity of endpoint "[0-9a-f]{64}": it has no logical switch port in OVN/],
      ['CreateNetwork', { NetworkID: unknownNet }, 400, /the network has no address pool \(IPv4Data and IPv6Data are both empty\)/],
      ['Leave', { NetworkID: netId, EndpointID: 'x'.repeat(10000) }, 400, /"EndpointID" must be a Docker id/],
      ['DeleteNetwork', { NetworkID: null }, 400, /"NetworkID"/],
      ['AllocateNetwork', { NetworkID: unknownNet }, 501, /local-scope/],
      ['DiscoverNew', { DiscoveryType: 'x' }, 400, /"DiscoveryType" must be an integer/],
      ['Frobnicate', {}, 404, /not a call of the ovn network driver/],
    ];
    for (const [call, body, status, err] of cases) {
      const r = await post(call, body);
      assert.equal(r.status, status, `${call} ${JSON.stringify(body).slice(0, 100)}: ${r.body}`);
      const doc: unknown = JSON.parse(r.body);
      assert.ok(typeof doc === 'object' && doc !== null && 'Err' in doc && typeof doc.Err === 'string', r.body);
      assert.match(doc.Err, err);
    }
    // Already gone is success, and changes nothing.
    assert.equal((await post('Leave', { NetworkID: unknownNet, EndpointID: unknownEp })).body, '{}');
    assert.equal((await post('DeleteEndpoint', { NetworkID: unknownNet, EndpointID: unknownEp })).body, '{}');
    assert.equal((await post('DeleteNetwork', { NetworkID: unknownNet })).body, '{}');

    // Oversized: 413 with an Err.
    const big = await post('CreateNetwork', JSON.stringify({ NetworkID: unknownNet, pad: 'x'.repeat(2 * 1024 * 1024) }));
    assert.equal(big.status, 413);
    assert.match(big.body, /"Err":"failed to read .* larger than the driver accepts/);
    // Truncated: the body is shorter than its Content-Length and the client goes away.
    await raw(sock, `POST /NetworkDriver.CreateNetwork HTTP/1.1\r\nHost: x\r\nContent-Length: 500\r\n\r\n{"NetworkID": "${unknownNet}"`, 300);
    // Not HTTP at all.
    const garbage = await raw(sock, '\u0000\u0001garbage\r\n\r\n');
    assert.match(garbage, /^HTTP\/1\.1 400/);

    assert.equal(await pluginActive(sock), true, 'the daemon stopped serving');
    assert.deepEqual(await snapshot(allIds), before);
  });
});
