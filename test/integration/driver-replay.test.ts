// Docker Engine 20.10's captured requests (test/fixtures/docker-20.10) replayed against the
// daemon (dist/src/main.js as a child, on its own socket) over the real stack: each answer has
// the shape libnetwork expects, the databases and the kernel hold what each step promised, and
// at the end nothing is left. Needs OVS, OVN and ovn-controller running (scripts/stack.sh start).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fs, readFileSync } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { withCleanup } from '../helpers/cleanup';
import { run } from '../helpers/run';
import { listKernelLinks, listLogicalSwitchPorts, listOvsInterfaces, NOTHING, objectsFor, postPlugin, startDriver } from '../helpers/stack';

const REPO = path.resolve(__dirname, '../../..');
const FIXTURES = path.join(REPO, 'test/fixtures/docker-20.10');

interface Captured {
  seq: number;
  path: string;
  body: string;
}

function load(file: string): Captured[] {
  return readFileSync(path.join(FIXTURES, file), 'utf8').split('\n').filter((l) => l.trim() !== '').map((line) => {
    const d: unknown = JSON.parse(line);
    if (typeof d !== 'object' || d === null || !('seq' in d) || !('path' in d) || !('body' in d)) throw new Error(`bad fixture line: ${line}`);
    const { seq, path: p, body } = d;
    if (typeof seq !== 'number' || typeof p !== 'string' || typeof body !== 'string') throw new Error(`bad fixture line: ${line}`);
    return { seq, path: p, body };
  });
}

function field(body: string, key: string): string {
  const d: unknown = body === '' ? {} : JSON.parse(body);
  const v: unknown = typeof d === 'object' && d !== null ? Object.entries(d).find(([k]) => k === key)?.[1] : undefined;
  return typeof v === 'string' ? v : '';
}

function requestedMac(body: string): string {
  const d: unknown = JSON.parse(body);
  if (typeof d !== 'object' || d === null || !('Interface' in d)) return '';
  const iface: unknown = d.Interface;
  return typeof iface === 'object' && iface !== null && 'MacAddress' in iface && typeof iface.MacAddress === 'string' ? iface.MacAddress : '';
}

/** Checks one answer's shape, and what the step promised about the databases and kernel. */
/** What Join must answer for a network, from its CreateNetwork: Gateway / GatewayIPv6 unless --internal. */
function requestGateways(body: string): { Gateway?: string; GatewayIPv6?: string } {
  const d: unknown = JSON.parse(body);
  if (typeof d !== 'object' || d === null) return {};
  const opts: unknown = 'Options' in d ? d.Options : undefined;
  if (typeof opts === 'object' && opts !== null && 'com.docker.network.internal' in opts && opts['com.docker.network.internal'] === true) return {};
  const first = (key: string): string | undefined => {
    const list: unknown = Object.entries(d).find(([k]) => k === key)?.[1];
    const item: unknown = Array.isArray(list) ? list[0] : undefined;
    const gw: unknown = typeof item === 'object' && item !== null && 'Gateway' in item ? item.Gateway : undefined;
    return typeof gw === 'string' && gw !== '' ? gw.split('/')[0] : undefined;
  };
  const v4 = first('IPv4Data');
  const v6 = first('IPv6Data');
  return { ...(v4 === undefined ? {} : { Gateway: v4 }), ...(v6 === undefined ? {} : { GatewayIPv6: v6 }) };
}

async function check(req: Captured, status: number, text: string, macs: Map<string, string>, gateways: Map<string, { Gateway?: string; GatewayIPv6?: string }>): Promise<void> {
  const where = `#${req.seq} ${req.path}: ${text}`;
  assert.equal(status, 200, where);
  const res: unknown = JSON.parse(text);
  assert.ok(typeof res === 'object' && res !== null, where);
  assert.ok(!('Err' in res), where);
  const ep = field(req.body, 'EndpointID');
  if (req.path === '/NetworkDriver.CreateNetwork') gateways.set(field(req.body, 'NetworkID'), requestGateways(req.body));
  switch (req.path) {
    case '/Plugin.Activate':
      assert.deepEqual(res, { Implements: ['NetworkDriver', 'IpamDriver'] });
      break;
    case '/NetworkDriver.GetCapabilities':
      assert.deepEqual(res, { Scope: 'local', ConnectivityScope: 'global' });
      break;
    case '/NetworkDriver.CreateEndpoint': {
      const given = requestedMac(req.body);
      if (given === '') {
        // Docker left the MAC to us: it must come back (and only it).
        assert.ok('Interface' in res, where);
        const iface: unknown = res.Interface;
        assert.ok(typeof iface === 'object' && iface !== null && 'MacAddress' in iface && typeof iface.MacAddress === 'string', where);
        assert.deepEqual(Object.keys(iface), ['MacAddress']);
        assert.match(iface.MacAddress, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
        macs.set(ep, iface.MacAddress);
      } else {
        assert.deepEqual(res, {}, where);
        macs.set(ep, given);
      }
      const lsp = (await listLogicalSwitchPorts()).find((p) => p.name === ep);
      assert.ok(lsp, `${where}: no logical port`);
      assert.equal(lsp.addresses[0]?.split(' ')[0], macs.get(ep));
      assert.deepEqual(lsp.portSecurity, lsp.addresses);
      break;
    }
    case '/NetworkDriver.Join': {
      // A routed network answers its gateways (bare addresses); an --internal one none.
      const gw = gateways.get(field(req.body, 'NetworkID')) ?? {};
      assert.deepEqual(res, { InterfaceName: { SrcName: `ovc${ep.slice(0, 12)}`, DstPrefix: 'eth' }, ...gw, DisableGatewayService: true }, where);
      const links = await listKernelLinks();
      assert.equal(links.find((l) => l.name === `ovc${ep.slice(0, 12)}`)?.mac, macs.get(ep));
      const iface = (await listOvsInterfaces()).find((i) => i.name === `ovn${ep.slice(0, 12)}`);
      assert.ok(iface, `${where}: no OVS interface`);
      assert.equal(iface.externalIds['iface-id'], ep);
      assert.equal(iface.externalIds['attached-mac'], macs.get(ep));
      assert.equal(iface.externalIds['ovn-installed'], 'true', `${where}: Join answered before ovn-controller installed the port`);
      break;
    }
    case '/NetworkDriver.EndpointOperInfo': {
      assert.ok('Value' in res, where);
      const v: unknown = res.Value;
      assert.ok(typeof v === 'object' && v !== null && 'ovn.logical_port' in v && 'ovn.mac_address' in v, where);
      assert.equal(v['ovn.logical_port'], ep);
      assert.equal(v['ovn.mac_address'], macs.get(ep));
      break;
    }
    case '/NetworkDriver.Leave':
      assert.deepEqual(res, {}, where);
      assert.equal((await listKernelLinks()).some((l) => l.name === `ovn${ep.slice(0, 12)}`), false, `${where}: veth left`);
      break;
    default:
      assert.deepEqual(res, {}, where);
  }
}

for (const file of ['requests.jsonl', 'requests-with-gateway.jsonl']) {
  test(`replay of Docker 20.10's ${file}`, { timeout: 120_000 }, async () => {
    await run('bash', [path.join(REPO, 'scripts/stack.sh'), 'start'], 300_000);
    const requests = load(file);
    const ids = {
      networkIds: [...new Set(requests.map((r) => field(r.body, 'NetworkID')).filter((s) => s !== ''))],
      endpointIds: [...new Set(requests.map((r) => field(r.body, 'EndpointID')).filter((s) => s !== ''))],
    };
    await withCleanup(async (cleanup) => {
      const dir = await fs.mkdtemp(path.join(os.tmpdir(), 'ovn-replay-'));
      cleanup.add('remove the socket dir', () => fs.rm(dir, { recursive: true, force: true }));
      assert.deepEqual(await objectsFor(ids), NOTHING, 'leftovers of an earlier run');
      const driver = await startDriver({ socketPath: path.join(dir, 'ovn.sock') });
      cleanup.add('stop the driver', () => driver.stop());
      // A failed step leaves the rest undone: Docker's teardown for every endpoint and network of
      // the file, through the driver (each already gone is success).
      cleanup.add('undo what the replay made', async () => {
        for (const r of requests.filter((x) => x.path === '/NetworkDriver.CreateEndpoint')) {
          const body = JSON.stringify({ NetworkID: field(r.body, 'NetworkID'), EndpointID: field(r.body, 'EndpointID'), Options: {} });
          await postPlugin(driver.socketPath, '/NetworkDriver.Leave', body);
          await postPlugin(driver.socketPath, '/NetworkDriver.DeleteEndpoint', body);
        }
        for (const id of ids.networkIds) await postPlugin(driver.socketPath, '/NetworkDriver.DeleteNetwork', JSON.stringify({ NetworkID: id }));
      });
      const macs = new Map<string, string>();
      const gateways = new Map<string, { Gateway?: string; GatewayIPv6?: string }>();
      for (const req of requests) {
        const reply = await postPlugin(driver.socketPath, req.path, req.body);
        await check(req, reply.status, reply.body, macs, gateways);
      }
      assert.deepEqual(await objectsFor(ids), NOTHING, `left behind; driver log:\n${driver.output()}`);
    });
  });
}
