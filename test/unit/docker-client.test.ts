// The one client of the local HTTP APIs (src/docker/client.ts) against an in-process HTTP server
// on a Unix socket in a temporary directory: Docker's answers are checked before use, and each
// way of failing has its own code.
import assert from 'node:assert/strict';
import { promises as fs } from 'node:fs';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { DockerApi, getOverUnixSocket, UnixHttpError } from '../../src/docker/client';

const id = (c: string): string => c.repeat(64);
const NET_A = id('a');
const NET_GONE = id('b');
const EP_CONTAINER = id('1');
const EP_NETWORK = id('2');

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => void;

async function withServer(handler: Handler, body: (socketPath: string) => Promise<void>): Promise<void> {
  const dir = await fs.mkdtemp(path.join(tmpdir(), 'ovn-driver-docker-client-'));
  const socketPath = path.join(dir, 'docker.sock');
  const server = http.createServer(handler);
  // Connections a test left open (the one that never got an answer) must not hold close() up.
  const sockets = new Set<Socket>();
  server.on('connection', (s) => (sockets.add(s), s.once('close', () => sockets.delete(s))));
  try {
    await new Promise<void>((resolve) => server.listen(socketPath, resolve));
    await body(socketPath);
  } finally {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await fs.rm(dir, { recursive: true, force: true });
  }
}

function json(res: http.ServerResponse, status: number, doc: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(doc));
}

function rejectsWith(code: string, message: RegExp, status?: number): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof UnixHttpError, `a UnixHttpError, got ${String(e)}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, message);
    assert.equal(e.status, status);
    return true;
  };
}

const docker: Handler = (req, res) => {
  switch (req.url) {
    case '/containers/json':
      return json(res, 200, [
        { Id: 'c1', NetworkSettings: { Networks: { blue: { EndpointID: EP_CONTAINER }, bad: { EndpointID: 'not-an-id' } } } },
        { Id: 'c2', NetworkSettings: null },
        'garbage',
      ]);
    case '/networks':
      return json(res, 200, [{ Id: NET_A, Name: 'blue', Driver: 'ovn' }, { Id: NET_GONE, Name: 'gone', Driver: 'ovn' }]);
    case `/networks/${NET_A}`:
      return json(res, 200, { Id: NET_A, Name: 'blue', Driver: 'ovn', Containers: { c1: { EndpointID: EP_CONTAINER }, c3: { EndpointID: EP_NETWORK }, c4: { EndpointID: 7 } } });
    default:
      return json(res, 404, { message: `no such network ${req.url ?? ''}` });
  }
};

test("Docker's endpoints are the union of the running containers' and every network's; a network gone meanwhile has none", async () =>
  withServer(docker, async (socketPath) => {
    const api = new DockerApi({ socketPath });
    assert.deepEqual([...(await api.endpointIds())].sort(), [EP_CONTAINER, EP_NETWORK]);
    assert.deepEqual(await api.inspectNetwork(NET_GONE), undefined);
    assert.deepEqual(await api.listNetworks(), [
      { id: NET_A, name: 'blue', driver: 'ovn', endpointIds: [], internal: false },
      { id: NET_GONE, name: 'gone', driver: 'ovn', endpointIds: [], internal: false },
    ]);
  }));

test('answers that are not what the Engine API promises are HTTP_PROTOCOL or HTTP_STATUS errors', async () => {
  const answers: Record<string, (res: http.ServerResponse) => void> = {
    '/networks': (res) => json(res, 200, { not: 'a list' }),
    '/containers/json': (res) => res.writeHead(200).end('{"truncated'),
    [`/networks/${NET_A}`]: (res) => json(res, 500, { message: 'daemon is shutting down' }),
  };
  await withServer((req, res) => (answers[req.url ?? ''] ?? ((r) => json(r, 200, [{ Name: 'no id' }])))(res), async (socketPath) => {
    const api = new DockerApi({ socketPath });
    await assert.rejects(api.listNetworks(), rejectsWith('HTTP_PROTOCOL', /failed to list Docker networks: \/networks did not answer a list/));
    await assert.rejects(api.containerEndpointIds(), rejectsWith('HTTP_PROTOCOL', /failed to GET \/containers\/json from Docker on ".*docker\.sock": the answer is not JSON/));
    await assert.rejects(api.inspectNetwork(NET_A), rejectsWith('HTTP_STATUS', /status 500: .*shutting down/, 500));
    await assert.rejects(api.inspectNetwork('../containers/json'), rejectsWith('HTTP_PROTOCOL', /not a network id/));
  });
  await withServer((_req, res) => json(res, 200, [{ Name: 'no id' }]), async (socketPath) => {
    await assert.rejects(new DockerApi({ socketPath }).listNetworks(), rejectsWith('HTTP_PROTOCOL', /failed to read a Docker network from \/networks: no valid Id/));
  });
});

test('no socket, no answer in time, or an answer too large: each rejects, naming the path and the socket', async () => {
  const dir = await fs.mkdtemp(path.join(tmpdir(), 'ovn-driver-docker-client-'));
  try {
    const missing = path.join(dir, 'none.sock');
    await assert.rejects(getOverUnixSocket(missing, '/_ping', 1000), rejectsWith('HTTP_UNREACHABLE', /^failed to GET \/_ping on ".*none\.sock": ENOENT$/));
    await assert.rejects(new DockerApi({ socketPath: missing }).endpointIds(), rejectsWith('HTTP_UNREACHABLE', /ENOENT/));
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
  await withServer((req, res) => {
    if (req.url === '/big') res.writeHead(200).end('x'.repeat(5000));
    // /slow: never answers; the client gives up.
  }, async (socketPath) => {
    await assert.rejects(getOverUnixSocket(socketPath, '/slow', 50), rejectsWith('HTTP_UNREACHABLE', /no answer within 50 ms/));
    await assert.rejects(getOverUnixSocket(socketPath, '/big', 1000, 1024), rejectsWith('HTTP_PROTOCOL', /the answer is larger than 1024 bytes/));
    assert.deepEqual(await getOverUnixSocket(socketPath, '/big', 1000), { status: 200, body: 'x'.repeat(5000) });
  });
  assert.throws(() => new DockerApi({ socketPath: '/x', timeoutMs: 0 }), RangeError);
});

test('any status comes back with its body (status and doctor decide what it means)', async () =>
  withServer((_req, res) => res.writeHead(503).end('starting'), async (socketPath) => {
    assert.deepEqual(await getOverUnixSocket(socketPath, '/NetworkDriver.Database', 1000), { status: 503, body: 'starting' });
  }));
