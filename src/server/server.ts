// buildServer(): the Fastify routes of the libnetwork remote driver API. No listen() here: main
// binds it to the plugin socket, tests call inject(). One route per call; any other path is 404
// (what libnetwork reads as "not implemented"); failures answer {"Err": "..."}.

import fastify, { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { IncomingMessage, ServerOptions as HttpServerOptions } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Call, driverCalls, DriverApi, IpamApi, ipamCalls } from '../driver/calls';
import { msText, roundMs } from '../time';
import { isObject } from '../util/json';
import type { Logger } from '../util/logger';
import { registerBodyParser } from './body';
import { errorReply } from './errors';

export interface ServerOptions {
  readonly driver: DriverApi;
  /** The IPAM driver (`--ipam-driver ovn`), served on the same socket when given. */
  readonly ipam?: IpamApi;
  readonly logger: Logger;
  /** Sandbox directories Join accepts besides Docker's defaults (from --docker-exec-root). */
  readonly sandboxDirs?: readonly string[];
  /** Largest request body accepted, in bytes (default 1 MiB); larger ones get 413. */
  readonly bodyLimit?: number;
  /**
   * Add HANDLE_MS_HEADER, CPU_MS_HEADER and (Join) READY_WAIT_HEADER to each answer
   * (--timing-headers on, which benchmarks set). Off by default: the request path then reads
   * no CPU counters and formats no figures for them.
   */
  readonly timingHeaders?: boolean;
  /** Milliseconds, for the request log and the handling-time header; performance.now by default. */
  readonly now?: () => number;
  /** The process's CPU time so far, for the per-call CPU header; process.cpuUsage by default. */
  readonly cpuUsage?: () => NodeJS.CpuUsage;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;
export const CONTENT_TYPE = 'application/vnd.docker.plugins.v1+json';
export const REQUEST_TIMEOUT_MS = 10_000;
/** Time from the request's arrival to the answer, and the daemon's CPU time (user + system) meanwhile, in ms: the benchmark's view of the driver's own cost. */
export const HANDLE_MS_HEADER = 'x-ovn-driver-handle-ms';
export const CPU_MS_HEADER = 'x-ovn-driver-cpu-ms';
/**
 * An IpamDriver failure is answered 200 {"Error": "..."}: libnetwork's remote IPAM reads the
 * Error field of a decoded answer (ipams/remote allocator.call) and shows "remote: <message>";
 * a non-200 answer would reach the user as raw JSON. The stable code goes in this header.
 */
export const IPAM_PREFIX = 'IpamDriver.';
export const ERROR_CODE_HEADER = 'x-ovn-driver-error-code';
/** Join's wait for ovn-controller to set ovn-installed, in ms. */
export const READY_WAIT_HEADER = 'x-ovn-driver-ready-wait-ms';


/** How much of an oversized body is read and dropped so that its 413 arrives; past it, the connection is just closed. */
export const DRAIN_LIMIT = 64 * 1024 * 1024;

/** Reads and drops the rest of a request body: until its end, `limit` bytes, or `ms`. */
function discardBody(raw: IncomingMessage, limit: number, ms: number): Promise<void> {
  if (raw.complete || raw.destroyed) return Promise.resolve();
  return new Promise((resolve) => {
    let seen = 0;
    const done = (): void => {
      clearTimeout(timer);
      raw.removeListener('data', onData);
      raw.removeListener('end', done);
      raw.removeListener('close', done);
      raw.removeListener('error', done);
      resolve();
    };
    const onData = (chunk: Buffer): void => {
      seen += chunk.length;
      if (seen > limit) done();
    };
    const timer = setTimeout(done, ms);
    raw.on('data', onData);
    raw.once('end', done);
    raw.once('close', done);
    raw.once('error', done);
    raw.resume();
  });
}

/** Ids from a request body, for the log line (bounded: the body may be hostile). */
function ids(body: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(body)) return out;
  for (const [k, name] of [['NetworkID', 'networkId'], ['EndpointID', 'endpointId']] as const) {
    const v = body[k];
    if (typeof v === 'string') out[name] = v.slice(0, 64);
  }
  return out;
}

export function buildServer(opts: ServerOptions): FastifyInstance {
  const { logger } = opts;
  const now = opts.now ?? ((): number => performance.now());
  // When each request arrived (and, for the timing headers, the CPU used by then): its handling time covers body parsing.
  const arrivals = new WeakMap<object, { at: number; cpu: NodeJS.CpuUsage | undefined }>();
  const cpuUsage = opts.timingHeaders ? opts.cpuUsage ?? ((): NodeJS.CpuUsage => process.cpuUsage()) : undefined;
  // A request must arrive whole within REQUEST_TIMEOUT_MS (else 408): a slow or stalled client
  // cannot hold a connection. Node 18+ checks that every connectionsCheckingInterval ms.
  // (@types/node 16 lacks the option; Node 16 itself checks per socket and ignores it.)
  const http: HttpServerOptions & { connectionsCheckingInterval?: number } = { connectionsCheckingInterval: 1_000 };
  const app = fastify({
    logger: false, bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT, return503OnClosing: true, requestTimeout: REQUEST_TIMEOUT_MS, http,
    // A URL fastify cannot decode ("%s%n") would otherwise get fastify's own error body.
    frameworkErrors: (_e, req, reply) => {
      const body = JSON.stringify({ Err: `failed to read request "${req.url.slice(0, 100)}": the URL is not valid; libnetwork calls look like /NetworkDriver.Join` });
      reply.raw.writeHead(400, { 'content-type': CONTENT_TYPE, 'content-length': Buffer.byteLength(body) }).end(body);
    },
  });
  registerBodyParser(app);
  // requestTimeout does not cover a body that stops arriving once fastify reads it (a stalled
  // client would hold its connection forever): such a request gets 408 and its connection closes.
  app.addHook('onRequest', (req, reply, done) => {
    arrivals.set(req.raw, { at: now(), cpu: cpuUsage?.() });
    if (!req.raw.complete) {
      const timer = setTimeout(() => {
        if (req.raw.complete || reply.sent) return;
        void reply.code(408).header('connection', 'close').type(CONTENT_TYPE)
          .send({ Err: `failed to read ${req.url.replace(/^\//, '').slice(0, 100)} request: the body did not arrive within ${REQUEST_TIMEOUT_MS / 1000} s` });
      }, REQUEST_TIMEOUT_MS);
      const clear = (): void => clearTimeout(timer);
      req.raw.once('end', clear);
      reply.raw.once('close', clear);
    }
    done();
  });

  const fail = (reply: FastifyReply, call: string, e: unknown, meta: Record<string, unknown>): FastifyReply => {
    const r = errorReply(e, call);
    logger.error(`${call} failed: ${r.body.Err}`, { ...meta, code: r.code, status: r.status });
    // Transport failures (bad JSON, too large) keep their status: the body was never an IPAM request.
    if (call.startsWith(IPAM_PREFIX)) return reply.code(r.code.startsWith('FST_') ? r.status : 200).header(ERROR_CODE_HEADER, r.code).type(CONTENT_TYPE).send({ Error: r.body.Err });
    return reply.code(r.status).type(CONTENT_TYPE).send(r.body);
  };

  const calls: [string, Call][] = [...driverCalls(opts.driver, { sandboxDirs: opts.sandboxDirs ?? [], ipam: opts.ipam })];
  if (opts.ipam) calls.push(...ipamCalls(opts.ipam));
  for (const [call, run] of calls) {
    app.post(`/${call}`, async (req: FastifyRequest, reply: FastifyReply) => {
      const arrived = arrivals.get(req.raw);
      const started = arrived?.at ?? now();
      const cpu = arrived?.cpu ?? cpuUsage?.();
      // No body at all (Docker's Activate and GetCapabilities) reads as {}, like an empty one.
      const body: unknown = req.body === undefined ? {} : req.body;
      const meta = ids(body);
      try {
        const result = await run(body);
        const ms = now() - started;
        logger.debug(`${call}`, { ...meta, ms: roundMs(ms) });
        if (cpuUsage && cpu) {
          const used = cpuUsage();
          reply.header(HANDLE_MS_HEADER, msText(ms)).header(CPU_MS_HEADER, msText((used.user - cpu.user + used.system - cpu.system) / 1000));
          if (result.readyWaitMs !== undefined) reply.header(READY_WAIT_HEADER, msText(result.readyWaitMs));
        }
        return reply.code(200).type(CONTENT_TYPE).send(result.body);
      } catch (e) {
        return fail(reply, call, e, { ...meta, ms: roundMs(now() - started) });
      }
    });
  }

  // The old NetworkDriver.Database debug call: what the driver holds, read-only.
  app.get('/NetworkDriver.Database', async (_req, reply) => reply.type('application/json').send(opts.driver.describe()));

  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).type(CONTENT_TYPE).send({ Err: `${req.method} ${req.url.slice(0, 200)} is not a call of the ovn network driver` });
  });
  // Errors before a handler runs: bad JSON, wrong media type, body too large.
  app.setErrorHandler(async (e, req, reply) => {
    // Too large: fastify answers before the body has arrived and closes the connection, and
    // closing a socket with unread data makes the kernel send a reset, which often reaches the
    // client before the 413 does. Read (and drop) the rest first, so the answer arrives.
    if (errorReply(e, '').code === 'FST_ERR_CTP_BODY_TOO_LARGE') await discardBody(req.raw, DRAIN_LIMIT, REQUEST_TIMEOUT_MS);
    if (reply.sent) return reply;
    return fail(reply, req.url.replace(/^\//, '').slice(0, 100), e, {});
  });
  return app;
}
