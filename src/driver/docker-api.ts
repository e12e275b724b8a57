// A tiny client of the Docker Engine API on its unix socket, for reconciliation only: which
// endpoints does Docker still have? GET /networks, /networks/{id} and /containers/json, each
// bounded by a timeout; every answer is checked before use (parse, don't assert).

import * as http from 'node:http';

export type DockerApiErrorCode = 'DOCKER_UNREACHABLE' | 'DOCKER_API_ERROR' | 'DOCKER_PROTOCOL';

export class DockerApiError extends Error {
  readonly code: DockerApiErrorCode;

  constructor(code: DockerApiErrorCode, message: string) {
    super(message);
    this.name = 'DockerApiError';
    this.code = code;
  }
}

export interface DockerNetwork {
  readonly id: string;
  readonly name: string;
  readonly driver: string;
  /** Endpoint ids of the containers attached (only in /networks/{id}). */
  readonly endpointIds: readonly string[];
}

/** What reconciliation needs of Docker (an interface, so it is easy to wire and to test). */
export interface DockerEndpoints {
  /** Every endpoint id Docker has on any network; rejects when Docker cannot be asked. */
  endpointIds(): Promise<ReadonlySet<string>>;
}

export interface DockerApiOptions {
  readonly socketPath: string;
  /** Per request (default 5000 ms). */
  readonly timeoutMs?: number;
  /** Largest answer accepted (default 16 MiB). */
  readonly maxBytes?: number;
}

function isRecord(v: unknown): v is { readonly [k: string]: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

const ID_RE = /^[0-9a-f]{64}$/;

export class DockerApi implements DockerEndpoints {
  private readonly socketPath: string;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;

  constructor(opts: DockerApiOptions) {
    this.socketPath = opts.socketPath;
    this.timeoutMs = opts.timeoutMs ?? 5000;
    this.maxBytes = opts.maxBytes ?? 16 << 20;
    if (!(this.timeoutMs > 0) || !(this.maxBytes > 0)) throw new RangeError('DockerApi: timeoutMs and maxBytes must be positive');
  }

  /** GET `path`, decoded as JSON. */
  get(path: string): Promise<unknown> {
    return new Promise((resolve, reject) => {
      const fail = (code: DockerApiErrorCode, why: string): void => reject(new DockerApiError(code, `failed to GET ${path} from Docker at "${this.socketPath}": ${why}`));
      const req = http.request({ socketPath: this.socketPath, path, method: 'GET', timeout: this.timeoutMs, headers: { Accept: 'application/json' } }, (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on('data', (c: Buffer) => {
          size += c.length;
          if (size > this.maxBytes) {
            req.destroy();
            fail('DOCKER_PROTOCOL', `the answer is larger than ${this.maxBytes} bytes`);
          } else chunks.push(c);
        });
        res.on('error', (e) => fail('DOCKER_UNREACHABLE', e.message));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          if (res.statusCode !== 200) {
            fail('DOCKER_API_ERROR', `status ${res.statusCode ?? 0}: ${text.slice(0, 200)}`);
            return;
          }
          try {
            resolve(JSON.parse(text));
          } catch (e) {
            fail('DOCKER_PROTOCOL', `the answer is not JSON (${e instanceof Error ? e.message : String(e)})`);
          }
        });
      });
      req.on('timeout', () => {
        req.destroy();
        fail('DOCKER_UNREACHABLE', `no answer within ${this.timeoutMs} ms`);
      });
      req.on('error', (e) => fail('DOCKER_UNREACHABLE', e.message));
      req.end();
    });
  }

  /** GET /networks: ids, names and drivers (no endpoints in this listing). */
  async listNetworks(): Promise<DockerNetwork[]> {
    const doc = await this.get('/networks');
    if (!Array.isArray(doc)) throw new DockerApiError('DOCKER_PROTOCOL', 'failed to list Docker networks: /networks did not answer a list');
    return doc.map((n: unknown) => parseNetwork(n, '/networks'));
  }

  /** GET /networks/{id}: with the endpoints of the attached containers. */
  async inspectNetwork(id: string): Promise<DockerNetwork | undefined> {
    if (!ID_RE.test(id)) throw new DockerApiError('DOCKER_PROTOCOL', `failed to inspect Docker network "${id.slice(0, 80)}": not a network id`);
    try {
      return parseNetwork(await this.get(`/networks/${id}`), `/networks/${id}`);
    } catch (e) {
      // Removed between the listing and now: it has no endpoints.
      if (e instanceof DockerApiError && e.code === 'DOCKER_API_ERROR' && /status 404/.test(e.message)) return undefined;
      throw e;
    }
  }

  /** GET /containers/json: the endpoint ids of running containers, on every network. */
  async containerEndpointIds(): Promise<string[]> {
    const doc = await this.get('/containers/json');
    if (!Array.isArray(doc)) throw new DockerApiError('DOCKER_PROTOCOL', 'failed to list Docker containers: /containers/json did not answer a list');
    const ids: string[] = [];
    for (const c of doc) {
      const settings = isRecord(c) ? c['NetworkSettings'] : undefined;
      const networks = isRecord(settings) ? settings['Networks'] : undefined;
      if (!isRecord(networks)) continue;
      for (const n of Object.values(networks)) {
        const ep = isRecord(n) ? str(n['EndpointID']) : undefined;
        if (ep !== undefined && ID_RE.test(ep)) ids.push(ep);
      }
    }
    return ids;
  }

  /** Every endpoint Docker has: the running containers' and every network's (a union, so nothing in use is missed). */
  async endpointIds(): Promise<ReadonlySet<string>> {
    const [networks, fromContainers] = await Promise.all([this.listNetworks(), this.containerEndpointIds()]);
    const out = new Set(fromContainers);
    for (const n of networks) {
      const detail = await this.inspectNetwork(n.id);
      for (const ep of detail?.endpointIds ?? []) out.add(ep);
    }
    return out;
  }
}

function parseNetwork(n: unknown, where: string): DockerNetwork {
  if (!isRecord(n)) throw new DockerApiError('DOCKER_PROTOCOL', `failed to read a Docker network from ${where}: not an object`);
  const id = str(n['Id']);
  if (id === undefined || !ID_RE.test(id)) throw new DockerApiError('DOCKER_PROTOCOL', `failed to read a Docker network from ${where}: no valid Id`);
  const containers = n['Containers'];
  const endpointIds: string[] = [];
  if (isRecord(containers)) {
    for (const c of Object.values(containers)) {
      const ep = isRecord(c) ? str(c['EndpointID']) : undefined;
      if (ep !== undefined && ID_RE.test(ep)) endpointIds.push(ep);
    }
  }
  return { id, name: str(n['Name']) ?? '', driver: str(n['Driver']) ?? '', endpointIds };
}
