// The server through fastify.inject (no socket): Docker's content types and empty bodies,
// malformed JSON, oversized bodies, unknown paths, errors as {"Err"} with a non-200 status.
// The driver here is a small in-test implementation of the server's DriverApi.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { DriverApi } from '../../src/driver/calls';
import { DriverError } from '../../src/driver/errors';
import { buildServer } from '../../src/server/server';
import type { CreateNetworkRequest, EndpointRequest } from '../../src/driver/api';

const NET = '6b63829edffa437a9f4522de66e549225b3d34cfd8683bc66bee62678e10309e';
const EP = '96d2fd1f3902b1d39fdf0a90588eb25b1035733437e6491fc4fc22b3c7124709';

class RecordingDriver implements DriverApi {
  readonly calls: string[] = [];
  activate(): { Implements: string[] } {
    return { Implements: ['NetworkDriver'] };
  }
  getCapabilities(): { Scope: 'local'; ConnectivityScope: 'global' } {
    return { Scope: 'local', ConnectivityScope: 'global' };
  }
  async createNetwork(req: CreateNetworkRequest): Promise<Record<string, never>> {
    this.calls.push(`CreateNetwork ${req.networkId}`);
    if (req.ipv4[0]?.pool.ip === '198.18.66.0') throw new DriverError('DATABASE_UNAVAILABLE', 'failed to create logical switch "x": the Northbound database (unix:/nb.sock) is unreachable; check ...');
    return {};
  }
  async deleteNetwork(): Promise<Record<string, never>> {
    return {};
  }
  allocateNetwork(): never {
    throw new DriverError('NOT_SUPPORTED', 'failed to allocate network: local scope');
  }
  freeNetwork(): never {
    throw new DriverError('NOT_SUPPORTED', 'failed to free network: local scope');
  }
  async createEndpoint(): Promise<{ Interface: { MacAddress: string } }> {
    return { Interface: { MacAddress: '0a:58:c6:12:32:20' } };
  }
  async deleteEndpoint(): Promise<Record<string, never>> {
    return {};
  }
  async endpointOperInfo(req: EndpointRequest): Promise<{ Value: Record<string, unknown> }> {
    throw new DriverError('NOT_FOUND', `failed to read endpoint "${req.endpointId}": no such port`);
  }
  async join(): Promise<{ response: { InterfaceName: { SrcName: string; DstPrefix: string }; DisableGatewayService: boolean }; readyWaitMs: number; ready: boolean }> {
    return { response: { InterfaceName: { SrcName: 'ovc96d2fd1f3902', DstPrefix: 'eth' }, DisableGatewayService: true }, readyWaitMs: 12, ready: true };
  }
  async leave(): Promise<Record<string, never>> {
    throw new Error('boom');
  }
  async programExternalConnectivity(): Promise<Record<string, never>> {
    return {};
  }
  async revokeExternalConnectivity(): Promise<Record<string, never>> {
    return {};
  }
  describe(): Record<string, unknown> {
    return { networks: [], endpoints: [] };
  }
}

const quiet = { error(): void {}, warn(): void {}, info(): void {}, debug(): void {} };

function server(bodyLimit?: number): { app: ReturnType<typeof buildServer>; driver: RecordingDriver } {
  const driver = new RecordingDriver();
  return { app: buildServer({ driver, logger: quiet, ...(bodyLimit !== undefined ? { bodyLimit } : {}) }), driver };
}

const NETWORK_BODY = JSON.stringify({ NetworkID: NET, Options: {}, IPv4Data: [{ Pool: '198.18.50.0/24', Gateway: '198.18.50.1/24' }], IPv6Data: [] });

test('Activate and GetCapabilities as Docker sends them: no Content-Type, empty body', async () => {
  const { app } = server();
  const a = await app.inject({ method: 'POST', url: '/Plugin.Activate', headers: { accept: 'application/vnd.docker.plugins.v1.2+json', 'content-length': '0' } });
  assert.equal(a.statusCode, 200);
  assert.deepEqual(a.json(), { Implements: ['NetworkDriver'] });
  const c = await app.inject({ method: 'POST', url: '/NetworkDriver.GetCapabilities' });
  assert.deepEqual(c.json(), { Scope: 'local', ConnectivityScope: 'global' });
  await app.close();
});

test('JSON bodies with no Content-Type, application/json and the plugin type (any 1.x)', async () => {
  const { app, driver } = server();
  for (const type of [undefined, 'application/json', 'application/json; charset=utf-8', 'application/vnd.docker.plugins.v1.2+json', 'application/vnd.docker.plugins.v1+json', 'Application/VND.docker.plugins.v1.13+json']) {
    const r = await app.inject({ method: 'POST', url: '/NetworkDriver.CreateNetwork', payload: NETWORK_BODY, headers: type === undefined ? {} : { 'content-type': type } });
    assert.equal(r.statusCode, 200, `${type}: ${r.body}`);
    assert.deepEqual(r.json(), {});
  }
  assert.equal(driver.calls.length, 6);
  const other = await app.inject({ method: 'POST', url: '/NetworkDriver.CreateNetwork', payload: NETWORK_BODY, headers: { 'content-type': 'text/plain' } });
  assert.equal(other.statusCode, 415);
  assert.match(other.json().Err, /unsupported Content-Type/);
  const v2 = await app.inject({ method: 'POST', url: '/NetworkDriver.CreateNetwork', payload: NETWORK_BODY, headers: { 'content-type': 'application/vnd.docker.plugins.v2+json' } });
  assert.equal(v2.statusCode, 415);
  await app.close();
});

test('malformed JSON and invalid fields: 400 with an Err that says what is wrong; nothing called', async () => {
  const { app, driver } = server();
  const bad = await app.inject({ method: 'POST', url: '/NetworkDriver.CreateNetwork', payload: '{"NetworkID": ' });
  assert.equal(bad.statusCode, 400);
  assert.match(bad.json().Err, /failed to parse NetworkDriver\.CreateNetwork request: the body is not valid JSON/);
  const wrong = await app.inject({ method: 'POST', url: '/NetworkDriver.CreateNetwork', payload: JSON.stringify({ NetworkID: 'nope' }) });
  assert.equal(wrong.statusCode, 400);
  assert.match(wrong.json().Err, /field "NetworkID" must be a Docker id of 64 lowercase hexadecimal digits; got "nope"/);
  const empty = await app.inject({ method: 'POST', url: '/NetworkDriver.Join', payload: '' });
  assert.equal(empty.statusCode, 400);
  assert.match(empty.json().Err, /"NetworkID".*missing/);
  const scalar = await app.inject({ method: 'POST', url: '/NetworkDriver.Leave', payload: '"x"' });
  assert.equal(scalar.statusCode, 400);
  assert.match(scalar.json().Err, /body must be a JSON object/);
  assert.deepEqual(driver.calls, []);
  await app.close();
});

test('a body over the limit gets 413 with an Err', async () => {
  const { app, driver } = server(1024);
  const big = JSON.stringify({ NetworkID: NET, Options: { pad: 'x'.repeat(2000) } });
  const r = await app.inject({ method: 'POST', url: '/NetworkDriver.CreateNetwork', payload: big });
  assert.equal(r.statusCode, 413);
  assert.match(r.json().Err, /larger than the driver accepts/);
  assert.deepEqual(driver.calls, []);
  await app.close();
});

test('unknown paths are 404 (libnetwork: "not implemented"); the debug view is a GET', async () => {
  const { app } = server();
  const r = await app.inject({ method: 'POST', url: '/NetworkDriver.Frobnicate', payload: '{}' });
  assert.equal(r.statusCode, 404);
  assert.match(r.json().Err, /not a call of the ovn network driver/);
  assert.equal((await app.inject({ method: 'GET', url: '/NetworkDriver.Join' })).statusCode, 404);
  const db = await app.inject({ method: 'GET', url: '/NetworkDriver.Database' });
  assert.equal(db.statusCode, 200);
  assert.deepEqual(db.json(), { networks: [], endpoints: [] });
  await app.close();
});

test('driver errors: status from the code, never 404; Err carries the message; bugs are 500', async () => {
  const { app } = server();
  const unavailable = await app.inject({ method: 'POST', url: '/NetworkDriver.CreateNetwork', payload: NETWORK_BODY.replace('198.18.50.0/24', '198.18.66.0/24').replace('198.18.50.1/24', '198.18.66.1/24') });
  assert.equal(unavailable.statusCode, 503);
  assert.match(unavailable.json().Err, /Northbound database .* is unreachable/);
  const notFound = await app.inject({ method: 'POST', url: '/NetworkDriver.EndpointOperInfo', payload: JSON.stringify({ NetworkID: NET, EndpointID: EP }) });
  assert.equal(notFound.statusCode, 400);
  assert.deepEqual(Object.keys(notFound.json()), ['Err']);
  const alloc = await app.inject({ method: 'POST', url: '/NetworkDriver.AllocateNetwork', payload: JSON.stringify({ NetworkID: NET }) });
  assert.equal(alloc.statusCode, 501);
  const bug = await app.inject({ method: 'POST', url: '/NetworkDriver.Leave', payload: JSON.stringify({ NetworkID: NET, EndpointID: EP }) });
  assert.equal(bug.statusCode, 500);
  assert.match(bug.json().Err, /failed to handle NetworkDriver\.Leave: boom; this is a bug/);
  await app.close();
});

test('Join answers with the readiness wait in a header when asked for timing headers; discovery calls answer {}', async () => {
  const app = buildServer({ driver: new RecordingDriver(), logger: quiet, timingHeaders: true });
  const r = await app.inject({ method: 'POST', url: '/NetworkDriver.Join', payload: JSON.stringify({ NetworkID: NET, EndpointID: EP, SandboxKey: '/var/run/docker/netns/04713b6cf809', Options: {} }) });
  assert.equal(r.statusCode, 200);
  assert.equal(r.headers['x-ovn-driver-ready-wait-ms'], '12');
  assert.deepEqual(r.json(), { InterfaceName: { SrcName: 'ovc96d2fd1f3902', DstPrefix: 'eth' }, DisableGatewayService: true });
  const d = await app.inject({ method: 'POST', url: '/NetworkDriver.DiscoverNew', payload: JSON.stringify({ DiscoveryType: 1, DiscoveryData: {} }) });
  assert.deepEqual(d.json(), {});
  await app.close();
});

test('every answer carries the daemon handling time and CPU time of the call, from its arrival', async () => {
  // A clock and a CPU counter that advance by fixed steps on each reading.
  let t = 1000;
  let cpuMicros = 0;
  const app = buildServer({
    driver: new RecordingDriver(), logger: quiet, timingHeaders: true,
    now: () => (t += 0.25),
    cpuUsage: () => ({ user: (cpuMicros += 300), system: 100 }),
  });
  const r = await app.inject({ method: 'POST', url: '/NetworkDriver.CreateEndpoint', payload: JSON.stringify({ NetworkID: NET, EndpointID: EP, Interface: {} }) });
  assert.equal(r.statusCode, 200);
  // Read at arrival and before the answer: two clock steps apart; two CPU readings 300 us apart.
  assert.equal(r.headers['x-ovn-driver-handle-ms'], '0.25');
  assert.equal(r.headers['x-ovn-driver-cpu-ms'], '0.3');
  const failed = await app.inject({ method: 'POST', url: '/NetworkDriver.Leave', payload: JSON.stringify({ NetworkID: NET, EndpointID: EP }) });
  assert.equal(failed.statusCode, 500);
  await app.close();
});

test('without timing headers (the default) no answer carries them and no CPU time is read', async () => {
  let cpuReadings = 0;
  const app = buildServer({ driver: new RecordingDriver(), logger: quiet, cpuUsage: () => (cpuReadings++, { user: 0, system: 0 }) });
  const join = await app.inject({ method: 'POST', url: '/NetworkDriver.Join', payload: JSON.stringify({ NetworkID: NET, EndpointID: EP, SandboxKey: '/var/run/docker/netns/04713b6cf809', Options: {} }) });
  const create = await app.inject({ method: 'POST', url: '/NetworkDriver.CreateEndpoint', payload: JSON.stringify({ NetworkID: NET, EndpointID: EP, Interface: {} }) });
  for (const r of [join, create]) {
    assert.equal(r.statusCode, 200);
    assert.deepEqual(Object.keys(r.headers).filter((h) => h.startsWith('x-ovn-driver-')), []);
  }
  assert.equal(cpuReadings, 0);
  await app.close();
});
