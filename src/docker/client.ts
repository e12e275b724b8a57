// The one client of the HTTP APIs on local Unix sockets: Docker's Engine API (which endpoints
// Docker still has, for reconciliation; /_ping, for doctor) and the daemon's own plugin socket
// (`ovn-driver status`). GETs only, each bounded by a timeout and a largest answer; every answer
// is checked before use (parse, don't assert). main.ts and the CLI build it; the driver sees only
// the small interface it needs (driver/docker-endpoints.ts), which DockerApi implements.

import * as http from 'node:http';
import { DOCKER_ID_RE, isDockerId } from '../util/docker-id';
import { errorMessage } from '../util/error-message';
import { isObject } from '../util/json';

/**
 * HTTP_UNREACHABLE: no answer (no socket, refused, timed out, connection lost). HTTP_STATUS: an
 * answer other than 200 (`status` has it). HTTP_PROTOCOL: an answer too large or not what the
 * API promises (not JSON, not a list).
 */
export type UnixHttpErrorCode = 'HTTP_UNREACHABLE' | 'HTTP_STATUS' | 'HTTP_PROTOCOL';

export class UnixHttpError extends Error {
  readonly code: UnixHttpErrorCode;
  /** The HTTP status of an HTTP_STATUS error. */
  readonly status: number | undefined;

  constructor(code: UnixHttpErrorCode, message: string, status?: number) {
    super(message);
    this.name = 'UnixHttpError';
    this.code = code;
    this.status = status;
  }
}

export interface UnixHttpResponse {
  readonly status: number;
  readonly body: string;
}

export const DEFAULT_TIMEOUT_MS = 5000;
export const DEFAULT_MAX_BYTES = 16 << 20;

/**
 * GET `urlPath` from the HTTP server on the Unix socket `socketPath` within `timeoutMs`, any
 * status. Rejects with HTTP_UNREACHABLE (naming the errno, e.g. ENOENT, when there is one) or,
 * for an answer over `maxBytes`, HTTP_PROTOCOL.
 */
export function getOverUnixSocket(socketPath: string, urlPath: string, timeoutMs = DEFAULT_TIMEOUT_MS, maxBytes = DEFAULT_MAX_BYTES): Promise<UnixHttpResponse> {
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (code: UnixHttpErrorCode, why: string): void => {
      if (settled) return;
      settled = true;
      reject(new UnixHttpError(code, `failed to GET ${urlPath} on "${socketPath}": ${why}`));
    };
    const req = http.get({ socketPath, path: urlPath, headers: { Host: 'localhost', Accept: 'application/json' } }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > maxBytes) {
          fail('HTTP_PROTOCOL', `the answer is larger than ${maxBytes} bytes`);
          req.destroy();
        } else chunks.push(c);
      });
      res.on('end', () => {
        if (settled) return;
        settled = true;
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
      });
      res.on('error', (err) => fail('HTTP_UNREACHABLE', err.message));
    });
    req.setTimeout(timeoutMs, () => {
      fail('HTTP_UNREACHABLE', `no answer within ${timeoutMs} ms`);
      req.destroy();
    });
    req.on('error', (err: NodeJS.ErrnoException) => fail('HTTP_UNREACHABLE', err.code ?? err.message));
  });
}

export interface DockerNetwork {
  readonly id: string;
  readonly name: string;
  readonly driver: string;
  /** Endpoint ids of the containers attached (only in /networks/{id}). */
  readonly endpointIds: readonly string[];
  /** Created with --internal. */
  readonly internal: boolean;
}

export interface DockerApiOptions {
  readonly socketPath: string;
  /** Per request (default 5000 ms). */
  readonly timeoutMs?: number;
  /** Largest answer accepted (default 16 MiB). */
  readonly maxBytes?: number;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The endpoint ids in a map of attachments ({name: {EndpointID}}), as /networks/{id} and /containers/json give them. */
function endpointIdsOf(attachments: unknown): string[] {
  if (!isObject(attachments)) return [];
  const ids: string[] = [];
  for (const a of Object.values(attachments)) {
    const ep = isObject(a) ? a['EndpointID'] : undefined;
    if (isDockerId(ep)) ids.push(ep);
  }
  return ids;
}

function parseNetwork(n: unknown, where: string): DockerNetwork {
  if (!isObject(n)) throw new UnixHttpError('HTTP_PROTOCOL', `failed to read a Docker network from ${where}: not an object`);
  const id = n['Id'];
  if (!isDockerId(id)) throw new UnixHttpError('HTTP_PROTOCOL', `failed to read a Docker network from ${where}: no valid Id`);
  const internal = n['Internal'];
  if (internal !== undefined && typeof internal !== 'boolean') throw new UnixHttpError('HTTP_PROTOCOL', `failed to read Docker network ${id} from ${where}: "Internal" is not true or false`);
  return { id, name: str(n['Name']) ?? '', driver: str(n['Driver']) ?? '', endpointIds: endpointIdsOf(n['Containers']), internal: internal === true };
}

/** Docker's Engine API on its Unix socket. */
export class DockerApi {
  readonly socketPath: string;
  private readonly timeoutMs: number;
  private readonly maxBytes: number;

  constructor(opts: DockerApiOptions) {
    this.socketPath = opts.socketPath;
    this.timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    this.maxBytes = opts.maxBytes ?? DEFAULT_MAX_BYTES;
    if (!(this.timeoutMs > 0) || !(this.maxBytes > 0)) throw new RangeError('DockerApi: timeoutMs and maxBytes must be positive');
  }

  /** GET `path`: status 200 and a JSON answer, decoded; anything else rejects with a UnixHttpError. */
  async get(path: string): Promise<unknown> {
    const res = await getOverUnixSocket(this.socketPath, path, this.timeoutMs, this.maxBytes);
    const fail = (code: UnixHttpErrorCode, why: string): UnixHttpError =>
      new UnixHttpError(code, `failed to GET ${path} from Docker on "${this.socketPath}": ${why}`, code === 'HTTP_STATUS' ? res.status : undefined);
    if (res.status !== 200) throw fail('HTTP_STATUS', `status ${res.status}: ${res.body.slice(0, 200)}`);
    try {
      return JSON.parse(res.body);
    } catch (e) {
      throw fail('HTTP_PROTOCOL', `the answer is not JSON (${errorMessage(e)})`);
    }
  }

  /** GET /networks: ids, names and drivers (no endpoints in this listing). */
  async listNetworks(): Promise<DockerNetwork[]> {
    const doc = await this.get('/networks');
    if (!Array.isArray(doc)) throw new UnixHttpError('HTTP_PROTOCOL', 'failed to list Docker networks: /networks did not answer a list');
    return doc.map((n: unknown) => parseNetwork(n, '/networks'));
  }

  /** GET /networks/{id}: with the endpoints of the attached containers; undefined when it is gone. */
  async inspectNetwork(id: string): Promise<DockerNetwork | undefined> {
    if (!DOCKER_ID_RE.test(id)) throw new UnixHttpError('HTTP_PROTOCOL', `failed to inspect Docker network "${id.slice(0, 80)}": not a network id`);
    try {
      return parseNetwork(await this.get(`/networks/${id}`), `/networks/${id}`);
    } catch (e) {
      // Removed between the listing and now: it has no endpoints.
      if (e instanceof UnixHttpError && e.status === 404) return undefined;
      throw e;
    }
  }

  /** GET /containers/json: the endpoint ids of running containers, on every network. */
  async containerEndpointIds(): Promise<string[]> {
    const doc = await this.get('/containers/json');
    if (!Array.isArray(doc)) throw new UnixHttpError('HTTP_PROTOCOL', 'failed to list Docker containers: /containers/json did not answer a list');
    return doc.flatMap((c: unknown) => {
      const settings = isObject(c) ? c['NetworkSettings'] : undefined;
      return endpointIdsOf(isObject(settings) ? settings['Networks'] : undefined);
    });
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
